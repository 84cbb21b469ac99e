"""The physical ceiling on this machine: the disk (sequential write bandwidth ending in fdatasync, the latency of
a small write + fdatasync) and loopback TCP bandwidth. Plus what the machine is, for the report."""

import os
import platform
import re
import socket
import subprocess
import threading
import time


def disk_sequential(directory, mib):
    """dd of `mib` MiB ending with one fdatasync (conv=fdatasync), as the engine benchmark measures it; MB/s from
    dd's own byte count and elapsed time. The median of three runs, each on a new file."""
    runs = []
    for i in range(3):
        path = os.path.join(directory, f"raw-{i}")
        r = subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=1M", f"count={mib}", "conv=fdatasync"],
                           capture_output=True, text=True, check=True)
        os.remove(path)
        m = re.search(r"(\d+) bytes .* copied, ([\d.]+) s", r.stderr)
        runs.append(int(m.group(1)) / float(m.group(2)) / 1e6)
    return {"mb_per_s": sorted(runs)[1], "runs_mb_per_s": [round(x, 1) for x in runs], "mib": mib}


def fsync_latency(directory, count, size=16384):
    """`count` x (write `size` bytes + fdatasync) on one file: the cost of one durable acknowledgement."""
    path = os.path.join(directory, "fsync-probe")
    buf = os.urandom(size)
    lat = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        start = time.perf_counter()
        for _ in range(count):
            t = time.perf_counter()
            os.write(fd, buf)
            os.fdatasync(fd)
            lat.append((time.perf_counter() - t) * 1e3)
        total = time.perf_counter() - start
    finally:
        os.close(fd)
        os.remove(path)
    lat.sort()
    pick = lambda p: lat[min(len(lat) - 1, int(p / 100 * len(lat)))]
    return {"writes": count, "write_bytes": size, "fsyncs_per_s": count / total,
            "mb_per_s": count * size / total / 1e6, "p50_ms": pick(50), "p99_ms": pick(99),
            "p999_ms": pick(99.9)}


def loopback(seconds=3.0, chunk=1 << 20):
    """One TCP stream over 127.0.0.1 (sendall of 1 MiB buffers, recv_into on the other side) for `seconds`."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    port = srv.getsockname()[1]
    received = [0]

    def sink():
        conn, _ = srv.accept()
        buf = bytearray(chunk)
        while True:
            n = conn.recv_into(buf)
            if n == 0:
                break
            received[0] += n
        conn.close()

    t = threading.Thread(target=sink)
    t.start()
    data = b"\0" * chunk
    with socket.create_connection(("127.0.0.1", port)) as c:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            c.sendall(data)
    t.join()
    elapsed = time.perf_counter() - start
    srv.close()
    return {"mb_per_s": received[0] / elapsed / 1e6, "seconds": elapsed}


def machine(directory):
    def sh(*argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError) as e:
            return f"unavailable ({e})"

    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "disk": sh("df", "-hT", directory),
        "loadavg_start": open("/proc/loadavg").read().split()[:3],
    }


def du_bytes(directory):
    """Bytes allocated on disk under `directory` (st_blocks, so sparse and preallocated files count as stored)."""
    total = 0
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_blocks * 512
            except OSError:
                continue
    return total


def free_bytes(directory):
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize
