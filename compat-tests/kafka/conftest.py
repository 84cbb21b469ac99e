"""Starts a real `strait dev` process on free loopback ports for the suite, and stops it by PID."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Strait:
    """One `strait dev` process; restartable on the same data directory."""

    def __init__(self, data_dir, env=None):
        self.data_dir = data_dir
        self.env = {**os.environ, **(env or {})}
        self.kafka_port = free_port()
        self.aws_port = free_port()
        self.admin_port = free_port()
        self.proc = None
        self.log_path = data_dir.rstrip("/") + ".log"

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    def start(self):
        binary = os.environ.get("STRAIT_BIN")
        assert binary and os.path.exists(binary), "STRAIT_BIN must point at a built strait binary (run.sh sets it)"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [binary, "dev", "--data-dir", self.data_dir,
             "--kafka-addr", self.bootstrap,
             "--aws-addr", f"127.0.0.1:{self.aws_port}",
             "--admin-addr", f"127.0.0.1:{self.admin_port}"],
            stdout=log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.time() + 30
        while time.time() < deadline:
            assert self.proc.poll() is None, f"strait exited early; see {self.log_path}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("strait did not become healthy in 30 s")

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        return self.start()


@pytest.fixture(scope="session")
def strait():
    tmp = tempfile.mkdtemp(prefix="strait-compat-")
    s = Strait(os.path.join(tmp, "data")).start()
    yield s
    s.stop()
    # keep the server log (and data) of a failed run for the post-mortem
    if os.environ.get("STRAIT_KEEP_DATA"):
        print(f"strait data and log kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
