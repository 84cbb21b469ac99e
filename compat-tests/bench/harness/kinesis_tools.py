"""Kinesis workloads through bench-kinesis (compat-tests/bench/kinesis-load, aws-sdk-kinesis), the same binary
against every Kinesis-API system."""

import json
import subprocess

from proc import BenchFailure


def _run(env, endpoint, args, timeout):
    r = subprocess.run([env.kinesis_bin, "--endpoint", endpoint, *args], capture_output=True, text=True,
                       timeout=timeout)
    if r.returncode != 0:
        raise BenchFailure(f"bench-kinesis {args[0]}: {r.stderr.strip()[-1500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def create(env, endpoint, stream, shards):
    return _run(env, endpoint, ["create", "--stream", stream, "--shards", str(shards)], 120)


def put(env, endpoint, stream, writers, seconds, max_records=0):
    out = _run(env, endpoint, ["put", "--stream", stream, "--writers", str(writers), "--seconds", str(seconds),
                               "--max-records", str(max_records)], seconds + 300)
    if out["records"] == 0:
        raise BenchFailure(f"put {stream}: no record accepted ({out['failed']} failed)")
    return out


def get(env, endpoint, stream, records, timeout_s=600):
    return _run(env, endpoint, ["get", "--stream", stream, "--records", str(records),
                                "--timeout-s", str(timeout_s)], timeout_s + 60)


def efo_latency(env, endpoint, stream, shards, rate, seconds):
    """SubscribeToShard delivery latency (bench-kinesis subscribe-latency): records put at `rate`/s for `seconds`,
    each received by a subscriber per shard; also a GetRecords poller's latency for the same records."""
    return _run(env, endpoint, ["subscribe-latency", "--stream", stream, "--shards", str(shards), "--rate",
                                str(rate), "--seconds", str(seconds)], seconds + 180)
