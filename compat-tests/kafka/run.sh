#!/usr/bin/env bash
# Kafka compatibility suite: real clients (confluent-kafka/librdkafka, kafka-python) against a real `strait dev`
# process that the suite starts on free loopback ports and stops by PID. Installs its own Python venv outside
# the clone (reused while requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]   e.g. run.sh -k transactions   (arguments go to pytest as they are)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require Kafka python3
strait_binary "$here/../.."
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-kafka}" "$@"
