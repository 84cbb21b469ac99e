#!/usr/bin/env bash
# Enforces the workspace's dependency direction: server -> kcl-bridge -> protocols/* -> engine (+ shard-map).
# The engine and the shard map must never (even transitively, even as dev-dependencies) reach a protocol crate or
# the server, and protocol crates must never reach the server or each other. Exceptions: strait-aws, the shared AWS
# plumbing below kinesis, dynamodb and cloudwatch; and the KCL bridge (strait-kcl-bridge), the one crate that sees
# kafka, kinesis and dynamodb together, which never reaches the server and only the server depends on. The metric
# catalogue (strait-metrics) and strait-access depend on nothing, so any crate may use them.
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
forbid strait-engine 'strait|strait-aws|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
forbid strait-shard-map 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-engine|strait-kcl-bridge'
forbid strait-metrics 'strait|strait-(engine|access|shard-map|kafka|kinesis|dynamodb|cloudwatch|aws|kcl-bridge)'
forbid strait-access 'strait|strait-(engine|metrics|shard-map|kafka|kinesis|dynamodb|cloudwatch|aws|kcl-bridge)'
forbid strait-kafka 'strait|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-aws|strait-kcl-bridge'
forbid strait-kinesis 'strait|strait-kafka|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
forbid strait-dynamodb 'strait|strait-kafka|strait-kinesis|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
forbid strait-cloudwatch 'strait|strait-kafka|strait-kinesis|strait-dynamodb|strait-engine|strait-shard-map|strait-kcl-bridge'
# Replication sits on the engine only: no protocol crate, no server, no sockets (the transport is the server's).
forbid strait-raft 'strait|strait-cluster|strait-aws|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
# The shared AWS crate sits below the three AWS services: no engine, no protocol crate, no server.
forbid strait-aws 'strait|strait-engine|strait-shard-map|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
forbid strait-kcl-bridge 'strait|strait-cloudwatch'
# Tiering sits on the engine: no protocol crate, no server. Only the server wires it (no protocol depends on it).
forbid strait-tier 'strait|strait-cluster|strait-raft|strait-aws|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-shard-map|strait-kcl-bridge'
tier_users=$(cargo tree --locked -i strait-tier -e normal,build,dev --depth 1 --prefix none --format '{p}' 2>/dev/null \
  | awk '{print $1}' | sort -u | grep -vE '^(strait-tier|strait)$' || true)
if [ -n "$tier_users" ]; then
  echo "FORBIDDEN: depends on strait-tier: $tier_users"
  fail=1
else
  echo "ok: only strait depends on strait-tier"
fi
# The inter-node transport is pure transport: it moves opaque payloads and knows no Raft, engine or protocol.
# The admin CLI is a client: it speaks the Kafka protocol and the Kinesis API to any node, never the node's insides
# (strait-aws only for its date functions).
forbid strait-cli 'strait|strait-engine|strait-raft|strait-tier|strait-cluster|strait-shard-map|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
forbid strait-cluster 'strait|strait-engine|strait-shard-map|strait-aws|strait-kafka|strait-kinesis|strait-dynamodb|strait-cloudwatch|strait-kcl-bridge'
# Nothing but the server may depend on the bridge.
bridge_users=$(cargo tree --locked -i strait-kcl-bridge -e normal,build,dev --depth 1 --prefix none --format '{p}' 2>/dev/null \
  | awk '{print $1}' | sort -u | grep -vE '^(strait-kcl-bridge|strait)$' || true)
if [ -n "$bridge_users" ]; then
  echo "FORBIDDEN: depends on strait-kcl-bridge: $bridge_users"
  fail=1
else
  echo "ok: only strait depends on strait-kcl-bridge"
fi
# Module layering inside crates: no module cycles anywhere, and Kafka's coordinators never import its handlers.
if python3 scripts/check-layers.py; then
  echo "ok: no module cycles; strait-kafka coordinators do not import api/ or broker"
else
  fail=1
fi
exit $fail
