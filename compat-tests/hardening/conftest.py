"""Fixtures of the hardening suite: a fresh `strait dev` per test (so one attack can never hide behind another's
damage), raw Kafka frames for attacks no client library would send, and `assert_serves`, the normal producer and
consumer on both protocols that every test runs after its attack."""
import os
import shutil
import socket
import struct
import sys
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config
from confluent_kafka import Consumer, Producer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)


class Node(StraitProcess):
    """One `strait dev` process for one test, with AWS clients that use dummy keys as any SDK user would."""

    def client(self, service, **kw):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name="us-east-1",
            aws_access_key_id=kw.pop("key", "AKIDHARDENING"), aws_secret_access_key=kw.pop("secret", "s3cr3t"),
            config=Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=kw.pop("read_timeout", 30)),
            **kw)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None


@pytest.fixture
def make_node(request):
    """`make_node(env=..., wrapper=[...], data_dir=...)` starts a node; every node is stopped by PID afterwards and
    its log is printed when the test failed."""
    nodes, tmps = [], []

    def make(env=None, wrapper=None, data_dir=None, extra_args=None, start=True):
        if data_dir is None:
            tmp = tempfile.mkdtemp(prefix="strait-hardening-")
            tmps.append(tmp)
            data_dir = os.path.join(tmp, "data")
        n = Node(data_dir, env=env, wrapper=wrapper, extra_args=extra_args)
        nodes.append(n)
        return n.start() if start else n

    yield make
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    for n in nodes:
        if failed:
            print(f"--- log of the node on {n.bootstrap} ---\n{n.log()}")
        n.stop()
    for t in tmps:
        shutil.rmtree(t, ignore_errors=True)


@pytest.fixture
def node(make_node):
    return make_node()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


def kafka_frame(api_key, version, body, correlation_id=7, client_id=b"hardening", flexible_header=False):
    """A whole Kafka request frame (size prefix included) with request header v1, or v2 when `flexible_header`."""
    head = struct.pack(">hhi", api_key, version, correlation_id) + struct.pack(">h", len(client_id)) + client_id
    if flexible_header:
        head += b"\x00"
    payload = head + body
    return struct.pack(">i", len(payload)) + payload


def kafka_exchange(node, frame, timeout=10.0):
    """Sends one raw frame; returns the response payload (after the size), or None when the server closed."""
    with socket.create_connection(("127.0.0.1", node.kafka_port), timeout=timeout) as s:
        s.sendall(frame)
        try:
            size = _recv_exact(s, 4)
            if size is None:
                return None
            return _recv_exact(s, struct.unpack(">i", size)[0])
        except (ConnectionResetError, socket.timeout):
            return None


def _recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def assert_serves(node, records=20, kafka_auth=None, aws_key="AKIDHARDENING", aws_secret="s3cr3t"):
    """The node is up and serves a normal Kafka producer/consumer and a normal Kinesis writer/reader. `kafka_auth`
    adds SASL settings to the Kafka clients; the Kinesis client signs with `aws_key`/`aws_secret`."""
    kafka_auth = kafka_auth or {}
    assert node.alive(), f"strait died:\n{node.log()}"
    topic = "after-" + uuid.uuid4().hex[:8]
    p = Producer({**kafka_auth, "bootstrap.servers": node.bootstrap, "acks": "all", "message.timeout.ms": 20000})
    errors = []
    for i in range(records):
        p.produce(topic, key=b"k%d" % i, value=b"v%d" % i, on_delivery=lambda e, m: e and errors.append(e))
    assert p.flush(30) == 0 and not errors, f"produce after the attack failed: {errors}\n{node.log()}"
    c = Consumer({**kafka_auth, "bootstrap.servers": node.bootstrap, "group.id": "g-" + topic, "auto.offset.reset": "earliest",
                  "enable.auto.commit": False})
    c.subscribe([topic])
    got, deadline = [], time.time() + 30
    while len(got) < records and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    assert got == [b"v%d" % i for i in range(records)], f"consumed {len(got)} of {records}\n{node.log()}"

    k = node.client("kinesis", key=aws_key, secret=aws_secret)
    stream = "after-" + uuid.uuid4().hex[:8]
    k.create_stream(StreamName=stream, ShardCount=1)
    k.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    for i in range(records):
        k.put_record(StreamName=stream, Data=b"d%d" % i, PartitionKey="pk")
    shard = k.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    data = [r["Data"] for r in k.get_records(ShardIterator=it, Limit=1000)["Records"]]
    assert data == [b"d%d" % i for i in range(records)], f"GetRecords returned {len(data)} of {records}"
    assert node.alive(), f"strait died:\n{node.log()}"


def assert_serves_authenticated(node, kafka_auth, aws_key, aws_secret, records=20):
    """`assert_serves` for a node that requires authentication: the Kafka clients add `kafka_auth` (SASL settings),
    the Kinesis client signs with the given keys (any keys, when the node's aws.auth is "none")."""
    assert_serves(node, records, kafka_auth=kafka_auth, aws_key=aws_key, aws_secret=aws_secret)
