"""AWS's per-shard limits, switched on by configuration (off in `strait dev`): PutRecords partial failures with
ProvisionedThroughputExceededException in request order, and GetRecords throttling."""
import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from conftest import ENV_LIMITS, create_active, read_shard, start_strait, stop_strait


@pytest.fixture(scope="module")
def limited():
    tmp, s = start_strait({ENV_LIMITS: "true"})
    yield s
    stop_strait(tmp, s)


def test_put_records_partial_failure_keeps_request_order(limited):
    kinesis = limited.client()
    name = create_active(kinesis, shards=1)
    # 3,000 records to one shard, six concurrent batches: well under a second here, so three times the 1,000
    # records/s a shard takes (however the server aligns its one-second windows, at most two are touched).
    batches = [[{"PartitionKey": "p", "Data": f"{b}-{i}".encode()} for i in range(500)] for b in range(6)]
    clients = [limited.client() for _ in batches]
    with ThreadPoolExecutor(len(batches)) as pool:
        responses = list(pool.map(lambda cb: cb[0].put_records(StreamName=name, Records=cb[1]),
                                  zip(clients, batches)))
    acked, failed = {}, 0
    for sent, resp in zip(batches, responses):
        assert len(resp["Records"]) == len(sent)
        assert resp["FailedRecordCount"] == sum("ErrorCode" in r for r in resp["Records"])
        previous = -1
        for entry, r in zip(sent, resp["Records"]):
            if "ErrorCode" in r:
                failed += 1
                assert r["ErrorCode"] == "ProvisionedThroughputExceededException"
                assert re.fullmatch(rf"Rate exceeded for shard shardId-000000000000 in stream {name} under account "
                                    r"\d{12}\.", r["ErrorMessage"]), r["ErrorMessage"]
                assert "SequenceNumber" not in r and "ShardId" not in r
            else:
                # Results are in request order: within one batch to one shard, sequence numbers increase.
                assert int(r["SequenceNumber"]) > previous
                previous = int(r["SequenceNumber"])
                acked[r["SequenceNumber"]] = entry["Data"]
    assert failed >= 1000, f"only {failed} of 3,000 records refused in a burst to one shard"
    # Exactly the acknowledged entries were stored, each under the sequence number its result named.
    stored, _ = read_shard(kinesis, name, "shardId-000000000000")
    assert {r["SequenceNumber"]: r["Data"] for r in stored} == acked
    assert len(stored) == len(acked)


def test_get_records_throttled_over_five_calls_per_second(limited):
    kinesis = limited.client()
    name = create_active(kinesis, shards=1)
    it = kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    with pytest.raises(ClientError) as e:
        for _ in range(20):
            it = kinesis.get_records(ShardIterator=it)["NextShardIterator"]
    assert e.value.response["Error"]["Code"] == "ProvisionedThroughputExceededException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
