#!/usr/bin/env bash
# Bundles the studio's editor (CodeMirror 6, pinned by package-lock.json)
# into one minified file: build.sh OUT_FILE. Works in a copy of this folder
# (host/server/build.rs passes one under OUT_DIR), so the source tree gets
# no node_modules.
set -euo pipefail
out=$1
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --loglevel=error >&2
./node_modules/.bin/esbuild src/editor.js --bundle --minify --format=iife --target=es2020 --outfile="$out" --log-level=warning >&2
gzip -9 -n -c "$out" > "$out.gz"
