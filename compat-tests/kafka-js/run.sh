#!/usr/bin/env bash
# kafkajs smoke suite: produce, consume in a group, commit, admin, against a real `strait dev` started by the test
# on free loopback ports. Installs kafkajs from npm into node_modules (ignored by git; reused while package-lock.json
# is unchanged). A missing Node is a failure.
# Usage: run.sh [node --test args...]   e.g. run.sh --test-name-pattern=gzip
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
command -v node >/dev/null || { echo "FAIL: node is required for the kafkajs compat suite"; exit 1; }
command -v npm >/dev/null || { echo "FAIL: npm is required for the kafkajs compat suite"; exit 1; }
# scripts/test.sh passes the binary it just built; run alone, the suite builds it.
if [ -z "${STRAIT_BIN:-}" ]; then
  cargo build --locked -p strait --manifest-path "$root/Cargo.toml"
  export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
fi
. "$here/../sh-support/env.sh"
strait_node_modules "$here"
cd "$here"
node --test --test-reporter=spec "$@"
