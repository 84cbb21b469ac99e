"""Starts a real `strait dev` process on free loopback ports for the cross-protocol suite (Kafka and Kinesis on one
engine), stops it by PID, and holds the helpers both protocols' clients share.

Expectations come from docs/cross-protocol.md (the rules Strait documents) and from each protocol's own client
behaviour: a failing test is a deviation to examine, not a test to bend.
"""
import os
import shutil
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

REGION = "us-east-1"
ACCESS_KEY = "AKIDSTRAITCOMPAT0001"
SECRET_KEY = "strait/compat/secret+key0000000000000000"
# CREATING/UPDATING last this long (ms); short so resharding tests do not wait on a timer.
ENV_STATUS_DELAY = "STRAIT_AWS__KINESIS__STATUS_DELAY_MS"


class Strait(StraitProcess):
    """One `strait dev` process serving both protocols."""

    def kinesis(self, **config):
        return boto3.client(
            "kinesis", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          connect_timeout=5, read_timeout=30, **config))

    def producer(self, **conf):
        return Producer({"bootstrap.servers": self.bootstrap, "linger.ms": 5, **conf})

    def consumer(self, group, **conf):
        return Consumer({"bootstrap.servers": self.bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False, **conf})

    def admin(self):
        return AdminClient({"bootstrap.servers": self.bootstrap})


@pytest.fixture(scope="session")
def strait():
    tmp = tempfile.mkdtemp(prefix="strait-cross-")
    s = Strait(os.path.join(tmp, "data"), {ENV_STATUS_DELAY: "200"}).start()
    yield s
    s.stop()
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def kinesis(strait):
    return strait.kinesis()


def unique(prefix="x"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def wait_active(kinesis, name, timeout=60):
    deadline = time.time() + timeout
    status = None
    while time.time() < deadline:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError(f"stream {name} not ACTIVE after {timeout} s (status {status})")


def create_via_kinesis(strait, kinesis, shards):
    name = unique("kin")
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    wait_active(kinesis, name)
    return name


def create_via_kafka(strait, kinesis, partitions):
    name = unique("kaf")
    admin = strait.admin()  # kept referenced: a collected AdminClient cancels its pending futures
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)
    wait_active(kinesis, name)
    return name


def all_shards(kinesis, name):
    out, resp = [], kinesis.list_shards(StreamName=name)
    out += resp["Shards"]
    while resp.get("NextToken"):
        resp = kinesis.list_shards(NextToken=resp["NextToken"])
        out += resp["Shards"]
    return out


def read_shard(kinesis, name, shard_id):
    """Every record of a shard from TRIM_HORIZON until an empty read at the tip or shard end."""
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id,
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = []
    while True:
        resp = kinesis.get_records(ShardIterator=it)
        records += resp["Records"]
        it = resp.get("NextShardIterator")
        if it is None or (not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0):
            return records


def read_all_get_records(kinesis, name):
    """(shard id, record) for every record of every shard, through GetRecords."""
    return [(s["ShardId"], r) for s in all_shards(kinesis, name) for r in read_shard(kinesis, name, s["ShardId"])]


def register_consumer(kinesis, name):
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    c = kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=unique("efo"))["Consumer"]
    deadline = time.time() + 30
    while time.time() < deadline:
        d = kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
        if d["ConsumerStatus"] == "ACTIVE":
            return c["ConsumerARN"]
        time.sleep(0.1)
    raise AssertionError(f"consumer {c['ConsumerARN']} not ACTIVE after 30 s")


def read_all_subscribe(kinesis, name, timeout=60):
    """(shard id, record) for every record of every shard, through SubscribeToShard (boto3's event stream over
    HTTP/1.1), from TRIM_HORIZON until an event at the tip with no records, or shard end."""
    arn = register_consumer(kinesis, name)
    out = []
    for s in all_shards(kinesis, name):
        deadline = time.time() + timeout
        pos = {"Type": "TRIM_HORIZON"}
        done = False
        while not done:
            assert time.time() < deadline, f"SubscribeToShard on {s['ShardId']} did not reach the tip in {timeout} s"
            resp = kinesis.subscribe_to_shard(ConsumerARN=arn, ShardId=s["ShardId"], StartingPosition=pos)
            for ev in resp["EventStream"]:
                e = ev.get("SubscribeToShardEvent")
                assert e is not None, f"unexpected event {ev}"
                out += [(s["ShardId"], r) for r in e["Records"]]
                cont = e.get("ContinuationSequenceNumber")
                if cont is None:
                    done = True
                    break
                pos = {"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cont}
                if not e["Records"] and e.get("MillisBehindLatest", 0) == 0:
                    done = True
                    break
                if time.time() > deadline:
                    break
            resp["EventStream"].close()
    return out


def consume_group(strait, topic, expected, timeout=60, group=None, **conf):
    """Messages read by a Kafka consumer group subscribed to `topic` until `expected` arrived (or a timeout), then
    polled a little longer so a duplicate would show."""
    c = strait.consumer(group or unique("grp"), **conf)
    c.subscribe([topic])
    got = []
    deadline = time.time() + timeout
    try:
        while len(got) < expected and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            assert m.error() is None, m.error()
            got.append(m)
        extra_until = time.time() + 2
        while time.time() < extra_until:
            m = c.poll(0.2)
            if m is not None and m.error() is None:
                got.append(m)
    finally:
        c.close()
    return got


def produce(producer, topic, records, partition=None):
    """Produces (key, value, headers) tuples and waits for every acknowledgement; returns the delivered
    messages (with partition and offset) in send order, asserting none failed."""
    reports = []

    def done(err, msg):
        reports.append((err, msg))

    for key, value, headers in records:
        kw = {"key": key, "value": value, "on_delivery": done}
        if headers:
            kw["headers"] = headers
        if partition is not None:
            kw["partition"] = partition
        producer.produce(topic, **kw)
        producer.poll(0)
    remaining = producer.flush(30)
    assert remaining == 0, f"{remaining} messages not delivered in 30 s"
    errors = [e for e, _ in reports if e is not None]
    assert not errors, errors[:3]
    return [m for _, m in reports]
