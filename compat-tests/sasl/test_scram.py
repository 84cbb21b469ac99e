"""SCRAM-SHA-256/512 with confluent-kafka: bootstrap users, wrong passwords, users created and deleted through
AlterUserScramCredentials, and KIP-368 re-authentication on a long-lived connection."""
import re
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism, UserScramCredentialDeletion,
                                   UserScramCredentialUpsertion)

from conftest import REAUTH_MS, USERS, scram


def admin_client(s):
    password, mechanism = USERS["admin512"]
    return AdminClient(scram(s.bootstrap, "admin512", password, mechanism))


def produce_and_consume(s, user, password, mechanism, n=20):
    topic = f"scram-{uuid.uuid4().hex[:8]}"
    p = Producer(scram(s.bootstrap, user, password, mechanism, acks="all"))
    for i in range(n):
        p.produce(topic, value=f"{user}-{i}".encode())
    assert p.flush(20) == 0
    c = Consumer(scram(s.bootstrap, user, password, mechanism, **{"group.id": f"g-{topic}",
                                                                 "enable.auto.commit": False}))
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 20
    while len(got) < n and time.time() < deadline:
        m = c.poll(1)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m.value())
    c.close()
    assert got == [f"{user}-{i}".encode() for i in range(n)]


def refused(s, user, password, mechanism):
    errors = []
    p = Producer(scram(s.bootstrap, user, password, mechanism, error_cb=errors.append))
    with pytest.raises(KafkaException):
        p.list_topics(timeout=5)
    # The answer to a failed login is delayed by the node's throttle: wait for the client to report it.
    deadline = time.time() + 10
    while not errors and time.time() < deadline:
        p.poll(0.2)
    return errors


@pytest.mark.parametrize("user", ["admin256", "admin512"])
def test_bootstrap_users_produce_and_consume(secured, user):
    password, mechanism = USERS[user]
    produce_and_consume(secured, user, password, mechanism)


def test_wrong_password_and_wrong_mechanism_are_refused(secured):
    errors = refused(secured, "admin256", "wrong", "SCRAM-SHA-256")
    assert any("Authentication failed" in e.str() for e in errors), errors
    # admin256 has no SCRAM-SHA-512 credential.
    assert refused(secured, "admin256", USERS["admin256"][0], "SCRAM-SHA-512")


def test_users_created_through_alter_user_scram_credentials_log_in(secured):
    admin = admin_client(secured)
    user = f"carol-{uuid.uuid4().hex[:6]}"
    futs = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 8192), b"carol-secret"),
        UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 4096), b"carol-secret"),
    ])
    futs[user].result(10)
    desc = admin.describe_user_scram_credentials([user])[user].result(10)
    infos = sorted((i.mechanism, i.iterations) for i in desc.scram_credential_infos)
    assert infos == sorted([(ScramMechanism.SCRAM_SHA_256, 8192), (ScramMechanism.SCRAM_SHA_512, 4096)])
    produce_and_consume(secured, user, "carol-secret", "SCRAM-SHA-512", n=5)
    assert refused(secured, user, "not-carols", "SCRAM-SHA-256")

    # Too few iterations: Kafka's UNACCEPTABLE_CREDENTIAL.
    bad = admin.alter_user_scram_credentials([
        UserScramCredentialUpsertion("dave", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"pw")])
    with pytest.raises(KafkaException) as e:
        bad["dave"].result(10)
    assert "UNACCEPTABLE_CREDENTIAL" in str(e.value) or "iterations" in str(e.value).lower(), e.value

    futs = admin.alter_user_scram_credentials([UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)])
    futs[user].result(10)
    assert refused(secured, user, "carol-secret", "SCRAM-SHA-512")
    produce_and_consume(secured, user, "carol-secret", "SCRAM-SHA-256", n=3)
    with pytest.raises(KafkaException) as e:
        admin.describe_user_scram_credentials(["nobody-here"])["nobody-here"].result(10)
    assert "RESOURCE_NOT_FOUND" in str(e.value) or "does not exist" in str(e.value), e.value


def test_long_lived_connection_reauthenticates(secured):
    """librdkafka re-authenticates before the broker's session lifetime ends (KIP-368); the broker logs each
    re-authentication, and a producer that outlives several lifetimes delivers everything."""
    password, mechanism = USERS["admin256"]
    topic = f"reauth-{uuid.uuid4().hex[:8]}"
    p = Producer(scram(secured.bootstrap, "admin256", password, mechanism, acks="all", **{"linger.ms": 0}))
    sent = 0
    end = time.time() + 3 * REAUTH_MS / 1000
    while time.time() < end:
        p.produce(topic, value=b"x")
        sent += 1
        p.poll(0.2)
    assert p.flush(20) == 0
    # The log is colored when it is a terminal's; strip the escapes before matching.
    log = re.sub(r"\x1b\[[0-9;]*m", "", secured.log())
    assert re.search(r"SASL authentication succeeded user=admin256 .*reauth=true", log), log[-2000:]
