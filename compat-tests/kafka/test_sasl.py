"""SASL/PLAIN with confluent-kafka against a strait that requires authentication."""
import os
import shutil
import tempfile
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from conftest import Strait


@pytest.fixture(scope="module")
def secured():
    tmp = tempfile.mkdtemp(prefix="strait-sasl-")
    # The AWS API stays open on purpose here (this suite tests Kafka only); a node refuses that unless told.
    s = Strait(os.path.join(tmp, "data"), env={"STRAIT_KAFKA__SASL_PLAIN_USERS__alice": "alice-secret",
                                               "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_AWS": "true"}).start()
    yield s
    s.stop()
    shutil.rmtree(tmp, ignore_errors=True)


def sasl(bootstrap, password, **extra):
    return {"bootstrap.servers": bootstrap, "security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
            "sasl.username": "alice", "sasl.password": password, **extra}


def test_authenticated_clients_produce_and_consume(secured):
    topic = f"sasl-{uuid.uuid4().hex[:8]}"
    p = Producer(sasl(secured.bootstrap, "alice-secret", acks="all"))
    for i in range(100):
        p.produce(topic, value=f"m{i}".encode())
    assert p.flush(20) == 0
    c = Consumer(sasl(secured.bootstrap, "alice-secret", **{"group.id": "sasl-g", "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    while len(got) < 100:
        m = c.poll(10)
        assert m is not None and m.error() is None
        got.append(m.value())
    c.close()
    assert got == [f"m{i}".encode() for i in range(100)]


def test_wrong_password_is_refused(secured):
    errors = []
    p = Producer(sasl(secured.bootstrap, "wrong", error_cb=errors.append, **{"message.timeout.ms": 3000}))
    with pytest.raises(KafkaException):
        p.list_topics(timeout=5)
    p.poll(1)
    assert any("Authentication failed" in e.str() or e.code() == -169 for e in errors), errors


def test_plaintext_clients_are_refused(secured):
    p = Producer({"bootstrap.servers": secured.bootstrap})
    with pytest.raises(KafkaException):
        p.list_topics(timeout=3)
