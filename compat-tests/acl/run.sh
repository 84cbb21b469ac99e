#!/usr/bin/env bash
# ACL suite: one real `strait dev` with the ACL authorizer, SASL/PLAIN users (alice, bob, the super user admin) and
# SigV4 keys mapped to the same principals; confluent-kafka's AdminClient manages the ACLs, confluent-kafka and
# boto3 check that both protocols enforce them. Installs its own Python venv outside the clone (reused while
# requirements.txt is unchanged). A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require ACL python3
strait_binary "$here/../.."
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-acl}" "$@"
