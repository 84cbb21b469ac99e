#!/usr/bin/env bash
# CLI suite: the admin commands of the `strait` binary (topic, group, stream, produce, consume, cluster) run as
# subprocesses against one real `strait dev`, their effects checked with real clients (confluent-kafka's
# AdminClient, producer and consumer; boto3 for Kinesis), and their exit codes. Installs its own Python venv outside
# the clone (reused while requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require CLI python3
strait_binary "$here/../.."
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-cli}" "$@"
