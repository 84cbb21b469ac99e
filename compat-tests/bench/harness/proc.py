"""Processes of the benchmark: servers started in their own session and stopped by PID, free loopback ports,
readiness waits, and what /proc says about a server (resident memory, open files)."""

import os
import signal
import socket
import subprocess
import time
import urllib.request


class BenchFailure(Exception):
    """A system or workload that did not run as asked; the harness records it and goes on."""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_tcp(port, timeout, proc=None, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchFailure(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise BenchFailure(f"{what} not listening on 127.0.0.1:{port} after {timeout}s")


def wait_http_ok(url, timeout, proc=None, what="server"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchFailure(f"{what} exited with {proc.returncode} before {url} answered 200")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise BenchFailure(f"{url} did not answer 200 after {timeout}s")


def wait_kafka_api(port, timeout, proc=None, what="server"):
    """Until the Kafka listener answers an ApiVersions v0 request: a bound socket alone is not a serving broker
    (Apache Kafka binds before it enables request processing)."""
    client_id = b"bench"
    body = (18).to_bytes(2, "big") + (0).to_bytes(2, "big") + (1).to_bytes(4, "big") + \
        len(client_id).to_bytes(2, "big") + client_id
    request = len(body).to_bytes(4, "big") + body
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise BenchFailure(f"{what} exited with {proc.returncode} before serving Kafka on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                s.sendall(request)
                if len(s.recv(8)) >= 4:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise BenchFailure(f"{what}: no ApiVersions answer on 127.0.0.1:{port} after {timeout}s")


class Server:
    """One server process, started in a new session so that stopping its PID group ends it and nothing else."""

    def __init__(self, name, argv, log_path, env=None, cwd=None):
        self.name = name
        self.log_path = log_path
        self.argv, self.env, self.cwd = argv, env, cwd
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            env=env, cwd=cwd, start_new_session=True)
        self.pid = self.proc.pid

    def kill9(self):
        """SIGKILL to the whole process group, as a crash would."""
        if self.proc.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.proc.wait(30)
        self.log.close()

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.log.close()

    def check_loopback_only(self):
        """The listening sockets of this server's process group, each required to be on 127.0.0.1."""
        out = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
        pids = set(pids_in_group(self.pid))
        bound = []
        for line in out.splitlines():
            if any(f"pid={p}," in line for p in pids):
                local = line.split()[3]
                bound.append(local)
                # Java reports an IPv4 bind on a dual-stack socket as the IPv4-mapped address.
                if not local.startswith(("127.0.0.1:", "[::ffff:127.0.0.1]:")):
                    raise BenchFailure(f"{self.name} listens on {local}, not loopback")
        return bound

    def memory(self):
        """Resident memory now and at peak (kB -> MiB) and open files, summed over the process group."""
        rss = hwm = fds = 0
        for p in pids_in_group(self.pid):
            try:
                with open(f"/proc/{p}/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1])
                        elif line.startswith("VmHWM:"):
                            hwm += int(line.split()[1])
                fds += len(os.listdir(f"/proc/{p}/fd"))
            except OSError:
                continue
        return {"rss_mib": round(rss / 1024, 1), "peak_rss_mib": round(hwm / 1024, 1), "open_files": fds}


def pids_in_group(pgid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getpgid(int(entry)) == pgid:
                    pids.append(int(entry))
            except OSError:
                continue
    return pids
