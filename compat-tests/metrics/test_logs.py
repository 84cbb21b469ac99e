"""What the node's log tells an operator: plain text when not on a terminal, no recovery talk on a first start,
resharding with its shards, a bad STRAIT_* variable by name."""
import os
import subprocess
import time

from conftest import scrape  # noqa: F401  (the shared fixtures)


def test_a_first_start_logs_plainly_and_does_not_claim_recovery(strait):
    log = open(strait.log_path, encoding="utf-8", errors="replace").read()
    # The server's stderr is a file here: no ANSI colour codes in it.
    assert "\x1b[" not in log, log[:2000]
    assert "initialising a new data directory" in log, log[:2000]
    assert "recovering" not in log, log[:2000]


def test_resharding_logs_the_closed_and_opened_shards(strait, kinesis):
    kinesis.create_stream(StreamName="logs-split", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="logs-split", WaiterConfig={"Delay": 0.2})
    kinesis.split_shard(StreamName="logs-split", ShardToSplit="shardId-000000000000",
                        NewStartingHashKey=str(2 ** 127))
    deadline = time.time() + 10
    line = None
    while time.time() < deadline and line is None:
        log = open(strait.log_path, encoding="utf-8", errors="replace").read()
        line = next((x for x in log.splitlines() if "resharded" in x and "logs-split" in x), None)
        time.sleep(0.1)
    assert line, "no resharding line in the log"
    assert "shardId-000000000000" in line
    assert f"shardId-000000000001 0..{2 ** 127 - 1}" in line
    assert f"shardId-000000000002 {2 ** 127}..{2 ** 128 - 1}" in line


def test_an_invalid_environment_override_is_named(tmp_path):
    r = subprocess.run([os.environ["STRAIT_BIN"], "dev", "--data-dir", str(tmp_path / "d")],
                       env={**os.environ, "STRAIT_ENGINE__FSYNC": "sometimes"}, capture_output=True, timeout=30)
    assert r.returncode != 0
    assert b"invalid environment variable STRAIT_ENGINE__FSYNC" in r.stderr, r.stderr
