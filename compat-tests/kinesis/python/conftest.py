"""Starts a real `strait dev` process on free loopback ports for the Kinesis suite, and stops it by PID.

Expectations in this suite come from AWS's documentation and botocore's service model, not from Strait: a failing
test is a deviation to examine, not a test to bend.
"""
import os
import shutil
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config

import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

REGION = "us-east-1"
# Static test credentials. In `strait dev` (aws.auth = none) any well-formed signature is accepted; the SigV4 tests
# configure these as the server's keys.
ACCESS_KEY = "AKIDSTRAITCOMPAT0001"
SECRET_KEY = "strait/compat/secret+key0000000000000000"

# Settings this suite sets through `STRAIT_<SECTION>__<KEY>` (server/src/config/). Collected here so a renamed key
# is one edit.
ENV_AUTH = "STRAIT_AWS__AUTH"  # none | sigv4
ENV_ACCESS_KEYS = "STRAIT_AWS__ACCESS_KEYS"  # [{access_key_id="...", secret_access_key="..."}]
ENV_STATUS_DELAY = "STRAIT_AWS__KINESIS__STATUS_DELAY_MS"  # how long CREATING/UPDATING/DELETING last
ENV_LIMITS = "STRAIT_AWS__KINESIS__ENFORCE_LIMITS"  # AWS per-shard throughput limits; off in `strait dev`
# AWS: iterators expire after 300000 ms (5 min). Shortened to test ExpiredIteratorException without waiting.
ENV_ITERATOR_TTL = "STRAIT_AWS__KINESIS__ITERATOR_TTL_MS"


class Strait(StraitProcess):
    """One `strait dev` process; restartable on the same data directory."""

    def client(self, access_key=ACCESS_KEY, secret_key=SECRET_KEY, validate=True, **config):
        """A boto3 Kinesis client as a user configures one for a local endpoint. Retries are cut to one attempt
        so an error is seen as the server sent it, not after back-off."""
        return boto3.client(
            "kinesis",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=access_key,
            aws_secret_access_key=secret_key,
            config=Config(retries={"total_max_attempts": 1, "mode": "standard"},
                          parameter_validation=validate, connect_timeout=5, read_timeout=30, **config),
        )


def start_strait(env=None):
    tmp = tempfile.mkdtemp(prefix="strait-kinesis-")
    return tmp, Strait(os.path.join(tmp, "data"), env).start()


def stop_strait(tmp, s):
    s.stop()
    # keep the server log (and data) of a failed run for the post-mortem
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def strait():
    tmp, s = start_strait()
    yield s
    stop_strait(tmp, s)


@pytest.fixture(scope="session")
def kinesis(strait):
    return strait.client()


@pytest.fixture(scope="session")
def raw(strait):
    """A client without botocore's own parameter validation, to see the server's ValidationException."""
    return strait.client(validate=False)


def unique(prefix="s"):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def create_active(kinesis, name=None, shards=1, **kw):
    """CreateStream, then the documented way to wait for it: the `stream_exists` waiter (DescribeStream until
    StreamStatus is ACTIVE)."""
    name = name or unique()
    if "StreamModeDetails" in kw and kw["StreamModeDetails"]["StreamMode"] == "ON_DEMAND":
        kinesis.create_stream(StreamName=name, **kw)
    else:
        kinesis.create_stream(StreamName=name, ShardCount=shards, **kw)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    return name


def wait_active(kinesis, name, timeout=60):
    """Resharding, mode and encryption changes make a stream UPDATING for a while; AWS refuses further
    changes until it is ACTIVE again."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError(f"stream {name} not ACTIVE after {timeout} s (status {status})")


def all_shards(kinesis, name, **kw):
    """Every shard via ListShards pagination (NextToken alone on follow-up calls, as AWS requires)."""
    out, resp = [], kinesis.list_shards(StreamName=name, **kw)
    out += resp["Shards"]
    while resp.get("NextToken"):
        resp = kinesis.list_shards(NextToken=resp["NextToken"])
        out += resp["Shards"]
    return out


def read_shard(kinesis, name, shard_id, iterator_type="TRIM_HORIZON", **kw):
    """All records of a shard from `iterator_type` until an empty read (open shard) or shard end. Returns the
    records and the last GetRecords response."""
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=shard_id, ShardIteratorType=iterator_type,
                                    **kw)["ShardIterator"]
    records = []
    while True:
        resp = kinesis.get_records(ShardIterator=it)
        records += resp["Records"]
        it = resp.get("NextShardIterator")
        if it is None or (not resp["Records"] and resp.get("MillisBehindLatest", 0) == 0):
            return records, resp
