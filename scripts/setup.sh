#!/usr/bin/env bash
# One set-up for every entry point (tests, demo, bench): dependencies, nats-server, build.
# Safe to run repeatedly; each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

if [ "$(id -u)" = "0" ]; then SUDO=""; else SUDO="sudo"; fi
if ! command -v nats-server >/dev/null 2>&1; then
  echo "setup: installing nats-server (Debian package)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nats-server >/dev/null
fi

# Headless Chromium for the browser-level WebSocket test (Debian package; optional for the
# gateway itself). AAA_SKIP_CHROMIUM=1 skips it; the test then says so and the rest runs.
if [ "${AAA_SKIP_CHROMIUM:-}" != "1" ] && [ "${1:-}" = "--with-browser" ] && ! command -v chromium >/dev/null 2>&1; then
  echo "setup: installing chromium (Debian package, for the browser test)" >&2
  $SUDO apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null || echo "setup: chromium could not be installed; the browser test will say so" >&2
fi

npx tsc -p tsconfig.json
