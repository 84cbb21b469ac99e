"""Leader failover under a steady acks=all producer: while confluent-kafka writes keyed records to a 3-partition,
3-replica topic, the leader of partition 0 is kill -9ed and restarted with its own command, then the leader of
another partition (a different node). Every acknowledged record must then be readable from a node that was never
killed, at the offset its acknowledgement named, with the acknowledged records of each partition in the order they
were acknowledged, and nothing that was never produced.

The test runs twice. Without idempotence a retry after a failover may write a record twice: duplicates are
allowed and reported. With idempotence (5 requests in flight, as the client's default) the new leader rebuilds
each producer's state from the replicated log, so a retry of a batch the old leader had written is answered from
that state: no duplicate is allowed, and every acknowledged record is there exactly once. Both report the longest
gap between two acknowledgements (the unavailability).
"""
import pytest
import re
import threading
import time
import urllib.request

from confluent_kafka import Consumer, Producer, TopicPartition
from conftest import produce_paced

RECORDS = 3000
RATE = 200  # records per second: production spans both kills (~15 s)
PARTITIONS = 3


def kill_two_leaders(cluster, events, errors, TOPIC):
    """Kills the leader of partition 0, restarts it ~2 s later; then the same for a leader on another node."""
    try:
        time.sleep(2)
        first = cluster.wait_leaders(TOPIC, PARTITIONS)[0]
        for victim_of in (lambda leaders: leaders[0], lambda leaders: next(
                lead for _, lead in sorted(leaders.items()) if lead != first)):
            leaders = cluster.wait_leaders(TOPIC, PARTITIONS)
            events.append((time.monotonic(), f"leaders {leaders}"))
            victim = victim_of(leaders)
            cluster.kill(victim)
            events.append((time.monotonic(), f"killed node {victim}"))
            time.sleep(2)
            events.append((time.monotonic(), f"leaders {cluster.wait_leaders(TOPIC, PARTITIONS)}"))
            cluster.restart(victim)
            events.append((time.monotonic(), f"restarted node {victim}"))
            # let the restarted node catch up before the next kill takes another replica away
            time.sleep(2)
    except BaseException as e:  # reported by the test thread
        errors.append(e)


def read_back(bootstrap, TOPIC):
    """Every record of every partition: (partition -> {offset: value} in offset order, partition -> offsets below
    the high watermark that hold no record)."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "failover-verify", "enable.auto.commit": False})
    try:
        records, gaps = {}, {}
        for p in range(PARTITIONS):
            low, high = c.get_watermark_offsets(TopicPartition(TOPIC, p), timeout=10)
            assert low == 0
            c.assign([TopicPartition(TOPIC, p, 0)])
            got = []
            deadline = time.time() + 30
            while not got or got[-1][0] < high - 1:
                assert time.time() < deadline, \
                    f"partition {p}: stalled at {len(got)} records of {high}, last {got[-3:]}"
                m = c.poll(1.0)
                if m is None:
                    continue
                assert m.error() is None, m.error()
                got.append((m.offset(), m.value().decode()))
            # Raft's own entries (the first membership, each new leader's blank entry) are Kafka control batches
            # that take one offset each and that consumers skip (engine/raft/src/control.rs): offsets have gaps.
            gaps[p] = sorted(set(range(high)) - {o for o, _ in got})
            records[p] = {o: v for o, v in got}
        return records, gaps
    finally:
        c.close()


@pytest.mark.parametrize("idempotent", [False, True], ids=["plain", "idempotent"])
def test_acknowledged_records_survive_two_leader_failovers(cluster, idempotent):
    TOPIC = "failover-idempotent" if idempotent else "failover-plain"
    cluster.killed.clear()
    cluster.create_topic(TOPIC, PARTITIONS)
    producer = Producer({
        "bootstrap.servers": cluster.bootstrap,
        "acks": "all",
        "enable.idempotence": idempotent,
        "message.timeout.ms": 30000,
        # without idempotence, only one request in flight keeps a retried batch from landing after a later one;
        # with it, the client's own limit (5) and the broker's sequence checks keep the order
        "max.in.flight.requests.per.connection": 5 if idempotent else 1,
        "linger.ms": 5,
        # a failed-over leader is found again quickly
        "topic.metadata.refresh.interval.ms": 1000,
        "retry.backoff.ms": 100,
    })
    acked = []  # (time, partition, offset, seq) in the order the delivery callbacks reported success
    failed = []

    def on_delivery(err, msg):
        seq = int(msg.value().decode())
        if err is None:
            acked.append((time.monotonic(), msg.partition(), msg.offset(), seq))
        else:
            failed.append((seq, str(err)))

    events, errors = [], []
    killer = threading.Thread(target=kill_two_leaders, args=(cluster, events, errors, TOPIC), daemon=True)
    start = time.monotonic()
    killer.start()
    produce_paced(producer, TOPIC, RECORDS, RATE, on_delivery)
    assert producer.flush(60) == 0, "records still undelivered 60 s after the last produce"
    killer.join(60)
    assert not killer.is_alive(), "the kill/restart thread did not finish"
    assert not errors, f"kill/restart failed: {errors[0]!r}"
    assert len(cluster.killed) == 2 and len(set(cluster.killed)) == 2, cluster.killed

    never_killed = next(i for i in cluster.nodes if i not in cluster.killed)
    records, gaps = read_back(cluster.nodes[never_killed].bootstrap, TOPIC)

    acked_seqs = {seq for _, _, _, seq in acked}
    occurrences = {}
    for p, got in records.items():
        for offset, value in got.items():
            assert value.isdigit() and int(value) < RECORDS, f"partition {p} offset {offset}: never produced {value!r}"
            occurrences.setdefault(int(value), []).append((p, offset))
    for _, p, offset, seq in acked:
        found = records[p].get(offset)
        assert found == str(seq), f"acknowledged {seq} at {p}/{offset}: found {found!r}"
    missing = acked_seqs - occurrences.keys()
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:10]}"
    for p in range(PARTITIONS):
        acked_order = [seq for _, q, _, seq in acked if q == p]
        first_seen, seen = [], set()
        for value in records[p].values():
            seq = int(value)
            if seq in acked_seqs and seq not in seen:
                seen.add(seq)
                first_seen.append(seq)
        assert first_seen == acked_order, f"partition {p}: acknowledged records out of acknowledgement order"

    duplicates = sum(len(o) - 1 for o in occurrences.values())
    # the unavailability: the longest a partition went without an acknowledgement (the others go on meanwhile)
    gap, gap_partition, gap_end = 0.0, None, None
    for p in range(PARTITIONS):
        times = [start] + [t for t, q, _, _ in acked if q == p]
        for a, b in zip(times, times[1:]):
            if b - a > gap:
                gap, gap_partition, gap_end = b - a, p, b
    mode = "idempotent" if idempotent else "plain"
    print(f"\nfailover ({mode}): {RECORDS} produced, {len(acked)} acknowledged, {len(failed)} failed "
          f"({failed[0][1] if failed else '-'}), {sum(len(g) for g in records.values())} read back from node "
          f"{never_killed}, 0 acknowledged lost, {duplicates} duplicates; offsets without a record (Raft control "
          f"entries) per partition: {gaps}")
    print(f"failover ({mode}): longest gap between acknowledgements {gap:.2f} s (partition {gap_partition}, ending "
          f"{gap_end - start:.1f} s in); "
          + ", ".join(f"{what} at {t - start:.1f} s" for t, what in events))

    if idempotent:
        assert duplicates == 0, f"idempotent producer: {duplicates} records written twice across the failovers"

    # The replication metrics (sampled once a second) saw it: every partition of the topic is led by one node,
    # and the node never killed counted the leader changes.
    time.sleep(1.5)
    texts = {i: urllib.request.urlopen(f"http://127.0.0.1:{n.admin_port}/metrics", timeout=5).read().decode()
             for i, n in cluster.nodes.items()}

    def value(text, series):
        m = re.search(rf"^{re.escape(series)} (\S+)$", text, re.M)
        assert m, f"{series} not exported"
        return float(m.group(1))
    led = sum(value(t, 'strait_raft_replicas{role="leader"}') for t in texts.values())
    assert led >= PARTITIONS, f"nodes report {led} led replicas"
    assert value(texts[never_killed], "strait_raft_leader_changes_total") >= 1

    # /healthz reports the cluster as each node sees it: ready, one controller leader agreed by all three.
    leaders = set()
    for i, n in cluster.nodes.items():
        with urllib.request.urlopen(f"http://127.0.0.1:{n.admin_port}/healthz", timeout=5) as r:
            body = r.read().decode()
            assert r.status == 200, body
        m = re.search(r"^controller leader: node (\d+) \(term \d+\)$", body, re.M)
        assert m, f"node {i} /healthz: {body!r}"
        leaders.add(m.group(1))
        assert re.search(rf"^replicas on node {i}: \d+ leading, \d+ following, 0 without a leader", body, re.M), body
    assert len(leaders) == 1, f"the nodes name different controller leaders: {leaders}"
