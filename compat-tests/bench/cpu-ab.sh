#!/usr/bin/env bash
# Server CPU per byte of two strait binaries, alternated on the same workloads: the before/after measure for
# profile-driven changes (docs/benchmarks.md, "Profile of the produce paths"). Throughput on a shared 2-core
# machine drifts with its load; the server's CPU seconds per byte moved (from /proc/PID/stat) drift much less.
#
#   compat-tests/bench/cpu-ab.sh BIN_A BIN_B [rounds] [kinesis]   (kinesis: only the two Kinesis workloads)
#
# Workloads, each on a fresh `strait dev` (fsync=always) on 127.0.0.1:
#   kinesis-put  bench-kinesis put: 4 writers x PutRecords of 500 x 1 KiB, 4 shards, 10 s
#   kinesis-get  bench-kinesis get: catch-up GetRecords of everything put
#   kafka-put    rdkafka_performance: 1,000,000 x 1 KiB, acks=all, 16 partitions
#   kafka-get    ConsumerPerformance (kafka-tools): catch-up read of those records by a new group; MB/s over the
#                tool's fetch time, CPU including the group join
#   kafka-put-lz4  kafka-put again with lz4-compressed batches (bytes counted uncompressed)
# Needs what bench.sh installs (rdkafka_performance, the Kafka tools jars for TopicCommand) and a dist-profile
# bench-kinesis; run bench.sh --smoke --no-docs once first on a fresh machine. Not part of CI.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,16p' "$0"; exit 2; }
bins=("$1" "$2") rounds=${3:-3} only=${4:-all}
[ "$only" = all ] || [ "$only" = kinesis ] || { echo "FAIL: the 4th argument is 'kinesis' or nothing" >&2; exit 2; }
peers="${STRAIT_PEERS:-$HOME/.cache/strait-peers/bench}"
target="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
kin="$target/dist/bench-kinesis" rdk="$peers/librdkafka/examples/rdkafka_performance"
for f in "${bins[@]}" "$kin" "$rdk"; do
  [ -x "$f" ] || { echo "FAIL: $f is missing (see the header)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/strait-cpu-ab.XXXXXX")
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$pid/stat"; }   # utime+stime, clock ticks
tick=$(getconf CLK_TCK)

start() {
  aws=$(free_port) kafka=$(free_port) admin=$(free_port)
  rm -rf "$work/data"
  RUST_LOG=warn "$1" dev --data-dir "$work/data" --kafka-addr "127.0.0.1:$kafka" --aws-addr "127.0.0.1:$aws" \
    --admin-addr "127.0.0.1:$admin" >"$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$admin/healthz" >/dev/null && return; sleep 0.2; done
  echo "FAIL: $1 did not become healthy" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""; }

# report LABEL WORKLOAD BYTES SECONDS TICKS
report() {
  python3 - "$@" "$tick" <<'EOF'
import sys
label, workload, nbytes, secs, ticks, tick = sys.argv[1:]
cpu = int(ticks) / int(tick)
print(f"{label:12} {workload:12} {int(nbytes) / float(secs) / 1e6:8.1f} MB/s  server {cpu:6.2f} CPU-s  "
      f"{cpu * 1e9 / int(nbytes):5.2f} ns/byte")
EOF
}

field() { python3 -c "import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])['$1'])"; }

for round in $(seq "$rounds"); do
  for i in 0 1; do
    bin=${bins[$i]} label="$(basename "${bins[$i]}")"
    start "$bin"
    "$kin" --endpoint "http://127.0.0.1:$aws" create --stream s --shards 4 >/dev/null
    c0=$(cpu_ticks)
    put=$("$kin" --endpoint "http://127.0.0.1:$aws" put --stream s --writers 4 --seconds 10 --max-records 0)
    c1=$(cpu_ticks)
    n=$(echo "$put" | field records)
    get=$("$kin" --endpoint "http://127.0.0.1:$aws" get --stream s --records "$n" --timeout-s 300)
    c2=$(cpu_ticks)
    report "$label" kinesis-put "$(echo "$put" | field bytes)" "$(echo "$put" | field seconds)" $((c1 - c0))
    report "$label" kinesis-get "$(echo "$get" | field bytes)" "$(echo "$get" | field seconds)" $((c2 - c1))
    if [ "$only" = all ]; then
      java -Xmx256M -cp "$peers/kafka-jars/*" org.apache.kafka.tools.TopicCommand --bootstrap-server \
        "127.0.0.1:$kafka" --create --topic r16 --partitions 16 --replication-factor 1 >/dev/null 2>&1
      c0=$(cpu_ticks)
      out=$("$rdk" -P -t r16 -b "127.0.0.1:$kafka" -s 1024 -c 1000000 -a -1 -i 600000 2>&1 |
        grep "messages produced" | tail -1)
      c1=$(cpu_ticks)
      # "... (1024000000 bytes), 1000000 delivered (offset N, 0 failed) in 3022ms: ..."
      nbytes=$(echo "$out" | sed -E 's/.*\(([0-9]+) bytes\).*/\1/') ms=$(echo "$out" | sed -E 's/.* in ([0-9]+)ms:.*/\1/')
      echo "$out" | grep -q " 0 failed)" || { echo "FAIL: rdkafka_performance: $out" >&2; exit 1; }
      report "$label" kafka-put "$nbytes" "$(python3 -c "print($ms/1000)")" $((c1 - c0))
      c0=$(cpu_ticks)
      # One CSV line: start, end, MB, MB.sec, nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, ...
      out=$(java -Xmx512M -cp "$peers/kafka-jars/*" org.apache.kafka.tools.ConsumerPerformance --bootstrap-server \
        "127.0.0.1:$kafka" --topic r16 --num-records 1000000 --timeout 30000 --group "cpu-ab-$round-$i" 2>/dev/null |
        grep -E '^[0-9]' | tail -1)
      c1=$(cpu_ticks)
      got=$(echo "$out" | cut -d, -f5 | tr -d ' ') fetch_ms=$(echo "$out" | cut -d, -f8 | tr -d ' ')
      [ "${got:-0}" -ge 1000000 ] || { echo "FAIL: ConsumerPerformance read ${got:-nothing}: $out" >&2; exit 1; }
      report "$label" kafka-get "$nbytes" "$(python3 -c "print($fetch_ms/1000)")" $((c1 - c0))
      # The same produce with lz4 batches: the broker inflates and walks every compressed batch it is sent.
      java -Xmx256M -cp "$peers/kafka-jars/*" org.apache.kafka.tools.TopicCommand --bootstrap-server \
        "127.0.0.1:$kafka" --create --topic z16 --partitions 16 --replication-factor 1 >/dev/null 2>&1
      c0=$(cpu_ticks)
      out=$("$rdk" -P -t z16 -b "127.0.0.1:$kafka" -s 1024 -c 1000000 -a -1 -i 600000 -z lz4 2>&1 |
        grep "messages produced" | tail -1)
      c1=$(cpu_ticks)
      nbytes=$(echo "$out" | sed -E 's/.*\(([0-9]+) bytes\).*/\1/') ms=$(echo "$out" | sed -E 's/.* in ([0-9]+)ms:.*/\1/')
      echo "$out" | grep -q " 0 failed)" || { echo "FAIL: rdkafka_performance -z lz4: $out" >&2; exit 1; }
      report "$label" kafka-put-lz4 "$nbytes" "$(python3 -c "print($ms/1000)")" $((c1 - c0))
    fi
    stop
  done
done
