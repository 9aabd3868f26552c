#!/usr/bin/env bash
# Every check main must pass: formatting, lints, Rust tests, UI unit tests, and the end-to-end
# tests in real Chromium against the real signaling server, the desktop app under Xvfb, and the
# release .deb installed on a clean Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts and how long the run has taken so far, so a slow or stuck step
# shows in the log.
started=$SECONDS
step() { printf '\n== %s (at %s, %ss in)\n' "$*" "$(date -u +%H:%M:%S)" "$((SECONDS - started))" >&2; }

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
step "cargo test"
cargo test --workspace
step "UI type check (tsc over the JSDoc)"
npx --no-install tsc -p ui/tsconfig.json
step "UI unit tests (node --test)"
node --test tests/unit/
step "end-to-end tests in Chromium (node --test)"
cargo build --quiet -p signaling -p hearth
# One file at a time: each runs two or three Chromium instances encoding video.
node --test --test-concurrency=1 tests/e2e/
step "desktop app tests under Xvfb (tauri-driver, node --test)"
xvfb-run -a node --test --test-concurrency=1 tests/desktop/
step "packaging: the release .deb, installed on a clean Debian 12 (debootstrap, chroot)"
rm -rf target/release/bundle/deb
npx --no-install tauri build --bundles deb
node --test tests/package/
step "all checks passed"
