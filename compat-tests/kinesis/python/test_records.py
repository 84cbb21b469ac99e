"""boto3: PutRecord/PutRecords, hash-key routing, all five shard-iterator types, GetRecords, and the iterator and
argument errors AWS documents."""
import hashlib
import re
import time
from datetime import datetime, timedelta, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import all_shards, create_active, read_shard, start_strait, stop_strait

SEQ = re.compile(r"^(0|[1-9]\d{0,128})$")


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def md5_hash_key(partition_key):
    return int.from_bytes(hashlib.md5(partition_key.encode("utf-8")).digest(), "big")


def shard_for(shards, hash_key):
    for s in shards:
        r = s["HashKeyRange"]
        if int(r["StartingHashKey"]) <= hash_key <= int(r["EndingHashKey"]):
            return s["ShardId"]
    raise AssertionError(f"no shard covers hash key {hash_key}")


def iterator(kinesis, name, shard, kind, **kw):
    return kinesis.get_shard_iterator(StreamName=name, ShardId=shard, ShardIteratorType=kind, **kw)["ShardIterator"]


@pytest.fixture(scope="module")
def stream(kinesis):
    return create_active(kinesis, shards=1)


def test_put_record_get_records_round_trip(kinesis):
    name = create_active(kinesis, shards=1)
    data = bytes(range(256)) * 4  # every byte value: Data is an opaque blob, base64 on the JSON wire
    put = kinesis.put_record(StreamName=name, PartitionKey="pk-ü", Data=data)
    assert put["ShardId"] == "shardId-000000000000"
    assert SEQ.match(put["SequenceNumber"])
    assert put.get("EncryptionType", "NONE") == "NONE"
    empty = kinesis.put_record(StreamName=name, PartitionKey="empty", Data=b"")
    assert int(empty["SequenceNumber"]) > int(put["SequenceNumber"]), "compared as integers, as KCL does"

    resp = kinesis.get_records(ShardIterator=iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON"))
    recs = resp["Records"]
    assert [(r["PartitionKey"], r["Data"], r["SequenceNumber"]) for r in recs] == [
        ("pk-ü", data, put["SequenceNumber"]), ("empty", b"", empty["SequenceNumber"])]
    now = datetime.now(timezone.utc)
    for r in recs:
        assert abs((r["ApproximateArrivalTimestamp"] - now).total_seconds()) < 60
    assert resp["MillisBehindLatest"] == 0
    assert resp["NextShardIterator"]
    assert not resp.get("ChildShards")

    # The next iterator of a caught-up read returns nothing until new data arrives, then exactly that.
    again = kinesis.get_records(ShardIterator=resp["NextShardIterator"])
    assert again["Records"] == [] and again["NextShardIterator"]
    third = kinesis.put_record(StreamName=name, PartitionKey="later", Data=b"3")
    after = kinesis.get_records(ShardIterator=again["NextShardIterator"])
    assert [r["SequenceNumber"] for r in after["Records"]] == [third["SequenceNumber"]]


def test_partition_keys_route_by_md5_and_explicit_hash_key_overrides(kinesis):
    name = create_active(kinesis, shards=4)
    shards = all_shards(kinesis, name)
    for i in range(40):
        key = f"user-{i}"
        put = kinesis.put_record(StreamName=name, PartitionKey=key, Data=b"x")
        assert put["ShardId"] == shard_for(shards, md5_hash_key(key)), key
    for s in shards:
        for hk in (s["HashKeyRange"]["StartingHashKey"], s["HashKeyRange"]["EndingHashKey"]):
            put = kinesis.put_record(StreamName=name, PartitionKey="same-key", ExplicitHashKey=hk, Data=b"y")
            assert put["ShardId"] == s["ShardId"], hk
    batch = kinesis.put_records(StreamName=name, Records=[
        {"PartitionKey": "k", "ExplicitHashKey": s["HashKeyRange"]["EndingHashKey"], "Data": b"z"} for s in shards])
    assert [r["ShardId"] for r in batch["Records"]] == [s["ShardId"] for s in shards]

    # Outside 0..2^128-1 (the model's pattern still matches): AWS's InvalidArgumentException.
    with pytest.raises(ClientError) as e:
        kinesis.put_record(StreamName=name, PartitionKey="k", ExplicitHashKey=str(2**128), Data=b"x")
    assert error(e) == ("InvalidArgumentException",
                        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                        f"Specified value was {2**128}")
    with pytest.raises(ClientError) as e:
        kinesis.put_records(StreamName=name, Records=[
            {"PartitionKey": "ok", "Data": b"x"},
            {"PartitionKey": "k", "ExplicitHashKey": str(2**128 + 5), "Data": b"x"}])
    assert error(e)[0] == "InvalidArgumentException"


def test_put_records_results_are_in_request_order(kinesis):
    name = create_active(kinesis, shards=3)
    entries = [{"PartitionKey": f"key-{i % 7}", "Data": f"rec-{i}".encode()} for i in range(500)]
    resp = kinesis.put_records(StreamName=name, Records=entries)
    assert resp["FailedRecordCount"] == 0
    assert len(resp["Records"]) == 500
    shards = all_shards(kinesis, name)
    by_seq = {}
    for i, r in enumerate(resp["Records"]):
        assert r["ShardId"] == shard_for(shards, md5_hash_key(entries[i]["PartitionKey"]))
        assert SEQ.match(r["SequenceNumber"]) and "ErrorCode" not in r
        by_seq[(r["ShardId"], r["SequenceNumber"])] = entries[i]["Data"]
    # Read everything back: each result's sequence number names the record sent at that index.
    for s in shards:
        records, _ = read_shard(kinesis, name, s["ShardId"])
        for rec in records:
            assert by_seq.pop((s["ShardId"], rec["SequenceNumber"])) == rec["Data"]
        # Per shard, records come back in the order they were sent.
        idx = [int(rec["Data"].split(b"-")[1]) for rec in records]
        assert idx == sorted(idx)
    assert by_seq == {}


def test_put_records_batch_limits(raw):
    name = create_active(raw)
    with pytest.raises(ClientError) as e:
        raw.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"x"}] * 501)
    code, msg = error(e)
    assert code == "ValidationException"
    assert ("at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"
            in msg), msg
    with pytest.raises(ClientError) as e:
        raw.put_records(StreamName=name, Records=[])
    assert error(e)[0] == "ValidationException"
    assert "Member must have length greater than or equal to 1" in error(e)[1]
    with pytest.raises(ClientError) as e:
        raw.put_record(StreamName=name, PartitionKey="p" * 257, Data=b"x")
    assert error(e) == ("ValidationException",
                        f"1 validation error detected: Value '{'p' * 257}' at 'partitionKey' failed to satisfy "
                        "constraint: Member must have length less than or equal to 256")


def test_sequence_number_for_ordering(kinesis, stream):
    a = kinesis.put_record(StreamName=stream, PartitionKey="o", Data=b"a")
    b = kinesis.put_record(StreamName=stream, PartitionKey="o", Data=b"b",
                           SequenceNumberForOrdering=a["SequenceNumber"])
    assert int(b["SequenceNumber"]) > int(a["SequenceNumber"])


def test_all_five_iterator_types(kinesis):
    name = create_active(kinesis, shards=1)
    shard = "shardId-000000000000"
    puts = []
    for i in range(5):
        puts.append(kinesis.put_record(StreamName=name, PartitionKey="p", Data=f"r{i}".encode()))
        time.sleep(0.05)
    seqs = [p["SequenceNumber"] for p in puts]

    def read(it):
        return [r["SequenceNumber"] for r in kinesis.get_records(ShardIterator=it)["Records"]]

    assert read(iterator(kinesis, name, shard, "TRIM_HORIZON")) == seqs
    assert read(iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])) == seqs[2:]
    assert read(iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[2])) == seqs[3:]
    assert read(iterator(kinesis, name, shard, "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber=seqs[4])) == []

    latest = iterator(kinesis, name, shard, "LATEST")
    assert read(latest) == []
    newer = kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"new")["SequenceNumber"]
    assert read(latest) == [newer], "LATEST starts just after the newest record at iterator creation"

    # AT_TIMESTAMP: the first record at or after the timestamp (ApproximateArrivalTimestamp).
    recs = kinesis.get_records(ShardIterator=iterator(kinesis, name, shard, "TRIM_HORIZON"))["Records"]
    ts = recs[3]["ApproximateArrivalTimestamp"]
    got = read(iterator(kinesis, name, shard, "AT_TIMESTAMP", Timestamp=ts))
    assert got == seqs[3:] + [newer]  # records were sent 50 ms apart; timestamps have millisecond precision
    assert read(iterator(kinesis, name, shard, "AT_TIMESTAMP",
                         Timestamp=datetime.now(timezone.utc) - timedelta(days=1))) == seqs + [newer]


def test_iterator_argument_errors(kinesis):
    name = create_active(kinesis, shards=2)
    shard = "shardId-000000000000"
    with pytest.raises(ClientError) as e:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER")
    assert error(e) == ("InvalidArgumentException",
                        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber "
                        "or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified "
                        "AT_SEQUENCE_NUMBER and no StartingSequenceNumber.")
    with pytest.raises(ClientError) as e:
        iterator(kinesis, name, shard, "AT_TIMESTAMP")
    assert error(e) == ("InvalidArgumentException",
                        "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request "
                        "has no timestamp parameter.")
    with pytest.raises(ClientError) as e:
        iterator(kinesis, name, "shardId-000000000009", "TRIM_HORIZON")
    code, msg = error(e)
    assert code == "ResourceNotFoundException"
    assert re.fullmatch(rf"Shard shardId-000000000009 in stream {name} under account \d{{12}} does not exist", msg), msg

    # A sequence number of one shard used on another.
    other = kinesis.put_record(StreamName=name, PartitionKey="p", ExplicitHashKey=str(2**128 - 1), Data=b"x")
    assert other["ShardId"] == "shardId-000000000001"
    with pytest.raises(ClientError) as e:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber=other["SequenceNumber"])
    assert error(e)[0] == "InvalidArgumentException"
    # A well-formed number that no shard ever issued.
    with pytest.raises(ClientError) as e:
        iterator(kinesis, name, shard, "AT_SEQUENCE_NUMBER", StartingSequenceNumber="1" * 60)
    assert error(e)[0] == "InvalidArgumentException"


def test_bad_iterators(kinesis, raw, stream):
    for bad in ["AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "not base64 at all!"]:
        with pytest.raises(ClientError) as e:
            kinesis.get_records(ShardIterator=bad)
        assert error(e) == ("InvalidArgumentException", "Invalid ShardIterator."), bad
    # A real iterator with one character changed must not be accepted either (iterators are authenticated, not
    # trusted).
    it = iterator(kinesis, stream, "shardId-000000000000", "TRIM_HORIZON")
    flipped = it[:20] + ("A" if it[20] != "A" else "B") + it[21:]
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator=flipped)
    assert error(e)[0] == "InvalidArgumentException"
    # Empty and oversized iterators break the model's length constraint (1..512).
    with pytest.raises(ClientError) as e:
        raw.get_records(ShardIterator="")
    assert error(e)[0] == "ValidationException"
    with pytest.raises(ClientError) as e:
        raw.get_records(ShardIterator="A" * 513)
    assert error(e)[0] == "ValidationException"


def test_get_records_limit_and_next_iterator(kinesis):
    name = create_active(kinesis, shards=1)
    sent = kinesis.put_records(StreamName=name, Records=[
        {"PartitionKey": "p", "Data": str(i).encode()} for i in range(25)])
    seqs = [r["SequenceNumber"] for r in sent["Records"]]
    it = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
    got = []
    for expected in (10, 10, 5, 0):
        resp = kinesis.get_records(ShardIterator=it, Limit=10)
        assert len(resp["Records"]) == expected
        got += [r["SequenceNumber"] for r in resp["Records"]]
        it = resp["NextShardIterator"]
        if expected:
            assert resp["MillisBehindLatest"] >= 0
    assert got == seqs
    assert resp["MillisBehindLatest"] == 0


def test_large_records_and_get_records_size_cap(kinesis):
    name = create_active(kinesis, shards=1)
    blob = b"\xab" * (1024 * 1024 - 10)  # a full 1 MiB record: data + partition key
    for i in range(12):
        kinesis.put_record(StreamName=name, PartitionKey=f"k{i}", Data=blob)
    it = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
    total, calls = 0, 0
    while total < 12:
        resp = kinesis.get_records(ShardIterator=it)
        n = len(resp["Records"])
        assert n >= 1
        # GetRecords returns at most 10 MiB per call.
        assert sum(len(r["Data"]) + len(r["PartitionKey"]) for r in resp["Records"]) <= 10 * 1024 * 1024
        assert all(r["Data"] == blob for r in resp["Records"])
        total += n
        calls += 1
        it = resp["NextShardIterator"]
    assert total == 12 and calls >= 2


def test_records_and_iterators_survive_a_restart():
    """Iterators carry no server-side state, and acknowledged records are durable: an iterator issued before a
    restart still reads the records written before it."""
    tmp, s = start_strait()
    try:
        kinesis = s.client()
        name = create_active(kinesis, shards=1)
        put = kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "p", "Data": f"{i}".encode()}
                                                            for i in range(5)])
        it = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
        s.stop()
        s.start()
        got = kinesis.get_records(ShardIterator=it)["Records"]
        assert [r["SequenceNumber"] for r in got] == [r["SequenceNumber"] for r in put["Records"]]
        assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    finally:
        stop_strait(tmp, s)


def test_iterator_of_a_deleted_stream(kinesis):
    name = create_active(kinesis, shards=1)
    it = iterator(kinesis, name, "shardId-000000000000", "TRIM_HORIZON")
    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    with pytest.raises(ClientError) as e:
        kinesis.get_records(ShardIterator=it)
    code, msg = error(e)
    assert code == "ResourceNotFoundException"
    assert re.fullmatch(rf"Shard shardId-000000000000 in stream {name} under account \d{{12}} does not exist", msg), msg
    # A new stream of the same name does not revive the old stream's iterators.
    create_active(kinesis, name=name, shards=1)
    kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"second life")
    try:
        got = kinesis.get_records(ShardIterator=it)["Records"]
        assert got == [], "an iterator of the deleted stream must not read the new stream's records"
    except ClientError as err:
        assert err.response["Error"]["Code"] in ("ResourceNotFoundException", "InvalidArgumentException",
                                                 "ExpiredIteratorException")
