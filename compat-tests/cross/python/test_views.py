"""One stream, both protocols: each writer's records read back by each reader, byte-exact, per-key order, no
duplicates. The stream is created once through Kafka CreateTopics and once through Kinesis CreateStream."""
import random
from collections import Counter, defaultdict

import pytest

from conftest import (consume_group, create_via_kafka, create_via_kinesis, produce, read_all_get_records,
                      read_all_subscribe)

CODECS = ["none", "lz4", "zstd", "gzip", "snappy"]
KEYS_PER_CODEC = 3
PER_KEY = 20
KINESIS_KEYS = 8
KINESIS_PER_KEY = 25
PARTITIONS = 4


def payload(rng, n):
    """Binary (non-UTF-8) bytes with a compressible tail, so compressed batches really are compressed."""
    return bytes([0xff, 0xfe, 0x00, 0x80]) + rng.randbytes(n) + b"\x00" * 300


def kafka_write(strait, topic):
    """confluent-kafka, one idempotent producer per compression codec, keyed records interleaved across keys, some
    with headers. Returns (key, value) in send order."""
    rng = random.Random(f"kafka-{topic}")
    expected = []
    for codec in CODECS:
        p = strait.producer(**{"compression.type": codec, "enable.idempotence": True})
        records = []
        for i in range(PER_KEY):
            for j in range(KEYS_PER_CODEC):
                key = f"kafka-{codec}-{j}".encode()
                value = payload(rng, rng.randrange(1, 64))
                headers = [("h", b"\x01\x02"), ("trace", str(i).encode())] if i % 3 == 0 else None
                records.append((key, value, headers))
        produce(p, topic, records)
        expected += [(k, v) for k, v, _ in records]
    return expected


def kinesis_write(kinesis, stream):
    """boto3 PutRecords, 100 records a call, partition keys interleaved. Returns (key, data) in send order."""
    rng = random.Random(f"kinesis-{stream}")
    entries = []
    for i in range(KINESIS_PER_KEY):
        for j in range(KINESIS_KEYS):
            entries.append((f"kin-{j}".encode(), payload(rng, rng.randrange(1, 64))))
    for start in range(0, len(entries), 100):
        chunk = entries[start:start + 100]
        resp = kinesis.put_records(StreamName=stream,
                                   Records=[{"PartitionKey": k.decode(), "Data": d} for k, d in chunk])
        assert resp["FailedRecordCount"] == 0, [r for r in resp["Records"] if "ErrorCode" in r][:3]
    return entries


@pytest.fixture(scope="module", params=["kafka", "kinesis"])
def written(request, strait, kinesis):
    """A 4-partition stream created through `param`, written by both protocols' producers."""
    create = create_via_kafka if request.param == "kafka" else create_via_kinesis
    name = create(strait, kinesis, PARTITIONS)
    expected = kafka_write(strait, name) + kinesis_write(kinesis, name)
    return name, expected


def check(expected, got, where):
    """`got` is (key bytes, data bytes) in read order (per partition/shard order preserved)."""
    exp_count, got_count = Counter(expected), Counter(got)
    missing = exp_count - got_count
    extra = got_count - exp_count
    assert not missing and not extra, (
        f"{where}: {sum(missing.values())} records missing (e.g. {list(missing)[:2]}), "
        f"{sum(extra.values())} unexpected or duplicated (e.g. {list(extra)[:2]})")
    exp_by_key, got_by_key = defaultdict(list), defaultdict(list)
    for k, v in expected:
        exp_by_key[k].append(v)
    for k, v in got:
        got_by_key[k].append(v)
    for k in exp_by_key:
        assert got_by_key[k] == exp_by_key[k], f"{where}: records of key {k!r} out of order"


def test_kafka_consumer_group_reads_both_writers(strait, written):
    name, expected = written
    msgs = consume_group(strait, name, len(expected))
    check(expected, [(m.key(), m.value()) for m in msgs], f"consumer group on {name}")


def test_get_records_reads_both_writers(kinesis, written):
    name, expected = written
    got = read_all_get_records(kinesis, name)
    check(expected, [(r["PartitionKey"].encode(), r["Data"]) for _, r in got], f"GetRecords on {name}")


def test_subscribe_to_shard_reads_both_writers(kinesis, written):
    name, expected = written
    got = read_all_subscribe(kinesis, name)
    check(expected, [(r["PartitionKey"].encode(), r["Data"]) for _, r in got], f"SubscribeToShard on {name}")


def test_a_key_lives_in_one_shard(kinesis, written):
    """Per-key order across protocols rests on this: every record of a key is in one partition/shard."""
    name, _ = written
    shards_of = defaultdict(set)
    for shard, r in read_all_get_records(kinesis, name):
        shards_of[r["PartitionKey"]].add(shard)
    spread = {k: s for k, s in shards_of.items() if len(s) > 1}
    assert not spread, spread
