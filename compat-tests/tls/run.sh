#!/usr/bin/env bash
# TLS suite: `strait dev --tls` and `strait serve` with [*.tls] sections, driven by real clients over real sockets:
# confluent-kafka (SSL, mutual TLS, SASL_SSL), boto3 over HTTPS with the CA bundle, curl --http2 (ALPN h2), a
# plain-TCP client on the SSL port, and a certificate rewritten on disk while the node runs. Installs its own
# Python venv outside the clone (reused while requirements.txt is unchanged). A missing toolchain is a failure.
# Usage: run.sh [pytest args...]   e.g. run.sh -k reload
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require TLS python3 curl
strait_binary "$here/../.."
curl -V | grep -q HTTP2 || { echo "FAIL: this curl has no HTTP/2 support (needed for the ALPN h2 check)"; exit 1; }
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-tls}" "$@"
