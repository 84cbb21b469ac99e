"""Starts a real 3-node `strait dev --nodes 3` cluster on free loopback ports, kills and restarts its nodes, and
stops everything it started by PID.

`strait dev --nodes 3` is a supervisor with one `strait serve` child per node. It does not restart a node that
dies; a node the tests kill is restarted here with the node's own command (`strait serve --config
<data>/node-i/strait.toml`) and is then our child, not the supervisor's, so stopping the cluster means SIGTERM to
the supervisor (which stops its remaining children) and to every node we restarted, then SIGKILL of any node PID
still alive.
"""
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

NODES = 3
# The four listeners of node 1; node i listens on each base plus i-1.
LISTENERS = ("kafka", "aws", "admin", "cluster")


def ports_free(base):
    for port in range(base, base + NODES):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def pick_bases():
    """Four random bases whose NODES consecutive ports are all free (checked, then released; a race with another
    process is possible but unlikely in this range)."""
    rng = random.Random()
    for _ in range(200):
        bases = {name: rng.randrange(20000, 60000, 8) for name in LISTENERS}
        if len(set(bases.values())) == len(LISTENERS) and all(ports_free(b) for b in bases.values()):
            return bases
    raise AssertionError("no free loopback ports for a 3-node cluster")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (killed, not yet reaped by its parent) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False



def produce_paced(producer, topic, records, rate, on_delivery, before_each=None):
    """Produces records 0..records-1 (key `k<seq>`, value `<seq>`) at a steady `rate` per second, waiting out a
    full local queue; `before_each(start)` runs before each record (`start`: the run's time.monotonic() origin),
    so a test can kill and restart nodes mid-run."""
    start = time.monotonic()
    for seq in range(records):
        if before_each:
            before_each(start)
        # steady rate: wait for this record's slot
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            producer.poll(delay)
        while True:
            try:
                producer.produce(topic, key=f"k{seq}", value=str(seq), on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)

class Node:
    def __init__(self, node_id, bases, data_dir):
        self.id = node_id
        self.kafka_port = bases["kafka"] + node_id - 1
        self.admin_port = bases["admin"] + node_id - 1
        self.aws_port = bases["aws"] + node_id - 1
        self.config = os.path.join(data_dir, f"node-{node_id}", "strait.toml")
        self.pid = None
        # set once we restarted the node ourselves (then it is our child)
        self.proc = None
        self.restarts = 0

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def aws_endpoint(self):
        return f"http://127.0.0.1:{self.aws_port}"

    def healthy(self):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=1) as r:
                return r.status == 200
        except OSError:
            return False


class Cluster:
    def __init__(self, tmp):
        self.tmp = tmp
        self.data_dir = os.path.join(tmp, "data")
        self.log_path = os.path.join(tmp, "cluster.log")
        self.bases = pick_bases()
        self.nodes = {i: Node(i, self.bases, self.data_dir) for i in range(1, NODES + 1)}
        self.supervisor = None
        self.killed = []  # node ids in the order they were killed

    @property
    def bootstrap(self):
        return ",".join(n.bootstrap for n in self.nodes.values())

    def start(self):
        binary = os.environ.get("STRAIT_BIN")
        assert binary and os.path.exists(binary), "STRAIT_BIN must point at a built strait binary (run.sh sets it)"
        with open(self.log_path, "ab") as log:
            self.supervisor = subprocess.Popen(
                [binary, "dev", "--nodes", str(NODES), "--data-dir", self.data_dir]
                + [arg for name in LISTENERS for arg in (f"--{name}-addr", f"127.0.0.1:{self.bases[name]}")],
                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.supervisor.poll() is not None:
                raise AssertionError(f"strait dev exited early:\n{self.log()}")
            pids = dict(
                (int(m.group(1)), int(m.group(2)))
                for m in re.finditer(r"^strait dev: node (\d+) started as pid (\d+)$", self.log(None), re.M))
            # The supervisor prints its table once it has seen every node ready: until then it treats a node's
            # exit as a failed start and stops the others, so nothing may be killed before it.
            table = re.search(rf"^strait dev: {NODES}-node cluster ", self.log(None), re.M)
            if len(pids) == NODES and table and all(n.healthy() for n in self.nodes.values()):
                for i, pid in pids.items():
                    self.nodes[i].pid = pid
                return self
            time.sleep(0.1)
        raise AssertionError(f"the cluster did not become healthy in 30 s:\n{self.log()}")

    def log(self, tail=4000):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            return ""
        return text if tail is None else text[-tail:]

    def admin(self, node_ids=None):
        ids = node_ids or [i for i in self.nodes if i not in self.down()]
        return AdminClient({"bootstrap.servers": ",".join(self.nodes[i].bootstrap for i in ids)})

    def down(self):
        return [i for i, n in self.nodes.items() if not pid_alive(n.pid)]

    def create_topic(self, topic, partitions):
        admin = self.admin()  # must outlive its futures
        admin.create_topics([NewTopic(topic, partitions, NODES)])[topic].result(15)
        self.wait_leaders(topic, partitions)

    def leaders(self, topic, node_ids=None):
        """Partition -> leader node id, as a live node's Metadata names it (-1 while there is none)."""
        md = self.admin(node_ids).list_topics(topic, timeout=10)
        return {p.id: p.leader for p in md.topics[topic].partitions.values()}

    def wait_leaders(self, topic, partitions, timeout=20):
        """Waits until every partition has a leader that is alive, and returns partition -> leader."""
        deadline = time.time() + timeout
        leaders = {}
        while time.time() < deadline:
            try:
                leaders = self.leaders(topic)
            except Exception:  # a node just killed may still be named as a broker: ask again
                leaders = {}
            down = self.down()
            if len(leaders) == partitions and all(lead > 0 and lead not in down for lead in leaders.values()):
                return leaders
            time.sleep(0.2)
        raise AssertionError(f"{topic}: no live leader for every partition in {timeout} s: {leaders}")

    def kill(self, node_id):
        node = self.nodes[node_id]
        os.kill(node.pid, signal.SIGKILL)
        if node.proc:
            node.proc.wait()
        deadline = time.time() + 10
        while pid_alive(node.pid):
            assert time.time() < deadline, f"node {node_id} (pid {node.pid}) survived SIGKILL"
            time.sleep(0.05)
        self.killed.append(node_id)

    def restart(self, node_id):
        """Restarts a killed node with its own command and waits for its /healthz."""
        node = self.nodes[node_id]
        node.restarts += 1
        log_path = os.path.join(self.tmp, f"node-{node_id}.restart-{node.restarts}.log")
        with open(log_path, "ab") as log:
            node.proc = subprocess.Popen([os.environ["STRAIT_BIN"], "serve", "--config", node.config],
                                         stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NO_COLOR": "1"})
        node.pid = node.proc.pid
        deadline = time.time() + 30
        while not node.healthy():
            assert node.proc.poll() is None, f"restarted node {node_id} exited; see {log_path}"
            assert time.time() < deadline, f"restarted node {node_id} not healthy in 30 s; see {log_path}"
            time.sleep(0.1)

    def stop(self):
        if self.supervisor and self.supervisor.poll() is None:
            self.supervisor.send_signal(signal.SIGTERM)
        for node in self.nodes.values():
            if node.proc and node.proc.poll() is None:
                node.proc.send_signal(signal.SIGTERM)
        if self.supervisor:
            try:
                self.supervisor.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.supervisor.kill()
                self.supervisor.wait()
        for node in self.nodes.values():
            if node.proc:
                try:
                    node.proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    pass
            # whatever is left (a supervisor child the supervisor did not stop, a node that ignored SIGTERM)
            if node.pid and pid_alive(node.pid):
                os.kill(node.pid, signal.SIGKILL)
            if node.proc:
                node.proc.wait()


@pytest.fixture(scope="module")
def cluster():
    """A fresh cluster per test module: each module kills nodes and must start from three healthy ones."""
    tmp = tempfile.mkdtemp(prefix="strait-cluster-")
    c = Cluster(tmp)
    try:
        c.start()
        yield c
    finally:
        c.stop()
        # keep the logs (and data) of a failed run for the post-mortem
        if os.environ.get("STRAIT_KEEP_DATA"):
            print(f"strait cluster data and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
