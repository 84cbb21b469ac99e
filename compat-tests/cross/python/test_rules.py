"""The mapping rules of docs/cross-protocol.md, one by one: topics and streams, keys and partition keys,
timestamps, which partition a Kafka record lands in, and resharding as Kafka clients see it."""
import base64
import hashlib
import time

import pytest
from botocore.exceptions import ClientError

from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.admin import ConfigResource, ResourceType

from conftest import (all_shards, consume_group, create_via_kafka, create_via_kinesis, produce, read_all_subscribe,
                      read_shard, unique, wait_active)

MAX_HASH = 2**128 - 1


def kafka_partitions(strait, topic):
    md = strait.admin().list_topics(topic, timeout=10)
    t = md.topics[topic]
    assert t.error is None, t.error
    return sorted(t.partitions)


def test_kafka_topic_is_a_stream_with_even_hash_ranges(strait, kinesis):
    name = create_via_kafka(strait, kinesis, 4)
    assert name in kinesis.list_streams()["StreamNames"]
    shards = all_shards(kinesis, name)
    assert [s["ShardId"] for s in shards] == [f"shardId-{i:012d}" for i in range(4)]
    ranges = [(int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])) for s in shards]
    assert ranges[0][0] == 0 and ranges[-1][1] == MAX_HASH
    for (_, end), (start, _) in zip(ranges, ranges[1:]):
        assert start == end + 1, ranges
    widths = [e - s + 1 for s, e in ranges]
    assert max(widths) - min(widths) <= 1, widths


def test_kinesis_stream_is_a_topic_with_one_partition_per_shard(strait, kinesis):
    name = create_via_kinesis(strait, kinesis, 3)
    assert kafka_partitions(strait, name) == [0, 1, 2]


def test_kinesis_record_as_kafka_record(strait, kinesis):
    """key = partition key bytes, value = data, timestamp = ApproximateArrivalTimestamp (ms), no headers."""
    name = create_via_kinesis(strait, kinesis, 1)
    data = bytes(range(256))
    kinesis.put_record(StreamName=name, PartitionKey="ключ-1", Data=data)
    [r] = read_shard(kinesis, name, "shardId-000000000000")
    [m] = consume_group(strait, name, 1)
    assert m.key() == "ключ-1".encode() and m.value() == data
    assert m.headers() is None
    ts_type, ts = m.timestamp()
    assert ts == int(r["ApproximateArrivalTimestamp"].timestamp() * 1000 + 0.5), (ts, r["ApproximateArrivalTimestamp"])
    assert m.partition() == 0 and m.offset() == 0


def test_kafka_record_as_kinesis_record(strait, kinesis):
    """PartitionKey = key, Data = value (headers dropped), ApproximateArrivalTimestamp = the record's timestamp
    (the producer's CreateTime on a CreateTime topic)."""
    name = create_via_kafka(strait, kinesis, 1)
    p = strait.producer()
    ts = int(time.time() * 1000) - 3_600_000  # an hour ago: shows the producer's timestamp is kept
    p.produce(name, key=b"k-1", value=b"\x00\xff\x10", timestamp=ts, headers=[("h", b"v")])
    assert p.flush(30) == 0
    [r] = read_shard(kinesis, name, "shardId-000000000000")
    assert r["PartitionKey"] == "k-1" and r["Data"] == b"\x00\xff\x10"
    assert int(r["ApproximateArrivalTimestamp"].timestamp() * 1000 + 0.5) == ts


ESCAPE_PREFIX = "~kafka:"


def partition_key_of(key):
    """The PartitionKey docs/cross-protocol.md documents for a Kafka key (written out independently of Strait)."""
    if key is None:
        return "~kafka:null"
    try:
        text = key.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and 1 <= len(text) <= 256 and not text.startswith(ESCAPE_PREFIX):
        return text
    return "~kafka:b64:" + base64.urlsafe_b64encode(key).decode().rstrip("=")


def kafka_key_of(partition_key):
    """The documented inverse: the Kafka key a PartitionKey read through Kinesis stands for."""
    if not partition_key.startswith(ESCAPE_PREFIX):
        return partition_key.encode("utf-8")
    if partition_key == "~kafka:null":
        return None
    assert partition_key.startswith("~kafka:b64:"), partition_key
    b64 = partition_key[len("~kafka:b64:"):]
    return base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))


EDGE_KEYS = [
    None,                                   # null
    b"",                                    # empty
    b"\xff\xfe-k-\xc3",                      # not UTF-8
    b"k" * 300,                             # longer than 256 characters
    ("\u00e9" * 256).encode(),               # 256 characters (512 bytes): ordinary
    b"~kafka:null",                         # looks escaped: escaped itself
    b"~kafka:b64:QQ",                       # looks escaped: escaped itself
    b"~kafka",                              # not the prefix: ordinary
    "ключ-1".encode(),                      # ordinary
]


def test_kafka_keys_read_as_the_documented_partition_key(strait, kinesis):
    """Null, empty, binary, over-long and prefix-colliding Kafka keys read through GetRecords and SubscribeToShard
    as the documented PartitionKey, which decodes back to the exact key; ordinary keys are unchanged."""
    name = create_via_kafka(strait, kinesis, 1)
    p = strait.producer()
    produce(p, name, [(k, f"v{i}".encode(), None) for i, k in enumerate(EDGE_KEYS)])
    expected = [(partition_key_of(k), f"v{i}".encode()) for i, k in enumerate(EDGE_KEYS)]
    assert expected[0][0] == "~kafka:null" and expected[1][0] == "~kafka:b64:"
    assert expected[2][0] == "~kafka:b64:__4tay3D" and expected[5][0] == "~kafka:b64:fmthZmthOm51bGw"
    assert [expected[i][0] for i in (4, 7, 8)] == ["\u00e9" * 256, "~kafka", "ключ-1"]

    recs = read_shard(kinesis, name, "shardId-000000000000")
    assert [(r["PartitionKey"], r["Data"]) for r in recs] == expected
    assert [kafka_key_of(r["PartitionKey"]) for r in recs] == EDGE_KEYS
    sub = read_all_subscribe(kinesis, name)
    assert [(r["PartitionKey"], r["Data"]) for _, r in sub] == expected
    # Stored unchanged: Kafka consumers still see the keys as produced.
    msgs = sorted(consume_group(strait, name, len(EDGE_KEYS)), key=lambda m: m.offset())
    assert [m.key() for m in msgs] == EDGE_KEYS


def test_kinesis_writes_are_never_unescaped(strait, kinesis):
    """A PartitionKey written through PutRecord(s) is the Kafka key's UTF-8 bytes even when it looks escaped; read
    back through Kinesis it is then escaped itself (it starts with the prefix), and decoding gives those bytes."""
    name = create_via_kinesis(strait, kinesis, 1)
    for pk in ["~kafka:null", "~kafka:b64:QQ", "plain"]:
        kinesis.put_record(StreamName=name, PartitionKey=pk, Data=pk.encode())
    msgs = sorted(consume_group(strait, name, 3), key=lambda m: m.offset())
    assert [m.key() for m in msgs] == [b"~kafka:null", b"~kafka:b64:QQ", b"plain"]
    recs = read_shard(kinesis, name, "shardId-000000000000")
    assert [r["PartitionKey"] for r in recs] == [
        "~kafka:b64:fmthZmthOm51bGw", "~kafka:b64:fmthZmthOmI2NDpRUQ", "plain"]
    assert [kafka_key_of(r["PartitionKey"]) for r in recs] == [r["Data"] for r in recs]


def test_kafka_record_goes_to_the_partition_the_client_chooses(strait, kinesis):
    """The broker never re-routes a Kafka record: an explicit partition is the shard the record is in, even when
    MD5 of its key falls in another shard's range."""
    name = create_via_kinesis(strait, kinesis, 4)
    p = strait.producer()
    [m] = produce(p, name, [(b"any-key", b"to-2", None)], partition=2)
    assert m.partition() == 2
    assert [r["Data"] for r in read_shard(kinesis, name, "shardId-000000000002")] == [b"to-2"]
    for i in (0, 1, 3):
        assert read_shard(kinesis, name, f"shardId-{i:012d}") == []


RANGES_CONFIG = "strait.kinesis.hash.key.ranges"


def hash_key_ranges(strait, topic):
    """The documented recipe, step 1: the open shards' ranges from the topic's read-only config, as
    [(partition, start, end)] in hash-key order."""
    admin = strait.admin()
    res = ConfigResource(ResourceType.TOPIC, topic)
    entry = admin.describe_configs([res])[res].result(timeout=30)[RANGES_CONFIG]
    assert entry.is_read_only, entry
    out = []
    for part in entry.value.split(","):
        p, rng = part.split(":")
        start, end = rng.split("-")
        out.append((int(p), int(start), int(end)))
    return out


def md5_partition(ranges, key):
    """Steps 2 and 3: MD5 of the key bytes as an unsigned 128-bit big-endian integer, and the open partition whose
    inclusive range holds it."""
    h = int.from_bytes(hashlib.md5(key).digest(), "big")
    [p] = [p for p, start, end in ranges if start <= h <= end]
    return p


def test_ranges_config_lists_open_shards_as_list_shards_does(strait, kinesis):
    for name in (create_via_kafka(strait, kinesis, 3), create_via_kinesis(strait, kinesis, 2)):
        shards = all_shards(kinesis, name)
        assert hash_key_ranges(strait, name) == [
            (int(s["ShardId"].split("-")[1]), int(s["HashKeyRange"]["StartingHashKey"]),
             int(s["HashKeyRange"]["EndingHashKey"])) for s in shards]
    name = create_via_kinesis(strait, kinesis, 2)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000001", NewStartingHashKey=str(3 * 2**126))
    wait_active(kinesis, name)
    ranges = hash_key_ranges(strait, name)
    assert [p for p, _, _ in ranges] == [0, 2, 3], ranges  # the closed parent 1 is not listed
    assert ranges[0][1] == 0 and ranges[-1][2] == MAX_HASH
    assert all(a[2] + 1 == b[1] for a, b in zip(ranges, ranges[1:])), ranges


def test_md5_recipe_puts_kafka_records_where_kinesis_routes(strait, kinesis):
    """confluent-kafka has no pluggable partitioner: the documented recipe (ranges config, MD5, produce with an
    explicit partition) sends each key to the shard PutRecord picks for the same PartitionKey, after a split."""
    name = create_via_kinesis(strait, kinesis, 4)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000002",
                        NewStartingHashKey=str(5 * 2**125))
    wait_active(kinesis, name)
    ranges = hash_key_ranges(strait, name)
    assert 2 not in [p for p, _, _ in ranges]
    keys = [f"user-{i}" for i in range(200)]
    p = strait.producer()
    delivered = []
    for k in keys:
        delivered += produce(p, name, [(k.encode(), b"kafka", None)], partition=md5_partition(ranges, k.encode()))
    for k, m in zip(keys, delivered):
        shard = kinesis.put_record(StreamName=name, PartitionKey=k, Data=b"kinesis")["ShardId"]
        assert shard == f"shardId-{m.partition():012d}", (k, shard, m.partition())
    assert 2 not in {m.partition() for m in delivered}
    # Every partition of the new layout got some keys: the recipe is not degenerate.
    assert {m.partition() for m in delivered} == {p for p, _, _ in ranges}


def test_split_while_a_consumer_group_reads(strait, kinesis):
    """The group keeps receiving records from the children after SplitShard, and the closed parent partition
    refuses Kafka produce with POLICY_VIOLATION."""
    name = create_via_kinesis(strait, kinesis, 1)
    # Offsets are committed (automatically, and on revocation) so the rebalance the new partitions cause does
    # not re-deliver the parent's records.
    c = strait.consumer(unique("grp"), **{"topic.metadata.refresh.interval.ms": 1000, "enable.auto.commit": True,
                                          "auto.commit.interval.ms": 100})
    c.subscribe([name])
    got = []

    def poll_until(n, timeout=60):
        deadline = time.time() + timeout
        while len(got) < n and time.time() < deadline:
            m = c.poll(0.5)
            if m is not None:
                assert m.error() is None, m.error()
                got.append(m)

    try:
        before = [(f"k{i % 10}", f"before-{i}".encode()) for i in range(50)]
        resp = kinesis.put_records(StreamName=name, Records=[{"PartitionKey": k, "Data": d} for k, d in before])
        assert resp["FailedRecordCount"] == 0
        poll_until(50)
        assert len(got) == 50, f"only {len(got)} of 50 records before the split"

        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                            NewStartingHashKey=str(2**127))
        wait_active(kinesis, name)
        assert kafka_partitions(strait, name) == [0, 1, 2]

        after = [(f"k{i % 10}", f"after-{i}".encode()) for i in range(100)]
        resp = kinesis.put_records(StreamName=name, Records=[{"PartitionKey": k, "Data": d} for k, d in after])
        assert resp["FailedRecordCount"] == 0
        assert {r["ShardId"] for r in resp["Records"]} <= {"shardId-000000000001", "shardId-000000000002"}
        poll_until(150, timeout=90)
        poll_until(10**9, timeout=2)  # a duplicate would show
        values = [m.value() for m in got]
        assert sorted(values) == sorted(d for _, d in before + after), (
            f"{len(values)} of 150 received; partitions seen {sorted({m.partition() for m in got})}")
        assert {m.partition() for m in got} == {0, 1, 2}
        # per-key order across the split: the parent's records of a key come before its child's
        for key in {k for k, _ in before}:
            mine = [m.value() for m in got if m.key() == key.encode()]
            want = [d for k, d in before + after if k == key]
            assert mine == want, key
    finally:
        c.close()

    p = strait.producer(**{"message.timeout.ms": 10000, "enable.idempotence": False, "retries": 0})
    reports = []
    p.produce(name, key=b"x", value=b"to the closed parent", partition=0,
              on_delivery=lambda err, msg: reports.append(err))
    p.flush(20)
    assert len(reports) == 1 and reports[0] is not None, reports
    assert reports[0].code() == KafkaError.POLICY_VIOLATION, reports[0]
    [ok] = produce(p, name, [(b"x", b"to a child", None)], partition=1)
    assert ok.partition() == 1
    assert [r["Data"] for r in read_shard(kinesis, name, "shardId-000000000000")] == [d for _, d in before]


def test_group_offsets_continue_on_kinesis_writes(strait, kinesis):
    """A committed group offset on a Kinesis-written stream resumes exactly after the committed record."""
    name = create_via_kinesis(strait, kinesis, 1)
    kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": f"r{i}".encode()} for i in range(10)])
    group = unique("grp")
    c = strait.consumer(group)
    c.subscribe([name])
    seen = []
    deadline = time.time() + 30
    while len(seen) < 5 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            seen.append(m)
    assert len(seen) >= 5
    c.commit(offsets=[TopicPartition(name, 0, seen[4].offset() + 1)], asynchronous=False)
    c.close()
    rest = consume_group(strait, name, 5, group=group)
    assert [m.value() for m in rest] == [f"r{i}".encode() for i in range(5, 10)]


def test_log_append_time_topic_gives_arrival_time_compressed_or_not(strait, kinesis):
    """On a `message.timestamp.type=LogAppendTime` topic the broker stamps each batch; a Kinesis reader's
    ApproximateArrivalTimestamp is that stamp whether the producer compressed the batch or not (Kafka consumers
    see the same)."""
    name = unique("lat")
    from confluent_kafka.admin import NewTopic
    admin = strait.admin()
    fut = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1,
                                                 config={"message.timestamp.type": "LogAppendTime"})])
    fut[name].result(timeout=30)
    wait_active(kinesis, name)
    old = int(time.time() * 1000) - 3_600_000
    before = int(time.time() * 1000)
    for codec in ("none", "gzip"):
        p = strait.producer(**{"compression.type": codec})
        p.produce(name, key=codec.encode(), value=b"v" * 500, timestamp=old)
        assert p.flush(30) == 0
    after = int(time.time() * 1000)
    recs = read_shard(kinesis, name, "shardId-000000000000")
    got = {r["PartitionKey"]: int(r["ApproximateArrivalTimestamp"].timestamp() * 1000 + 0.5) for r in recs}
    msgs = {m.key().decode(): m.timestamp()[1] for m in consume_group(strait, name, 2)}
    for codec in ("none", "gzip"):
        assert before - 1000 <= msgs[codec] <= after + 1000, f"Kafka consumer, {codec}: {msgs[codec]}"
        assert got[codec] == msgs[codec], f"{codec}: GetRecords {got[codec]} vs Kafka consumer {msgs[codec]}"


def test_kinesis_readers_see_only_committed_kafka_transactions(strait, kinesis):
    """GetRecords sees what a READ_COMMITTED Kafka consumer sees: records of an aborted transaction never, those of
    an open transaction (and everything after them) only once it commits; a reader at an open transaction waits
    there, it does not skip."""
    name = create_via_kafka(strait, kinesis, 1)
    shard = "shardId-000000000000"
    p = strait.producer(**{"transactional.id": unique("txn")})
    p.init_transactions(30)
    p.begin_transaction()
    produce(p, name, [(b"k", b"aborted-1", None), (b"k", b"aborted-2", None)], partition=0)
    p.abort_transaction(30)
    p.begin_transaction()
    produce(p, name, [(b"k", b"committed", None)], partition=0)
    p.commit_transaction(30)
    recs = read_shard(kinesis, name, shard)
    assert [r["Data"] for r in recs] == [b"committed"]

    # An open transaction, then a Kinesis write after it: neither is visible until the transaction commits.
    p.begin_transaction()
    produce(p, name, [(b"k", b"open", None)], partition=0)
    kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"after")
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                    StartingSequenceNumber=recs[-1]["SequenceNumber"])["ShardIterator"]
    for _ in range(3):
        resp = kinesis.get_records(ShardIterator=it)
        assert resp["Records"] == [], resp["Records"]
        assert resp["MillisBehindLatest"] == 0
        it = resp["NextShardIterator"]
    assert [r["Data"] for r in read_shard(kinesis, name, shard)] == [b"committed"]
    p.commit_transaction(30)
    deadline = time.time() + 30
    got = []
    while time.time() < deadline and len(got) < 2:
        resp = kinesis.get_records(ShardIterator=it)
        got += resp["Records"]
        it = resp["NextShardIterator"]
        if not resp["Records"]:
            time.sleep(0.2)
    assert [r["Data"] for r in got] == [b"open", b"after"]
    assert [r["Data"] for r in read_shard(kinesis, name, shard)] == [b"committed", b"open", b"after"]
    # The same view as a READ_COMMITTED consumer group.
    msgs = consume_group(strait, name, 3, **{"isolation.level": "read_committed"})
    assert [m.value() for m in msgs] == [b"committed", b"open", b"after"]


def test_resharding_waits_for_open_kafka_transactions(strait, kinesis):
    """A shard with an open Kafka transaction is not closed (its COMMIT/ABORT marker could never be written): the
    split is refused with ResourceInUseException until the transaction ends, then succeeds, and Kinesis readers
    reach the parent's end."""
    name = create_via_kinesis(strait, kinesis, 1)
    shard = kinesis.list_shards(StreamName=name)["Shards"][0]
    mid = str((int(shard["HashKeyRange"]["StartingHashKey"]) + int(shard["HashKeyRange"]["EndingHashKey"])) // 2)
    p = strait.producer(**{"transactional.id": unique("txn")})
    p.init_transactions(30)
    p.begin_transaction()
    produce(p, name, [(b"k", b"in-txn", None)], partition=0)
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=name, ShardToSplit=shard["ShardId"], NewStartingHashKey=mid)
    assert e.value.response["Error"]["Code"] == "ResourceInUseException"
    assert "open Kafka transactions" in e.value.response["Error"]["Message"]
    p.commit_transaction(30)
    kinesis.split_shard(StreamName=name, ShardToSplit=shard["ShardId"], NewStartingHashKey=mid)
    wait_active(kinesis, name)
    assert [r["Data"] for r in read_shard(kinesis, name, shard["ShardId"])] == [b"in-txn"]
    # The next transaction may span the closed parent: its write there is refused, and the abort that follows
    # completes (no marker is owed to a partition the producer never wrote).
    p.begin_transaction()
    with pytest.raises(AssertionError, match="POLICY_VIOLATION"):
        produce(p, name, [(b"k", b"refused", None)], partition=0)
    p.abort_transaction(30)
