"""The AWS CLI (v1, from PyPI) against Strait with nothing but `--endpoint-url`: the commands a user types first."""
import base64
import json
import os
import subprocess
import sys

from conftest import ACCESS_KEY, REGION, SECRET_KEY, unique

# The CLI installed next to this interpreter (run.sh's venv).
AWS = os.path.join(os.path.dirname(sys.executable), "aws")


def aws(strait, *args, check=True):
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
           "AWS_DEFAULT_REGION": REGION, "AWS_MAX_ATTEMPTS": "1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    p = subprocess.run([AWS, "--endpoint-url", strait.endpoint, "--output", "json", "kinesis", *args],
                       capture_output=True, text=True, env=env, timeout=120)
    if check:
        assert p.returncode == 0, f"aws kinesis {' '.join(args)}: {p.returncode}\n{p.stderr}"
        return json.loads(p.stdout) if p.stdout.strip() else None
    return p


def test_cli_round_trip(strait):
    assert os.path.exists(AWS), f"{AWS} missing: run.sh installs awscli into the venv"
    name = unique("cli")
    aws(strait, "create-stream", "--stream-name", name, "--shard-count", "2")
    aws(strait, "wait", "stream-exists", "--stream-name", name)
    shards = aws(strait, "list-shards", "--stream-name", name)["Shards"]
    assert [s["ShardId"] for s in shards] == ["shardId-000000000000", "shardId-000000000001"]

    # CLI v1 sends a blob argument's text as-is; output blobs are base64.
    put = aws(strait, "put-record", "--stream-name", name, "--partition-key", "k", "--data", "hello cli",
              "--explicit-hash-key", "0")
    assert put["ShardId"] == "shardId-000000000000"
    it = aws(strait, "get-shard-iterator", "--stream-name", name, "--shard-id", "shardId-000000000000",
             "--shard-iterator-type", "TRIM_HORIZON")["ShardIterator"]
    got = aws(strait, "get-records", "--shard-iterator", it)
    assert [base64.b64decode(r["Data"]) for r in got["Records"]] == [b"hello cli"]
    assert got["Records"][0]["SequenceNumber"] == put["SequenceNumber"]
    assert got["NextShardIterator"]

    summary = aws(strait, "describe-stream-summary", "--stream-name", name)["StreamDescriptionSummary"]
    assert summary["OpenShardCount"] == 2 and summary["StreamStatus"] == "ACTIVE"
    assert name in aws(strait, "list-streams")["StreamNames"]

    aws(strait, "delete-stream", "--stream-name", name)
    aws(strait, "wait", "stream-not-exists", "--stream-name", name)
    p = aws(strait, "describe-stream", "--stream-name", name, check=False)
    assert p.returncode != 0
    assert "ResourceNotFoundException" in p.stderr, p.stderr
