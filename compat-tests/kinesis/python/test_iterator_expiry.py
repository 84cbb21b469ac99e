"""ExpiredIteratorException: AWS iterators expire 5 minutes after they are issued. Waiting 5 minutes would dominate
the suite, so this module runs its own server with the iterator lifetime shortened by configuration and checks
AWS's error type and message format (the message states the tolerated delay, so it names the configured one)."""
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import ENV_ITERATOR_TTL, create_active, start_strait, stop_strait

TTL_MS = 2000


@pytest.fixture(scope="module")
def short_lived():
    tmp, s = start_strait({ENV_ITERATOR_TTL: str(TTL_MS)})
    yield s
    stop_strait(tmp, s)


def test_expired_iterator(short_lived):
    kinesis = short_lived.client()
    name = create_active(kinesis)
    put = kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"x")
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    fresh = kinesis.get_records(ShardIterator=it)
    assert len(fresh["Records"]) == 1
    time.sleep(TTL_MS / 1000 + 1)
    for stale in (it, fresh["NextShardIterator"]):
        with pytest.raises(ClientError) as e:
            kinesis.get_records(ShardIterator=stale)
        err = e.value.response["Error"]
        assert err["Code"] == "ExpiredIteratorException"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert re.fullmatch(r"Iterator expired\. The iterator was created at time .+ while right now it is .+ "
                            rf"which is further in the future than the tolerated delay of {TTL_MS} milliseconds\.",
                            err["Message"]), err["Message"]
    # The documented recovery: a new iterator from the last sequence number read works.
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=put["ShardId"], ShardIteratorType="AFTER_SEQUENCE_NUMBER",
                                    StartingSequenceNumber=put["SequenceNumber"])["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it)["Records"] == []
