#!/usr/bin/env bash
# Metrics suite: one real `strait dev` driven by confluent-kafka and boto3, then its /metrics scrape checked by
# Prometheus' own `promtool check metrics` (no warnings allowed) and parsed by prometheus_client, with the
# per-partition and consumer-lag series compared against what the clients themselves see. promtool is built from
# the Go module proxy into ~/.cache/strait/gobin (once per version); the Python venv lives beside it. A missing
# toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require metrics python3 go
strait_binary "$here/../.."
# Prometheus' Go module versions are v0.<major*100+minor>.<patch>: v0.316.0 is Prometheus 3.16.0.
PROMTOOL_VERSION=v0.316.0
gobin="$HOME/.cache/strait/gobin/promtool-$PROMTOOL_VERSION"
if [ ! -x "$gobin/promtool" ]; then
  echo "installing promtool $PROMTOOL_VERSION from the Go module proxy into $gobin (a few minutes, once)"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install "github.com/prometheus/prometheus/cmd/promtool@$PROMTOOL_VERSION"
fi
export PROMTOOL="$gobin/promtool"
"$PROMTOOL" --version | head -1
strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-metrics}" "$@"
