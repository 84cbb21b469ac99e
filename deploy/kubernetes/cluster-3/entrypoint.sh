#!/bin/sh
# Entrypoint of the cluster-3 StatefulSet's pods (mounted from the strait-config ConfigMap, run by /bin/sh):
# writes this node's configuration from strait.toml.template, then execs `strait serve` with it.
#
# What a StatefulSet gives each pod, and what Strait's [cluster] section needs from it:
#   - a stable name with an ordinal (strait-0, strait-1, strait-2): this node's cluster.node_id is the ordinal;
#   - a stable DNS name under the headless Service (strait-0.strait-headless.<namespace>.svc.<domain>): what
#     Kafka and AWS clients are told to use for each node (cluster.peers[].kafka and .aws accept host names);
#   - no stable IP address: a pod gets a new one whenever it is recreated, and cluster.peers[].address must be
#     an IP address (Strait does not resolve names for inter-node connections). So each pod also has a ClusterIP
#     Service of its own (services.yaml: strait-0, strait-1, strait-2), whose address does not change while the
#     Service exists; this script resolves those names when the pod starts and writes the addresses it finds.
# Every node gets the same peer list (this node included; Strait checks its own entry against its settings).
#
# Environment (set by statefulset.yaml): POD_NAME, POD_NAMESPACE, REPLICAS (must equal spec.replicas: the peer
# list is fixed when the pods start; adding nodes to a running cluster is not built), CLUSTER_DOMAIN,
# HEADLESS_SERVICE. STRAIT_TEMPLATE and STRAIT_CONFIG move the input and output files (compat-tests/deploy runs
# this script outside Kubernetes).
set -eu

template="${STRAIT_TEMPLATE:-/etc/strait/strait.toml.template}"
config="${STRAIT_CONFIG:-/run/strait/strait.toml}"
domain="${CLUSTER_DOMAIN:-cluster.local}"
headless="${HEADLESS_SERVICE:-strait-headless}"
: "${POD_NAME:?POD_NAME is not set}" "${POD_NAMESPACE:?POD_NAMESPACE is not set}" "${REPLICAS:?REPLICAS is not set}"

set_name="${POD_NAME%-*}"
ordinal="${POD_NAME##*-}"
case "$ordinal" in
  '' | *[!0-9]*) echo "entrypoint: cannot take an ordinal from POD_NAME=$POD_NAME" >&2; exit 1 ;;
esac
case "$REPLICAS" in
  '' | *[!0-9]* | 0) echo "entrypoint: REPLICAS=$REPLICAS is not a node count" >&2; exit 1 ;;
esac
if [ "$ordinal" -ge "$REPLICAS" ]; then
  echo "entrypoint: $POD_NAME is beyond REPLICAS=$REPLICAS; adding nodes to a running cluster is not supported" >&2
  exit 1
fi

# The IPv4 address of a Service name; waits for it to appear in DNS (up to 2 minutes: the Services are created
# with the StatefulSet, and a pod may start before the cluster DNS has them). IPv4 only: the inter-node listener
# is 0.0.0.0:19092.
resolve() {
  tries=0
  while :; do
    # shellcheck disable=SC2046
    set -- $(getent ahostsv4 "$1" || true) "$1"
    if [ $# -gt 1 ]; then
      echo "$1"
      return 0
    fi
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
      echo "entrypoint: $1 does not resolve; is the Service $1 there?" >&2
      return 1
    fi
    sleep 2
  done
}

tmp="$config.tmp"
sed "s/@NODE_ID@/$ordinal/" "$template" >"$tmp"
i=0
while [ "$i" -lt "$REPLICAS" ]; do
  ip="$(resolve "$set_name-$i.$POD_NAMESPACE.svc.$domain")"
  host="$set_name-$i.$headless.$POD_NAMESPACE.svc.$domain"
  cat >>"$tmp" <<PEER

[[cluster.peers]]
id = $i
address = "$ip:19092"
kafka = "$host:9092"
aws = "$host:4566"
PEER
  i=$((i + 1))
done
mv "$tmp" "$config"
echo "entrypoint: $POD_NAME is node $ordinal of $REPLICAS; configuration in $config" >&2
exec strait serve --config "$config"
