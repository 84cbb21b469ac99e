#!/usr/bin/env bash
# Deploy suite: every artifact in deploy/ checked by a real tool, and every Strait configuration shipped there
# accepted by the real binary (deploy/README.md, "What CI checks", says what each check covers and what it does not):
#   systemd/     systemd-analyze verify (with --root, so ExecStart's binary is the built strait) and
#                systemd-analyze security --offline (an exposure threshold); systemd-sysusers on the sysusers file;
#   kubernetes/  kustomize build of each directory, kubernetes-validate --strict of every resource against the
#                Kubernetes 1.30 and 1.37 JSON schemas, ShellCheck on the cluster entrypoint;
#   Containerfile  hadolint, and its stages, user, ports, volume and commands read with dockerfile-parse;
#   configs      `strait config show` on the container's and each StatefulSet's configuration with the environment
#                its manifest gives (the cluster's through its real entrypoint script), and one real start of the
#                container's configuration on loopback ports, probed by the image's own HEALTHCHECK command.
# The image is not built: no container engine runs here. Installs into ~/.cache/strait (a venv; kustomize with
# `go install`), reused across runs. A missing toolchain is a failure, never a skip.
# Usage: run.sh [pytest args...]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../sh-support/env.sh"
strait_require deploy python3 go

# systemd-analyze and systemd-sysusers come with Debian's systemd package (no service manager is started).
if ! command -v systemd-analyze >/dev/null || ! command -v systemd-sysusers >/dev/null; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" apt-get install -y --no-install-recommends systemd \
    || { "${sudo[@]}" apt-get update && "${sudo[@]}" apt-get install -y --no-install-recommends systemd; } \
    || { echo "FAIL: could not install systemd (for systemd-analyze) with apt-get"; exit 1; }
fi
strait_require deploy systemd-analyze systemd-sysusers

strait_binary "$here/../.."

# kustomize (the one `kubectl apply -k` embeds) from the Go module proxy, kept per version. v5.8.3 needs Go 1.27.
KUSTOMIZE_VERSION=v5.8.2
tools="$HOME/.cache/strait/deploy-tools/kustomize-$KUSTOMIZE_VERSION"
if [ ! -x "$tools/kustomize" ]; then
  echo "installing kustomize $KUSTOMIZE_VERSION into $tools"
  GOBIN="$tools" GOFLAGS=-buildvcs=false go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" \
    || { echo "FAIL: go install kustomize $KUSTOMIZE_VERSION"; exit 1; }
fi
export KUSTOMIZE="$tools/kustomize"

strait_pytest "$here" "${STRAIT_VENV:-$HOME/.cache/strait/venv-deploy}" "$@"
