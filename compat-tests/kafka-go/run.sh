#!/usr/bin/env bash
# Kafka compatibility suite for franz-go (Go) and kcat (an old librdkafka) against a real `strait dev` process that
# this script starts on free loopback ports (temp data dir) and stops by PID:
#   1. franz-go's own pkg/kgo integration tests, at a pinned version fetched through the Go module proxy, limited
#      to the allow-list kgo-tests.allow (FINDINGS.md says why each other broker test is left out);
#   2. kcat (librdkafka 2.0.2): metadata, a snappy produce consumed back byte-exact, offsets-for-times queries, a
#      balanced consumer group resuming from its committed offset.
# Installs what it needs outside the clone (Go module cache, apt for kcat). A missing toolchain is a failure, never a
# skip. Env: STRAIT_BIN (else cargo builds it), CARGO_TARGET_DIR, KGO_TEST_RECORDS (default 10000), KGO_LOG_LEVEL
# (info|debug|none), KGO_ALLOW_FILE (another test list, e.g. to try an excluded test), KEEP_WORK=1.
# Usage: run.sh [-run REGEX]   with -run (as `go test -run`), only the allow-listed kgo tests whose names match
# REGEX run, and the kcat checks only if REGEX matches the word "kcat": e.g. `run.sh -run TestPing`,
# `run.sh -run kcat`. The compiled kgo test binary is kept in ~/.cache/strait/kafka-go per franz-go and Go version,
# so a re-run does not recompile it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"

# franz-go is one Go module; pkg/kgo is a package inside it (pkg/kgo@vX is not a module path the proxy knows).
FRANZ_GO_MODULE=github.com/twmb/franz-go
FRANZ_GO_VERSION=v1.22.3
KGO_TEST_RECORDS="${KGO_TEST_RECORDS:-10000}"
allow_file="${KGO_ALLOW_FILE:-$here/kgo-tests.allow}"
filter=""
while [ $# -gt 0 ]; do
  case "$1" in
    -run) [ $# -ge 2 ] || { echo "usage: run.sh [-run REGEX]" >&2; exit 2; }; filter="$2"; shift 2 ;;
    -run=*) filter="${1#-run=}"; shift ;;
    *) echo "usage: run.sh [-run REGEX]   (unknown argument '$1')" >&2; exit 2 ;;
  esac
done

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in go curl python3; do
  command -v "$tool" >/dev/null || fail "$tool is required for the kafka-go compat suite"
done

# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi
strait_bin="$STRAIT_BIN"
[ -x "$strait_bin" ] || fail "no strait binary at $strait_bin"

if ! command -v kcat >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y kcat || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y kcat; } \
    || fail "could not install kcat with apt-get"
fi
command -v kcat >/dev/null || fail "kcat is required for the kafka-go compat suite"

work="$(mktemp -d "${TMPDIR:-/tmp}/strait-kafka-go.XXXXXX")"
strait_pid=""
strait_log="$work/strait.log"
cleanup() {
  local rc=$?
  if [ -n "$strait_pid" ] && kill -0 "$strait_pid" 2>/dev/null; then
    kill -TERM "$strait_pid" 2>/dev/null || true
    for _ in $(seq 200); do kill -0 "$strait_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$strait_pid" 2>/dev/null || true
    wait "$strait_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ]; then
    if [ -s "$strait_log" ]; then
      echo "---- strait log (last 300 lines; full log, data and test output kept in $work) ----" >&2
      tail -n 300 "$strait_log" >&2
    fi
    echo "kafka-go: FAILED (work dir kept: $work)" >&2
  elif [ -n "${KEEP_WORK:-}" ]; then
    echo "kafka-go: work dir kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- franz-go source (tests included) from the module proxy, copied somewhere writable, tests compiled ----------
dl_json="$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$FRANZ_GO_MODULE@$FRANZ_GO_VERSION")" \
  || fail "go mod download $FRANZ_GO_MODULE@$FRANZ_GO_VERSION: $dl_json"
mod_dir="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p' <<<"$dl_json")"
[ -d "$mod_dir/pkg/kgo" ] || fail "no pkg/kgo in the downloaded module: $dl_json"
cp -R "$mod_dir" "$work/franz-go"
chmod -R u+w "$work/franz-go"
kgo_dir="$work/franz-go/pkg/kgo"

allowed=()
while read -r name; do
  name="${name%%#*}"; name="${name//[[:space:]]/}"
  [ -n "$name" ] || continue
  grep -q "^func $name(t \*testing.T)" "$kgo_dir"/*_test.go \
    || fail "$allow_file names $name, which franz-go $FRANZ_GO_VERSION does not have"
  if [ -z "$filter" ] || grep -Eq -- "$filter" <<<"$name"; then allowed+=("$name"); fi
done <"$allow_file"
run_kcat=1
if [ -n "$filter" ]; then
  grep -Eq -- "$filter" <<<"kcat" || run_kcat=""
  [ "${#allowed[@]}" -gt 0 ] || [ -n "$run_kcat" ] || fail "-run '$filter' matches no allow-listed kgo test and not kcat"
else
  [ "${#allowed[@]}" -gt 0 ] || fail "$allow_file lists no test"
fi
run_re="^($(IFS='|'; echo "${allowed[*]}"))\$"

kgo_cache="$HOME/.cache/strait/kafka-go"
kgo_test="$kgo_cache/kgo-$FRANZ_GO_VERSION-$(go env GOVERSION).test"
if [ "${#allowed[@]}" -eq 0 ]; then
  : # -run chose kcat only: nothing to compile
elif [ -x "$kgo_test" ]; then
  echo "kafka-go: reusing the compiled franz-go $FRANZ_GO_VERSION pkg/kgo tests ($kgo_test)"
else
  echo "kafka-go: compiling franz-go $FRANZ_GO_VERSION pkg/kgo tests"
  mkdir -p "$kgo_cache"
  (cd "$kgo_dir" && go test -c -o "$kgo_test.tmp" .) || fail "could not compile the franz-go kgo tests"
  mv "$kgo_test.tmp" "$kgo_test"
fi

# ---- strait dev on free loopback ports ------------------------------------------------------------------------
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
kafka_addr="127.0.0.1:$(free_port)"
admin_addr="127.0.0.1:$(free_port)"
aws_addr="127.0.0.1:$(free_port)"
NO_COLOR=1 "$strait_bin" dev --data-dir "$work/data" --kafka-addr "$kafka_addr" --aws-addr "$aws_addr" \
  --admin-addr "$admin_addr" >"$strait_log" 2>&1 &
strait_pid=$!
healthy=""
for _ in $(seq 300); do
  kill -0 "$strait_pid" 2>/dev/null || fail "strait exited early"
  if curl -fsS -o /dev/null "http://$admin_addr/healthz" 2>/dev/null; then healthy=1; break; fi
  sleep 0.1
done
[ -n "$healthy" ] || fail "strait did not become healthy in 30 s"
echo "kafka-go: strait $strait_pid serving Kafka on $kafka_addr"

# ---- 1. franz-go kgo integration tests --------------------------------------------------------------------------
if [ "${#allowed[@]}" -gt 0 ]; then
  echo "kafka-go: running ${#allowed[@]} franz-go kgo tests (KGO_TEST_RECORDS=$KGO_TEST_RECORDS)"
  kgo_log="$work/kgo-test.log"
  kgo_status=0
  (cd "$kgo_dir" && KGO_SEEDS="$kafka_addr" KGO_TEST_RF=1 KGO_TEST_RECORDS="$KGO_TEST_RECORDS" \
    "$kgo_test" -test.count=1 -test.v -test.timeout=4m -test.run "$run_re") >"$kgo_log" 2>&1 || kgo_status=$?
  kgo_failed=()
  for name in "${allowed[@]}"; do
    if grep -q "^--- PASS: $name " "$kgo_log"; then
      echo "  PASS $name"
    else
      verdict="$(grep -o -m1 "^--- [A-Z]*: $name " "$kgo_log" | cut -d' ' -f2 | tr -d :)"
      echo "  ${verdict:-NO RESULT} $name"
      kgo_failed+=("$name")
    fi
  done
  if [ "$kgo_status" -ne 0 ] || [ "${#kgo_failed[@]}" -gt 0 ]; then
    echo "---- franz-go test output (last 200 lines; full output in $kgo_log) ----" >&2
    tail -n 200 "$kgo_log" >&2
    fail "franz-go kgo tests: ${#kgo_failed[@]} of ${#allowed[@]} did not pass (exit $kgo_status): ${kgo_failed[*]}"
  fi
  echo "kafka-go: franz-go kgo: ${#allowed[@]} passed"
fi

if [ -z "$run_kcat" ]; then
  echo "kafka-go: kcat checks left out by -run '$filter'"
  echo "kafka-go: all passed"
  exit 0
fi

# ---- 2. kcat (librdkafka 2.0.2) ---------------------------------------------------------------------------------
kcat_run() { timeout 60 kcat -b "$kafka_addr" "$@"; }
echo "kafka-go: $(kcat -V 2>&1 | sed -n 's/^Version \([^ ]*\) .*librdkafka \([0-9.]*\).*/kcat \1 (librdkafka \2)/p')"
topic="kcat-$(date +%s)-$$"

# Old librdkafka rejects an ApiVersions response it cannot parse: metadata working proves the handshake.
kcat_run -L >"$work/kcat-L.txt" 2>&1 || { cat "$work/kcat-L.txt" >&2; fail "kcat -L failed"; }
grep -q "broker [0-9]* at $kafka_addr" "$work/kcat-L.txt" || { cat "$work/kcat-L.txt" >&2; fail "kcat -L: broker $kafka_addr not listed"; }

# 1000 lines (ASCII, spaces, tabs, UTF-8), produced snappy-compressed in two halves a second apart.
input="$work/kcat-input.txt"
for i in $(seq 1 1000); do
  printf 'line %04d\tstrait \xc3\xa9t\xc3\xa9 %s\n' "$i" "$(printf '%*s' $((i % 37)) '' | tr ' ' x)"
done >"$input"
head -n 500 "$input" | kcat_run -P -t "$topic" -z snappy || fail "kcat -P (first half)"
sleep 1.5
mid_ms=$(( $(date +%s%N) / 1000000 ))
sleep 0.5
tail -n 500 "$input" | kcat_run -P -t "$topic" -z snappy || fail "kcat -P (second half)"

kcat_run -L -t "$topic" >"$work/kcat-Lt.txt" 2>&1 || { cat "$work/kcat-Lt.txt" >&2; fail "kcat -L -t $topic failed"; }
grep -q "topic \"$topic\" with 1 partitions" "$work/kcat-Lt.txt" \
  || { cat "$work/kcat-Lt.txt" >&2; fail "kcat -L -t: $topic not listed with 1 partition"; }

output="$work/kcat-output.txt"
kcat_run -C -t "$topic" -o beginning -e -q >"$output" || fail "kcat -C failed"
cmp "$input" "$output" || fail "kcat consumed bytes differ from the produced lines (see $output)"

# -Q: logical offsets and timestamps (before all, between the halves, after all).
query() { kcat_run -Q -t "$topic:0:$1" | sed -n "s/^$topic \[0\] offset \(-\{0,1\}[0-9]*\)$/\1/p"; }
expect_offset() {
  local got; got="$(query "$1")"
  [ "$got" = "$2" ] || fail "kcat -Q $topic:0:$1 gave offset '${got}', expected $2"
}
expect_offset -1 1000
expect_offset -2 0
expect_offset 0 0
expect_offset "$mid_ms" 500
expect_offset $(( mid_ms + 3600000 )) -1

# Balanced consumer (classic group protocol): reads everything, commits on exit, and a second member of the same
# group resumes from the committed offset.
group="kcat-group-$$"
kcat_run -G "$group" "$topic" -o beginning -e -q >"$work/kcat-group1.txt" || fail "kcat -G (first) failed"
cmp "$input" "$work/kcat-group1.txt" || fail "kcat -G consumed bytes differ from the produced lines"
printf 'after commit %d\n' 1 2 3 >"$work/kcat-more.txt"
kcat_run -P -t "$topic" <"$work/kcat-more.txt" || fail "kcat -P (after commit)"
kcat_run -G "$group" "$topic" -e -q >"$work/kcat-group2.txt" || fail "kcat -G (second) failed"
cmp "$work/kcat-more.txt" "$work/kcat-group2.txt" || fail "kcat -G did not resume from the committed offset"
echo "kafka-go: kcat: -L, 1000 snappy lines round-tripped byte-exact, -Q offsets and timestamps, -G group resume"

echo "kafka-go: all passed"
