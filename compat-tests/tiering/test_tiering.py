"""Tiering end to end: segments of a tiered Kafka topic and of a Kinesis stream are uploaded to a local S3 (moto)
and deleted locally, then read back byte-exact, in order, from offset 0 / TRIM_HORIZON, also after a restart;
total retention deletes the objects."""
import random
import re
import time
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic,
                                   ResourceType)


def wait_until(what, check, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def create_topic(strait, name, **configs):
    admin = AdminClient({"bootstrap.servers": strait.bootstrap})
    futures = admin.create_topics([NewTopic(name, 1, 1, config={k: str(v) for k, v in configs.items()})])
    futures[name].result(30)
    return admin


def objects_of(moto, topic):
    pattern = re.compile(rf"/{re.escape(topic)}-[0-9a-f-]{{36}}/0/")
    return [k for k in moto.keys() if pattern.search(k)]


def produce(strait, topic, messages, **conf):
    # Small batches, so segments of 16 KiB roll often.
    p = Producer({"bootstrap.servers": strait.bootstrap, "linger.ms": 5, "batch.size": 8192, **conf})
    for k, v in messages:
        p.produce(topic, key=k, value=v)
        p.poll(0)
    assert p.flush(30) == 0


def consume_all(strait, topic, count, timeout=60):
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": f"g-{uuid.uuid4()}",
                  "enable.auto.commit": False, "isolation.level": "read_committed",
                  "fetch.max.bytes": 1 << 20, "max.partition.fetch.bytes": 64 << 10})
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        got, last = [], -1
        deadline = time.time() + timeout
        while len(got) < count and time.time() < deadline:
            m = c.poll(1.0)
            if m is None:
                continue
            if m.error():
                raise KafkaException(m.error())
            assert m.offset() > last, "offsets go forward"
            last = m.offset()
            got.append((m.key(), m.value()))
        low, _high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return got, low
    finally:
        c.close()


def payloads(prefix, n, rng):
    return [(f"{prefix}-{i}".encode(), rng.randbytes(rng.randint(50, 400))) for i in range(n)]


def wait_tiered(strait, moto, topic, past):
    """Until objects exist for the topic and every offset below `past` is only in the object store."""
    wait_until(f"{topic}: segments uploaded and deleted locally",
               lambda: objects_of(moto, topic) and strait.partition_logs(topic)[0] >= past)


@pytest.fixture(scope="module")
def kafka_data(strait, moto):
    """A tiered topic holding plain, lz4-compressed and transactional data (one aborted transaction), with its
    local segments gone below the end of the transactions."""
    topic = "tk"
    create_topic(strait, topic, **{"remote.storage.enable": "true", "segment.bytes": 16384,
                                   "local.retention.ms": 1000})
    rng = random.Random(17)
    plain, lz4, txn, aborted, tail = (payloads(p, n, rng) for p, n in
                                      [("plain", 800), ("lz4", 400), ("txn", 60), ("abort", 25), ("tail", 400)])
    produce(strait, topic, plain)
    produce(strait, topic, lz4, **{"compression.type": "lz4", "linger.ms": 20})
    tp = Producer({"bootstrap.servers": strait.bootstrap, "transactional.id": "tier-txn", "batch.size": 8192})
    tp.init_transactions(30)
    tp.begin_transaction()
    for k, v in txn:
        tp.produce(topic, key=k, value=v)
    tp.commit_transaction(30)
    tp.begin_transaction()
    for k, v in aborted:
        tp.produce(topic, key=k, value=v)
    tp.flush(30)
    tp.abort_transaction(30)
    produce(strait, topic, tail)
    # Everything up to the aborted transaction's marker is remote (each transaction ends with a marker).
    wait_tiered(strait, moto, topic, 800 + 400 + 60 + 1 + 25 + 1)
    return topic, plain + lz4 + txn + tail


def test_kafka_consumer_reads_everything_back_from_s3(strait, moto, kafka_data):
    topic, expected = kafka_data
    keys = objects_of(moto, topic)
    assert any(k.endswith(".log") for k in keys) and any(k.endswith(".idx") for k in keys), keys[:4]
    got, low = consume_all(strait, topic, len(expected))
    assert low == 0, "ListOffsets earliest is the start of the tiered log"
    assert len(got) == len(expected)
    assert got == expected, "byte-exact and in order, aborted records skipped"
    assert strait.metric("strait_tier_remote_reads_total") > 0
    assert strait.metric("strait_tier_uploaded_segments_total") >= 10
    assert strait.metric("strait_tier_cache_misses_total") > 0


def test_restart_reads_tiered_data_back(strait, moto, kafka_data):
    topic, expected = kafka_data
    strait.restart()
    assert strait.partition_logs(topic)[0] >= 1287, "still gone locally"
    got, low = consume_all(strait, topic, len(expected))
    assert low == 0
    assert got == expected


def test_multipart_upload_of_a_large_segment(strait, moto):
    topic = "tbig"
    create_topic(strait, topic, **{"remote.storage.enable": "true", "segment.bytes": 6 << 20,
                                   "local.retention.ms": 1000})
    rng = random.Random(5)
    big = [(f"b-{i}".encode(), rng.randbytes(100_000)) for i in range(80)]
    produce(strait, topic, big, **{"linger.ms": 0})
    wait_tiered(strait, moto, topic, 1)
    s3 = moto.s3()
    logs = [k for k in objects_of(moto, topic) if k.endswith(".log")]
    assert logs
    size = s3.head_object(Bucket="strait-tier", Key=logs[0])["ContentLength"]
    assert size > 5 << 20, "a segment above the multipart threshold"
    got, low = consume_all(strait, topic, len(big))
    assert low == 0
    assert got == big
    # 8 MB read back through a 2 MiB cache (conftest): chunks were evicted to stay within the bound.
    assert 0 < strait.metric("strait_tier_cache_bytes") <= 2 << 20


def test_kinesis_stream_reads_back_from_trim_horizon(strait, moto):
    k = strait.kinesis()
    name = "tier-stream"
    k.create_stream(StreamName=name, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 1})
    k.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    desc = k.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert desc["RetentionPeriodHours"] == 8760
    rng = random.Random(9)
    sent = []
    for batch in range(6):
        records = [{"Data": rng.randbytes(rng.randint(100, 300)), "PartitionKey": f"pk{batch}-{i}"}
                   for i in range(100)]
        r = k.put_records(StreamName=name, Records=records)
        assert r["FailedRecordCount"] == 0
        sent += [(x["PartitionKey"], x["Data"]) for x in records]
    wait_tiered(strait, moto, name, 300)
    shard = k.list_shards(StreamName=name)["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    deadline = time.time() + 60
    while len(records) < len(sent) and time.time() < deadline:
        r = k.get_records(ShardIterator=it, Limit=150)
        records += r["Records"]
        it = r["NextShardIterator"]
    got = [(x["PartitionKey"], x["Data"]) for x in records]
    assert got == sent, "byte-exact and in order across the remote/local boundary"
    # AT_TIMESTAMP lands on the first record at or after the time, found through the remote segments' index.
    remote_end = strait.partition_logs(name)[0]
    stamps = [x["ApproximateArrivalTimestamp"] for x in records]
    target = next(i for i in range(1, remote_end) if stamps[i] > stamps[i - 1])
    it = k.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType="AT_TIMESTAMP",
                              Timestamp=stamps[target])["ShardIterator"]
    first = k.get_records(ShardIterator=it, Limit=1)["Records"][0]
    assert first["SequenceNumber"] == records[target]["SequenceNumber"]


def test_total_retention_deletes_objects(strait, moto):
    topic = "tret"
    admin = create_topic(strait, topic, **{"remote.storage.enable": "true", "segment.bytes": 16384,
                                           "local.retention.ms": 1000})
    produce(strait, topic, payloads("r", 300, random.Random(3)))
    wait_tiered(strait, moto, topic, 100)
    assert objects_of(moto, topic)
    res = ConfigResource(ResourceType.TOPIC, topic, incremental_configs=[
        ConfigEntry("retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])
    admin.incremental_alter_configs([res])[res].result(30)
    wait_until("objects deleted by retention", lambda: not objects_of(moto, topic))
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": "ret"})
    low, high = c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    c.close()
    assert 0 < low <= high


def test_orphans_are_collected_and_recorded_segments_kept(strait, moto, kafka_data):
    topic, expected = kafka_data
    keys = objects_of(moto, topic)
    directory = keys[0].rsplit("/", 1)[0]
    # What a crash between an upload and its hand-over leaves: objects no segment owns.
    orphan = f"{directory}/{0:020}-{uuid.uuid4()}"
    s3 = moto.s3()
    for suffix in (".log", ".idx"):
        s3.put_object(Bucket="strait-tier", Key=orphan + suffix, Body=b"left behind")
    wait_until("orphans deleted", lambda: not any(k.startswith(orphan) for k in moto.keys()), timeout=30)
    assert strait.metric("strait_tier_orphans_deleted_total") >= 2
    assert sorted(objects_of(moto, topic)) == sorted(keys), "the recorded segments' objects stay"
    got, _low = consume_all(strait, topic, len(expected))
    assert got == expected


def test_store_outage_backs_off_and_resumes(strait, moto):
    """Runs last: moto keeps its state in memory, so restarting it loses every earlier object."""
    topic = "tdown"
    create_topic(strait, topic, **{"remote.storage.enable": "true", "segment.bytes": 16384,
                                   "local.retention.ms": 1000})
    errors_before = strait.metric("strait_tier_upload_errors_total")
    moto.stop()
    data = payloads("d", 300, random.Random(11))
    produce(strait, topic, data)  # produce is not blocked by the store being down
    wait_until("upload errors counted", lambda: strait.metric("strait_tier_upload_errors_total") > errors_before)
    assert strait.partition_logs(topic)[0] == 0, "nothing handed over while the store is down"
    wait_until("upload lag reported", lambda: strait.metric("strait_tier_upload_lag_bytes") > 0)
    moto.start()
    moto.s3().create_bucket(Bucket="strait-tier")
    # The uploader backs off (doubling from 300 ms) and resumes once the store answers.
    wait_tiered(strait, moto, topic, 100)
    got, low = consume_all(strait, topic, len(data))
    assert low == 0
    assert got == data
