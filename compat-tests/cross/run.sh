#!/usr/bin/env bash
# Cross-protocol compatibility suites: Kafka clients and Kinesis clients on one stream of one real `strait dev`
# that each test run starts on free loopback ports and stops by PID.
#   python  confluent-kafka (librdkafka) + boto3 (pytest): each writer read back by a consumer group, GetRecords and
#           SubscribeToShard; the mapping rules of docs/cross-protocol.md; resharding seen by a consumer group
#   java    kafka-clients producer/consumer + AWS SDK for Java v2 (CBOR, HTTP/2) PutRecords/GetRecords/
#           SubscribeToShard (Maven, JUnit 5)
#   kcl-java  a real Kinesis Client Library 3.x application (enhanced fan-out and polling) with only endpoint
#           overrides, through a SplitShard, a MergeShards and a restart (Maven, JUnit 5; see kcl-java/README.md)
#   kclpy   amazon-kclpy (MultiLangDaemon, KCL 3.x) apps with only endpoint overrides: resharding while consuming
#           (EFO and polling), KPL-aggregated records (pytest; KCL's jars resolved by Maven; see kclpy/README.md)
# Usage: run.sh [python] [java] [kcl-java] [kclpy] [-- runner args...]   (default: all). Arguments after `--` go to
# each chosen suite's runner as they are: pytest (python, kclpy), mvn test (java, kcl-java), e.g.
#   run.sh python -- -k checkpoint       run.sh java -- -Dtest=CrossProtocolTest
# Each installs its clients from its registry, outside the clone, and reuses a venv while its requirements.txt is
# unchanged (Maven keeps its local repository). A missing toolchain is a failure, never a skip; every suite runs
# even when an earlier one failed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
venv="${STRAIT_CROSS_VENV:-$HOME/.cache/strait/venv-cross}"
suites=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do suites+=("$1"); shift; done
[ $# -eq 0 ] || shift
runner_args=("$@")
[ ${#suites[@]} -gt 0 ] || suites=(python java kcl-java kclpy)
. "$here/../sh-support/env.sh"

# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi
[ -x "$STRAIT_BIN" ] || { echo "FAIL: STRAIT_BIN=$STRAIT_BIN is not an executable"; exit 1; }

run_python() {
  command -v python3 >/dev/null || { echo "FAIL: python3 is required for the cross-protocol suite"; return 1; }
  # (set -e does not apply inside a function called from `||`: each step checks its own status.)
  strait_venv "$venv" "$here/requirements.txt" || return 1
  (cd "$here/python" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider -o console_output_style=classic "${runner_args[@]}")
}

run_kclpy() {
  local tool
  for tool in python3 java mvn; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is required for the kclpy suite (python3, java 17+, mvn)"; return 1; }
  done
  # The operator's view of a KCL application is checked in the web console, rendered by headless Chromium.
  (strait_chromium kclpy) || return 1
  local kvenv="${STRAIT_KCLPY_VENV:-$HOME/.cache/strait/venv-kclpy}" cache="$HOME/.cache/strait/kclpy"
  local repo="${MAVEN_REPO:-$HOME/.m2/repository}" margs=(-B -q -Dstyle.color=never)
  [ -z "${MAVEN_REPO:-}" ] || margs+=("-Dmaven.repo.local=$MAVEN_REPO")
  local version
  version="$(sed -n 's/^amazon-kclpy==//p' "$here/kclpy/requirements.txt")"
  [ -n "$version" ] || { echo "FAIL: kclpy/requirements.txt pins no amazon-kclpy version"; return 1; }
  [ -x "$kvenv/bin/python" ] || python3 -m venv "$kvenv" || return 1
  # The venv is stamped like strait_venv's (sh-support/env.sh); the jar check below runs either way.
  local stamp="$kvenv/.strait-requirements.sha256" installed
  installed="$(strait_env_hash "$("$kvenv/bin/python" --version 2>&1)" "$here/kclpy/requirements.txt")" || return 1
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$installed" ]; then
    echo "reusing $kvenv (kclpy/requirements.txt unchanged)"
  else
    rm -f "$stamp"
    # amazon-kclpy's setup.py copies the KCL jars its pom.xml lists into the package, from a Maven repository URL
    # (KCL_MVN_REPO_SEARCH_URL). Maven resolves exactly those jars (the pom with coordinates added, no transitives)
    # into the local repository, which setup.py then reads through a file: URL.
    mkdir -p "$cache" || return 1
    local sdist="$cache/amazon_kclpy-$version.tar.gz"
    [ -s "$sdist" ] || "$kvenv/bin/pip" download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
      "amazon-kclpy==$version" -d "$cache" || return 1
    tar -xzOf "$sdist" "amazon_kclpy-$version/pom.xml" \
      | sed 's#<modelVersion>4.0.0</modelVersion>#&<groupId>dev.strait.compat</groupId><artifactId>kclpy-jars</artifactId><version>0</version><packaging>pom</packaging>#' \
      > "$cache/pom.xml" || return 1
    mvn "${margs[@]}" -f "$cache/pom.xml" dependency:resolve -DexcludeTransitive=true || return 1
    KCL_MVN_REPO_SEARCH_URL="file://$repo/" "$kvenv/bin/pip" install --quiet --disable-pip-version-check \
      -r "$here/kclpy/requirements.txt" || return 1
    echo "$installed" >"$stamp"
  fi
  local want have
  want="$(grep -c '<dependency>' "$cache/pom.xml")"
  have="$("$kvenv/bin/python" -c 'import amazon_kclpy, glob, os; print(len(glob.glob(os.path.join(os.path.dirname(amazon_kclpy.__file__), "jars", "*.jar"))))')" || return 1
  [ "$have" -eq "$want" ] || { echo "FAIL: amazon-kclpy $version holds $have KCL jars, its pom.xml lists $want"; return 1; }
  (cd "$here/kclpy" && PYTHONDONTWRITEBYTECODE=1 "$kvenv/bin/python" -m pytest -q -p no:cacheprovider -o console_output_style=classic "${runner_args[@]}")
}

# One Maven suite in $1 (a directory under here), named $2 in messages.
run_maven() {
  local dir="$1" name="$2"
  command -v java >/dev/null || { echo "FAIL: java (17+) is required for the $name suite"; return 1; }
  command -v mvn >/dev/null || { echo "FAIL: mvn (Maven 3.8+) is required for the $name suite"; return 1; }
  local args=(-B -q -Dstyle.color=never)
  [ -z "${MAVEN_REPO:-}" ] || args+=("-Dmaven.repo.local=$MAVEN_REPO")
  cd "$here/$dir" || return 1
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
    echo "FAIL: the $name suite ran no test"
    status=1
  fi
  echo
  echo "$name: $(( tests - failed - skipped )) passed, $failed failed, $skipped skipped"
  return "$status"
}

run_java() {
  run_maven java cross-java
}

run_kcl-java() {
  run_maven kcl-java cross-kcl-java
}

overall=0
summary=()
for suite in "${suites[@]}"; do
  case "$suite" in
    python|java|kcl-java|kclpy) ;;
    *) echo "FAIL: unknown suite '$suite' (python, java, kcl-java, kclpy)"; exit 2 ;;
  esac
  echo "==> cross/$suite"
  started=$(date +%s)
  status=0
  ( "run_$suite" ) || status=$?
  summary+=("cross/$suite: $([ "$status" -eq 0 ] && echo ok || echo "FAILED ($status)") in $(( $(date +%s) - started ))s")
  [ "$status" -eq 0 ] || overall=1
done
printf '%s\n' "${summary[@]}"
exit "$overall"
