#!/usr/bin/env bash
# IAM suite: AWS identities on both protocols against a real server. Python: boto3 against `strait serve` (SigV4
# verified by default; header and presigned forms, session tokens, skew) and, on Kafka, confluent-kafka's
# OAUTHBEARER with the MSK IAM signer library's token. Java: Apache Kafka's client with Amazon's aws-msk-iam-auth
# jar (SASL AWS_MSK_IAM). Installs its venv and Maven repository outside the clone. A missing toolchain is a
# failure, never a skip.
# Usage: run.sh [pytest args...]   (arguments go to pytest; the Java part always runs whole)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require IAM python3 java mvn
strait_binary "$here/../.."
status=0
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-iam}" "$@" || status=$?
cd "$here/java"
strait_mvn_test iam-java || status=$?
exit "$status"
