"""A consumer group across a leader failover: two confluent-kafka consumers of one group read a 3-partition,
3-replica topic while an acks=all producer writes to it and the leader of partition 0 is kill -9ed and restarted
with its own command. Every acknowledged record must be consumed at least once, and the group's committed offsets
must survive: after both consumers leave, a new consumer of the same group resumes after the last commit (it reads
the records produced since, and none from before).
"""
import threading
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from conftest import produce_paced

RECORDS = 1500
RATE = 150  # records per second: production spans the kill and the restart (~10 s)
LATER = 30  # records produced after the group's consumers left
PARTITIONS = 3
TOPIC = "group"
GROUP = "cluster-group"


def producer_config(cluster):
    return {"bootstrap.servers": cluster.bootstrap, "acks": "all", "enable.idempotence": False,
            "message.timeout.ms": 30000, "max.in.flight.requests.per.connection": 1, "linger.ms": 5,
            "topic.metadata.refresh.interval.ms": 1000, "retry.backoff.ms": 100}


def consumer(cluster, **extra):
    return Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": GROUP, "auto.offset.reset": "earliest",
                     "enable.auto.commit": False, "session.timeout.ms": 6000, "heartbeat.interval.ms": 1000,
                     "topic.metadata.refresh.interval.ms": 1000, **extra})


class GroupMember(threading.Thread):
    """Consumes until told to stop, committing synchronously every ~0.5 s; a commit refused during the failover
    (coordinator moving, rebalance) is counted and retried by the next one."""

    def __init__(self, cluster, name):
        super().__init__(daemon=True)
        self.c = consumer(cluster, **{"client.id": name})
        self.seen = set()
        self.stop = threading.Event()
        # set by the rebalance callback: a consumer's methods are not called from another thread
        self.assigned = threading.Event()
        self.commits = self.failed_commits = 0
        self.error = None

    def commit(self):
        try:
            self.c.commit(asynchronous=False)
            self.commits += 1
        except KafkaException as e:
            # _NO_OFFSET: nothing consumed since the last commit
            if e.args[0].code() != -168:
                self.failed_commits += 1

    def run(self):
        try:
            self.c.subscribe([TOPIC], on_assign=lambda _, parts: parts and self.assigned.set())
            last_commit = time.monotonic()
            while not self.stop.is_set():
                m = self.c.poll(0.2)
                if m is not None:
                    assert m.error() is None or m.error().retriable(), m.error()
                    if m.error() is None:
                        self.seen.add(int(m.value().decode()))
                if time.monotonic() - last_commit > 0.5:
                    self.commit()
                    last_commit = time.monotonic()
            self.commit()
            self.c.close()
        except BaseException as e:  # reported by the test thread
            self.error = e


def test_group_consumes_every_acknowledged_record_and_keeps_its_offsets(cluster):
    cluster.create_topic(TOPIC, PARTITIONS)
    members = [GroupMember(cluster, f"member-{i}") for i in range(2)]
    for m in members:
        m.start()
    deadline = time.time() + 30
    while not all(m.assigned.is_set() for m in members):
        assert all(m.error is None for m in members), [m.error for m in members]
        assert time.time() < deadline, "the two group members did not both get partitions in 30 s"
        time.sleep(0.2)

    producer = Producer(producer_config(cluster))
    acked, failed = set(), []

    def on_delivery(err, msg):
        (acked.add if err is None else failed.append)(int(msg.value().decode()))

    events = []
    victim = None

    def kill_then_restart(start):
        nonlocal victim
        now = time.monotonic() - start
        if not events and now > 3:
            victim = cluster.wait_leaders(TOPIC, PARTITIONS)[0]
            cluster.kill(victim)
            events.append((now, f"killed node {victim}"))
        elif len(events) == 1 and now > 5:
            cluster.restart(victim)
            events.append((time.monotonic() - start, f"restarted node {victim}"))

    produce_paced(producer, TOPIC, RECORDS, RATE, on_delivery, kill_then_restart)
    assert producer.flush(60) == 0, "records still undelivered 60 s after the last produce"
    assert len(events) == 2, f"production ended before the kill and restart: {events}"

    deadline = time.time() + 45
    while not acked <= set().union(*(m.seen for m in members)):
        assert all(m.error is None for m in members), [m.error for m in members]
        assert time.time() < deadline, \
            f"{len(acked - set().union(*(m.seen for m in members)))} acknowledged records never consumed"
        time.sleep(0.2)
    for m in members:
        m.stop.set()
    for m in members:
        m.join(30)
        assert not m.is_alive() and m.error is None, m.error
    consumed = [len(m.seen) for m in members]

    # The group's committed offsets, as a new member of it sees them, must cover every record consumed above.
    probe = consumer(cluster)
    committed = probe.committed([TopicPartition(TOPIC, p) for p in range(PARTITIONS)], timeout=10)
    probe.close()
    ends = {}
    for tp in committed:
        assert tp.error is None and tp.offset >= 0, f"partition {tp.partition}: no committed offset ({tp})"
        ends[tp.partition] = tp.offset

    later = Producer(producer_config(cluster))
    for seq in range(RECORDS, RECORDS + LATER):
        later.produce(TOPIC, key=f"k{seq}", value=str(seq))
    assert later.flush(30) == 0

    resumed = consumer(cluster)
    resumed.subscribe([TOPIC])
    got = {}
    deadline = time.time() + 30
    while len(got) < LATER:
        assert time.time() < deadline, f"the resumed member read {len(got)} of the {LATER} later records"
        m = resumed.poll(0.5)
        if m is None:
            continue
        assert m.error() is None, m.error()
        seq = int(m.value().decode())
        assert seq >= RECORDS, f"resumed before the last commit: record {seq} at {m.partition()}/{m.offset()}"
        assert m.offset() >= ends[m.partition()], f"read {m.partition()}/{m.offset()} below the commit"
        got[seq] = m.offset()
    resumed.close()
    assert set(got) == set(range(RECORDS, RECORDS + LATER))

    print(f"\ngroup: {RECORDS} produced, {len(acked)} acknowledged, {len(failed)} failed; consumed by the two "
          f"members {consumed} (union covers every acknowledged record); commits {[m.commits for m in members]}, "
          f"refused {[m.failed_commits for m in members]}; committed offsets {ends}; the resumed member read the "
          f"{LATER} later records only; " + ", ".join(f"{what} at {t:.1f} s" for t, what in events))
