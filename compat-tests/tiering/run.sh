#!/usr/bin/env bash
# Tiering suite (issue 17): a local S3 (moto_server) and a real `strait dev --tier-bucket` process, both on free
# loopback ports, started by the suite and stopped by PID. Kafka (confluent-kafka) and Kinesis (boto3) clients read
# back data whose local segments were uploaded and deleted. Installs its own venv outside the clone (reused while
# requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Then Apache Kafka's Java client (compat-tests/tiering/java: Admin ListOffsets earliest-local/latest-tiered and a
# consumer from offset 0) against a node of its own, tiering to a moto_server this script starts and stops by PID.
# Usage: run.sh [pytest args...]   (arguments go to pytest; the Java part always runs whole)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require tiering python3 java mvn
strait_binary "$here/../.."
venv="${STRAIT_VENV:-$HOME/.cache/strait/venv-tiering}"
strait_venv "$venv" "$here/requirements.txt"
[ -x "$venv/bin/moto_server" ] || { echo "FAIL: moto_server missing from $venv"; exit 1; }
# The tests start moto_server themselves, on a free loopback port, and stop it by PID.
export MOTO_SERVER="$venv/bin/moto_server"
status=0
strait_pytest "$here" "$venv" "$@" || status=$?

# The Java part's S3: a moto_server on a free loopback port, with its bucket.
port="$("$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
moto_log="$(mktemp -t strait-tiering-java-moto.XXXXXX)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null; wait "$moto_pid" 2>/dev/null; rm -f "$moto_log"' EXIT
export MOTO_ENDPOINT="http://127.0.0.1:$port" MOTO_BUCKET="strait-tier-java"
"$venv/bin/python" - <<'PY' || { echo "FAIL: moto_server did not start"; cat "$moto_log"; exit 1; }
import os, time, boto3
from botocore.config import Config
s3 = boto3.client("s3", endpoint_url=os.environ["MOTO_ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test", config=Config(s3={"addressing_style": "path"}))
deadline = time.time() + 30
while True:
    try:
        s3.create_bucket(Bucket=os.environ["MOTO_BUCKET"])
        break
    except Exception:
        if time.time() > deadline:
            raise
        time.sleep(0.2)
PY
cd "$here/java"
strait_mvn_test tiering-java || status=$?
exit "$status"
