#!/usr/bin/env bash
# Cluster compatibility suite: a real Kafka client (confluent-kafka/librdkafka) against a real 3-process
# `strait dev --nodes 3` cluster that the suite starts on free loopback ports, kill -9s node by node, restarts with
# each node's own command, and stops by PID. Installs its own Python venv outside the clone (reused while
# requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]   e.g. run.sh -k group   (arguments go to pytest as they are)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require cluster python3
strait_binary "$here/../.."
# -s: the tests print what they measured (duplicates, longest gap between acknowledgements) for the CI log.
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-cluster}" -s "$@"
