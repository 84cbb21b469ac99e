"""Resharding under load: a producer keeps PutRecords-ing while shards are split, merged and rescaled with
UpdateShardCount; a concurrent reader that follows shard lineage the way KCL does (a child is read only after each
of its parents was read to SHARD_END) must receive every acknowledged record exactly once, and per partition key
in the order the producer had them acknowledged."""
import threading
import time
from collections import defaultdict

from conftest import all_shards, create_active, wait_active

KEYS = [f"key-{i}" for i in range(24)]
BATCH = 100


def is_open(s):
    return "EndingSequenceNumber" not in s["SequenceNumberRange"]


def adjacent_open_pair(shards):
    opened = sorted((s for s in shards if is_open(s)), key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
    for a, b in zip(opened, opened[1:]):
        if int(a["HashKeyRange"]["EndingHashKey"]) + 1 == int(b["HashKeyRange"]["StartingHashKey"]):
            return a["ShardId"], b["ShardId"]
    raise AssertionError("no adjacent open shards")


class Producer(threading.Thread):
    def __init__(self, client, stream):
        super().__init__(daemon=True)
        self.client, self.stream = client, stream
        self.stop = threading.Event()
        self.acked = defaultdict(list)  # key -> counters in acknowledgement order
        self.next = defaultdict(int)
        self.failed = 0
        self.error = None

    def run(self):
        try:
            n = 0
            while not self.stop.is_set():
                batch = []
                for _ in range(BATCH):
                    key = KEYS[n % len(KEYS)]
                    n += 1
                    c = self.next[key]
                    self.next[key] += 1
                    batch.append((key, c))
                resp = self.client.put_records(StreamName=self.stream, Records=[
                    {"PartitionKey": k, "Data": f"{k}:{c}".encode()} for k, c in batch])
                assert len(resp["Records"]) == len(batch)
                for (k, c), r in zip(batch, resp["Records"]):
                    if "ErrorCode" in r:
                        # Not written (AWS: a failed entry is not stored); the key's order continues without it.
                        self.failed += 1
                    else:
                        self.acked[k].append(c)
        except Exception as e:  # noqa: BLE001 - reported by the test thread
            self.error = e


class LineageReader(threading.Thread):
    def __init__(self, client, stream, producer_done):
        super().__init__(daemon=True)
        self.client, self.stream, self.producer_done = client, stream, producer_done
        self.delivered = defaultdict(list)
        self.finished = set()
        self.started = set()
        self.iters = {}
        self.order_violations = []
        self.error = None

    def discover(self):
        shards = all_shards(self.client, self.stream)
        known = {s["ShardId"] for s in shards}
        for s in shards:
            sid = s["ShardId"]
            if sid in self.started:
                continue
            parents = [p for p in (s.get("ParentShardId"), s.get("AdjacentParentShardId")) if p and p in known]
            if all(p in self.finished for p in parents):
                self.iters[sid] = self.client.get_shard_iterator(
                    StreamName=self.stream, ShardId=sid, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
                self.started.add(sid)

    def run(self):
        try:
            quiet_passes = 0
            while True:
                done_before_pass = self.producer_done.is_set()
                self.discover()
                got_any = False
                for sid in list(self.iters):
                    resp = self.client.get_records(ShardIterator=self.iters[sid], Limit=1000)
                    for r in resp["Records"]:
                        key, counter = r["Data"].decode().split(":")
                        assert r["PartitionKey"] == key
                        self.delivered[key].append(int(counter))
                    got_any |= bool(resp["Records"]) or resp.get("MillisBehindLatest", 0) > 0
                    nxt = resp.get("NextShardIterator")
                    if nxt is None:
                        # Shard end: KCL requires the children to be named here.
                        assert resp.get("ChildShards"), f"{sid} ended without ChildShards"
                        self.finished.add(sid)
                        del self.iters[sid]
                        got_any = True
                    else:
                        assert not resp.get("ChildShards"), f"{sid}: ChildShards before the end of the shard"
                        self.iters[sid] = nxt
                if done_before_pass and not got_any:
                    quiet_passes += 1
                    if quiet_passes >= 2:
                        return
                else:
                    quiet_passes = 0
                if not got_any:
                    time.sleep(0.05)
        except Exception as e:  # noqa: BLE001 - reported by the test thread
            self.error = e


def test_every_acknowledged_record_exactly_once_in_key_order(strait):
    admin = strait.client()
    name = create_active(admin, shards=2)
    producer = Producer(strait.client(), name)
    producer_done = threading.Event()
    reader = LineageReader(strait.client(), name, producer_done)
    producer.start()
    reader.start()
    try:
        time.sleep(0.5)
        admin.split_shard(StreamName=name, ShardToSplit="shardId-000000000000",
                          NewStartingHashKey=str(2**126))
        wait_active(admin, name)
        time.sleep(0.5)
        a, b = adjacent_open_pair(all_shards(admin, name))
        admin.merge_shards(StreamName=name, ShardToMerge=a, AdjacentShardToMerge=b)
        wait_active(admin, name)
        time.sleep(0.5)
        open_now = sum(is_open(s) for s in all_shards(admin, name))
        admin.update_shard_count(StreamName=name, TargetShardCount=open_now * 2, ScalingType="UNIFORM_SCALING")
        wait_active(admin, name)
        time.sleep(0.5)
        admin.update_shard_count(StreamName=name, TargetShardCount=open_now, ScalingType="UNIFORM_SCALING")
        wait_active(admin, name)
        time.sleep(0.5)
    finally:
        producer.stop.set()
        producer.join(timeout=60)
        producer_done.set()
    reader.join(timeout=120)
    assert producer.error is None, f"producer failed: {producer.error!r}"
    assert reader.error is None, f"reader failed: {reader.error!r}"
    assert not reader.is_alive(), "reader did not reach the end"

    total = sum(len(v) for v in producer.acked.values())
    assert total >= 10 * BATCH, f"too little load to mean anything: {total} records"
    shards = all_shards(admin, name)
    assert len(shards) >= 8, "split, merge and two UpdateShardCount calls each closed shards"
    assert reader.finished == {s["ShardId"] for s in shards if not is_open(s)}
    for key in KEYS:
        got, want = reader.delivered.get(key, []), producer.acked.get(key, [])
        assert len(got) == len(set(got)), f"{key}: duplicates"
        assert got == want, f"{key}: delivered {len(got)} records, acknowledged {len(want)}; first difference at " \
                            f"{next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))}"
    print(f"{total} acknowledged records ({producer.failed} failed entries) over {len(shards)} shards")
