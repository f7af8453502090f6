#!/usr/bin/env bash
# One set-up for every entry point (tests, demo, bench): dependencies, nats-server, build.
# --with-browser (the tests) adds the test tools: headless Chromium and promtool.
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

# Go's own encoding/json, for the differential check of the gateway's JSON reader
# (test/fuzz/go_json_diff.ts, a phase of `npm test`): Debian's golang-go, standard library only.
if [ "${1:-}" = "--with-browser" ] && ! command -v go >/dev/null 2>&1; then
  echo "setup: installing golang-go (Debian package, for the JSON reader's differential check)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq golang-go >/dev/null
fi

# promtool checks and unit-tests the alerting rules in deploy/prometheus/. It comes from the
# Debian package `prometheus`, unpacked into a cache folder rather than installed, so no
# Prometheus service is set up or started: ~/.cache/aaa-leafnode/prometheus/usr/bin/promtool.
# AAA_SKIP_PROMTOOL=1 skips it; the rules test then says so and checks the YAML structure only.
PROMTOOL_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/aaa-leafnode/prometheus"
if [ "${AAA_SKIP_PROMTOOL:-}" != "1" ] && [ "${1:-}" = "--with-browser" ] && ! command -v promtool >/dev/null 2>&1 \
   && [ ! -x "$PROMTOOL_CACHE/usr/bin/promtool" ]; then
  echo "setup: unpacking promtool (Debian package prometheus) into $PROMTOOL_CACHE" >&2
  deb_dir="$(mktemp -d)"
  if (cd "$deb_dir" && { apt-get download prometheus >/dev/null 2>&1 || { $SUDO apt-get update -qq && apt-get download prometheus >/dev/null; }; }); then
    mkdir -p "$PROMTOOL_CACHE" && dpkg-deb -x "$deb_dir"/prometheus_*.deb "$PROMTOOL_CACHE"
  else
    echo "setup: promtool could not be fetched; the rules test will say so" >&2
  fi
  rm -rf "$deb_dir"
fi

npx tsc -p tsconfig.json
