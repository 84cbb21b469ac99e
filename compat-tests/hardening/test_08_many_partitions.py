"""Defect 8: one open file per partition. A node with thousands of partitions could not restart under a file
limit below its partition count ("Too many open files"), and its first clean stop took most of a minute (every
partition fsynced and rewrote its index files one after another).

The attack: 1,000 partitions (10 topics x 100: the issue's 5,000 under 4,096, scaled down with the limit to keep
the test short), a clean stop that must finish well inside the shutdown grace period, and a restart under
`prlimit --nofile=512:512`: the node must come up, list every topic, read an old partition, and hold no more
segment files open than its budget."""
import os
import time

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import assert_serves

TOPICS, PARTITIONS = 10, 100
NOFILE = 512
# `node.shutdown_grace_ms` defaults to 10 s; a clean stop must take a fraction of it.
STOP_BUDGET_S = 5.0


def _create_topics(node):
    admin = AdminClient({"bootstrap.servers": node.bootstrap})
    futures = admin.create_topics(
        [NewTopic(f"many-{t:02d}", num_partitions=PARTITIONS, replication_factor=1) for t in range(TOPICS)],
        request_timeout=60)
    for name, f in futures.items():
        f.result(60)
    return admin


def _produce(node, topic, partition, value):
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all", "message.timeout.ms": 20000})
    errors = []
    p.produce(topic, value=value, partition=partition, on_delivery=lambda e, m: e and errors.append(e))
    assert p.flush(30) == 0 and not errors, f"produce to {topic}/{partition} failed: {errors}"


def _read_first(node, topic, partition):
    c = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "g-many", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, partition, OFFSET_BEGINNING)])
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            m = c.poll(1.0)
            if m is not None and m.error() is None:
                return m.value()
    finally:
        c.close()
    return None


def _open_segment_files(pid):
    fd_dir = f"/proc/{pid}/fd"
    targets = []
    for fd in os.listdir(fd_dir):
        try:
            targets.append(os.readlink(os.path.join(fd_dir, fd)))
        except OSError:
            pass
    return len(targets), sum(1 for t in targets if t.endswith(".log"))


def test_many_partitions_restart_under_a_low_file_limit_and_stop_fast(make_node):
    first = make_node()
    admin = _create_topics(first)
    _produce(first, "many-00", 0, b"old-first")
    _produce(first, f"many-{TOPICS - 1:02d}", PARTITIONS - 1, b"old-last")
    del admin

    started = time.time()
    first.stop()
    took = time.time() - started
    assert took < STOP_BUDGET_S, f"a clean stop with {TOPICS * PARTITIONS} partitions took {took:.1f} s"
    log = first.log()
    assert "engine shut down cleanly" in log, log

    node = make_node(data_dir=first.data_dir, wrapper=["prlimit", f"--nofile={NOFILE}:{NOFILE}", "--"])
    log = node.log()
    assert "Too many open files" not in log, log
    meta = AdminClient({"bootstrap.servers": node.bootstrap}).list_topics(timeout=30)
    many = {name: len(t.partitions) for name, t in meta.topics.items() if name.startswith("many-")}
    assert many == {f"many-{t:02d}": PARTITIONS for t in range(TOPICS)}

    assert _read_first(node, "many-00", 0) == b"old-first"
    assert _read_first(node, f"many-{TOPICS - 1:02d}", PARTITIONS - 1) == b"old-last"
    # Writing to every partition of a topic still works under the limit (files are reopened on demand).
    for p in range(0, PARTITIONS, 10):
        _produce(node, "many-07", p, b"new-%d" % p)
    total, segments = _open_segment_files(node.proc.pid)
    # The automatic budget is half the limit; the rest is left for sockets and the metadata store. Files with
    # writes not yet fsynced stay open until their flush (at most the 10 partitions just written).
    assert segments <= NOFILE // 2 + 10, f"{segments} segment files open"
    assert total < NOFILE, f"{total} descriptors open"
    assert_serves(node)
