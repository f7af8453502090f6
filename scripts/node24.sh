#!/usr/bin/env bash
# Prints the path of a Node 24 LTS binary for the second test run. It comes from the npm
# registry's `node` package (the same registry as every other dependency), installed once into
# a cache folder and reused; a lock keeps two concurrent runs from installing it twice.
#   AAA_NODE24_DIR  the cache folder (default ~/.cache/aaa-leafnode/node24)
set -euo pipefail
dir="${AAA_NODE24_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/aaa-leafnode/node24}"
bin="$dir/node_modules/node/bin/node"
mkdir -p "$dir"

usable() { [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q '^v24\.'; }

if ! usable; then
  exec 9>"$dir/.lock"
  flock 9
  if ! usable; then
    echo "node24: installing node@24 from the npm registry into $dir (once)" >&2
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  usable || { echo "node24: $bin is not a working Node 24 after installing node@24" >&2; exit 1; }
fi
echo "$bin"
