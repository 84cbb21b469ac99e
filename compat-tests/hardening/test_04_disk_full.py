"""Defect 4: a full disk must not wedge the node. While the disk is full, producers get KAFKA_STORAGE_ERROR and
Kinesis a retriable InternalFailure saying why, DynamoDB (the metadata store) a retriable InternalServerError,
/healthz is 503 "degraded" and /metrics shows the partition offline and the metadata store unhealthy; once space is freed the node takes writes again within seconds, without a restart, and every
acknowledged record is still there."""
import errno
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import botocore.exceptions
from confluent_kafka import Consumer, KafkaError, Producer

from conftest import assert_serves

MIB = 1 << 20


def fill(path, leave):
    """Writes `path` until only `leave` bytes are free on its file system (or the disk is full)."""
    with open(path, "ab") as f:
        chunk = b"\0" * MIB
        while True:
            st = os.statvfs(os.path.dirname(path))
            free = st.f_bavail * st.f_frsize
            n = min(len(chunk), free - leave)
            if n <= 0:
                return
            try:
                f.write(chunk[:n])
                f.flush()
            except OSError as e:
                if e.errno == errno.ENOSPC:
                    return
                raise


def offline_metric(text, topic):
    """The value of `strait_partition_offline` for partition 0 of `topic`, or None."""
    for line in text.splitlines():
        if line.startswith("strait_partition_offline{") and f'topic="{topic}"' in line and 'partition="0"' in line:
            return line.rsplit(" ", 1)[1]
    return None


def healthz(node):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{node.admin_port}/healthz", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def produce(node, topic, values, timeout=30):
    """Produces `values` with acks=all and no client retries; returns (acknowledged values, error codes)."""
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all", "retries": 0,
                  "message.timeout.ms": 20000, "message.max.bytes": 2 * MIB})
    acked, errors = [], []

    def done(err, msg):
        if err is None:
            acked.append(msg.value())
        else:
            errors.append(err.code())
    for v in values:
        p.produce(topic, value=v, on_delivery=done)
        p.poll(0)
    assert p.flush(timeout) == 0, "produce did not finish"
    return acked, errors


def consume_all(node, topic, expect):
    c = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "g-" + uuid.uuid4().hex[:8],
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "fetch.message.max.bytes": 2 * MIB})
    c.subscribe([topic])
    got, deadline = [], time.time() + 30
    while len(got) < expect and time.time() < deadline:
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value())
    c.close()
    return got


def test_disk_full_recovers_without_restart(make_node):
    tmp = tempfile.mkdtemp(prefix="strait-diskfull-")
    data = os.path.join(tmp, "data")  # the mount point; the node's log goes beside it, off the tmpfs
    os.makedirs(data)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", data], capture_output=True, text=True)
    assert r.returncode == 0, f"mounting a 64 MiB tmpfs failed (the test needs root): {r.stderr.strip()}"
    node = None
    try:
        filler = os.path.join(data, "filler-1")
        fill(filler, leave=24 * MIB)
        node = make_node(data_dir=data)
        topic = "full-" + uuid.uuid4().hex[:6]
        k = node.client("kinesis")
        k.create_stream(StreamName="ks", ShardCount=1)
        k.get_waiter("stream_exists").wait(StreamName="ks", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        k.put_record(StreamName="ks", Data=b"before", PartitionKey="pk")
        ddb = node.client("dynamodb")
        ddb.create_table(TableName="leases", KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.get_waiter("table_exists").wait(TableName="leases", WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
        ddb.put_item(TableName="leases", Item={"k": {"S": "before"}})
        acked, errors = produce(node, topic, [b"warmup"])
        assert acked == [b"warmup"] and not errors
        filler2 = os.path.join(data, "filler-2")
        fill(filler2, leave=3 * MIB)

        # Produce until the disk is full: with no client retries the producer sees the storage error itself.
        value = lambda i: (b"%06d" % i) * (100_000 // 6)  # noqa: E731
        i, all_errors = 0, []
        while not all_errors and i < 200:
            ok, errs = produce(node, topic, [value(j) for j in range(i, i + 8)])
            acked += ok
            all_errors += errs
            i += 8
        assert all_errors, "the disk never filled up"
        assert set(all_errors) <= {KafkaError.KAFKA_STORAGE_ERROR}, f"unexpected errors: {all_errors}"
        # Everything left, to the last page: no small write may slip through.
        fill(os.path.join(data, "filler-3"), leave=0)

        # The metadata store (DynamoDB items live there) hits the full disk too: large items make it grow.
        for n in range(40):
            try:
                ddb.put_item(TableName="leases", Item={"k": {"S": f"big-{n}"}, "v": {"S": "x" * 350_000}})
            except botocore.exceptions.ClientError as e:
                err = e.response["Error"]
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 500, e.response
                assert err["Code"] == "InternalServerError", err
                assert "storage is unavailable" in err["Message"], err
                break
        else:
            raise AssertionError("the metadata store never hit the full disk")

        status, body = healthz(node)
        assert status == 503 and body.startswith("degraded"), (status, body)
        assert "metadata store unavailable" in body, body
        assert f"partition {topic}-0 offline" in body, body
        metrics = node.metrics()
        assert offline_metric(metrics, topic) == "1", [m for m in metrics.splitlines() if "offline" in m]
        # The counters exist at zero from the start: the failures must have moved them.
        errors = {line.split()[0]: float(line.split()[-1]) for line in metrics.splitlines()
                  if line.startswith("strait_storage_errors_total{")}
        assert errors.get('strait_storage_errors_total{component="metadata"}', 0) > 0, errors
        assert errors.get('strait_storage_errors_total{component="partition"}', 0) > 0, errors
        assert "strait_metadata_store_healthy 0" in metrics

        # Kinesis: a retriable InternalFailure (500) that says why.
        for _ in range(2):  # the first put hits the disk, the second the fenced partition
            try:
                k.put_record(StreamName="ks", Data=b"x" * 900_000, PartitionKey="pk")
                raise AssertionError("PutRecord succeeded on a full disk")
            except botocore.exceptions.ClientError as e:
                err = e.response["Error"]
                assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 500, e.response
                assert err["Code"] == "InternalFailure", err
                assert "No space left on device" in err["Message"], err

        # Free space: the node must take writes again within seconds, without a restart.
        for f in ("filler-1", "filler-2", "filler-3"):
            os.remove(os.path.join(data, f))
        deadline = time.time() + 15
        while healthz(node)[0] != 200:
            assert time.time() < deadline, f"still degraded after space was freed: {healthz(node)}\n{node.log()}"
            time.sleep(0.2)
        metrics = node.metrics()
        assert offline_metric(metrics, topic) == "0"
        assert "strait_metadata_store_healthy 1" in metrics
        ddb.put_item(TableName="leases", Item={"k": {"S": "after"}})
        assert ddb.get_item(TableName="leases", Key={"k": {"S": "before"}})["Item"]["k"]["S"] == "before"
        ok, errs = produce(node, topic, [b"after-%d" % j for j in range(5)])
        assert not errs and len(ok) == 5, errs
        acked += ok
        got = consume_all(node, topic, len(acked))
        # Every acknowledged record is there, in order; records whose produce failed may appear too (Kafka
        # semantics: a failed produce can have been written), but nothing torn.
        assert [v for v in got if v in set(acked)] == acked, f"{len(got)} consumed, {len(acked)} acknowledged"
        assert all(v in set(acked) or v.startswith(b"%06d" % int(v[:6])) for v in got)
        k.put_record(StreamName="ks", Data=b"after", PartitionKey="pk")
        shard = k.list_shards(StreamName="ks")["Shards"][0]["ShardId"]
        it = k.get_shard_iterator(StreamName="ks", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        data_read = [r["Data"] for r in k.get_records(ShardIterator=it, Limit=100)["Records"]]
        assert data_read[0] == b"before" and data_read[-1] == b"after", [d[:10] for d in data_read]
        assert_serves(node)
        with open(node.log_path, encoding="utf-8", errors="replace") as f:
            lines = re.sub(r"\x1b\[[0-9;]*m", "", f.read()).splitlines()
        # Each failure and recovery is logged once, not once per refused request.
        assert sum("partition is offline for writes" in l and f"topic={topic}" in l for l in lines) == 1
        assert sum("metadata store failed" in l for l in lines) == 1
        assert not [l for l in lines if "request failed internally" in l], "refused requests logged at WARN"
    finally:
        if node is not None:
            node.stop()
        subprocess.run(["umount", "-l", data], check=False)
        shutil.rmtree(tmp, ignore_errors=True)
