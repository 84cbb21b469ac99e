#!/usr/bin/env bash
# Runs Strait's whole test suite on a fresh machine: installs what the suites need, then format, lints, the
# dependency-direction rule, the workspace rules (metric catalogue, file length), unit/integration/property tests,
# the kill -9 crash test and the compat suites. CI runs exactly this (.ci/run). Build output goes outside the clone
# so later runs reuse it; nothing depends on it.
#
#   scripts/test.sh           the full run (CI, README)
#   scripts/test.sh --quick   the developer tier: fmt check, dependency direction, workspace rules, clippy, unit
#                             tests (`cargo test --workspace --lib`) and the proptest-based integration tests; no
#                             other integration test, no compat suite, no server process
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches of every test binary run to gigabytes and do not pay off for a single pass over the tree.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
quick=""
case "${1:-}" in
  "") ;;
  --quick) quick=1 ;;
  *) echo "usage: scripts/test.sh [--quick]"; exit 2 ;;
esac
started=$(date +%s)
step() { printf '\n==> %s  (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }
# The workspace rules report every violation and let the build and tests still run; the run fails at its end.
rules_failed=()
rule() { # name, command...
  local name="$1"; shift
  "$@" || rules_failed+=("$name")
}
finish() {
  if [ ${#rules_failed[@]} -gt 0 ]; then
    step "FAILED workspace rules: ${rules_failed[*]} (see their output above)"
    exit 1
  fi
  step "all ${1}tests passed in $(( $(date +%s) - started ))s"
}

step "toolchain (pinned by rust-toolchain.toml)"
command -v cargo >/dev/null || { echo "cargo not found: install rustup first (https://rustup.rs)"; exit 1; }
rustup show active-toolchain
rustup component add rustfmt clippy >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check

step "dependency direction"
bash scripts/check-deps.sh

step "workspace rules: metric catalogue, file length"
rule "metric catalogue" python3 scripts/check-metrics.py
rule "file length" python3 scripts/check-file-size.py

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

if [ -n "$quick" ]; then
  # Integration-test files that use proptest, found rather than listed so new ones join the quick tier. One cargo
  # invocation over the workspace, so features resolve as for clippy and nothing is built twice.
  prop_tests=()
  while read -r file; do
    prop_tests+=(--test "$(basename "$file" .rs)")
  done < <(grep -rl --include='*.rs' proptest -- */tests */*/tests 2>/dev/null | grep -v '/tests/.*/' | sort)
  step "cargo test --lib (unit tests) and the property tests: ${prop_tests[*]}"
  cargo test --workspace --locked --lib "${prop_tests[@]}"
  finish "quick "
  exit 0
fi

step "cargo test (unit, integration, property and kill -9 crash tests)"
cargo test --workspace --locked

# `cargo test --workspace` has just built the server binary (integration tests run it); the compat suites use
# that one rather than rebuilding it with a different feature set.
export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
[ -x "$STRAIT_BIN" ] || { echo "FAIL: $STRAIT_BIN was not built by cargo test"; exit 1; }
for suite in compat-tests/*/run.sh; do
  [ -e "$suite" ] || continue
  step "compat suite: $suite"
  bash "$suite"
done

finish ""
