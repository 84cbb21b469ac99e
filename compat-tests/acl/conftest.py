"""One real `strait dev` with ACLs on, SASL/PLAIN users and SigV4 keys for the same principals, and its clients."""
import os
import shutil
import sys
import tempfile

import boto3
import pytest
from botocore.config import Config
from confluent_kafka.admin import AdminClient

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

PASSWORDS = {"alice": "alice-secret", "bob": "bob-secret", "admin": "admin-secret"}
# Access key id -> (secret, principal): the keys act as the same users as the SASL logins.
KEYS = {
    "AKIDALICE": ("alice-aws-secret", "User:alice"),
    "AKIDBOB": ("bob-aws-secret", "User:bob"),
    "AKIDADMIN": ("admin-aws-secret", "User:admin"),
}
KEY_OF = {"alice": "AKIDALICE", "bob": "AKIDBOB", "admin": "AKIDADMIN"}


@pytest.fixture(scope="session")
def strait():
    tmp = tempfile.mkdtemp(prefix="strait-acl-")
    keys = ",".join(f'{{access_key_id="{k}",secret_access_key="{s}",principal="{p}"}}'
                    for k, (s, p) in KEYS.items())
    env = {f"STRAIT_KAFKA__SASL_PLAIN_USERS__{u}": pw for u, pw in PASSWORDS.items()}
    env.update({
        "STRAIT_AWS__AUTH": "sigv4",
        "STRAIT_AWS__ACCESS_KEYS": f"[{keys}]",
        "STRAIT_SECURITY__AUTHORIZER": "acl",
        "STRAIT_SECURITY__SUPER_USERS": '["User:admin"]',
    })
    s = StraitProcess(os.path.join(tmp, "data"), env=env).start()
    yield s
    s.stop()
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def kafka_conf(strait, user, **extra):
    return {"bootstrap.servers": strait.bootstrap, "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN", "sasl.username": user, "sasl.password": PASSWORDS[user], **extra}


def admin(strait, user="admin"):
    return AdminClient(kafka_conf(strait, user))


def kinesis(strait, user):
    key = KEY_OF[user]
    return boto3.client("kinesis", endpoint_url=strait.endpoint, region_name="us-east-1",
                        aws_access_key_id=key, aws_secret_access_key=KEYS[key][0],
                        config=Config(retries={"max_attempts": 1}))
