"""One real `strait dev` for the CLI suite, the CLI run as a subprocess against it, and the clients that check it."""
import json
import os
import subprocess
import sys

import boto3
import pytest
from botocore.config import Config
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import free_port, running  # noqa: E402  (compat-tests/py-support)


@pytest.fixture(scope="session")
def strait():
    with running("strait-cli-") as s:
        yield s


class Cli:
    """Runs `strait <args>` with STRAIT_BROKERS / AWS_ENDPOINT_URL pointing at the test node (no AWS keys or
    region set: the CLI's defaults must be enough for `strait dev`)."""

    def __init__(self, strait):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update({"STRAIT_BROKERS": strait.bootstrap, "AWS_ENDPOINT_URL": strait.endpoint})

    def run(self, *args, stdin=None, env=None, timeout=60):
        return subprocess.run([os.environ["STRAIT_BIN"], *args], input=stdin, capture_output=True, text=True,
                              env={**self.env, **(env or {})}, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, f"strait {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        return r

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "--output", "json", **kw).stdout)

    def json_lines(self, *args, **kw):
        out = self.ok(*args, "--output", "json", **kw).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="session")
def cli(strait):
    return Cli(strait)


@pytest.fixture(scope="session")
def admin(strait):
    return AdminClient({"bootstrap.servers": strait.bootstrap})


@pytest.fixture(scope="session")
def kinesis(strait):
    return boto3.client("kinesis", endpoint_url=strait.endpoint, region_name="us-east-1",
                        aws_access_key_id="dev", aws_secret_access_key="dev",
                        config=Config(retries={"max_attempts": 2}))


@pytest.fixture
def dead_port():
    """A loopback port nothing listens on."""
    return free_port()
