#!/usr/bin/env bash
# Runs Strait's whole test suite on a fresh machine: installs what the suites need, then format, lints, the
# dependency-direction rule, unit/integration/property tests, the kill -9 crash test and the compat suites.
# CI runs exactly this (.ci/run). Build output goes outside the clone so later runs reuse it; nothing depends on it.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# Incremental caches of every test binary run to gigabytes and do not pay off for a single pass over the tree.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
started=$(date +%s)
step() { printf '\n==> %s  (+%ss)\n' "$*" "$(( $(date +%s) - started ))"; }

step "toolchain (pinned by rust-toolchain.toml)"
command -v cargo >/dev/null || { echo "cargo not found: install rustup first (https://rustup.rs)"; exit 1; }
rustup show active-toolchain
rustup component add rustfmt clippy >/dev/null

step "cargo fmt --check"
cargo fmt --all -- --check

step "dependency direction"
bash scripts/check-deps.sh

step "cargo clippy --all-targets -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

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

step "all tests passed in $(( $(date +%s) - started ))s"
