"""Stream status transitions as AWS reports them (CREATING -> ACTIVE, ACTIVE -> UPDATING -> ACTIVE, DELETING), and
what each state refuses. AWS takes seconds to minutes per transition; this module runs its own server with a 1.5 s
transition (aws.kinesis.status_delay_ms) so every state is observed deterministically. Refusals as kinesalite's
suite recorded them against AWS."""
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ENV_STATUS_DELAY, start_strait, stop_strait, unique

DELAY_MS = 1500


@pytest.fixture(scope="module")
def slow():
    tmp, s = start_strait({ENV_STATUS_DELAY: str(DELAY_MS)})
    yield s
    stop_strait(tmp, s)


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def status(kinesis, name):
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]


def test_creating_updating_deleting(slow):
    kinesis = slow.client()
    name = unique()
    kinesis.create_stream(StreamName=name, ShardCount=2)
    assert status(kinesis, name) == "CREATING"
    # Not usable yet: data operations answer as for a missing stream, changes as for a busy one.
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName=name, PartitionKey="a", Data=b"")
    assert error(e)[0] == "ResourceNotFoundException", error(e)
    assert re.fullmatch(rf"Stream {name} under account \d{{12}} not found\.", error(e)[1]), error(e)
    with pytest.raises(ClientError) as e:
        kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="2")
    assert error(e)[0] == "ResourceInUseException", error(e)
    assert re.fullmatch(rf"Stream {name} under account \d{{12}} not ACTIVE, instead in state CREATING",
                        error(e)[1]), error(e)

    started = time.time()
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert status(kinesis, name) == "ACTIVE"

    # UPDATING: reads and writes go on (AWS documents this), further resharding is refused.
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey=str(2**126))
    assert status(kinesis, name) == "UPDATING"
    put = kinesis.put_record(StreamName=name, PartitionKey="during-update", Data=b"x")
    assert put["SequenceNumber"]
    with pytest.raises(ClientError) as e:
        kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000001",
                             AdjacentShardToMerge="shardId-000000000002")
    assert error(e)[0] == "ResourceInUseException", error(e)
    assert re.fullmatch(rf"Stream {name} under account \d{{12}} not ACTIVE, instead in state UPDATING",
                        error(e)[1]), error(e)
    with pytest.raises(ClientError) as e:
        kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    assert error(e)[0] == "ResourceInUseException", error(e)
    deadline = time.time() + 30
    while status(kinesis, name) != "ACTIVE":
        assert time.time() < deadline
        time.sleep(0.1)

    kinesis.delete_stream(StreamName=name)
    assert status(kinesis, name) == "DELETING"
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    assert time.time() - started >= 2 * DELAY_MS / 1000, "each transition took the configured time"


def described(kinesis, name):
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    return d["StreamStatus"], d["Shards"], d["HasMoreShards"]


def open_count(kinesis, name):
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["OpenShardCount"]


def test_described_layout_follows_the_status(slow):
    """AWS describes no shards while a stream is CREATING or DELETING, and the layout from before a resharding
    while it is UPDATING (kinesalite's suite, run against AWS, expects `Shards: []` for CREATING and DELETING)."""
    kinesis = slow.client()
    name = unique()
    kinesis.create_stream(StreamName=name, ShardCount=2)
    assert described(kinesis, name) == ("CREATING", [], False)
    assert open_count(kinesis, name) == 0
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100})
    before = described(kinesis, name)[1]
    assert [s["ShardId"] for s in before] == ["shardId-000000000000", "shardId-000000000001"]

    kinesis.split_shard(StreamName=name, ShardToSplit="shard-0", NewStartingHashKey=str(2**126))
    status, shards, _ = described(kinesis, name)
    assert status == "UPDATING"
    assert shards == before, "the old layout, parents still open"
    assert open_count(kinesis, name) == 2
    # Writes meanwhile go to the new layout, as on AWS (the split has taken effect for data).
    assert kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"x")["SequenceNumber"]

    deadline = time.time() + 30
    while described(kinesis, name)[0] != "ACTIVE":
        assert time.time() < deadline
        time.sleep(0.1)
    status, shards, _ = described(kinesis, name)
    assert [s["ShardId"] for s in shards] == [f"shardId-00000000000{i}" for i in range(4)]
    assert "EndingSequenceNumber" in shards[0]["SequenceNumberRange"]
    assert open_count(kinesis, name) == 3

    kinesis.delete_stream(StreamName=name)
    assert described(kinesis, name) == ("DELETING", [], False)
    assert open_count(kinesis, name) == 0
