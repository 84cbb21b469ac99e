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
