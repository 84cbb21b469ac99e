"""The systems measured: how each is started on 127.0.0.1 with its settings, and what it speaks."""

import base64
import os
import re
import shutil
import subprocess
import time
import uuid

from proc import BenchFailure, Server, free_port, wait_http_ok, wait_kafka_api, wait_tcp

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # compat-tests/bench
# The Kafka version bench.sh installs: kafka/pom.xml is the one place it is set.
with open(os.path.join(HERE, "kafka", "pom.xml")) as _pom:
    KAFKA_VERSION = re.search(r"<kafka.version>([^<]+)</kafka.version>", _pom.read()).group(1)

# name -> (what it is, protocols, exact settings as shown in the report)
SYSTEMS = {
    "kafka-default": (f"Apache Kafka {KAFKA_VERSION}, KRaft single node", {"kafka"},
                      "broker defaults (acknowledged from the page cache, OS flushes later); -Xmx1G -Xms1G G1"),
    "kafka-flush1": (f"Apache Kafka {KAFKA_VERSION}, KRaft single node", {"kafka"},
                     "log.flush.interval.messages=1 (fsync of the partition after every append, before acks=all "
                     "is answered); -Xmx1G -Xms1G G1"),
    "tansu": ("Tansu 0.6.0 (Rust Kafka broker), SQLite storage engine", {"kafka"},
              "sqlite://tansu.db in its data dir (libSQL; features dynostore,libsql), defaults otherwise"),
    "strait-fsync": ("Strait (dist build: release + thin LTO), strait dev", {"kafka", "kinesis"},
                     "engine.fsync=always (default: fsync before acknowledging, group commit)"),
    "strait-baseline": ("Strait at the baseline revision of bench.sh --baseline (dist or release build), strait dev",
                        {"kafka", "kinesis"}, "identical to strait-fsync: engine.fsync=always"),
    "strait-interval": ("Strait (dist build: release + thin LTO), strait dev", {"kafka", "kinesis"},
                        "engine.fsync=interval, flush_interval_ms=1000 (acknowledged from the page cache)"),
    "kinesalite": ("kinesalite 3.3.3 (Node, LevelDB)", {"kinesis"},
                   "defaults but shardLimit=1000, createStreamMs=50"),
    "kinesis-local": ("kinesis-local 0.6.2 (kinesis-mock, Scala.js on Node, in memory)", {"kinesis"},
                      "defaults (SHOULD_PERSIST_DATA=false, in memory), CREATE_STREAM_DURATION=50ms"),
}


class Running:
    """A started system: its server, endpoints, and the directory it keeps data in."""

    def __init__(self, name, server, data_dir, kafka=None, kinesis=None, ready=None):
        self.name = name
        self.ready = ready          # waits until a (re)started server serves
        self.server = server
        self.data_dir = data_dir
        self.kafka = kafka          # "127.0.0.1:PORT" bootstrap, or None
        self.kinesis = kinesis      # "http://127.0.0.1:PORT", or None

    def stop(self):
        self.server.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def crash_restart(self):
        """kill -9, then the same command on the same data and ports; seconds from the new process's start
        until it serves again (its recovery)."""
        old = self.server
        old.kill9()
        started = time.monotonic()
        self.server = Server(old.name, old.argv, old.log_path, env=old.env, cwd=old.cwd)
        self.ready(self.server)
        return time.monotonic() - started


def start(name, env):
    """Starts `name` in a fresh directory under env.work; returns a Running once it serves. A server that fails
    to come up is stopped by PID before the failure is raised."""
    started = []
    try:
        return _start(name, env, started)
    except BaseException:
        for srv in started:
            srv.stop()
        raise


def _start(name, env, started):
    data_dir = os.path.join(env.work, name)
    shutil.rmtree(data_dir, ignore_errors=True)
    os.makedirs(data_dir)
    log = os.path.join(env.logs, f"{name}.log")
    if name.startswith("strait"):
        return _strait(name, env, data_dir, log, started)
    if name.startswith("kafka"):
        return _kafka(name, env, data_dir, log, started)
    if name == "tansu":
        return _tansu(name, env, data_dir, log, started)
    if name == "kinesalite":
        port = free_port()
        node_env = dict(os.environ, NODE_PATH=os.path.join(env.peers, "npm", "node_modules"))
        srv = Server(name, ["node", os.path.join(HERE, "peers", "kinesalite.cjs"), str(port),
                            os.path.join(data_dir, "db")], log, env=node_env)
        started.append(srv)
        wait_tcp(port, 60, srv.proc, name)
        srv.check_loopback_only()
        return Running(name, srv, data_dir, kinesis=f"http://127.0.0.1:{port}")
    if name == "kinesis-local":
        port, tls = free_port(), free_port()
        pkg = os.path.join(env.peers, "npm", "node_modules", "kinesis-local")
        # It also serves TLS (its own self-signed certificate, found relative to the working directory).
        node_env = dict(os.environ, KINESIS_MOCK_PLAIN_PORT=str(port), KINESIS_MOCK_TLS_PORT=str(tls),
                        KINESIS_MOCK_CERT_PATH=os.path.join(pkg, "server.json"),
                        CREATE_STREAM_DURATION="50ms", LOG_LEVEL="WARN")
        main = os.path.join(pkg, "main.js")
        srv = Server(name, ["node", "--require", os.path.join(HERE, "peers", "loopback-only.cjs"), main], log,
                     env=node_env, cwd=data_dir)
        started.append(srv)
        wait_tcp(port, 90, srv.proc, name)
        srv.check_loopback_only()
        return Running(name, srv, data_dir, kinesis=f"http://127.0.0.1:{port}")
    raise BenchFailure(f"unknown system {name}")


def _strait(name, env, data_dir, log, started):
    kafka, aws, admin = free_port(), free_port(), free_port()
    binary = env.baseline_bin if name == "strait-baseline" else env.strait_bin
    argv = [binary, "dev", "--data-dir", os.path.join(data_dir, "data"),
            "--kafka-addr", f"127.0.0.1:{kafka}", "--aws-addr", f"127.0.0.1:{aws}",
            "--admin-addr", f"127.0.0.1:{admin}"]
    if name == "strait-interval":
        argv += ["--fsync", "interval"]
    srv = Server(name, argv, log, env=dict(os.environ, RUST_LOG="warn"))

    def ready(srv):
        wait_http_ok(f"http://127.0.0.1:{admin}/healthz", 600, srv.proc, name)
        wait_kafka_api(kafka, 60, srv.proc, name)

    return _serving(name, srv, started, data_dir, ready, kafka=f"127.0.0.1:{kafka}",
                    kinesis=f"http://127.0.0.1:{aws}")


def _tansu(name, env, data_dir, log, started):
    binary = os.path.join(env.peers, "tansu", "bin", "tansu")
    if not os.access(binary, os.X_OK):
        raise BenchFailure(f"tansu is not installed at {binary} (bench.sh installs it with cargo install)")
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    # Its default listener is 0.0.0.0: both URLs are given. The SQLite file is relative to its working directory.
    argv = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
            "--storage-engine", "sqlite://tansu.db"]
    srv = Server(name, argv, log, env=dict(os.environ, RUST_LOG="warn"), cwd=data_dir)
    return _serving(name, srv, started, data_dir, lambda srv: wait_kafka_api(port, 120, srv.proc, name),
                    kafka=f"127.0.0.1:{port}")


def _kafka(name, env, data_dir, log, started):
    port, ctrl = free_port(), free_port()
    props = [
        "process.roles=broker,controller", "node.id=1",
        f"controller.quorum.voters=1@127.0.0.1:{ctrl}",
        f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{ctrl}",
        f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
        f"log.dirs={os.path.join(data_dir, 'logs')}",
        # A single node cannot hold three replicas of its internal topics.
        "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1", "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
    ]
    if name == "kafka-flush1":
        props.append("log.flush.interval.messages=1")
    conf = os.path.join(data_dir, "server.properties")
    with open(conf, "w") as f:
        f.write("\n".join(props) + "\n")
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    fmt = subprocess.run(env.java(["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", conf],
                                  heap="-Xmx256M"), capture_output=True, text=True)
    if fmt.returncode != 0:
        raise BenchFailure(f"kafka storage format failed: {fmt.stderr[-2000:]}")
    srv = Server(name, env.java(["kafka.Kafka", conf], heap="-Xmx1G -Xms1G"), log)
    return _serving(name, srv, started, data_dir, lambda srv: wait_kafka_api(port, 600, srv.proc, name),
                    kafka=f"127.0.0.1:{port}")


def _serving(name, srv, started, data_dir, ready, **endpoints):
    """Registers a just-launched server for cleanup, waits until `ready(srv)` says it serves, checks it listens
    on 127.0.0.1 only, and wraps it (`ready` is kept for restarts after kill -9)."""
    started.append(srv)
    ready(srv)
    srv.check_loopback_only()
    return Running(name, srv, data_dir, ready=ready, **endpoints)
