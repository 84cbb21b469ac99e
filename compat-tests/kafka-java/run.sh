#!/usr/bin/env bash
# Kafka compatibility suite for Apache Kafka's own Java client (kafka-clients 4.x, JUnit 5 under Surefire) against
# a real `strait dev` process that the tests start on free loopback ports and stop by PID (StraitExtension).
# Maven downloads its dependencies into a local repository outside the clone (~/.m2 unless MAVEN_REPO is set).
# A missing toolchain is a failure, never a skip.
# Usage: run.sh [mvn args...]   e.g. run.sh -Dtest=TransactionsTest   (arguments go to `mvn test`; the
# local repository already keeps what Maven downloaded, so a re-run downloads nothing)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require "Kafka Java" java mvn
strait_binary "$here/../.."
cd "$here"
strait_mvn_test kafka-java "$@"
