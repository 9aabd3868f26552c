#!/usr/bin/env bash
# Installs whatever Hearth needs that this machine lacks: Debian packages (apt, through sudo when
# not root) and npm packages. Idempotent, and quick when nothing is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

# Debian packages the build and the tests need, one per line: "package  why".
DEB_PACKAGES=(
  "pkg-config        finds system libraries for Rust crates"
  "chromium          runs the end-to-end tests with fake camera and microphone"
  "fonts-liberation  gives screenshots of the UI readable text"
  "libwebkit2gtk-4.1-dev  the desktop app's webview (Tauri on Linux)"
  "librsvg2-dev      icons in the desktop app"
  "xvfb              a virtual screen for the desktop app's tests"
  "xauth             lets xvfb-run start its X server"
  "webkit2gtk-driver the WebDriver that tauri-driver uses to drive the desktop app"
  "libgstreamer1.0-dev               the native media engine (gstreamer-rs)"
  "libgstreamer-plugins-base1.0-dev  the native media engine: app sinks, video, audio"
  "libgstreamer-plugins-bad1.0-dev   the native media engine: webrtcbin's library"
  "gstreamer1.0-plugins-base  Opus, video conversion, test sources"
  "gstreamer1.0-plugins-good  VP8, RTP, the level meter, sound output"
  "gstreamer1.0-plugins-bad   webrtcbin, DTLS, SRTP"
  "gstreamer1.0-nice          ICE for webrtcbin"
  "debootstrap       a clean Debian 12 to install the .deb into, in the packaging test"
  "coturn            a real TURN server for the native engine's relayed-call test and tests/net/"
  "iproute2          the network namespace that test makes (ip link, ip addr), and tests/net/'s"
  "nftables          the NAT in tests/net/'s router namespace (nft masquerade)"
  "iputils-ping      tests/net/ checks with a ping that a blackout drops and a heal restores"
  "curl              tests/net/ fetches from the server inside a namespace"
  "redis-server      the signaling server's shared room store, started per test on a free port"
  "systemd           systemd-analyze verifies the signaling server's unit file in deploy/"
)

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || { say "$1 is missing: $2"; exit 1; }
}
need_cmd cargo "install Rust from https://rustup.rs, then run this again"
need_cmd node "install Node.js 18 or newer, then run this again"
need_cmd npm "install npm (it comes with Node.js), then run this again"

missing=()
for entry in "${DEB_PACKAGES[@]}"; do
  pkg=${entry%% *}
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if ((${#missing[@]})); then
  command -v apt-get >/dev/null 2>&1 || { say "missing ${missing[*]}, and this is not a Debian/Ubuntu system: install them by hand"; exit 1; }
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "missing ${missing[*]}: run as root or install sudo"; exit 1; }
    sudo=(sudo)
  fi
  say "installing ${missing[*]}"
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# tauri-driver drives the desktop app in its tests; it comes from crates.io.
if ! command -v tauri-driver >/dev/null 2>&1 && [ ! -x "${CARGO_HOME:-$HOME/.cargo}/bin/tauri-driver" ]; then
  say "installing tauri-driver (cargo install, a few minutes once)"
  cargo install tauri-driver --locked --quiet
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ -f package-lock.json ]; then
  stamp=node_modules/.package-lock.json
  if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
    say "installing npm packages"
    npm ci --no-audit --no-fund --loglevel=error
  fi
fi
