"""OAUTHBEARER with confluent-kafka: tokens the suite signs are accepted; expired tokens, wrong audiences and
unknown signing keys are refused."""
import time
import uuid

import pytest
from confluent_kafka import KafkaException, Producer
from cryptography.hazmat.primitives.asymmetric import rsa


def client(s, token, **extra):
    # oauth_cb's expiry is the client's own refresh schedule, independent of the token's exp claim, so an expired
    # token still reaches the broker.
    return Producer({"bootstrap.servers": s.bootstrap, "security.protocol": "SASL_PLAINTEXT",
                     "sasl.mechanism": "OAUTHBEARER",
                     "oauth_cb": lambda _cfg: (token, time.time() + 3600, "alice", {}), **extra})


def test_signed_token_is_accepted(secured):
    p = client(secured, secured.token(), acks="all")
    topic = f"oauth-{uuid.uuid4().hex[:8]}"
    p.produce(topic, value=b"hello")
    assert p.flush(20) == 0


@pytest.mark.parametrize("case", ["expired", "wrong_audience", "unknown_key"])
def test_bad_tokens_are_refused(secured, case):
    token = {
        "expired": lambda: secured.token(exp_in=-600),
        "wrong_audience": lambda: secured.token(aud="someone-else"),
        "unknown_key": lambda: secured.token(key=rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    }[case]()
    errors = []
    p = client(secured, token, error_cb=errors.append)
    with pytest.raises(KafkaException):
        p.list_topics(timeout=5)
    # The answer to a failed login is delayed by the node's throttle: wait for the client to report it.
    deadline = time.time() + 10
    while not errors and time.time() < deadline:
        p.poll(0.2)
    assert any("invalid_token" in e.str() or "Authentication failed" in e.str() for e in errors), errors
