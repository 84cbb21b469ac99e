#!/usr/bin/env bash
# Strait side by side with Apache Kafka, kinesalite, kinesis-local, the raw disk and loopback (issue 6).
#
#   compat-tests/bench/bench.sh [--quick|--smoke] [--no-docs] [--systems a,b] [--baseline REV]
#                               [--skip physical,kafka,kinesis,cross,scale,recovery]
#
# --baseline REV also builds `strait` at git revision REV (a detached worktree under the peers dir, its own
# target dir there) and runs it as the system strait-baseline (fsync=always, as strait-fsync) through the Kafka and
# Kinesis suites; the report gets a before/after section (this build ÷ REV).
#
# Installs what it needs outside the clone (Kafka jars from Maven Central, the npm peers, librdkafka's
# rdkafka_performance built from the rdkafka-sys crate, Tansu by cargo install when it is to run, a Python venv
# with matplotlib, dist-profile builds of strait and bench-kinesis), starts each system in turn on 127.0.0.1 ports, runs
# the same workloads with the same clients against each, stops each by PID, and writes
#   docs/benchmarks/results/<mode>-<UTC time>.json (one per run), and from the run: docs/benchmarks/*.png,
#   docs/benchmarks/results-<mode>.md
# and the generated block of docs/benchmarks.md. --quick took 11-14 minutes on 2 cores; the full mode
# (the issue's sizes) 35 minutes. Not part of CI: scripts/test.sh runs compat-tests/*/run.sh, and this is
# deliberately not named run.sh.
#
# Environment: BENCH_DIR (scratch data, default ${TMPDIR:-/tmp}/strait-bench; put it on the disk to measure),
# STRAIT_PEERS (installs, default ~/.cache/strait-peers/bench), CARGO_TARGET_DIR (default ~/.cache/strait/target).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
mode=full docs=1 systems="" skip="" baseline=""
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) mode=quick ;;
    --smoke) mode=smoke ;;   # tiny sizes: checks the harness end to end, figures meaningless
    --no-docs) docs=0 ;;
    --systems) systems="$2"; shift ;;
    --skip) skip="$2"; shift ;;
    --baseline) baseline="$2"; shift ;;
    -h|--help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

peers="${STRAIT_PEERS:-$HOME/.cache/strait-peers/bench}"
work="${BENCH_DIR:-${TMPDIR:-/tmp}/strait-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
export PYTHONDONTWRITEBYTECODE=1   # no __pycache__ in the clone
mkdir -p "$peers/npm"
step() { printf '\n==> %s\n' "$*"; }

for tool in java mvn node npm python3 cargo dd ss; do
  command -v "$tool" >/dev/null || { echo "FAIL: $tool is required" >&2; exit 1; }
done

kafka_version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' compat-tests/bench/kafka/pom.xml)
step "Apache Kafka $kafka_version broker and tools jars (Maven Central)"
if [ ! -f "$peers/kafka-jars/.done-$kafka_version" ]; then
  rm -rf "$peers/kafka-jars"
  mvn -q -B -f compat-tests/bench/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory="$peers/kafka-jars"
  touch "$peers/kafka-jars/.done-$kafka_version"
fi

step "kinesalite and kinesis-local (npm)"
if [ ! -f "$peers/npm/.done-1" ]; then
  (cd "$peers/npm" && npm install --no-audit --no-fund --loglevel=error kinesalite@3.3.3 kinesis-local@0.6.2)
  touch "$peers/npm/.done-1"
fi

step "librdkafka's rdkafka_performance (source from the rdkafka-sys crate, built with make)"
rdk="$peers/librdkafka/examples/rdkafka_performance"
if [ ! -x "$rdk" ]; then
  mkdir -p "$peers/rdkafka-fetch/src"
  cp compat-tests/bench/rdkafka/Cargo.toml.in "$peers/rdkafka-fetch/Cargo.toml"
  : > "$peers/rdkafka-fetch/src/lib.rs"
  (cd "$peers/rdkafka-fetch" && cargo fetch -q)
  src=$(cd "$peers/rdkafka-fetch" && cargo metadata --format-version 1 | python3 -c '
import json, os, sys
d = json.load(sys.stdin)
print(os.path.dirname([p["manifest_path"] for p in d["packages"] if p["name"] == "rdkafka-sys"][0]))')
  rm -rf "$peers/librdkafka"
  cp -r "$src/librdkafka" "$peers/librdkafka"
  (cd "$peers/librdkafka" && ./configure --disable-ssl --disable-gssapi --disable-curl --disable-zstd \
     --disable-lz4-ext >/dev/null && make -j2 libs >/dev/null && make -C examples rdkafka_performance >/dev/null)
fi

# Tansu only when its Kafka suite is to run: the install is a ~14-minute build on 2 cores.
if [[ ",$skip," != *,kafka,* ]] && { [ -z "$systems" ] || [[ ",$systems," == *,tansu,* ]]; }; then
  step "Tansu 0.6.0 (cargo install, SQLite engine)"
  if [ ! -x "$peers/tansu/bin/tansu" ]; then
    # Its own target dir under the peers dir, so it never touches the project's.
    CARGO_TARGET_DIR="$peers/tansu-target" cargo install tansu --version 0.6.0 --features dynostore,libsql \
      --locked --root "$peers/tansu"
    rm -rf "$peers/tansu-target"
  fi
fi

step "Python venv with matplotlib (for the plots)"
if [ ! -x "$peers/venv/bin/python" ] || ! "$peers/venv/bin/python" -c 'import matplotlib' 2>/dev/null; then
  python3 -m venv "$peers/venv"
  "$peers/venv/bin/pip" install -q 'matplotlib>=3.8,<4'
fi

step "dist builds (the release profile with thin LTO): strait and bench-kinesis"
cargo build --profile dist --locked -p strait -p strait-bench-kinesis

baseline_args=()
if [ -n "$baseline" ]; then
  rev=$(git rev-parse --verify "$baseline^{commit}")
  short=$(git rev-parse --short "$rev")
  bbin="$peers/strait-$short"
  step "baseline: strait at $baseline ($short)"
  # A commit never changes, so a binary built for it by an earlier run is reused.
  if [ ! -x "$bbin" ]; then
    bsrc="$peers/baseline-src"
    git worktree remove --force "$bsrc" 2>/dev/null || rm -rf "$bsrc"
    git worktree prune
    git worktree add --detach "$bsrc" "$rev"
    # Its own target dir: the baseline's dependencies may differ, and this build must not disturb the main one.
    # Revisions before the dist profile existed built releases with what dist is now (thin LTO).
    bprofile=release
    grep -q '^\[profile.dist\]' "$bsrc/Cargo.toml" && bprofile=dist
    if ! (cd "$bsrc" && CARGO_TARGET_DIR="$peers/baseline-target" cargo build --profile "$bprofile" --locked -p strait); then
      git worktree remove --force "$bsrc"
      echo "FAIL: baseline build of $baseline ($short)" >&2
      exit 1
    fi
    cp "$peers/baseline-target/$bprofile/strait" "$bbin.tmp" && mv "$bbin.tmp" "$bbin"
    git worktree remove --force "$bsrc"
  fi
  baseline_args=(--baseline-bin "$bbin" --baseline-rev "$baseline ($short)")
fi

versions=$(python3 - "$CARGO_TARGET_DIR/dist/strait" "$kafka_version" <<'EOF'
import json, subprocess, sys
def out(*argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError):
        return "unknown"
print(json.dumps({
    "strait": out(sys.argv[1], "--version") + " @ " + out("git", "rev-parse", "--short", "HEAD"),
    "kafka": sys.argv[2] + " (broker and kafka-tools jars from Maven Central)",
    "java": out("java", "-version"),
    "node": out("node", "--version"),
    "kinesalite": "3.3.3", "kinesis-local": "0.6.2", "tansu": "0.6.0 (cargo install, features dynostore,libsql)",
    "aws-sdk-kinesis": "1.130.0 (Rust, bench-kinesis)",
    "librdkafka": "2.12.1 (rdkafka_performance, from rdkafka-sys 4.10.0)",
    "rustc": out("rustc", "--version"),
}))
EOF
)

mkdir -p docs/benchmarks/results
out="docs/benchmarks/results/$mode-$(date -u +%Y%m%dT%H%M%SZ).json"   # one file per run, kept
step "benchmark ($mode): systems ${systems:-all}, scratch $work"
python3 compat-tests/bench/harness/bench.py --mode "$mode" --dir "$work" --peers "$peers" \
  --strait-bin "$CARGO_TARGET_DIR/dist/strait" --kinesis-bin "$CARGO_TARGET_DIR/dist/bench-kinesis" \
  --rdkafka-perf "$rdk" \
  --out "$out" --versions "$versions" --systems "$systems" --skip "$skip" "${baseline_args[@]}"

step "report: plots and tables"
report_args=("$out" --plots docs/benchmarks --table "docs/benchmarks/results-$mode.md")
[ "$docs" = 1 ] && report_args+=(--doc docs/benchmarks.md)
"$peers/venv/bin/python" compat-tests/bench/harness/report.py "${report_args[@]}"
echo "done: $out"
