#!/usr/bin/env bash
# Hardening suite: each defect of the hardening issue (one request that crashed, poisoned or wedged a node) as an
# attack against a real `strait dev` process, then a normal producer and consumer on both protocols to show the
# node still serves. Each test starts its own node on free loopback ports and stops it by PID. Some tests need
# root (a small tmpfs for disk-full) and util-linux's `prlimit`: missing either is a failure, never a skip.
# Usage: run.sh [pytest args...]   e.g. run.sh -k disk_full   (the venv is reused while requirements.txt is unchanged)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
venv="${STRAIT_HARDENING_VENV:-$HOME/.cache/strait/venv-hardening}"

command -v python3 >/dev/null || { echo "FAIL: python3 is required for the hardening suite"; exit 1; }
command -v prlimit >/dev/null || { echo "FAIL: prlimit (util-linux) is required for the hardening suite"; exit 1; }
# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi
[ -x "$STRAIT_BIN" ] || { echo "FAIL: STRAIT_BIN=$STRAIT_BIN is not an executable"; exit 1; }

. "$here/../sh-support/env.sh"
strait_venv "$venv" "$here/requirements.txt"
cd "$here"
PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider -o console_output_style=classic "$@"
