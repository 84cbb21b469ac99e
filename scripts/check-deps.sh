#!/usr/bin/env bash
# Enforces the workspace's dependency direction: server -> protocols/* -> engine (+ shard-map).
# The engine and the shard map must never (even transitively, even as dev-dependencies) reach a protocol crate or
# the server, and protocol crates must never reach the server or each other.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
forbid() { # crate, regex of forbidden crates
  local hits
  hits=$(cargo tree --locked -p "$1" -e normal,build,dev --prefix none --format '{p}' 2>/dev/null | awk '{print $1}' | sort -u | grep -E "^($2)$" || true)
  if [ -n "$hits" ]; then
    echo "FORBIDDEN: $1 depends on: $hits"
    fail=1
  else
    echo "ok: $1 does not depend on $2"
  fi
}
forbid strait-engine 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-shard-map'
forbid strait-shard-map 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-engine'
forbid strait-kafka 'strait|strait-kinesis|strait-dynamodb|strait-cloudwatch'
forbid strait-kinesis 'strait|strait-kafka|strait-dynamodb|strait-cloudwatch'
forbid strait-dynamodb 'strait|strait-kafka|strait-kinesis|strait-cloudwatch|strait-shard-map'
forbid strait-cloudwatch 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-engine|strait-shard-map'
# Module layering inside crates: no module cycles anywhere, and Kafka's coordinators never import its handlers.
if python3 scripts/check-layers.py; then
  echo "ok: no module cycles; strait-kafka coordinators do not import api/ or broker"
else
  fail=1
fi
exit $fail
