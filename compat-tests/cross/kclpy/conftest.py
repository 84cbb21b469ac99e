"""Starts a real `strait dev` (free loopback ports, temp data dir, stopped by PID) and real amazon-kclpy
MultiLangDaemon applications (java, launched with the command kclpy's own amazon_kclpy_helper.py prints, stopped by
PID) pointed at it by their properties file only.
"""
import base64
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid

import boto3
import pytest
from botocore.config import Config


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../py-support"))
from strait_process import StraitProcess  # noqa: E402  (compat-tests/py-support)

HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
ACCESS_KEY = "AKIDSTRAITCOMPAT0001"
SECRET_KEY = "strait/compat/secret+key0000000000000000"

# KCL timers shortened for test time (see README.md); everything else is MultiLangDaemon's default.
FAST_TIMERS = {
    "failoverTimeMillis": "3000",
    "shardSyncIntervalMillis": "5000",
    "parentShardPollIntervalMillis": "1000",
    "workerMetricsReporterFreqInMillis": "2000",
    "metricsBufferTimeMillis": "2000",
}
# Polling mode only (setting any polling property is itself what selects polling by default in MultiLangDaemon, so
# the tests also say retrievalMode explicitly).
POLLING_TIMERS = {"idleTimeBetweenReadsInMillis": "200"}


def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Stops a process this suite started, by its PID; its process group (the daemon's record-processor children)
    is killed only if it did not exit by itself."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


class Strait(StraitProcess):
    def __init__(self, data_dir):
        super().__init__(data_dir, {"STRAIT_AWS__KINESIS__STATUS_DELAY_MS": "200"}, new_session=True)

    def client(self, service):
        return boto3.client(
            service, endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
            config=Config(retries={"total_max_attempts": 3, "mode": "standard"}, connect_timeout=5,
                          read_timeout=30))


def tail(path, n=6000):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-n:]
    except OSError:
        return ""


class KclpyApp:
    """One MultiLangDaemon worker running record_processor.py for one stream and application name."""

    def __init__(self, workdir, strait, stream, app, mode):
        self.workdir, self.strait, self.stream, self.app, self.mode = workdir, strait, stream, app, mode
        self.output = os.path.join(workdir, f"{app}.jsonl")
        self.props = os.path.join(workdir, f"{app}.properties")
        self.log_path = os.path.join(workdir, f"{app}.daemon.log")
        self.proc = None
        self.started = None

    def properties(self):
        e = self.strait.endpoint
        props = {
            "executableName": f"{sys.executable} {os.path.join(HERE, 'record_processor.py')}",
            "streamName": self.stream,
            "applicationName": self.app,
            "AwsCredentialsProvider": "DefaultCredentialsProvider",
            "processingLanguage": f"python/{sys.version_info.major}.{sys.version_info.minor}",
            "initialPositionInStream": "TRIM_HORIZON",
            "regionName": REGION,
            # The only change from an AWS deployment: the endpoints.
            "kinesisEndpoint": e,
            "dynamoDBEndpoint": e,
            "cloudWatchClient.endpointOverride": e,
            "metricsLevel": "DETAILED",
            "retrievalMode": self.mode,
            # MultiLangDaemon's SIGTERM hook waits this long for the graceful shutdown (default 0: it gives up at
            # once); with it, every processor gets shutdown_requested and checkpoints before the daemon exits.
            "shutdownGraceMillis": "15000",
            **FAST_TIMERS,
        }
        if self.mode == "POLLING":
            props.update(POLLING_TIMERS)
        return props

    def start(self):
        with open(self.props, "w") as f:
            f.writelines(f"{k} = {v}\n" for k, v in self.properties().items())
        # The command kclpy documents: samples/amazon_kclpy_helper.py --print_command (installed as a script).
        helper = os.path.join(sysconfig.get_path("scripts"), "amazon_kclpy_helper.py")
        cmd = subprocess.run(
            [sys.executable, helper, "--print_command", "--java", shutil.which("java"), "--properties", self.props,
             "--log-configuration", os.path.join(HERE, "logback.xml")],
            check=True, capture_output=True, text=True).stdout.strip()
        env = {**os.environ, "KCLPY_OUTPUT": self.output, "AWS_ACCESS_KEY_ID": ACCESS_KEY,
               "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_REGION": REGION}
        # No AWS_ENDPOINT_URL: the properties file alone must route all three services to strait.
        env.pop("AWS_ENDPOINT_URL", None)
        with open(self.log_path, "ab") as log:
            self.started = time.time()
            self.proc = subprocess.Popen(shlex.split(cmd), stdout=log, stderr=subprocess.STDOUT, env=env,
                                         cwd=self.workdir, start_new_session=True)
        return self

    def restart(self):
        """Stops the daemon gracefully (SIGTERM: processors get shutdown_requested and checkpoint) and starts a new
        worker (new worker id) of the same application, appending to the same output file."""
        self.stop()
        assert self.proc.returncode is not None
        return self.start()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        stop_process(self.proc, timeout=60)

    def events(self):
        try:
            with open(self.output) as f:
                text = f.read()
        except FileNotFoundError:
            return []
        # A processor may be appending right now: only newline-terminated lines are complete.
        return [json.loads(line) for line in text.split("\n")[:-1] if line.strip()]

    def records(self):
        return [e for e in self.events() if e["event"] == "record"]

    def log(self):
        return tail(self.log_path)


@pytest.fixture(scope="session")
def strait():
    tmp = tempfile.mkdtemp(prefix="strait-kclpy-")
    s = Strait(os.path.join(tmp, "data"))
    try:
        yield s.start()
    finally:
        stop_process(s.proc)
        if os.environ.get("STRAIT_KEEP_DATA"):
            print(f"strait data and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


# The MultiLangDaemon apps of the session: (test name, retrieval mode, stream shard count). All start together at
# the beginning, because most of a KCL 3.x start is fixed sleeps (10-20 s DescribeTable polls per table while it
# is CREATING, a random 1-30 s wait on an empty lease table): in parallel they overlap instead of adding up.
APPS = [("reshard-fanout", "FANOUT", 2), ("reshard-polling", "POLLING", 2), ("aggregation", "FANOUT", 2)]


@pytest.fixture(scope="session")
def kclpy_apps(strait):
    """{name: KclpyApp} for APPS, each on a fresh stream; stopped by PID at the end of the session."""
    kinesis = strait.client("kinesis")
    workdir = os.path.dirname(strait.data_dir)
    apps = {}
    try:
        streams = {}
        for name, _, shards in APPS:
            streams[name] = unique(f"kclpy-{name}")
            kinesis.create_stream(StreamName=streams[name], ShardCount=shards)
        for name, mode, _ in APPS:
            wait_active(kinesis, streams[name])
            apps[name] = KclpyApp(workdir, strait, streams[name], unique(f"app-{name}"), mode).start()
        yield apps
    finally:
        for a in apps.values():  # all shut down gracefully at once, then each waited for (or killed)
            if a.alive():
                a.proc.send_signal(signal.SIGTERM)
        for a in apps.values():
            a.stop()


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def wait_active(kinesis, name, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
        if s == "ACTIVE":
            return
        time.sleep(0.1)
    raise AssertionError(f"stream {name} not ACTIVE after {timeout} s")


def all_shards(kinesis, name):
    resp = kinesis.list_shards(StreamName=name)
    out = resp["Shards"]
    while resp.get("NextToken"):
        resp = kinesis.list_shards(NextToken=resp["NextToken"])
        out += resp["Shards"]
    return out


def lease_items(ddb, table):
    """Every lease row of KCL's lease table (3.1 keeps coordinator state and worker metrics in tables of their own)."""
    items, kw = [], {"TableName": table, "ConsistentRead": True}
    while True:
        resp = ddb.scan(**kw)
        items += resp["Items"]
        if "LastEvaluatedKey" not in resp:
            return {i["leaseKey"]["S"]: i for i in items}
        kw["ExclusiveStartKey"] = resp["LastEvaluatedKey"]


def wait_for(cond, timeout, what, app):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return
        assert app.alive(), f"MultiLangDaemon exited:\n{app.log()}"
        time.sleep(0.5)
    raise AssertionError(f"{what} not reached in {timeout} s\n--- daemon log tail ---\n{app.log()}")


def b64(data):
    return base64.b64encode(data).decode()
