#!/usr/bin/env bash
# kafkajs smoke suite: produce, consume in a group, commit, admin, against a real `strait dev` started by the test
# on free loopback ports. Installs kafkajs from npm into node_modules (ignored by git; reused while package-lock.json
# is unchanged). A missing Node is a failure.
# Usage: run.sh [node --test args...]   e.g. run.sh --test-name-pattern=gzip
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require kafkajs node npm
strait_binary "$here/../.."
strait_node_modules "$here"
cd "$here"
node --test --test-reporter=spec "$@"
