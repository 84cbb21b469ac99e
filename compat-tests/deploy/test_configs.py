"""Every Strait configuration shipped in deploy/ is accepted by the real binary (`strait config show`, which
loads and validates exactly as `strait serve` does, then prints the effective settings): the image's file with the
environment deploy/README.md gives it, and each StatefulSet's file with the environment its manifest gives it
(the cluster's written by its own entrypoint script, once per pod). Then the image's configuration and command
start a real node on loopback ports, probed by the image's own HEALTHCHECK command and the manifests' probe
paths, and stopped by SIGTERM."""
import os
import signal
import stat
import subprocess
import sys
import time
import tomllib
import urllib.error
import urllib.request

import pytest

from conftest import (CONTAINER_CONFIG, container, config_show, one, resolve_env, run, strait_env)
from test_container import healthcheck_command, last, stages, exec_form

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import free_port  # noqa: E402  (compat-tests/py-support)

# The two ways deploy/README.md runs the image.
AUTHENTICATED = {
    "STRAIT_KAFKA__SASL_PLAIN_USERS__admin": "test-admin-password",
    "STRAIT_AWS__ACCESS_KEYS": '[{access_key_id="AKIDDEPLOYTEST",secret_access_key="deploy-test-secret"}]',
}
EVALUATION = {"STRAIT_KAFKA__INSECURE": "true", "STRAIT_AWS__AUTH": "none", "STRAIT_AWS__INSECURE": "true"}


def shown(r):
    assert r.returncode == 0, f"strait config show refused the configuration:\n{r.stderr}"
    return tomllib.loads(r.stdout)


@pytest.mark.parametrize("env", [AUTHENTICATED, EVALUATION], ids=["authenticated", "evaluation"])
def test_image_configuration_is_accepted(strait_bin, env):
    cfg = shown(config_show(strait_bin, CONTAINER_CONFIG, env))
    assert cfg["node"]["data_dir"] == "/var/lib/strait"
    assert cfg["kafka"]["listen"] == "0.0.0.0:9092" and cfg["aws"]["listen"] == "0.0.0.0:4566"
    assert cfg["admin"]["listen"] == "0.0.0.0:9644"


def test_image_configuration_alone_refuses_to_run_open(strait_bin):
    """Without credentials (or the evaluation settings) the image must not start: its listeners face the network."""
    r = config_show(strait_bin, CONTAINER_CONFIG, {})
    assert r.returncode != 0 and "aws.auth" in r.stderr, r.stderr


def test_single_node_configuration_is_accepted(strait_bin, rendered, tmp_path):
    _, docs = rendered["single-node"]
    sts = one(docs, "StatefulSet")
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    config = tmp_path / "strait.toml"
    config.write_text(cm["data"]["strait.toml"])
    c = container(sts)
    assert c["args"][:2] == ["serve", "--config"] and c["args"][2] == "/etc/strait/strait.toml"
    env = resolve_env(c, f"{sts['metadata']['name']}-0", sts["metadata"]["namespace"])
    cfg = shown(config_show(strait_bin, config, env))
    assert cfg["kafka"]["advertised_host"] == "strait-0.strait-headless.strait.svc.cluster.local"
    assert cfg["aws"]["auth"] == "sigv4" and cfg["aws"]["access_keys"][0]["access_key_id"] == "AKIDDEPLOYTEST"
    assert "cluster" not in cfg


def fake_tools(tmp_path, strait_bin):
    """A PATH directory with `getent` (Service names to TEST-NET-1 addresses, 192.0.2.10 + ordinal) and `strait`
    (its `serve --config FILE` runs the real binary's `config show --config FILE` instead)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "getent").write_text(
        '#!/bin/sh\n[ "$1" = ahostsv4 ] || exit 2\n'
        'n="${2%%.*}"; n="${n##*-}"\n'
        'case "$n" in *[!0-9]*|"") exit 2 ;; esac\n'
        'echo "192.0.2.$((10 + n))  STREAM $2"\necho "192.0.2.$((10 + n))  DGRAM"\n')
    (bin_dir / "strait").write_text(
        '#!/bin/sh\n[ "$1" = serve ] && [ "$2" = --config ] || { echo "unexpected: strait $*" >&2; exit 2; }\n'
        f'exec "{strait_bin}" config show --config "$3"\n')
    for f in bin_dir.iterdir():
        f.chmod(f.stat().st_mode | stat.S_IXUSR)
    return bin_dir


def run_entrypoint(rendered, tmp_path, strait_bin, ordinal):
    _, docs = rendered["cluster-3"]
    sts = one(docs, "StatefulSet")
    (cm,) = [d for d in docs if d["kind"] == "ConfigMap"]
    c = container(sts)
    work = tmp_path / f"pod-{ordinal}"
    work.mkdir()
    for key, text in cm["data"].items():
        (work / key).write_text(text)
    env = resolve_env(c, f"{sts['metadata']['name']}-{ordinal}", sts["metadata"]["namespace"])
    env.update({
        "PATH": f"{fake_tools(work, strait_bin)}:{os.environ['PATH']}",
        "STRAIT_TEMPLATE": str(work / "strait.toml.template"),
        "STRAIT_CONFIG": str(work / "strait.toml"),
    })
    script = work / c["command"][1].rsplit("/", 1)[1]
    return run([c["command"][0], script], env={**strait_env(), **env}, timeout=60), work


@pytest.mark.parametrize("ordinal", [0, 1, 2])
def test_cluster_entrypoint_writes_a_configuration_strait_accepts(rendered, tmp_path, strait_bin, ordinal):
    r, work = run_entrypoint(rendered, tmp_path, strait_bin, ordinal)
    cfg = shown(r)
    assert f"is node {ordinal} of 3" in r.stderr, r.stderr
    assert cfg["cluster"]["node_id"] == ordinal and cfg["kafka"]["node_id"] == ordinal
    assert cfg["cluster"]["listen"] == "0.0.0.0:19092"
    peers = cfg["cluster"]["peers"]
    assert [p["id"] for p in peers] == [0, 1, 2]
    for p in peers:
        host = f"strait-{p['id']}.strait-headless.strait-cluster.svc.cluster.local"
        assert p["address"] == f"192.0.2.{10 + p['id']}:19092"
        assert p["kafka"] == f"{host}:9092" and p["aws"] == f"{host}:4566"


def test_cluster_entrypoint_refuses_a_pod_beyond_the_replicas(rendered, tmp_path, strait_bin):
    r, _ = run_entrypoint(rendered, tmp_path, strait_bin, 3)
    assert r.returncode != 0 and "beyond REPLICAS=3" in r.stderr, r.stderr


def get(port, path):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return resp.status
    except urllib.error.HTTPError as e:
        return e.code


def test_image_command_starts_a_node_that_its_healthcheck_sees(strait_bin, tmp_path):
    """The image's ENTRYPOINT + CMD with its configuration (the paths moved to this machine, the listeners to free
    loopback ports), polled with the HEALTHCHECK's own command until it succeeds; then the probe paths of the
    manifests, and a SIGTERM that must end the process cleanly well within the stop timeouts."""
    runtime = stages()[-1]
    command = exec_form(last(runtime, "ENTRYPOINT")) + exec_form(last(runtime, "CMD"))
    assert command[0] == "/usr/local/bin/strait" and command[-1] == "/etc/strait/strait.toml"
    command = [strait_bin] + command[1:-1] + [str(CONTAINER_CONFIG)]
    ports = {name: free_port() for name in ("kafka", "aws", "admin")}
    env = {**strait_env(), **AUTHENTICATED,
           "STRAIT_NODE__DATA_DIR": str(tmp_path / "data"),
           **{f"STRAIT_{n.upper()}__LISTEN": f"127.0.0.1:{p}" for n, p in ports.items()}}
    health = [a.replace("/9644", f"/{ports['admin']}") for a in healthcheck_command()]
    assert run(health).returncode != 0, "the HEALTHCHECK succeeds with nothing listening"
    log = open(tmp_path / "strait.log", "wb")
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.time() + 30
        while run(health, timeout=10).returncode != 0:
            assert proc.poll() is None, f"strait exited:\n{(tmp_path / 'strait.log').read_text()}"
            assert time.time() < deadline, "the HEALTHCHECK did not succeed within 30 s"
            time.sleep(0.2)
        assert get(ports["admin"], "/healthz") == 200  # readiness probe
        assert get(ports["admin"], "/metrics") == 200  # liveness probe
        started = time.time()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, f"exit status {proc.returncode} after SIGTERM"
        print(f"stopped {time.time() - started:.1f} s after SIGTERM")
        assert run(health).returncode != 0, "the HEALTHCHECK still succeeds after the node stopped"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
