#!/usr/bin/env bash
# Every check main must pass: formatting, lints, Rust tests, UI unit tests, and the end-to-end
# tests in real Chromium against the real signaling server, the desktop app under Xvfb, and the
# release .deb installed on a clean Debian 12. With --fast, only what needs no browser, window or
# media pipeline (npm run test:fast, for the inner loop).
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step says when it starts and how long the run has taken so far, so a slow or stuck step
# shows in the log.
started=$SECONDS
step() { printf '\n== %s (at %s, %ss in)\n' "$*" "$(date -u +%H:%M:%S)" "$((SECONDS - started))" >&2; }

# Runs a step that must end within a time limit (the first argument, as for timeout(1)); if it
# does not, shows what was still running and fails, instead of holding CI until its own limit.
bounded() {
  local limit=$1 rc=0
  shift
  timeout --kill-after=30s "$limit" "$@" || rc=$?
  if ((rc == 124 || rc == 137)); then
    printf '\n== %s did not finish within %s; still running:\n' "$*" "$limit" >&2
    ps -eo pid,ppid,pgid,etime,stat,args --forest | grep -v ' \[' >&2 || true
  fi
  return "$rc"
}

step "cargo fmt --check"
cargo fmt --all --check
step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
if [ "${1:-}" = "--fast" ]; then
  # The inner loop (npm run test:fast): everything that needs no browser, no window and no media
  # pipeline; the engine's own unit tests run, its calls between engines do not.
  step "cargo test (without the engine's calls)"
  bounded 20m cargo test --workspace --exclude hearth-engine
  bounded 5m cargo test -p hearth-engine --lib
  step "UI type check (tsc over the JSDoc)"
  npx --no-install tsc -p ui/tsconfig.json
  step "UI unit tests (node --test)"
  bounded 5m node --test tests/unit/
  step "fast checks passed (npm test runs everything)"
  exit 0
fi
step "cargo test"
bounded 40m cargo test --workspace
step "UI type check (tsc over the JSDoc)"
npx --no-install tsc -p ui/tsconfig.json
step "UI unit tests (node --test)"
bounded 5m node --test tests/unit/
step "end-to-end tests in Chromium (node --test)"
cargo build --quiet -p signaling -p hearth
# One file at a time: each runs two or three Chromium instances encoding video.
bounded 15m node --test --test-concurrency=1 --test-timeout=180000 tests/e2e/
step "network tests in namespaces (node --test, Xvfb for the desktop app's)"
# Calls across network namespaces (host, router, guest; NAT, TURN, blackouts, server outages),
# between browsers and with the desktop app: needs root.
bounded 15m xvfb-run -a node --test --test-concurrency=1 --test-timeout=300000 tests/net/
step "desktop app tests under Xvfb (tauri-driver, node --test)"
bounded 15m xvfb-run -a node --test --test-concurrency=1 --test-timeout=180000 tests/desktop/
step "packaging: the release .deb, installed on a clean Debian 12 (debootstrap, chroot)"
rm -rf target/release/bundle/deb
bounded 40m npx --no-install tauri build --bundles deb
bounded 30m node --test tests/package/
step "all checks passed"
