"""Resharded partitions (the issue's newcomer finding): a Kafka producer writing to a partition that a Kinesis
SplitShard closed is refused with POLICY_VIOLATION (documented in docs/cross-protocol.md). The refusal must say
why and where to write instead, be logged (once a minute per partition) and counted, and the topic's configs must
show the closed partitions, so an operator can see what happened."""
import re
import time

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, ConfigResource, ResourceType
from kafka import KafkaProducer
from kafka.errors import PolicyViolationError

from conftest import assert_serves

STREAM = "resharded"


def _produce(node, partition, n):
    """Produces `n` records to `partition` one by one; returns their delivery errors (None for delivered)."""
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all", "message.timeout.ms": 15000,
                  "linger.ms": 0})
    results = []
    for i in range(n):
        p.produce(STREAM, key=b"k%d" % i, value=b"v%d" % i, partition=partition,
                  on_delivery=lambda e, m: results.append(e))
        p.flush(20)
    assert len(results) == n, f"{len(results)} of {n} delivery reports"
    return results


def _closed_counter(node):
    m = re.search(r'^strait_kafka_produce_closed_partition_total\{topic="%s"\} (\d+)' % STREAM, node.metrics(),
                  re.M)
    return int(m.group(1)) if m else 0


def test_produce_to_a_closed_partition_says_why_and_is_visible(node):
    k = node.client("kinesis")
    k.create_stream(StreamName=STREAM, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    k.split_shard(StreamName=STREAM, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2 ** 127))
    deadline = time.time() + 20
    while k.describe_stream_summary(StreamName=STREAM)["StreamDescriptionSummary"]["StreamStatus"] != "ACTIVE":
        assert time.time() < deadline, "the split did not finish"
        time.sleep(0.2)

    # Separate requests to the closed parent, partition 0 (its children are partitions 1 and 2): librdkafka
    # reports the code only.
    errors = _produce(node, 0, 2)
    assert all(e is not None and e.code() == KafkaError.POLICY_VIOLATION for e in errors), errors
    # kafka-python raises with the broker's error message (Produce v8+).
    kp = KafkaProducer(bootstrap_servers=node.bootstrap, retries=0, request_timeout_ms=15000)
    with pytest.raises(PolicyViolationError) as refused:
        kp.send(STREAM, key=b"k", value=b"v", partition=0).get(timeout=20)
    kp.close()
    assert ("partition 0 of stream resharded is closed by resharding; its child shards are partitions 1, 2; "
            "produce without a key-based partitioner or to the open partitions (1, 2)") in str(refused.value)
    # The children take writes.
    assert _produce(node, 1, 1) == [None]

    assert _closed_counter(node) == 3
    log = re.sub(r"\x1b\[[0-9;]*m", "", node.log())  # without terminal colours
    assert log.count("produce refused: the partition was closed by a Kinesis reshard") == 1, log
    assert re.search(r"produce refused.*topic=resharded.*partition=0.*children=1,2", log), log

    admin = AdminClient({"bootstrap.servers": node.bootstrap})
    res = ConfigResource(ResourceType.TOPIC, STREAM)
    entries = admin.describe_configs([res])[res].result(timeout=20)
    closed = entries["strait.closed.partitions"]
    assert (closed.value, closed.is_read_only) == ("0", True)

    assert_serves(node)
