"""Shared pieces of the deploy suite: where things are, the validators installed in this venv, kustomize's
rendering of each Kubernetes directory, and a Kubernetes-like resolution of a container's environment."""
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
CONTAINERFILE = DEPLOY / "Containerfile"
CONTAINER_CONFIG = DEPLOY / "container" / "strait.toml"
UNIT = DEPLOY / "systemd" / "strait.service"
SYSUSERS = DEPLOY / "systemd" / "strait.sysusers.conf"
K8S_DIRS = sorted(p.parent.name for p in KUBERNETES.glob("*/kustomization.yaml"))
# The Kubernetes versions every manifest is validated against (kubernetes-validate bundles 1.25 to 1.37).
K8S_VERSIONS = ["1.30", "1.37"]
# The ports Strait listens on by default (deploy/strait.example.toml; the inter-node one in server/src/config).
PORTS = {"kafka": 9092, "aws": 4566, "admin": 9644, "cluster": 19092}


def venv_tool(name):
    """A validator installed into this suite's venv (requirements.txt), never one found elsewhere on PATH."""
    path = Path(sys.executable).parent / name
    assert path.exists(), f"{name} is not in the suite's venv ({path}); run.sh installs it"
    return str(path)


def run(cmd, **kw):
    """Runs a command, output captured as text; the caller checks the status."""
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)


def strait_env():
    """This process's environment without STRAIT_<SECTION>__<KEY> settings, which would change what Strait loads."""
    return {k: v for k, v in os.environ.items() if not (k.startswith("STRAIT_") and "__" in k)}


def workspace_version():
    return tomllib.loads((ROOT / "Cargo.toml").read_text())["workspace"]["package"]["version"]


@pytest.fixture(scope="session")
def strait_bin():
    binary = os.environ.get("STRAIT_BIN")
    assert binary and os.access(binary, os.X_OK), "STRAIT_BIN must name a built strait binary (run.sh sets it)"
    return binary


@pytest.fixture(scope="session")
def rendered(tmp_path_factory):
    """kustomize build of every directory under deploy/kubernetes: {dir: (path of the output, [documents])}."""
    kustomize = os.environ.get("KUSTOMIZE")
    assert kustomize and os.access(kustomize, os.X_OK), "KUSTOMIZE must name the kustomize binary (run.sh sets it)"
    assert K8S_DIRS, "no kustomization.yaml under deploy/kubernetes"
    out = {}
    tmp = tmp_path_factory.mktemp("rendered")
    for d in K8S_DIRS:
        r = run([kustomize, "build", KUBERNETES / d])
        assert r.returncode == 0, f"kustomize build deploy/kubernetes/{d} failed:\n{r.stderr}"
        path = tmp / f"{d}.yaml"
        path.write_text(r.stdout)
        out[d] = (path, [doc for doc in yaml.safe_load_all(r.stdout) if doc])
    return out


def find(docs, kind, name=None):
    """The documents of one kind (and name)."""
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs, kind, name=None):
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


def container(statefulset):
    containers = statefulset["spec"]["template"]["spec"]["containers"]
    strait = [c for c in containers if c["name"] == "strait"]
    assert len(strait) == 1, "the StatefulSet needs one container named strait"
    return strait[0]


# Stand-ins for what Kubernetes fills in, for resolving a manifest's environment outside a cluster.
FAKE_SECRETS = {
    "kafka-admin-password": "test-admin-password",
    "aws-access-key-id": "AKIDDEPLOYTEST",
    "aws-secret-access-key": "deploy-test-secret-key",
}


def resolve_env(c, pod_name, namespace):
    """The container's environment as the kubelet would set it: fieldRefs for the pod's name and namespace,
    secretKeyRefs from FAKE_SECRETS (Secret strait-credentials), and $(VAR) references to earlier variables
    expanded ($$ escapes), as Kubernetes does."""
    env = {}
    for e in c.get("env", []):
        name = e["name"]
        if "value" in e:
            def sub(m):
                if m.group(0) == "$$":
                    return "$"
                return env.get(m.group(1), m.group(0))
            env[name] = re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)", sub, e["value"])
            continue
        ref = e["valueFrom"]
        if "fieldRef" in ref:
            field = ref["fieldRef"]["fieldPath"]
            env[name] = {"metadata.name": pod_name, "metadata.namespace": namespace}[field]
        elif "secretKeyRef" in ref:
            assert ref["secretKeyRef"]["name"] == "strait-credentials", f"{name}: unexpected Secret"
            key = ref["secretKeyRef"]["key"]
            assert key in FAKE_SECRETS, f"{name}: Secret key {key} is not one deploy/README.md tells to create"
            env[name] = FAKE_SECRETS[key]
        else:
            raise AssertionError(f"{name}: unexpected valueFrom {ref}")
    return env


def config_show(strait_bin, config, env, cwd=None):
    """`strait config show --config FILE` with the given STRAIT_* settings: the binary's own validation."""
    return run([strait_bin, "config", "show", "--config", config], env={**strait_env(), **env}, cwd=cwd)
