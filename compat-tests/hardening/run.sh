#!/usr/bin/env bash
# Hardening suite: each defect of the hardening issue (one request that crashed, poisoned or wedged a node) as an
# attack against a real `strait dev` process, then a normal producer and consumer on both protocols to show the
# node still serves. Each test starts its own node on free loopback ports and stops it by PID. Some tests need
# root (a small tmpfs for disk-full) and util-linux's `prlimit`: missing either is a failure, never a skip.
# Usage: run.sh [pytest args...]   e.g. run.sh -k disk_full   (the venv is reused while requirements.txt is unchanged)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require hardening python3 prlimit
strait_binary "$here/../.."
strait_pytest "$here" "${STRAIT_HARDENING_VENV:-$HOME/.cache/strait/venv-hardening}" -o console_output_style=classic "$@"
