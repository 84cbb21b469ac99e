#!/usr/bin/env bash
# SASL compatibility suite: confluent-kafka (librdkafka) over SCRAM-SHA-256/512 and OAUTHBEARER against a real
# `strait dev` that requires authentication; SCRAM users created with AlterUserScramCredentials; tokens signed by
# the suite against a JWKS file it writes. Installs its own Python venv outside the clone (reused while
# requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require SASL python3
strait_binary "$here/../.."
strait_pytest "$here" "${STRAIT_VENV_SASL:-$HOME/.cache/strait/venv-sasl}" "$@"
