# Sourced by the compat suites' run.sh: reuse a suite's installed environment while its lock file is unchanged.
#
# Each environment (a Python venv, a node_modules) holds a stamp file with a hash of what it was installed from
# (the requirements/lock files plus the interpreter's version). When the hash still matches, the install is skipped,
# so re-running one suite with a filter (pytest -k, node --test-name-pattern) starts its tests at once. Deleting the
# environment, or changing a pinned version, reinstalls it. Functions return non-zero on failure (callers run them
# under `|| return 1` or `set -e`).

# Hash of the given files' contents plus an extra string (the tool's version), one line.
strait_env_hash() { # extra, files...
  local extra="$1"; shift
  { printf '%s\n' "$extra"; cat "$@"; } | sha256sum | cut -d' ' -f1
}

# Creates the venv at $1 if missing and installs `pip install -r` for each requirements file unless the venv's stamp
# says exactly these files were installed into it already. Extra pip options go in STRAIT_PIP_ARGS (an array is not
# exportable, so a string; word-split on purpose).
strait_venv() { # venv, requirements files...
  local venv="$1"; shift
  # A venv whose creation was interrupted has a python but no pip: create it again.
  if [ ! -x "$venv/bin/python" ] || [ ! -x "$venv/bin/pip" ]; then
    python3 -m venv --clear "$venv" || return 1
  fi
  local stamp="$venv/.strait-requirements.sha256" want
  want="$(strait_env_hash "$("$venv/bin/python" --version 2>&1)" "$@")" || return 1
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "reusing $venv (requirements unchanged)"
    return 0
  fi
  local req
  rm -f "$stamp"
  for req in "$@"; do
    # shellcheck disable=SC2086
    "$venv/bin/pip" install --quiet --disable-pip-version-check ${STRAIT_PIP_ARGS:-} -r "$req" || return 1
  done
  echo "$want" >"$stamp"
}

# Runs `npm ci` in directory $1 unless its node_modules was installed from the same package-lock.json by the same
# node version.
strait_node_modules() { # dir
  local dir="$1"
  local stamp="$dir/node_modules/.strait-package-lock.sha256" want
  want="$(strait_env_hash "$(node --version)" "$dir/package-lock.json")" || return 1
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "reusing $dir/node_modules (package-lock.json unchanged)"
    return 0
  fi
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || return 1
  echo "$want" >"$stamp"
}

# Fails the calling suite (exit 1) unless every tool is on PATH: a missing toolchain is a failure, never a skip.
strait_require() { # suite name, tools...
  local suite="$1" tool; shift
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "FAIL: $tool is required for the $suite compat suite"; exit 1; }
  done
}

# Exports STRAIT_BIN: the binary scripts/test.sh built and passed in, or (a suite run alone) a fresh debug build.
strait_binary() { # repository root
  if [ -z "${STRAIT_BIN:-}" ]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/strait/target}"
    cargo build --locked -p strait --manifest-path "$1/Cargo.toml" || exit 1
    export STRAIT_BIN="$CARGO_TARGET_DIR/debug/strait"
  fi
  [ -x "$STRAIT_BIN" ] || { echo "FAIL: STRAIT_BIN=$STRAIT_BIN is not an executable"; exit 1; }
}

# Installs the venv $2 from $1/requirements.txt (see strait_venv) and runs pytest in $1 with the remaining
# arguments; returns pytest's status.
strait_pytest() { # suite dir, venv, pytest args...
  local dir="$1" venv="$2"; shift 2
  strait_venv "$venv" "$dir/requirements.txt" || return 1
  (cd "$dir" && PYTHONDONTWRITEBYTECODE=1 "$venv/bin/python" -m pytest -q -p no:cacheprovider "$@")
}

# Runs `mvn test` in the current directory (MAVEN_REPO, if set, is the local repository) and prints Surefire's
# totals as one closing line `<name>: N passed, N failed, N skipped` (mvn -q hides them). Returns non-zero when
# Maven failed or no test ran.
strait_mvn_test() { # name, mvn args...
  local name="$1"; shift
  local mvn_args=(-B -q -Dstyle.color=never) status=0 tests=0 failed=0 skipped=0 report line
  if [ -n "${MAVEN_REPO:-}" ]; then
    mvn_args+=("-Dmaven.repo.local=$MAVEN_REPO")
  fi
  rm -rf target/surefire-reports
  mvn "${mvn_args[@]}" test "$@" || status=$?
  for report in target/surefire-reports/TEST-*.xml; do
    [ -e "$report" ] || continue
    line="$(grep -m1 -o '<testsuite [^>]*>' "$report")"
    tests=$(( tests + $(strait_xml_attr tests "$line") ))
    failed=$(( failed + $(strait_xml_attr failures "$line") + $(strait_xml_attr errors "$line") ))
    skipped=$(( skipped + $(strait_xml_attr skipped "$line") ))
  done
  if [ "$tests" -eq 0 ] && [ "$status" -eq 0 ]; then
    echo "FAIL: the $name suite ran no test"
    status=1
  fi
  echo
  echo "$name: $(( tests - failed - skipped )) passed, $failed failed, $skipped skipped"
  return "$status"
}

# The numeric attribute $1 of the XML start tag $2 (0 when absent).
strait_xml_attr() { # attribute, tag
  local v
  v="$(sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$2")"
  echo "${v:-0}"
}

# Installs Debian's chromium with apt-get when /usr/bin/chromium is missing (CI runs as root), for the suites that
# render the web console in headless Chromium; fails the calling suite when it cannot.
strait_chromium() { # suite name
  if [ ! -x /usr/bin/chromium ]; then
    command -v apt-get >/dev/null || { echo "FAIL: /usr/bin/chromium is missing and apt-get is not available"; exit 1; }
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } \
      || { echo "FAIL: cannot install chromium with apt-get"; exit 1; }
  fi
  [ -x /usr/bin/chromium ] || { echo "FAIL: /usr/bin/chromium is required for the $1 compat suite"; exit 1; }
}
