"""stream commands and Kinesis produce/consume, checked with boto3."""
import uuid


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def boto_shards(kinesis, stream):
    return {s["ShardId"]: s for s in kinesis.list_shards(StreamName=stream)["Shards"]}


def active(kinesis, stream):
    kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})


def test_describe_split_and_merge(cli, kinesis):
    s = name("resharded")
    kinesis.create_stream(StreamName=s, ShardCount=2)
    active(kinesis, s)
    d = cli.json("stream", "describe", s)
    assert d["stream"] == s and d["status"] == "ACTIVE"
    want = boto_shards(kinesis, s)
    assert {x["shard_id"]: (x["hash_key_range"]["start"], x["hash_key_range"]["end"]) for x in d["shards"]} == \
        {k: (v["HashKeyRange"]["StartingHashKey"], v["HashKeyRange"]["EndingHashKey"]) for k, v in want.items()}
    assert all(x["open"] for x in d["shards"])
    first = sorted(want)[0]
    split = cli.json("stream", "split", s, first)
    seen = boto_shards(kinesis, s)
    assert len(seen) == 4
    children = [k for k, v in seen.items() if v.get("ParentShardId") == first]
    assert len(children) == 2
    closed = {x["shard_id"] for x in split["shards"] if not x["open"]}
    assert closed == {first} and "EndingSequenceNumber" in seen[first]["SequenceNumberRange"]
    lo, hi = sorted(children, key=lambda c: int(seen[c]["HashKeyRange"]["StartingHashKey"]))
    cli.ok("stream", "merge", s, lo, hi)
    seen = boto_shards(kinesis, s)
    merged = [v for v in seen.values() if v.get("ParentShardId") in (lo, hi) and v.get("AdjacentParentShardId")]
    assert len(merged) == 1 and {merged[0]["ParentShardId"], merged[0]["AdjacentParentShardId"]} == {lo, hi}
    table = cli.ok("stream", "describe", s).stdout
    assert "closed" in table and "ADJACENT-PARENT" in table
    assert s in {x["stream"] for x in cli.json("stream", "list")}


def test_kinesis_produce_and_consume(cli, kinesis):
    s = name("kstream")
    kinesis.create_stream(StreamName=s, ShardCount=1)
    active(kinesis, s)
    out = cli.json("produce", s, "--kinesis", "--partition-key", "pk-1", stdin="one\ntwo\n")
    assert out[0]["records"] == 2
    shard = kinesis.list_shards(StreamName=s)["Shards"][0]["ShardId"]
    it = kinesis.get_shard_iterator(StreamName=s, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    recs = kinesis.get_records(ShardIterator=it)["Records"]
    assert [(r["Data"], r["PartitionKey"]) for r in recs] == [(b"one", "pk-1"), (b"two", "pk-1")]
    put = kinesis.put_record(StreamName=s, Data=b"three", PartitionKey="pk-2")
    lines = cli.json_lines("consume", s, "--kinesis", "--from-beginning", "--end")
    assert [(x["data"], x["partition_key"]) for x in lines] == [("one", "pk-1"), ("two", "pk-1"), ("three", "pk-2")]
    assert lines[2]["sequence_number"] == put["SequenceNumber"] and lines[2]["shard_id"] == shard
    at = cli.ok("consume", s, "--kinesis", "--shard", shard, "--sequence-number", put["SequenceNumber"],
                "--count", "1", "-f", "%k %s\\n").stdout
    assert at == "pk-2 three\n"
