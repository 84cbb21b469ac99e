"""One ACL model on both protocols: bindings made with Kafka's Admin API decide what alice and bob may do through
Kafka (confluent-kafka) and through the Kinesis API (boto3, SigV4 keys mapped to the same principals)."""
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer
from confluent_kafka.admin import (AclBinding, AclBindingFilter, AclOperation, AclPermissionType, NewTopic,
                                   ResourcePatternType, ResourceType)

from conftest import admin, kafka_conf, kinesis

PREFIX = f"orders-{uuid.uuid4().hex[:6]}-"
TOPIC = PREFIX + "t"
STREAM = PREFIX + "s"
GROUP = PREFIX + "g"


def allow(rt, name, pattern, user, op, permission=AclPermissionType.ALLOW):
    return AclBinding(rt, name, pattern, f"User:{user}", "*", op, permission)


GRANTS = [
    allow(ResourceType.TOPIC, PREFIX, ResourcePatternType.PREFIXED, "alice", AclOperation.WRITE),
    allow(ResourceType.TOPIC, PREFIX, ResourcePatternType.PREFIXED, "alice", AclOperation.READ),
    allow(ResourceType.GROUP, GROUP, ResourcePatternType.LITERAL, "alice", AclOperation.READ),
]
EVERYTHING = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY,
                              AclPermissionType.ANY)


def create(client, bindings):
    for f in client.create_acls(bindings, request_timeout=10).values():
        f.result()


def produce(strait, user, topic, n=3):
    """Delivery errors of `n` messages from `user` (empty: all delivered)."""
    errors = []
    p = Producer(kafka_conf(strait, user, **{"message.timeout.ms": 5000}))
    for i in range(n):
        p.produce(topic, value=f"{user}-{i}".encode(), on_delivery=lambda e, m: e and errors.append(e))
    p.flush(15)
    return errors


def group_error(strait, user, group, topic):
    """The first error a consumer of `group` reports (None if none within 10 s)."""
    c = Consumer(kafka_conf(strait, user, **{"group.id": group, "enable.auto.commit": False}))
    try:
        c.subscribe([topic])
        deadline = time.time() + 10
        while time.time() < deadline:
            m = c.poll(0.5)
            if m is not None and m.error() is not None:
                return m.error().code()
        return None
    finally:
        c.close()


@pytest.fixture(scope="module")
def granted(strait):
    a = admin(strait)
    for f in a.create_topics([NewTopic(TOPIC, 1, 1)]).values():
        f.result()
    kinesis(strait, "admin").create_stream(StreamName=STREAM, ShardCount=1)
    kinesis(strait, "admin").get_waiter("stream_exists").wait(StreamName=STREAM,
                                                              WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    create(a, GRANTS)
    return a


def test_acls_are_listed_as_created(granted):
    listed = granted.describe_acls(EVERYTHING, request_timeout=10).result()
    assert set(GRANTS) <= set(listed)
    mine = AclBindingFilter(ResourceType.TOPIC, PREFIX, ResourcePatternType.PREFIXED, "User:alice", None,
                            AclOperation.ANY, AclPermissionType.ANY)
    assert sorted(map(str, granted.describe_acls(mine, request_timeout=10).result())) == sorted(map(str, GRANTS[:2]))
    # MATCH finds the bindings that apply to a topic: the prefixed ones.
    match = AclBindingFilter(ResourceType.TOPIC, TOPIC, ResourcePatternType.MATCH, None, None, AclOperation.ANY,
                             AclPermissionType.ANY)
    assert set(GRANTS[:2]) <= set(granted.describe_acls(match, request_timeout=10).result())


def test_only_the_cluster_admin_manages_acls(strait, granted):
    alice, bob = admin(strait, "alice"), admin(strait, "bob")  # kept: a dropped client fails its futures
    # Strait answers CLUSTER_AUTHORIZATION_FAILED (protocols/kafka/tests/acls.rs), but librdkafka drops
    # DescribeAcls' error code and returns an empty listing, as it does against Kafka: alice sees no binding.
    assert alice.describe_acls(EVERYTHING, request_timeout=10).result() == []
    with pytest.raises(KafkaException) as e:
        create(bob, [allow(ResourceType.TOPIC, "*", ResourcePatternType.LITERAL, "bob", AclOperation.ALL)])
    assert e.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED


def test_kafka_alice_produces_and_consumes_bob_is_refused(strait, granted):
    assert produce(strait, "alice", TOPIC) == []
    c = Consumer(kafka_conf(strait, "alice", **{"group.id": GROUP, "auto.offset.reset": "earliest",
                                                "enable.auto.commit": False}))
    c.subscribe([TOPIC])
    got = []
    deadline = time.time() + 20
    while len(got) < 3 and time.time() < deadline:
        m = c.poll(1)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m.value())
    c.commit(asynchronous=False)
    c.close()
    assert got == [b"alice-0", b"alice-1", b"alice-2"]

    errors = produce(strait, "bob", TOPIC, n=1)
    assert [e.code() for e in errors] == [KafkaError.TOPIC_AUTHORIZATION_FAILED], errors
    assert group_error(strait, "bob", GROUP, TOPIC) == KafkaError.GROUP_AUTHORIZATION_FAILED


def test_metadata_hides_what_bob_may_not_describe(strait, granted):
    alice = Producer(kafka_conf(strait, "alice")).list_topics(timeout=10).topics
    bob = Producer(kafka_conf(strait, "bob")).list_topics(timeout=10).topics
    assert TOPIC in alice
    assert TOPIC not in bob and STREAM not in bob


def test_kinesis_enforces_the_same_bindings(strait, granted):
    alice = kinesis(strait, "alice")
    put = alice.put_records(StreamName=STREAM, Records=[{"Data": b"k1", "PartitionKey": "p"}])
    assert put["FailedRecordCount"] == 0
    shard = alice.list_shards(StreamName=STREAM)["Shards"][0]["ShardId"]
    it = alice.get_shard_iterator(StreamName=STREAM, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    assert [r["Data"] for r in alice.get_records(ShardIterator=it["ShardIterator"])["Records"]] == [b"k1"]

    bob = kinesis(strait, "bob")
    with pytest.raises(ClientError) as e:
        bob.put_records(StreamName=STREAM, Records=[{"Data": b"x", "PartitionKey": "p"}])
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "User: arn:aws:iam::" in e.value.response["Error"]["Message"]
    assert "not authorized to perform: kinesis:PutRecords" in e.value.response["Error"]["Message"]

    # ListStreams shows only what the caller may describe (alice: both of hers; bob: none of them).
    assert {STREAM, TOPIC} <= set(alice.list_streams()["StreamNames"])
    assert not {STREAM, TOPIC} & set(bob.list_streams()["StreamNames"])


def test_a_deny_overrides_the_allow_then_deleting_acls_takes_access_away(strait, granted):
    deny = allow(ResourceType.TOPIC, STREAM, ResourcePatternType.LITERAL, "alice", AclOperation.WRITE,
                 AclPermissionType.DENY)
    create(granted, [deny])
    alice = kinesis(strait, "alice")
    with pytest.raises(ClientError) as e:
        alice.put_record(StreamName=STREAM, Data=b"x", PartitionKey="p")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert produce(strait, "alice", TOPIC, n=1) == [], "the DENY names the stream only"
    deny_topic = allow(ResourceType.TOPIC, TOPIC, ResourcePatternType.LITERAL, "alice", AclOperation.WRITE,
                       AclPermissionType.DENY)
    create(granted, [deny_topic])
    assert [e.code() for e in produce(strait, "alice", TOPIC, n=1)] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]

    # Delete every binding on the prefix and the DENYs: alice loses access on both protocols.
    gone = AclBindingFilter(ResourceType.TOPIC, None, ResourcePatternType.ANY, "User:alice", None,
                            AclOperation.ANY, AclPermissionType.ANY)
    deleted = list(granted.delete_acls([gone], request_timeout=10).values())[0].result()
    assert set(deleted) == {GRANTS[0], GRANTS[1], deny, deny_topic}
    remaining = granted.describe_acls(EVERYTHING, request_timeout=10).result()
    assert not set(deleted) & set(remaining)
    with pytest.raises(ClientError) as e:
        alice.get_shard_iterator(StreamName=STREAM, ShardId="shardId-000000000000", ShardIteratorType="TRIM_HORIZON")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert [e.code() for e in produce(strait, "alice", TOPIC, n=1)] == [KafkaError.TOPIC_AUTHORIZATION_FAILED]
