#!/usr/bin/env bash
# Starts Hearth: the signaling server serving the call page on http://127.0.0.1:7878 (or
# SIGNALING_ADDR). Open that address in two browser windows to call yourself.
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --quiet --release -p signaling -- "$@"
