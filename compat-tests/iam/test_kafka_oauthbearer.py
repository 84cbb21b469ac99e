"""Kafka with an AWS identity through the MSK IAM signer library for Python (aws-msk-iam-sasl-signer-python):
confluent-kafka's OAUTHBEARER with `oauth_cb` returning the signer's token, against the same `strait serve` and
access-key table as the SigV4 tests. Right keys produce and consume; a wrong secret is refused."""
import uuid

import pytest

import botocore.credentials
from aws_msk_iam_sasl_signer import MSKAuthTokenProvider
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient

from conftest import KEY, REGION


def oauth(key):
    def token(_config):
        provider = botocore.credentials.Credentials(*key)
        tok, expiry_ms = MSKAuthTokenProvider.generate_auth_token_from_credentials_provider(
            REGION, _StaticProvider(provider))
        return tok, expiry_ms / 1000
    return {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "OAUTHBEARER", "oauth_cb": token}


class _StaticProvider(botocore.credentials.CredentialProvider):
    """Static credentials as the botocore provider the signer asks for."""

    METHOD = "static"

    def __init__(self, creds):
        super().__init__()
        self.creds = creds

    def load(self):
        return self.creds


def test_signer_token_produces_and_consumes(node):
    topic = "iam-py-" + uuid.uuid4().hex[:8]
    p = Producer({**oauth(KEY), "bootstrap.servers": node.bootstrap, "acks": "all", "message.timeout.ms": 20000})
    for i in range(5):
        p.produce(topic, value=f"v{i}".encode())
    assert p.flush(30) == 0
    c = Consumer({**oauth(KEY), "bootstrap.servers": node.bootstrap, "group.id": "g-" + topic,
                  "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    got = []
    for _ in range(60):
        m = c.poll(1)
        if m is not None and m.error() is None:
            got.append(m.value())
        if len(got) == 5:
            break
    c.close()
    assert got == [f"v{i}".encode() for i in range(5)]


def test_signer_token_with_a_wrong_secret_is_refused(node):
    errors = []
    admin = AdminClient({**oauth((KEY[0], "not-the-secret")), "bootstrap.servers": node.bootstrap,
                         "error_cb": errors.append})
    admin.poll(1)  # serves oauth_cb: the token must exist before the first connection
    with pytest.raises(KafkaException):
        admin.list_topics(timeout=10)
    auth = [e for e in errors if e.code() == KafkaError._AUTHENTICATION]
    assert auth and "signature" in auth[0].str(), [e.str() for e in errors]
