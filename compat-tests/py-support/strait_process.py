"""One real `strait dev` process on free loopback ports, for the Python compat suites (kafka, kinesis/python,
cross/python, cross/kclpy): started from STRAIT_BIN (run.sh sets it), ready once /healthz answers 200, stopped by
PID, restartable on the same data directory. Each suite's conftest.py subclasses it with its own clients."""
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StraitProcess:
    """`strait dev` with its data in `data_dir` and its log beside it (`<data_dir>.log`)."""

    def __init__(self, data_dir, env=None, new_session=False, wrapper=None, extra_args=None):
        self.data_dir = data_dir
        # A command the binary runs under (e.g. ["prlimit", "--as=4294967296", "--"]) and flags after `dev`'s own.
        self.wrapper = list(wrapper or [])
        self.extra_args = list(extra_args or [])
        self.env = {**os.environ, **(env or {})}
        self.kafka_port = free_port()
        self.aws_port = free_port()
        self.admin_port = free_port()
        # In its own session, so that a suite that kills process groups (kclpy's daemons) never reaches it.
        self.new_session = new_session
        self.proc = None
        self.log_path = data_dir.rstrip("/") + ".log"

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def endpoint(self):
        return f"http://127.0.0.1:{self.aws_port}"

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/metrics", timeout=5) as r:
            return r.read().decode()

    def start(self):
        binary = os.environ.get("STRAIT_BIN")
        assert binary and os.path.exists(binary), "STRAIT_BIN must point at a built strait binary (run.sh sets it)"
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.wrapper + self.command(binary),
                stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=self.new_session)
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"strait exited early:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.admin_port}/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("strait did not become healthy in 30 s")

    def command(self, binary):
        """The server's command line (after the wrapper): `strait dev` on this object's ports. A suite that needs
        `strait serve --config ...` overrides it."""
        return [binary, "dev", "--data-dir", self.data_dir,
                "--kafka-addr", self.bootstrap,
                "--aws-addr", f"127.0.0.1:{self.aws_port}",
                "--admin-addr", f"127.0.0.1:{self.admin_port}"] + self.extra_args

    def log(self):
        """The last 4,000 characters of the server's log, for failure messages."""
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        except OSError:
            return ""

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


@contextlib.contextmanager
def running(prefix, cls=StraitProcess, **kwargs):
    """A started `cls(<tmp>/data, **kwargs)` in a fresh temporary directory named `prefix...`, stopped by PID on
    exit and removed with its data (kept, and its path printed, when STRAIT_KEEP_DATA is set): a suite's
    session fixture is `with running("strait-x-") as s: yield s`."""
    tmp = tempfile.mkdtemp(prefix=prefix)
    s = cls(os.path.join(tmp, "data"), **kwargs)
    try:
        yield s.start()
    finally:
        s.stop()
        if os.environ.get("STRAIT_KEEP_DATA"):
            print(f"strait data and log kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
