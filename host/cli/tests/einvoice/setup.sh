#!/usr/bin/env bash
# Makes sure the e-invoice tests can run: Debian's Saxon-B (the XSLT 2.0
# processor that runs the official EN 16931 validators) and, in a virtual
# environment beside this script, the pinned PyPI `factur-x` package that
# checks Factur-X PDFs. Quick when both are there.
set -euo pipefail
cd "$(dirname "$0")"
# Tests run in parallel: one set-up at a time.
exec 9>.setup.lock
flock 9

if ! command -v saxonb-xslt >/dev/null 2>&1; then
  echo "== installing Debian's libsaxonb-java (the EN 16931 validators)" >&2
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq libsaxonb-java >/dev/null
fi

want=$(sha256sum requirements.txt | cut -d' ' -f1)
stamp=.venv/.tessera-requirements-sha256
if [ ! -x .venv/bin/python ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "== pip install factur-x (pinned) into tests/einvoice/.venv" >&2
  rm -rf .venv
  python3 -m venv .venv >&2
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" > "$stamp"
fi
