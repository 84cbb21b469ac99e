#!/usr/bin/env bash
# Kafka compatibility suite: real clients (confluent-kafka/librdkafka, kafka-python) against a real `strait dev`
# process that the suite starts on free loopback ports and stops by PID. Installs its own Python venv outside
# the clone (reused while requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]   e.g. run.sh -k transactions   (arguments go to pytest as they are)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
venv="${STRAIT_VENV:-$HOME/.cache/strait/venv-kafka}"

command -v python3 >/dev/null || { echo "FAIL: python3 is required for the Kafka compat suite"; exit 1; }
# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi

. "$here/../sh-support/env.sh"
strait_venv "$venv" "$here/requirements.txt"
cd "$here"
"$venv/bin/python" -m pytest -q -p no:cacheprovider "$@"
