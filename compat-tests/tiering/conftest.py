"""A local S3 (moto_server) and one `strait dev` tiering to it, both on free loopback ports, stopped by PID."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3
import pytest
from botocore.config import Config

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../py-support"))
from strait_process import StraitProcess, free_port  # noqa: E402  (compat-tests/py-support)

BUCKET = "strait-tier"
# moto accepts any credentials; strait's S3 client takes them from the SDK's default chain (the environment).
CREDS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
         "AWS_EC2_METADATA_DISABLED": "true"}


class Moto:
    def __init__(self, tmp):
        self.port = free_port()
        self.log_path = os.path.join(tmp, "moto.log")
        self.proc = None

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        binary = os.environ.get("MOTO_SERVER")
        assert binary and os.path.exists(binary), "MOTO_SERVER must point at moto_server (run.sh sets it)"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(self.port)],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, "moto_server exited early"
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return self
            except OSError:
                time.sleep(0.2)
        raise AssertionError("moto_server did not answer in 30 s")

    def s3(self):
        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test",
                            config=Config(s3={"addressing_style": "path"}))

    def keys(self, prefix=""):
        out, token = [], None
        while True:
            kw = {"Bucket": BUCKET, "Prefix": prefix}
            if token:
                kw["ContinuationToken"] = token
            r = self.s3().list_objects_v2(**kw)
            out += [o["Key"] for o in r.get("Contents", [])]
            if not r.get("IsTruncated"):
                return out
            token = r["NextContinuationToken"]

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Strait(StraitProcess):
    def partition_logs(self, topic, partition=0):
        """Base offsets of the partition's local segment files."""
        d = os.path.join(self.data_dir, "logs", f"{topic}-{partition}")
        return sorted(int(f[:-4]) for f in os.listdir(d) if f.endswith(".log"))

    def metric(self, name):
        total = 0.0
        for line in self.metrics().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def kinesis(self):
        return boto3.client("kinesis", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")


@pytest.fixture(scope="session")
def tmp():
    d = tempfile.mkdtemp(prefix="strait-tiering-")
    yield d
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait and moto data and logs kept in {d}")
    else:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def moto(tmp):
    m = Moto(tmp).start()
    m.s3().create_bucket(Bucket=BUCKET)
    yield m
    m.stop()


@pytest.fixture(scope="session")
def strait(tmp, moto):
    env = {
        **CREDS,
        # Fast passes, and small segments with short local retention for Kinesis streams (which take their
        # local retention and segment size from the topic defaults).
        "STRAIT_TIERING__UPLOAD_INTERVAL_MS": "300",
        "STRAIT_TIERING__REQUEST_TIMEOUT_MS": "5000",
        "STRAIT_TIERING__MULTIPART_THRESHOLD_BYTES": str(5 << 20),
        "STRAIT_TIERING__MULTIPART_PART_BYTES": str(5 << 20),
        "STRAIT_TIERING__CACHE_BYTES": str(2 << 20),
        "STRAIT_TIERING__ORPHAN_MIN_AGE_MS": "3000",
        "STRAIT_ENGINE__TOPIC_DEFAULTS__SEGMENT_BYTES": "16384",
        "STRAIT_ENGINE__TOPIC_DEFAULTS__LOCAL_RETENTION_MS": "1000",
        "STRAIT_ENGINE__RETENTION_CHECK_INTERVAL_MS": "500",
    }
    s = Strait(os.path.join(tmp, "data"), env=env,
               extra_args=["--tier-bucket", BUCKET, "--tier-endpoint", moto.endpoint]).start()
    yield s
    s.stop()
