#!/usr/bin/env bash
# The web console on the admin listener, driven in headless Chromium through playwright-core against a real
# `strait dev` started by the test on free loopback ports. Data is made with real clients (kafkajs; the AWS SDK for
# JavaScript v3 for Kinesis) and each page is checked against the clients' own view; screenshots of the pages are
# written to docs/console/. Installs Debian's chromium with apt-get when /usr/bin/chromium is missing (CI runs as
# root) and the npm packages into node_modules (ignored by git; reused while package-lock.json is unchanged).
# A missing Node, npm or Chromium is a failure, never a skip.
# Usage: run.sh [node --test args...]   e.g. run.sh --test-name-pattern=records
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require console node npm
strait_chromium console
strait_binary "$here/../.."
strait_node_modules "$here"
cd "$here"
node --test --test-reporter=spec "$@"
