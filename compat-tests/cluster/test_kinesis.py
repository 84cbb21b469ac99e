"""Kinesis on a cluster: boto3 writes to one node only, as an AWS SDK does (one endpoint), while the leader of one
of the stream's shards (another node) is kill -9ed and restarted. The entry node leads some shards and forwards
the other shards' appends to their leaders. Every record PutRecords acknowledged must then be readable through
GetRecords from a third node, at the sequence number its acknowledgement named, with each shard's records in
sequence-number order.

Kinesis writes are at-least-once (AWS's own retries can write a record twice), so the failed records of a
PutRecords are put again by the test, and duplicates are reported, not failed.
"""
import threading
import time

import boto3
from botocore.config import Config

STREAM = "cluster-kinesis"
SHARDS = 3
RECORDS = 1500
BATCH = 10
RATE = 150  # records per second: ~10 s of writes around the kill


def client(node):
    return boto3.client(
        "kinesis", endpoint_url=node.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="test", aws_secret_access_key="test",
        config=Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=2, read_timeout=20))


def shard_leaders(cluster):
    """Shard index (= partition) -> leader node id, from Kafka Metadata (the stream is a topic)."""
    return cluster.wait_leaders(STREAM, SHARDS)


def test_puts_through_one_node_survive_a_shard_leader_kill(cluster):
    cluster.killed.clear()
    leaders_before = None
    for node_id, node in cluster.nodes.items():
        if node_id not in cluster.down():
            kin = client(node)
            break
    kin.create_stream(StreamName=STREAM, ShardCount=SHARDS)
    kin.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    leaders_before = shard_leaders(cluster)
    # The entry node: one that leads at most some shards, so the others' appends are forwarded.
    counts = {n: list(leaders_before.values()).count(n) for n in cluster.nodes}
    entry = min(counts, key=lambda n: (counts[n], n))
    victim = next(lead for _, lead in sorted(leaders_before.items()) if lead != entry)
    reader = next(n for n in cluster.nodes if n not in (entry, victim))
    writer = client(cluster.nodes[entry])

    events, errors = [], []

    def kill_and_restart():
        try:
            time.sleep(3)
            cluster.kill(victim)
            events.append((time.monotonic(), f"killed node {victim}"))
            time.sleep(2)
            cluster.restart(victim)
            events.append((time.monotonic(), f"restarted node {victim}"))
        except BaseException as e:  # reported by the test thread
            errors.append(e)

    acked = []  # (shard id, sequence number, data)
    failed_attempts = 0
    pending = [f"r{i}" for i in range(RECORDS)]
    killer = threading.Thread(target=kill_and_restart, daemon=True)
    start = time.monotonic()
    killer.start()
    sent = 0
    deadline = start + 90
    while pending:
        assert time.monotonic() < deadline, f"{len(pending)} records still unacknowledged after 90 s"
        batch, pending = pending[:BATCH], pending[BATCH:]
        delay = start + sent / RATE - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        sent += len(batch)
        try:
            out = writer.put_records(StreamName=STREAM, Records=[
                {"Data": d.encode(), "PartitionKey": d} for d in batch])
        except Exception as e:  # the whole call failed (after the SDK's retries): put all of it again
            failed_attempts += len(batch)
            events.append((time.monotonic(), f"PutRecords failed: {e!r}"[:200]))
            pending = batch + pending
            continue
        retry = []
        for d, r in zip(batch, out["Records"]):
            if "ErrorCode" in r:
                failed_attempts += 1
                retry.append(d)
            else:
                acked.append((r["ShardId"], r["SequenceNumber"], d))
        pending = retry + pending
    killer.join(60)
    assert not killer.is_alive() and not errors, f"kill/restart failed: {errors!r}"

    # Read every shard back from a node that was neither the entry nor the victim.
    rd = client(cluster.nodes[reader])
    shards = [s["ShardId"] for s in rd.list_shards(StreamName=STREAM)["Shards"]]
    assert len(shards) == SHARDS
    acked_by_shard = {}
    for shard, seq, d in acked:
        acked_by_shard.setdefault(shard, []).append((int(seq), d))
    got = {}
    for shard in shards:
        it = rd.get_shard_iterator(StreamName=STREAM, ShardId=shard,
                                   ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        want = len(acked_by_shard.get(shard, []))
        records, idle = [], 0
        while it and idle < 5:
            r = rd.get_records(ShardIterator=it, Limit=1000)
            records += [(int(x["SequenceNumber"]), x["Data"].decode()) for x in r["Records"]]
            it = r.get("NextShardIterator")
            idle = idle + 1 if not r["Records"] else 0
            if len(records) >= want and not r["Records"]:
                break
            if not r["Records"]:
                # a follower learns the commit point with the leader's next message
                time.sleep(0.2)
        got[shard] = records
        seqs = [s for s, _ in records]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), f"{shard}: sequence numbers out of order"

    by_seq = {shard: dict(records) for shard, records in got.items()}
    for shard, seq, d in acked:
        found = by_seq.get(shard, {}).get(int(seq))
        assert found == d, f"acknowledged {d} at {shard}/{seq}: found {found!r}"
    occurrences = {}
    for records in got.values():
        for _, d in records:
            assert d.startswith("r") and int(d[1:]) < RECORDS, f"never put: {d!r}"
            occurrences[d] = occurrences.get(d, 0) + 1
    assert len(acked) == RECORDS and set(occurrences) == {d for _, _, d in acked}
    duplicates = sum(n - 1 for n in occurrences.values())
    print(f"\nkinesis: {RECORDS} records put through node {entry} (leading {counts[entry]} of {SHARDS} shards; "
          f"leaders {leaders_before}), node {victim} killed and restarted, read back from node {reader}: "
          f"0 acknowledged lost, {duplicates} duplicates, {failed_attempts} record puts failed and were retried; "
          + ", ".join(f"{what} at {t - start:.1f} s" for t, what in events))
