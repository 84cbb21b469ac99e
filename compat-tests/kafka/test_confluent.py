"""confluent-kafka (librdkafka) against a real strait process."""
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewPartitions,
                                   NewTopic)


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap, name, partitions=1, config=None):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    fs = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1, config=config or {})])
    fs[name].result(timeout=15)


def produce(bootstrap, topic, messages, **conf):
    errors, offsets = [], []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(err)
        else:
            offsets.append((msg.partition(), msg.offset()))

    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 5, **conf})
    for m in messages:
        p.produce(topic, on_delivery=on_delivery, **m)
        p.poll(0)
    assert p.flush(30) == 0, "all messages delivered"
    assert errors == [], errors
    return offsets


def consume_assigned(bootstrap, topic, partitions, expect, timeout=30):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, deadline = [], time.time() + timeout
    while len(got) < expect and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        got.append(m)
    c.close()
    return got


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_every_compression_codec_round_trips_byte_exact(strait, codec):
    topic = unique(f"codec-{codec}")
    create_topic(strait.bootstrap, topic)
    msgs = [{"key": f"k{i}".encode(), "value": bytes([i % 256]) * (i % 500 + 1),
             "headers": [("h", f"v{i}".encode())]} for i in range(2000)]
    offsets = produce(strait.bootstrap, topic, msgs, **{"compression.type": codec})
    assert sorted(o for _, o in offsets) == list(range(2000))
    got = consume_assigned(strait.bootstrap, topic, 1, 2000)
    assert [m.offset() for m in got] == list(range(2000))
    for m, sent in zip(got, msgs):
        assert (m.key(), m.value(), m.headers()) == (sent["key"], sent["value"], sent["headers"])


def test_idempotent_producer_has_no_gaps_or_duplicates(strait):
    topic = unique("idem")
    create_topic(strait.bootstrap, topic, partitions=3)
    msgs = [{"key": f"key-{i % 17}".encode(), "value": f"{i}".encode()} for i in range(6000)]
    produce(strait.bootstrap, topic, msgs, **{"enable.idempotence": True, "max.in.flight.requests.per.connection": 5})
    got = consume_assigned(strait.bootstrap, topic, 3, 6000)
    values = [int(m.value()) for m in got]
    assert sorted(values) == list(range(6000)), "every message exactly once"
    per_key = {}
    for m in got:
        per_key.setdefault(m.key(), []).append(int(m.value()))
    for seq in per_key.values():
        assert seq == sorted(seq), "per-key order preserved"


def test_timestamps_and_offsets_for_times(strait):
    topic = unique("times")
    create_topic(strait.bootstrap, topic)
    base = int(time.time() * 1000) - 100_000
    produce(strait.bootstrap, topic, [{"value": b"x", "timestamp": base + i * 10} for i in range(100)])
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": unique("t")})
    found = c.offsets_for_times([TopicPartition(topic, 0, base + 505)], timeout=10)
    assert found[0].offset == 51
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    assert (low, high) == (0, 100)
    c.close()


def poll_all(consumers, seen, until, timeout=60):
    deadline = time.time() + timeout
    while not until() and time.time() < deadline:
        for c in consumers:
            m = c.poll(0.05)
            if m is not None and m.error() is None:
                seen.append((m.partition(), m.offset(), m.value()))
    assert until(), f"timed out; seen {len(seen)}"


def test_consumer_group_rebalances_commits_and_resumes_after_restart(strait):
    topic, group = unique("grp"), unique("group")
    create_topic(strait.bootstrap, topic, partitions=6)
    conf = {"bootstrap.servers": strait.bootstrap, "group.id": group, "auto.offset.reset": "earliest",
            "enable.auto.commit": False, "session.timeout.ms": 10000, "heartbeat.interval.ms": 500}
    produce(strait.bootstrap, topic, [{"key": str(i).encode(), "value": f"a{i}".encode()} for i in range(600)])

    members = [Consumer(conf)]
    members[0].subscribe([topic])
    seen = []
    poll_all(members, seen, lambda: len(seen) >= 100)
    # two more members join: the group rebalances and spreads the six partitions
    for _ in range(2):
        c = Consumer(conf)
        c.subscribe([topic])
        members.append(c)
    # without commits, partitions that move re-read from the start: count distinct records, not deliveries
    poll_all(members, seen, lambda: all(len(c.assignment()) == 2 for c in members)
             and len({v for _, _, v in seen}) == 600)
    for c in members:
        c.commit(asynchronous=False)
    # one leaves: the remaining two take over its partitions
    members.pop().close()
    poll_all(members, seen, lambda: sum(len(c.assignment()) for c in members) == 6)
    for c in members:
        c.close()
    assert len({v for _, _, v in seen}) == 600, "every record consumed"

    # committed offsets are durable: after a restart the group resumes exactly where it committed
    strait.restart()
    produce(strait.bootstrap, topic, [{"key": b"z", "value": f"b{i}".encode()} for i in range(30)])
    c = Consumer(conf)
    c.subscribe([topic])
    after = []
    poll_all([c], after, lambda: len(after) >= 30)
    time.sleep(1)
    m = c.poll(1.0)
    assert m is None or m.error() is not None, "nothing beyond the new records"
    assert sorted(v for _, _, v in after) == sorted(f"b{i}".encode() for i in range(30))
    committed = c.committed([TopicPartition(topic, p) for p in range(6)], timeout=10)
    assert sum(tp.offset for tp in committed) >= 600
    c.close()


def test_admin_create_describe_alter_grow_delete(strait):
    admin = AdminClient({"bootstrap.servers": strait.bootstrap})
    topic = unique("admin")
    admin.create_topics([NewTopic(topic, 2, 1, config={"retention.ms": "3600000"})])[topic].result(10)
    dup = admin.create_topics([NewTopic(topic, 2, 1)])[topic]
    with pytest.raises(Exception) as e:
        dup.result(10)
    assert e.value.args[0].code() == KafkaError.TOPIC_ALREADY_EXISTS

    res = ConfigResource(ConfigResource.Type.TOPIC, topic)
    configs = admin.describe_configs([res])[res].result(10)
    assert configs["retention.ms"].value == "3600000"
    assert configs["cleanup.policy"].value == "delete"

    res = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "7200000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([res])[res].result(10)
    configs = admin.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)])
    assert list(configs.values())[0].result(10)["retention.ms"].value == "7200000"

    admin.create_partitions([NewPartitions(topic, 5)])[topic].result(10)
    md = admin.list_topics(topic, timeout=10)
    assert len(md.topics[topic].partitions) == 5

    admin.delete_topics([topic])[topic].result(10)
    deadline = time.time() + 10
    while topic in admin.list_topics(timeout=10).topics and time.time() < deadline:
        time.sleep(0.2)
    assert topic not in admin.list_topics(timeout=10).topics
