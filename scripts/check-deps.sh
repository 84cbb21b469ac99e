#!/usr/bin/env bash
# Enforces the workspace's dependency direction: server -> kcl-bridge -> protocols/* -> engine (+ shard-map).
# The engine and the shard map must never (even transitively, even as dev-dependencies) reach a protocol crate or
# the server, and protocol crates must never reach the server or each other. The KCL bridge (strait-kcl-bridge) is
# the one crate that sees kafka, kinesis and dynamodb together; it never reaches the server, and only the server
# depends on it.
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
forbid strait-engine 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
forbid strait-shard-map 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-engine|strait-kcl-bridge'
forbid strait-kafka 'strait|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
forbid strait-kinesis 'strait|strait-kafka|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
forbid strait-dynamodb 'strait|strait-kafka|strait-kinesis|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
forbid strait-cloudwatch 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-engine|strait-shard-map|strait-kcl-bridge'
forbid strait-kcl-bridge 'strait|strait-cloudwatch'
# Nothing but the server may depend on the bridge.
bridge_users=$(cargo tree --locked -i strait-kcl-bridge -e normal,build,dev --depth 1 --prefix none --format '{p}' 2>/dev/null \
  | awk '{print $1}' | sort -u | grep -vE '^(strait-kcl-bridge|strait)$' || true)
if [ -n "$bridge_users" ]; then
  echo "FORBIDDEN: depends on strait-kcl-bridge: $bridge_users"
  fail=1
else
  echo "ok: only strait depends on strait-kcl-bridge"
fi
exit $fail
