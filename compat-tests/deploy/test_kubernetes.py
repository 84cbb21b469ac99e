"""deploy/kubernetes: each directory rendered by kustomize (what `kubectl apply -k` does) and every resource
validated by kubernetes-validate in strict mode (unknown fields are errors) against the JSON schemas of two
Kubernetes versions; the files themselves too, so a resource left out of the kustomization is still checked.
Then what the schemas cannot know: probes, ports, users and the cluster's per-pod wiring agree with Strait's
configuration and with the image."""
import re

import pytest
import yaml

from conftest import (FAKE_SECRETS, K8S_DIRS, K8S_VERSIONS, KUBERNETES, PORTS, DEPLOY, container, find, one, run,
                      venv_tool, workspace_version)
from test_container import last, stages


def validate(path):
    """kubernetes-validate --strict on one file: fails on an ERROR and also on a WARN, which is what it reports
    for a kind or apiVersion it has no schema for (a typo there would otherwise pass)."""
    args = [venv_tool("kubernetes-validate"), "--strict"]
    for v in K8S_VERSIONS:
        args += ["-k", v]
    r = run(args + [path])
    out = r.stdout + r.stderr
    problems = [line for line in out.splitlines() if not line.startswith("INFO ")]
    assert r.returncode == 0 and not problems, f"kubernetes-validate {path}:\n{out}"
    return [line for line in out.splitlines() if " passed for resource " in line]


def kustomization(d):
    return yaml.safe_load((KUBERNETES / d / "kustomization.yaml").read_text())


@pytest.mark.parametrize("d", K8S_DIRS)
def test_rendered_manifests_validate_strictly(rendered, d):
    path, docs = rendered[d]
    passed = validate(path)
    assert len(passed) == len(docs) * len(K8S_VERSIONS), "\n".join(passed)


@pytest.mark.parametrize("d", K8S_DIRS)
def test_every_file_is_used_and_every_resource_file_validates(d):
    k = kustomization(d)
    resources = k.get("resources", [])
    generated = [f for g in k.get("configMapGenerator", []) for f in g.get("files", [])]
    files = {p.name for p in (KUBERNETES / d).iterdir()} - {"kustomization.yaml"}
    assert files == set(resources) | set(generated), \
        f"files not in the kustomization: {files - set(resources) - set(generated)}"
    for r in resources:
        validate(KUBERNETES / d / r)


@pytest.mark.parametrize("d", K8S_DIRS)
def test_statefulset_agrees_with_strait_and_the_image(rendered, d):
    _, docs = rendered[d]
    sts = one(docs, "StatefulSet")
    pod = sts["spec"]["template"]["spec"]
    c = container(sts)
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    for name, port in ports.items():
        assert PORTS[name] == port, f"containerPort {name}={port}, Strait's {name} port is {PORTS[name]}"

    # Readiness is /healthz; liveness must not be, or a full disk (503 degraded) would restart the node.
    ready = c["readinessProbe"]["httpGet"]
    assert ready["path"] == "/healthz" and ready["port"] == "admin", ready
    live = c["livenessProbe"]
    assert live.get("httpGet", {}).get("path") != "/healthz", "liveness on /healthz restarts degraded nodes"
    assert live.get("httpGet", {}).get("port", "admin") == "admin"

    # The image's user, never root, nothing to escalate to.
    runtime_user = last(stages()[-1], "USER").split(":")
    sc = pod["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert [str(sc["runAsUser"]), str(sc["runAsGroup"])] == runtime_user, f"image USER is {runtime_user}"
    assert str(sc["fsGroup"]) == runtime_user[1]
    csc = c["securityContext"]
    assert csc["allowPrivilegeEscalation"] is False and csc["capabilities"]["drop"] == ["ALL"]
    assert csc["readOnlyRootFilesystem"] is True
    assert c["resources"]["requests"]["cpu"] and c["resources"]["requests"]["memory"]
    assert c["resources"]["limits"]["memory"]
    assert pod["enableServiceLinks"] is False, "service links put STRAIT_* variables in the environment"

    # Data on the claim template, the configuration from the generated ConfigMap at /etc/strait.
    claims = {t["metadata"]["name"] for t in sts["spec"]["volumeClaimTemplates"]}
    mounts = {m["name"]: m["mountPath"] for m in c["volumeMounts"]}
    assert mounts.get("data") == "/var/lib/strait" and "data" in claims
    assert mounts.get("config") == "/etc/strait"
    cm_name = [v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config"][0]
    assert find(docs, "ConfigMap", cm_name), f"the StatefulSet mounts ConfigMap {cm_name}, which is not rendered"

    # Shutdown: node.shutdown_grace_ms (10 s by default) plus the flush fit in the grace period.
    assert pod["terminationGracePeriodSeconds"] >= 30
    # The image deploy/Containerfile builds, at the workspace's version.
    assert c["image"] == f"strait:{workspace_version()}", \
        f"image {c['image']}: set newTag in deploy/kubernetes/{d}/kustomization.yaml to the workspace version"

    # Every Service port reaches a named container port; the governing Service is headless.
    for svc in find(docs, "Service"):
        for p in svc["spec"]["ports"]:
            assert p["targetPort"] in ports and ports[p["targetPort"]] == p["port"], (svc["metadata"]["name"], p)
    governing = one(docs, "Service", sts["spec"]["serviceName"])
    assert governing["spec"]["clusterIP"] == "None" and governing["spec"]["publishNotReadyAddresses"] is True


@pytest.mark.parametrize("d", K8S_DIRS)
def test_configuration_data_dir_is_on_the_volume(rendered, d):
    _, docs = rendered[d]
    (cm,) = find(docs, "ConfigMap")
    text = cm["data"].get("strait.toml") or cm["data"]["strait.toml.template"]
    data_dir = re.search(r'^data_dir = "([^"]+)"', text, re.M).group(1)
    assert data_dir.startswith("/var/lib/strait/"), data_dir


def test_single_node_is_one_pod():
    docs = list(yaml.safe_load_all((KUBERNETES / "single-node" / "statefulset.yaml").read_text()))
    assert one(docs, "StatefulSet")["spec"]["replicas"] == 1


def test_cluster_wiring(rendered):
    _, docs = rendered["cluster-3"]
    sts = one(docs, "StatefulSet")
    name, replicas = sts["metadata"]["name"], sts["spec"]["replicas"]
    c = container(sts)
    env = {e["name"]: e.get("value") for e in c["env"]}
    assert replicas == 3 and env["REPLICAS"] == str(replicas), "REPLICAS must equal spec.replicas"
    assert env["HEADLESS_SERVICE"] == sts["spec"]["serviceName"]
    # OrderedReady would deadlock: a node is ready only once a quorum, i.e. another node, is up.
    assert sts["spec"]["podManagementPolicy"] == "Parallel"
    assert c["command"] == ["/bin/sh", "/etc/strait/entrypoint.sh"]
    # One ClusterIP Service per pod, selecting exactly that pod, reachable before it is ready.
    for i in range(replicas):
        svc = one(docs, "Service", f"{name}-{i}")
        assert svc["spec"].get("clusterIP") != "None"
        assert svc["spec"]["selector"]["statefulset.kubernetes.io/pod-name"] == f"{name}-{i}"
        assert svc["spec"]["publishNotReadyAddresses"] is True
        assert [p["port"] for p in svc["spec"]["ports"]] == [PORTS["cluster"]]
    extra = [s["metadata"]["name"] for s in find(docs, "Service") if re.fullmatch(rf"{name}-\d+", s["metadata"]["name"])
             and int(s["metadata"]["name"].rsplit("-", 1)[1]) >= replicas]
    assert not extra, f"per-pod Services beyond the replicas: {extra}"
    # Only the set's own pods reach the unauthenticated inter-node port.
    policy = one(docs, "NetworkPolicy")
    cluster_rules = [r for r in policy["spec"]["ingress"] if any(p["port"] == PORTS["cluster"] for p in r["ports"])]
    assert cluster_rules and all(r.get("from") for r in cluster_rules), cluster_rules
    pdb = one(docs, "PodDisruptionBudget")["spec"]
    assert pdb["maxUnavailable"] == 1 and "minAvailable" not in pdb, "the API server refuses both at once"


def test_entrypoint_passes_shellcheck():
    r = run([venv_tool("shellcheck"), "--shell=sh", "--severity=style", KUBERNETES / "cluster-3" / "entrypoint.sh"])
    assert r.returncode == 0, r.stdout + r.stderr


def test_readme_creates_the_secret_the_manifests_read():
    readme = (DEPLOY / "README.md").read_text()
    assert "strait-credentials" in readme
    for key in FAKE_SECRETS:
        assert key in readme, f"deploy/README.md does not tell to create Secret key {key}"
