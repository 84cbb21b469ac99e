"""Transactions (KIP-98) through confluent-kafka (librdkafka): a transactional producer that commits and aborts,
READ_COMMITTED and READ_UNCOMMITTED consumers, consume-transform-produce with offsets committed in the transaction,
fencing of a zombie producer, and a committed (and an open) transaction across a strait restart.

Each test runs its own strait process (the restart must not disturb the session-wide server)."""
import os
import shutil
import signal
import tempfile
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Strait


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def server():
    tmp = tempfile.mkdtemp(prefix="strait-txn-")
    s = Strait(os.path.join(tmp, "data")).start()
    try:
        yield s
    finally:
        s.stop(signal.SIGTERM)
        if not os.environ.get("STRAIT_KEEP_DATA"):
            shutil.rmtree(tmp, ignore_errors=True)


def create_topic(bootstrap, name, partitions):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])[name].result(15)


def txn_producer(bootstrap, txn_id, **conf):
    p = Producer({"bootstrap.servers": bootstrap, "transactional.id": txn_id, "linger.ms": 5, **conf})
    p.init_transactions(30)
    return p


def produce_txn(p, topic, values, commit, partition=None):
    p.begin_transaction()
    for v in values:
        kw = {} if partition is None else {"partition": partition}
        p.produce(topic, value=v.encode(), key=v.encode(), **kw)
    if commit:
        p.commit_transaction(30)
    else:
        p.flush(30)  # the records reach the log before the abort
        p.abort_transaction(30)


def read_all(bootstrap, topic, partitions, isolation, expect_count, timeout=30):
    """Every record value of the topic, per partition, read from the beginning with the given isolation level until
    `expect_count` records arrived and the end of every partition was reached."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": unique("reader"), "enable.auto.commit": False,
                  "isolation.level": isolation, "auto.offset.reset": "earliest", "enable.partition.eof": True})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    got, eof = [], set()
    import time
    deadline = time.time() + timeout
    while time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            if len(got) >= expect_count and len(eof) == partitions:
                break
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                eof.add(m.partition())
                if len(got) >= expect_count and len(eof) == partitions:
                    break
                continue
            raise KafkaException(m.error())
        eof.discard(m.partition())
        got.append(m.value().decode())
    c.close()
    return got


def test_committed_visible_once_aborted_invisible(server):
    topic = unique("txn")
    create_topic(server.bootstrap, topic, 3)
    p = txn_producer(server.bootstrap, unique("tx"))
    committed1 = [f"c1-{i}" for i in range(200)]
    aborted = [f"a-{i}" for i in range(150)]
    committed2 = [f"c2-{i}" for i in range(100)]
    produce_txn(p, topic, committed1, commit=True)
    produce_txn(p, topic, aborted, commit=False)
    produce_txn(p, topic, committed2, commit=True)

    got = read_all(server.bootstrap, topic, 3, "read_committed", len(committed1) + len(committed2))
    assert sorted(got) == sorted(committed1 + committed2), "read_committed: committed exactly once, nothing aborted"
    assert len(got) == len(set(got))
    # The aborted records are in the log: read_uncommitted sees them (and no control records).
    raw = read_all(server.bootstrap, topic, 3, "read_uncommitted", 450)
    assert sorted(raw) == sorted(committed1 + aborted + committed2)


def test_open_transaction_blocks_read_committed_until_commit(server):
    topic = unique("txn-lso")
    create_topic(server.bootstrap, topic, 1)
    p = txn_producer(server.bootstrap, unique("tx"))
    p.begin_transaction()
    for i in range(10):
        p.produce(topic, value=f"pending-{i}".encode())
    p.flush(30)
    # The end offset a consumer sees depends on its isolation level: the high watermark, or the LSO.
    def end_offset(isolation):
        c = Consumer({"bootstrap.servers": server.bootstrap, "group.id": unique("lso"), "isolation.level": isolation})
        try:
            return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        finally:
            c.close()
    assert end_offset("read_uncommitted") == (0, 10)
    assert end_offset("read_committed") == (0, 0)
    assert read_all(server.bootstrap, topic, 1, "read_committed", 0, timeout=3) == []
    p.commit_transaction(30)
    # 10 records and the COMMIT marker.
    assert end_offset("read_committed") == (0, 11)
    assert read_all(server.bootstrap, topic, 1, "read_committed", 10) == [f"pending-{i}" for i in range(10)]


def test_zombie_producer_is_fenced(server):
    topic = unique("txn-fence")
    create_topic(server.bootstrap, topic, 1)
    txn_id = unique("tx")
    old = txn_producer(server.bootstrap, txn_id)
    old.begin_transaction()
    old.produce(topic, value=b"zombie")
    old.flush(30)
    # A new instance with the same transactional id aborts the old one's transaction and fences it.
    new = txn_producer(server.bootstrap, txn_id)
    produce_txn(new, topic, ["fresh"], commit=True)
    with pytest.raises(KafkaException) as e:
        old.commit_transaction(30)
    assert e.value.args[0].fatal() or e.value.args[0].txn_requires_abort() or "fenced" in str(e.value).lower()
    assert read_all(server.bootstrap, topic, 1, "read_committed", 1) == ["fresh"]


def test_consume_transform_produce_commits_offsets_with_the_transaction(server):
    src, dst, group = unique("src"), unique("dst"), unique("etl")
    create_topic(server.bootstrap, src, 1)
    create_topic(server.bootstrap, dst, 1)
    plain = Producer({"bootstrap.servers": server.bootstrap})
    for i in range(20):
        plain.produce(src, value=f"in-{i}".encode())
    assert plain.flush(30) == 0

    consumer = Consumer({"bootstrap.servers": server.bootstrap, "group.id": group, "enable.auto.commit": False,
                         "auto.offset.reset": "earliest", "isolation.level": "read_committed"})
    consumer.subscribe([src])
    p = txn_producer(server.bootstrap, unique("etl-tx"))

    def transform(n, commit):
        msgs = []
        import time
        deadline = time.time() + 30
        while len(msgs) < n and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                msgs.append(m)
        assert len(msgs) == n
        p.begin_transaction()
        for m in msgs:
            p.produce(dst, value=m.value().replace(b"in", b"out"))
        p.send_offsets_to_transaction([TopicPartition(src, 0, msgs[-1].offset() + 1)],
                                      consumer.consumer_group_metadata(), 30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
        return msgs

    transform(10, commit=True)
    assert consumer.committed([TopicPartition(src, 0)], timeout=10)[0].offset == 10
    transform(10, commit=False)
    # Aborted: the group's committed offset did not move, and the output is not visible.
    assert consumer.committed([TopicPartition(src, 0)], timeout=10)[0].offset == 10
    consumer.close()
    assert read_all(server.bootstrap, dst, 1, "read_committed", 10) == [f"out-{i}" for i in range(10)]


def test_transactions_survive_a_restart(server):
    topic = unique("txn-restart")
    create_topic(server.bootstrap, topic, 2)
    txn_id = unique("tx")
    p = txn_producer(server.bootstrap, txn_id)
    committed = [f"kept-{i}" for i in range(50)]
    produce_txn(p, topic, committed, commit=True)
    produce_txn(p, topic, [f"dropped-{i}" for i in range(30)], commit=False)
    del p

    server.restart()
    assert sorted(read_all(server.bootstrap, topic, 2, "read_committed", 50)) == sorted(committed)

    # A transaction open across a restart keeps holding back read_committed readers, and completes afterwards.
    p = txn_producer(server.bootstrap, txn_id)
    p.begin_transaction()
    for i in range(20):
        p.produce(topic, value=f"across-{i}".encode(), partition=0)
    p.flush(30)
    server.restart()
    assert sorted(read_all(server.bootstrap, topic, 2, "read_committed", 50, timeout=5)) == sorted(committed)
    p.commit_transaction(60)
    want = committed + [f"across-{i}" for i in range(20)]
    assert sorted(read_all(server.bootstrap, topic, 2, "read_committed", 70)) == sorted(want)
