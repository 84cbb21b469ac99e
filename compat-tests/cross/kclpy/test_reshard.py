"""amazon-kclpy (MultiLangDaemon, KCL 3.x) consuming a stream that is resharded while it runs: SplitShard, then
UpdateShardCount, with boto3 putting plain records before, between and after. Every acknowledged record must be
processed (at least once) at its acknowledged shard and sequence number, a child shard only after its parents
reached SHARD_END, and the lease table must hold the checkpoints KCL wrote."""
import os
import time

import pytest

from conftest import all_shards, b64, lease_items, wait_active, wait_for

BATCH = 50


def put_batch(kinesis, stream, phase, count):
    """PutRecords `count` plain records; returns {(shard, seq): (pk, data)} of the acknowledged ones."""
    acked = {}
    for start in range(0, count, BATCH):
        entries = [{"PartitionKey": f"{phase}-pk-{i}", "Data": f"{phase}:{i}:".encode() + os.urandom(8)}
                   for i in range(start, min(start + BATCH, count))]
        resp = kinesis.put_records(StreamName=stream, Records=entries)
        assert resp["FailedRecordCount"] == 0, resp
        for e, r in zip(entries, resp["Records"]):
            acked[(r["ShardId"], r["SequenceNumber"])] = (e["PartitionKey"], b64(e["Data"]))
    return acked


@pytest.mark.parametrize("mode", ["FANOUT", "POLLING"])
def test_reshard_while_consuming(strait, kclpy_apps, mode):
    kinesis, ddb = strait.client("kinesis"), strait.client("dynamodb")
    app = kclpy_apps[f"reshard-{mode.lower()}"]
    stream, started = app.stream, app.started

    acked = put_batch(kinesis, stream, "p1", 150)
    wait_for(lambda: len(app.records()) > 0, 120, "first processed record", app)
    print(f"{mode}: first record processed {time.time() - started:.1f} s after the daemon started")

    # Split the first shard at the middle of its hash range while the app is consuming.
    first = all_shards(kinesis, stream)[0]
    lo, hi = (int(first["HashKeyRange"][k]) for k in ("StartingHashKey", "EndingHashKey"))
    kinesis.split_shard(StreamName=stream, ShardToSplit=first["ShardId"], NewStartingHashKey=str((lo + hi) // 2 + 1))
    acked |= put_batch(kinesis, stream, "p2", 150)
    wait_active(kinesis, stream)
    acked |= put_batch(kinesis, stream, "p3", 150)

    kinesis.update_shard_count(StreamName=stream, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    acked |= put_batch(kinesis, stream, "p4", 150)
    wait_active(kinesis, stream)
    acked |= put_batch(kinesis, stream, "p5", 150)

    def processed():
        return {(r["shard"], r["seq"]) for r in app.records()}

    wait_for(lambda: set(acked) <= processed(), 180, f"all {len(acked)} acknowledged records processed", app)
    print(f"{mode}: all {len(acked)} records processed {time.time() - started:.1f} s after the daemon started")

    events = app.events()
    records = [e for e in events if e["event"] == "record"]
    # Nothing lost, nothing altered, nothing invented.
    for r in records:
        key = (r["shard"], r["seq"])
        assert key in acked, f"processed a record nobody acknowledged: {r}"
        assert (r["pk"], r["data"]) == acked[key], r
        assert r["subseq"] == 0, r
    dups = len(records) - len({(r["shard"], r["seq"]) for r in records})
    print(f"{mode}: {len(records)} records processed, {dups} duplicates")

    # Children after parents: a child's first record comes after its parents' SHARD_END in the output.
    shards = {s["ShardId"]: s for s in all_shards(kinesis, stream)}
    closed = {sid for sid, s in shards.items() if "EndingSequenceNumber" in s["SequenceNumberRange"]}
    assert len(closed) >= 2, shards  # the split parent and at least one parent of UpdateShardCount
    pos = {}
    for i, e in enumerate(events):
        pos.setdefault((e["event"], e["shard"]), i)
    for sid, s in shards.items():
        first_rec = pos.get(("record", sid))
        if first_rec is None:
            continue
        for parent in (s.get("ParentShardId"), s.get("AdjacentParentShardId")):
            if parent:
                ended = pos.get(("shard_ended", parent))
                assert ended is not None and ended < first_rec, \
                    f"{sid} processed (event {first_rec}) before parent {parent} ended (event {ended})"
    for sid in closed:
        assert ("shard_ended", sid) in pos, f"closed shard {sid} never reached shard_ended"

    # The lease table (name = application name): SHARD_END for every closed shard (KCL deletes such leases only
    # minutes later), and each open shard checkpointed at the last record processed from it.
    last = {}
    for r in records:
        last[r["shard"]] = max(last.get(r["shard"], 0), int(r["seq"]))

    def checkpoints_final():
        leases = lease_items(ddb, app.app)
        for sid in shards:
            lease = leases.get(sid)
            if lease is None:
                return False
            want = "SHARD_END" if sid in closed else str(last.get(sid, "TRIM_HORIZON"))
            if lease["checkpoint"]["S"] != want:
                return False
        return True

    wait_for(checkpoints_final, 30, "final checkpoints in the lease table", app)
    leases = lease_items(ddb, app.app)
    for sid in shards:
        lease = leases[sid]
        assert lease["checkpointSubSequenceNumber"]["N"] == "0", lease
        assert lease["leaseOwner"]["S"], lease
    assert set(leases[first["ShardId"]]["childShardIds"]["SS"]) == {
        sid for sid, s in shards.items() if s.get("ParentShardId") == first["ShardId"]}

    # KCL's CloudWatch metrics reached strait through the same endpoint (namespace = application name).
    wait_for(lambda: f'namespace="{app.app}"' in strait.metrics(), 30, "KCL metrics on strait", app)
