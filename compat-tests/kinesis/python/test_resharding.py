"""boto3: SplitShard, MergeShards, UpdateShardCount, shard lineage, the shard-end rule of GetRecords, ListShards
filters, and the documented errors for invalid resharding."""
import re
import time
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import all_shards, create_active, wait_active

MAX_HASH = 2**128 - 1


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def by_id(shards):
    return {s["ShardId"]: s for s in shards}


def hash_range(s):
    return int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])


def is_open(s):
    return "EndingSequenceNumber" not in s["SequenceNumberRange"]


def assert_open_shards_tile_keyspace(shards):
    ranges = sorted(hash_range(s) for s in shards if is_open(s))
    start = 0
    for lo, hi in ranges:
        assert lo == start, ranges
        start = hi + 1
    assert start == MAX_HASH + 1, ranges


def assert_shard_end(resp, expected_children):
    """KCL's check: at shard end NextShardIterator is absent and ChildShards names every child, each with its
    parents; before it, an iterator and no ChildShards."""
    assert resp.get("NextShardIterator") is None, resp
    children = resp.get("ChildShards") or []
    assert sorted(c["ShardId"] for c in children) == sorted(expected_children)
    for c in children:
        assert c["ParentShards"], c
        assert int(c["HashKeyRange"]["StartingHashKey"]) <= int(c["HashKeyRange"]["EndingHashKey"])


def drain(kinesis, it):
    """Reads from an iterator until shard end (a closed shard); returns records and the final response."""
    records = []
    for _ in range(1000):
        resp = kinesis.get_records(ShardIterator=it)
        records += resp["Records"]
        if resp.get("NextShardIterator") is None:
            return records, resp
        assert not resp.get("ChildShards"), "ChildShards only together with the end of the shard"
        it = resp["NextShardIterator"]
    raise AssertionError("closed shard never reached its end")


def test_split_closes_parent_and_opens_children(kinesis):
    name = create_active(kinesis, shards=1)
    before = [kinesis.put_record(StreamName=name, PartitionKey=f"k{i}", Data=b"old")["SequenceNumber"]
              for i in range(5)]
    mid = (MAX_HASH + 1) // 2
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(mid))
    wait_active(kinesis, name)

    shards = by_id(all_shards(kinesis, name))
    assert sorted(shards) == ["shardId-000000000000", "shardId-000000000001", "shardId-000000000002"]
    parent, low, high = (shards[f"shardId-{i:012d}"] for i in range(3))
    assert not is_open(parent)
    assert int(parent["SequenceNumberRange"]["EndingSequenceNumber"]) >= int(before[-1])
    assert low["ParentShardId"] == high["ParentShardId"] == "shardId-000000000000"
    assert "AdjacentParentShardId" not in low
    assert hash_range(low) == (0, mid - 1) and hash_range(high) == (mid, MAX_HASH)
    assert is_open(low) and is_open(high)
    # Children's sequence numbers start above the parent's last one.
    assert int(low["SequenceNumberRange"]["StartingSequenceNumber"]) > int(before[-1])
    assert_open_shards_tile_keyspace(shards.values())
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 2

    # New records go to the children only.
    put = kinesis.put_record(StreamName=name, PartitionKey="new", ExplicitHashKey="0", Data=b"new")
    assert put["ShardId"] == "shardId-000000000001"
    put = kinesis.put_record(StreamName=name, PartitionKey="new", ExplicitHashKey=str(MAX_HASH), Data=b"new")
    assert put["ShardId"] == "shardId-000000000002"

    # The parent still serves its records, then ends with both children.
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records, end = drain(kinesis, it)
    assert [r["SequenceNumber"] for r in records] == before
    assert_shard_end(end, ["shardId-000000000001", "shardId-000000000002"])
    for c in end["ChildShards"]:
        assert c["ParentShards"] == ["shardId-000000000000"]
    # LATEST on a closed shard is already at its end.
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="LATEST")["ShardIterator"]
    _, end = drain(kinesis, it)
    assert_shard_end(end, ["shardId-000000000001", "shardId-000000000002"])

    # DescribeStream agrees with ListShards.
    described = by_id(kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"])
    assert described == shards


def test_invalid_splits(kinesis):
    name = create_active(kinesis, shards=1)
    mid = (MAX_HASH + 1) // 2
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(mid))
    wait_active(kinesis, name)

    # A closed shard cannot be split (or merged) again.
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(mid // 2))
    code, msg = error(e)
    assert code == "InvalidArgumentException"
    assert re.fullmatch(rf"Shard shardId-000000000000 in stream {name} under account \d{{12}} has already been "
                        r"merged or split, and thus is not eligible for merging or splitting\.", msg), msg

    # AWS: the new starting hash key must be "greater than one plus the shard's StartingHashKey and less than the
    # shard's EndingHashKey" (shard 1 is [0, mid-1]).
    for key in (str(mid + 5), "0", "1", str(mid - 1)):
        with pytest.raises(ClientError) as e:
            kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000001", NewStartingHashKey=key)
        code, msg = error(e)
        assert code == "InvalidArgumentException", (key, msg)
        assert msg.startswith(f"NewStartingHashKey {key} used in SplitShard() on shard shardId-000000000001 in "
                              f"stream {name} under account "), msg

    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000001", NewStartingHashKey="2")
    wait_active(kinesis, name)
    low = by_id(all_shards(kinesis, name))["shardId-000000000003"]
    assert hash_range(low) == (0, 1), "the smallest valid split leaves [start, start+1] to the first child"

    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000099", NewStartingHashKey="5")
    code, msg = error(e)
    assert code == "ResourceNotFoundException"
    assert re.fullmatch(rf"Could not find shard shardId-000000000099 in stream {name} under account \d{{12}}\.",
                        msg), msg


def test_merge_adjacent_shards(kinesis):
    name = create_active(kinesis, shards=3)
    with pytest.raises(ClientError) as e:
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                             AdjacentShardToMerge="shardId-000000000002")
    code, msg = error(e)
    assert code == "InvalidArgumentException"
    assert re.fullmatch(rf"Shards shardId-000000000000 and shardId-000000000002 in stream {name} under account "
                        r"\d{12} are not an adjacent pair of shards eligible for merging", msg), msg

    kept = kinesis.put_record(StreamName=name, PartitionKey="p", ExplicitHashKey="0", Data=b"before-merge")
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, name)
    shards = by_id(all_shards(kinesis, name))
    child = shards["shardId-000000000003"]
    assert child["ParentShardId"] == "shardId-000000000000"
    assert child["AdjacentParentShardId"] == "shardId-000000000001"
    assert hash_range(child) == (hash_range(shards["shardId-000000000000"])[0],
                                 hash_range(shards["shardId-000000000001"])[1])
    assert not is_open(shards["shardId-000000000000"]) and not is_open(shards["shardId-000000000001"])
    assert_open_shards_tile_keyspace(shards.values())

    # Both parents end with the one child, which lists both parents.
    for parent in ("shardId-000000000000", "shardId-000000000001"):
        it = kinesis.get_shard_iterator(StreamName=name, ShardId=parent,
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        records, end = drain(kinesis, it)
        if parent == "shardId-000000000000":
            assert [r["SequenceNumber"] for r in records] == [kept["SequenceNumber"]]
        assert_shard_end(end, ["shardId-000000000003"])
        assert sorted(end["ChildShards"][0]["ParentShards"]) == ["shardId-000000000000", "shardId-000000000001"]

    with pytest.raises(ClientError) as e:
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001",
                             AdjacentShardToMerge="shardId-000000000002")
    assert error(e)[0] == "InvalidArgumentException", "a closed shard cannot be merged again"


def test_update_shard_count_uniform_scaling(kinesis):
    name = create_active(kinesis, shards=2)
    resp = kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert resp["StreamName"] == name
    assert resp["CurrentShardCount"] == 2 and resp["TargetShardCount"] == 4
    wait_active(kinesis, name)
    shards = all_shards(kinesis, name)
    open_shards = [s for s in shards if is_open(s)]
    assert len(open_shards) == 4
    assert_open_shards_tile_keyspace(shards)
    for s in open_shards:  # uniform: each open shard covers about a quarter of the key space
        lo, hi = hash_range(s)
        assert abs((hi - lo + 1) - (MAX_HASH + 1) // 4) <= (MAX_HASH + 1) // 1000
        assert "ParentShardId" in s
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"] == 4

    resp = kinesis.update_shard_count(StreamName=name, TargetShardCount=3, ScalingType="UNIFORM_SCALING")
    assert resp["CurrentShardCount"] == 4 and resp["TargetShardCount"] == 3
    wait_active(kinesis, name)
    shards = all_shards(kinesis, name)
    assert len([s for s in shards if is_open(s)]) == 3
    assert_open_shards_tile_keyspace(shards)

    # AWS limits one call to between half and double the current open shard count.
    for target in (7, 1):
        with pytest.raises(ClientError) as e:
            kinesis.update_shard_count(StreamName=name, TargetShardCount=target, ScalingType="UNIFORM_SCALING")
        assert error(e)[0] == "LimitExceededException", (target, error(e))


def test_list_shards_filters(kinesis):
    name = create_active(kinesis, shards=2)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**125))
    wait_active(kinesis, name)
    ids = lambda **kw: [s["ShardId"] for s in all_shards(kinesis, name, **kw)]  # noqa: E731
    assert ids() == [f"shardId-{i:012d}" for i in range(4)]
    # AT_LATEST: only the shards open now.
    assert ids(ShardFilter={"Type": "AT_LATEST"}) == ["shardId-000000000001", "shardId-000000000002",
                                                        "shardId-000000000003"]
    # AT_TRIM_HORIZON: the shards open at the trim horizon (nothing expired: the two original ones);
    # FROM_TRIM_HORIZON: every shard from the trim horizon to the tip.
    assert ids(ShardFilter={"Type": "AT_TRIM_HORIZON"}) == ["shardId-000000000000", "shardId-000000000001"]
    assert set(ids(ShardFilter={"Type": "FROM_TRIM_HORIZON"})) == {f"shardId-{i:012d}" for i in range(4)}
    assert ids(ShardFilter={"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000001"}) == [
        "shardId-000000000002", "shardId-000000000003"]


def test_list_shards_timestamp_filters(kinesis):
    name = create_active(kinesis, shards=2)
    time.sleep(1.0)
    before_split = datetime.now(timezone.utc)
    time.sleep(1.0)
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**125))
    wait_active(kinesis, name)
    time.sleep(1.0)
    after_split = datetime.now(timezone.utc)
    ids = lambda **kw: sorted(s["ShardId"] for s in all_shards(kinesis, name, **kw))  # noqa: E731
    # AT_TIMESTAMP: shards open at that moment; FROM_TIMESTAMP: shards open at that moment or later.
    assert ids(ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": before_split}) == [
        "shardId-000000000000", "shardId-000000000001"]
    assert ids(ShardFilter={"Type": "AT_TIMESTAMP", "Timestamp": after_split}) == [
        "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
    assert ids(ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": before_split}) == [
        f"shardId-{i:012d}" for i in range(4)]
    assert ids(ShardFilter={"Type": "FROM_TIMESTAMP", "Timestamp": after_split}) == [
        "shardId-000000000001", "shardId-000000000002", "shardId-000000000003"]
