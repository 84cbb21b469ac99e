#!/usr/bin/env bash
# Kafka compatibility suite for Apache Kafka's own Java client (kafka-clients 4.x, JUnit 5 under Surefire) against
# a real `strait dev` process that the tests start on free loopback ports and stop by PID (StraitExtension).
# Maven downloads its dependencies into a local repository outside the clone (~/.m2 unless MAVEN_REPO is set).
# A missing toolchain is a failure, never a skip.
# Usage: run.sh [mvn args...]   e.g. run.sh -Dtest=TransactionsTest   (arguments go to `mvn test`; the
# local repository already keeps what Maven downloaded, so a re-run downloads nothing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"

command -v java >/dev/null || { echo "FAIL: java (17+) is required for the Kafka Java compat suite"; exit 1; }
command -v mvn >/dev/null || { echo "FAIL: mvn (Maven 3.8+) is required for the Kafka Java compat suite"; exit 1; }
# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi

mvn_args=(-B -q -Dstyle.color=never)
if [ -n "${MAVEN_REPO:-}" ]; then
  mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO")
fi
cd "$here"
rm -rf target/surefire-reports
status=0
mvn "${mvn_args[@]}" test "$@" || status=$?

# mvn -q hides Surefire's totals: print them from its reports as one closing line.
tests=0 failed=0 skipped=0
for report in target/surefire-reports/TEST-*.xml; do
  [ -e "$report" ] || continue
  line="$(grep -m1 -o '<testsuite [^>]*>' "$report")"
  attr() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$line"; }
  tests=$(( tests + $(attr tests) ))
  failed=$(( failed + $(attr failures) + $(attr errors) ))
  skipped=$(( skipped + $(attr skipped) ))
done
if [ "$tests" -eq 0 ] && [ "$status" -eq 0 ]; then
  echo "FAIL: the Kafka Java compat suite ran no test"
  status=1
fi
echo
echo "kafka-java: $(( tests - failed - skipped )) passed, $failed failed, $skipped skipped"
exit "$status"
