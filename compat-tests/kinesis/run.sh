#!/usr/bin/env bash
# Kinesis compatibility suites: real AWS clients against a real `strait dev` that each test run starts on free
# loopback ports and stops by PID.
#   python  boto3 + the AWS CLI (pytest): every operation, errors, SigV4, resharding under load
#   js      AWS SDK for JavaScript v3 (node --test): put/get, SubscribeToShard over HTTP/2
#   java    AWS SDK for Java v2 (Maven, JUnit 5): CBOR put/get, SubscribeToShard over Netty HTTP/2
# (The AWS SDK for Rust test is a workspace crate, compat-tests/kinesis-rust, run by `cargo test`.)
# Usage: run.sh [python] [js] [java] [-- runner args...]   (default: all three). Arguments after `--` go to each
# chosen suite's runner as they are: pytest (python), node --test (js), mvn test (java), e.g.
#   run.sh python -- -k split_shard        run.sh js -- --test-name-pattern=HTTP/2        run.sh java -- -Dtest=CborTest
# Each installs its client from its registry, outside the clone, and reuses it while its requirements.txt /
# package-lock.json is unchanged (Maven keeps its local repository). A missing toolchain is a failure, never a
# skip; every suite runs even when an earlier one failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
venv="${STRAIT_KINESIS_VENV:-$HOME/.cache/strait/venv-kinesis}"
suites=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do suites+=("$1"); shift; done
[ $# -eq 0 ] || shift
runner_args=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(python js java)
. "$here/../sh-support/env.sh"

# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi
[ -x "$STRAIT_BIN" ] || { echo "FAIL: STRAIT_BIN=$STRAIT_BIN is not an executable"; exit 1; }

run_python() {
  command -v python3 >/dev/null || { echo "FAIL: python3 is required for the Kinesis boto3 suite"; return 1; }
  # (set -e does not apply inside a function called from `||`: each step checks its own status.)
  strait_venv "$venv" "$here/requirements.txt" || return 1
  (cd "$here/python" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider -o console_output_style=classic "${runner_args[@]}")
}

run_js() {
  command -v node >/dev/null || { echo "FAIL: node (20+) is required for the Kinesis JS v3 suite"; return 1; }
  command -v npm >/dev/null || { echo "FAIL: npm is required for the Kinesis JS v3 suite"; return 1; }
  strait_node_modules "$here/js" || return 1
  (cd "$here/js" && node --test --test-reporter=spec "${runner_args[@]}")
}

run_java() {
  command -v java >/dev/null || { echo "FAIL: java (17+) is required for the Kinesis Java v2 suite"; return 1; }
  command -v mvn >/dev/null || { echo "FAIL: mvn (Maven 3.8+) is required for the Kinesis Java v2 suite"; return 1; }
  local args=(-B -q -Dstyle.color=never)
  [ -z "${MAVEN_REPO:-}" ] || args+=("-Dmaven.repo.local=$MAVEN_REPO")
  cd "$here/java" || return 1
  rm -rf target/surefire-reports
  local status=0
  mvn "${args[@]}" test "${runner_args[@]}" || status=$?
  # mvn -q hides Surefire's totals: print them from its reports as one closing line.
  local tests=0 failed=0 skipped=0 report line
  for report in target/surefire-reports/TEST-*.xml; do
    [ -e "$report" ] || continue
    line="$(grep -m1 -o '<testsuite [^>]*>' "$report")"
    attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$line"; }
    tests=$(( tests + $(attr tests) ))
    failed=$(( failed + $(attr failures) + $(attr errors) ))
    skipped=$(( skipped + $(attr skipped) ))
  done
  if [ "$tests" -eq 0 ]; then
    echo "FAIL: the Kinesis Java compat suite ran no test"
    status=1
  fi
  echo
  echo "kinesis-java: $(( tests - failed - skipped )) passed, $failed failed, $skipped skipped"
  return "$status"
}

overall=0
summary=()
for suite in "${suites[@]}"; do
  case "$suite" in
    python|js|java) ;;
    *) echo "FAIL: unknown suite '$suite' (python, js, java)"; exit 2 ;;
  esac
  echo "==> kinesis/$suite"
  started=$(date +%s)
  status=0
  ( "run_$suite" ) || status=$?
  summary+=("kinesis/$suite: $([ "$status" -eq 0 ] && echo ok || echo "FAILED ($status)") in $(( $(date +%s) - started ))s")
  [ "$status" -eq 0 ] || overall=1
done
printf '%s\n' "${summary[@]}"
exit "$overall"
