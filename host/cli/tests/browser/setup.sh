#!/usr/bin/env bash
# Makes sure the browser test can run: Debian's Chromium (installed with
# apt when missing) and playwright-core at the version package-lock.json
# pins (npm ci; it downloads no browser). Quick when both are there.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "== installing Debian's chromium (for the preview's browser test)" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "node is needed for the browser test (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

# Reinstall when the lock file changed since the last install.
stamp=node_modules/.tessera-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] || [ ! -d node_modules/playwright-core ]; then
  echo "== npm ci (playwright-core, pinned)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" > "$stamp"
fi
