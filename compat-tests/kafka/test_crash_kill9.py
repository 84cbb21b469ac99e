"""kill -9 durability through a real Kafka client: a confluent-kafka producer (acks=all, idempotent) writes
continuously while the broker is SIGKILLed at random moments, 20 rounds on one data directory. After each restart
every acknowledged record must be present at its acknowledged offset, byte-exact, with no gaps and no duplicates.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from confluent_kafka import Consumer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import Strait

ROUNDS = int(os.environ.get("STRAIT_CRASH_ROUNDS", "20"))
PARTITIONS = 3


def read_all(bootstrap, topic):
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "crash-verify", "enable.auto.commit": False})
    records = {}
    for p in range(PARTITIONS):
        low, high = c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        assert low == 0
        c.assign([TopicPartition(topic, p, 0)])
        got = []
        while len(got) < high:
            m = c.poll(5.0)
            assert m is not None, f"partition {p}: stalled at {len(got)} of {high}"
            assert m.error() is None, m.error()
            got.append((m.offset(), m.value().decode()))
        assert [o for o, _ in got] == list(range(high)), f"partition {p}: offsets have gaps"
        records[p] = dict(got)
    c.close()
    return records


def test_acknowledged_records_survive_kill_9():
    seed = int(os.environ.get("STRAIT_CRASH_SEED", str(random.randrange(1 << 30))))
    rng = random.Random(seed)
    print(f"crash test seed {seed}")
    tmp = tempfile.mkdtemp(prefix="strait-crash-kafka-")
    strait = Strait(os.path.join(tmp, "data")).start()
    try:
        run_rounds(strait, tmp, rng)
    finally:
        # stop everything we started, also when an assertion failed
        strait.stop(signal.SIGKILL)
        shutil.rmtree(tmp, ignore_errors=True)


def run_rounds(strait, tmp, rng):
    topic = "crash"
    admin = AdminClient({"bootstrap.servers": strait.bootstrap})  # must outlive its futures
    admin.create_topics([NewTopic(topic, PARTITIONS, 1)])[topic].result(10)
    acked_log = os.path.join(tmp, "acked.log")
    total_acked = 0
    for r in range(ROUNDS):
        producer = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(__file__), "crash_producer.py"),
                                     strait.bootstrap, topic, f"r{r}", acked_log])
        time.sleep(rng.uniform(0.5, 2.5))
        strait.stop(signal.SIGKILL)
        producer.send_signal(signal.SIGKILL)
        producer.wait()
        strait.start()
        with open(acked_log) as f:
            acked = [line.split() for line in f if line.endswith("\n")]
        records = read_all(strait.bootstrap, topic)
        for p, o, v in acked:
            assert records[int(p)].get(int(o)) == v, f"round {r}: acked {v} at {p}/{o} is missing or different"
        values = [v for recs in records.values() for v in recs.values()]
        assert len(values) == len(set(values)), f"round {r}: duplicate records"
        round_acked = len(acked) - total_acked
        total_acked = len(acked)
        print(f"round {r + 1}: {round_acked} acknowledged this round, {total_acked} in all, "
              f"{len(values)} records on disk, 0 lost")
    strait.stop()
    assert total_acked > 0
    print(f"kafka crash test: {ROUNDS} rounds, {total_acked} acknowledged records, 0 lost")
