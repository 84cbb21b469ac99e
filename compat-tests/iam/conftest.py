"""Fixtures of the IAM suite: one real `strait serve` (not `dev`) with a config file that leaves `aws.auth` at serve's
default (SigV4 verified) and lists the access keys: a long-term key mapped to a principal, and a temporary key with a
session token. Kafka accepts AWS_MSK_IAM against the same table."""
import os
import shutil
import sys
import tempfile

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

REGION = "us-east-1"
KEY = ("AKIDIAMSUITE", "iam/suite+secret0000000000000000000000")
TEMP_KEY = ("ASIAIAMSUITE", "temporary/secret000000000000000000000")
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKEN/+=="


def config_toml(node):
    return f"""
[node]
data_dir = "{node.data_dir}"
[kafka]
listen = "{node.bootstrap}"
aws_msk_iam = true
[admin]
listen = "127.0.0.1:{node.admin_port}"
[security]
# Failed logins are the point of several tests; the default back-off (doubling to 5 s) would only slow the suite.
auth_failure_delay_ms = 10
auth_failure_max_delay_ms = 100
[aws]
listen = "127.0.0.1:{node.aws_port}"
region = "{REGION}"

[[aws.access_keys]]
access_key_id = "{KEY[0]}"
secret_access_key = "{KEY[1]}"
principal = "User:iam-suite"

[[aws.access_keys]]
access_key_id = "{TEMP_KEY[0]}"
secret_access_key = "{TEMP_KEY[1]}"
session_token = "{TOKEN}"
"""


class ServeNode(StraitProcess):
    """`strait serve --config <file>` on free loopback ports; the config is written next to the data directory."""

    def __init__(self, data_dir, toml=None, **kw):
        super().__init__(data_dir, **kw)
        self.config_path = data_dir.rstrip("/") + ".toml"
        with open(self.config_path, "w") as f:
            f.write((toml or config_toml)(self))

    def command(self, binary):
        return [binary, "serve", "--config", self.config_path]

    def kinesis(self, key=KEY, token=None, region=REGION):
        return boto3.client(
            "kinesis", endpoint_url=self.endpoint, region_name=region,
            aws_access_key_id=key[0], aws_secret_access_key=key[1], aws_session_token=token,
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30))


@pytest.fixture(scope="session")
def node():
    tmp = tempfile.mkdtemp(prefix="strait-iam-")
    # Only STRAIT_BIN from the environment: a stray STRAIT_AWS__AUTH must not change what serve defaults to.
    env = {k: v for k, v in os.environ.items() if not (k.startswith("STRAIT_") and "__" in k)}
    n = ServeNode(os.path.join(tmp, "data"), env=env)
    n.env = env
    n.start()
    yield n
    n.stop()
    print(f"--- strait log ---\n{n.log()}")
    shutil.rmtree(tmp, ignore_errors=True)
