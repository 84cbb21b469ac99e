"""Defect 5: connection exhaustion. Silent or trickling AWS-port connections are closed by the HTTP timeouts,
connections past a listener's cap are closed at once without harming the listener, the accept loops survive
running out of file descriptors, and a Kafka client that has not authenticated cannot make the node buffer a
large frame."""
import os
import resource
import socket
import struct
import time

from conftest import assert_serves, assert_serves_authenticated

TIMEOUT_MS = 1500
SASL_ALICE = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": "alice",
              "sasl.password": "alice-secret"}


def _raise_own_fd_limit():
    # This test process itself holds ~1,000 sockets in (b).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 and (hard == resource.RLIM_INFINITY or hard > soft):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096,
                                                    hard))


def _connect(port, n):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        socks.append(s)
    return socks


def _closed_by_server(s, within):
    """True when the server closes `s` (EOF or reset) within `within` seconds."""
    s.settimeout(within)
    try:
        return s.recv(1) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def _rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_silent_trickling_and_surplus_aws_connections_are_closed(make_node):
    node = make_node(env={
        "STRAIT_AWS__MAX_CONNECTIONS": "50",
        "STRAIT_HTTP__IDLE_TIMEOUT_MS": str(TIMEOUT_MS),
        "STRAIT_HTTP__BODY_READ_TIMEOUT_MS": str(TIMEOUT_MS),
        "STRAIT_HTTP__HEADER_READ_TIMEOUT_MS": str(TIMEOUT_MS),
    })
    silent = _connect(node.aws_port, 45)
    trickle = socket.create_connection(("127.0.0.1", node.aws_port), timeout=5)
    trickle.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-amz-json-1.1\r\n"
                    b"X-Amz-Target: Kinesis_20131202.ListStreams\r\nContent-Length: 1000\r\n\r\n{")
    # A normal request is served while they are held (its connection is the 47th of 50).
    k = node.client("kinesis")
    assert k.list_streams()["StreamNames"] == []
    # Past the cap: new connections are closed at once; the listener keeps serving.
    surplus = _connect(node.aws_port, 10)
    refused = sum(_closed_by_server(s, 2.0) for s in surplus)
    assert refused >= 5, f"only {refused} of 10 connections past the cap were closed"
    for s in surplus:
        s.close()
    # The trickled body gets 408 within the body timeout (plus slack), not never.
    start = time.time()
    deadline = start + 10
    got = b""
    while time.time() < deadline and b"\r\n\r\n" not in got:
        try:
            trickle.settimeout(0.3)
            chunk = trickle.recv(4096)
            if not chunk:
                break
            got += chunk
        except socket.timeout:
            try:
                trickle.sendall(b" ")
            except OSError:
                break
    assert got.startswith(b"HTTP/1.1 408"), f"trickled body answered {got[:60]!r}"
    assert time.time() - start < 8
    # The silent ones are closed by the idle timeout.
    closed = sum(_closed_by_server(s, 10.0) for s in silent)
    assert closed == len(silent), f"{len(silent) - closed} silent connections still open"
    for s in silent + [trickle]:
        s.close()
    assert_serves(node)


def test_out_of_file_descriptors_does_not_end_the_listeners(make_node):
    _raise_own_fd_limit()
    node = make_node(wrapper=["prlimit", "--nofile=256:256", "--"])
    held = []
    for port in (node.kafka_port, node.aws_port, node.admin_port):
        for _ in range(300):
            try:
                held.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break  # the backlog may be full: that is the kernel's refusal, not the node's death
    time.sleep(1.0)
    assert node.alive(), f"strait died with its descriptors exhausted:\n{node.log()}"
    for s in held:
        s.close()
    # The accept loops have backed off and retried; once the descriptors are free, everything serves again.
    time.sleep(1.0)
    assert_serves(node)
    assert "accept failed" in node.log() or "connection limit" in node.log()


def test_a_large_frame_before_sasl_authentication_closes_the_connection(make_node):
    node = make_node(env={"STRAIT_KAFKA__SASL_PLAIN_USERS__alice": "alice-secret",
                          "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_AWS": "true"})
    pid = node.proc.pid
    before = _rss_kib(pid)
    chunk = b"\0" * (1 << 20)
    socks = []
    for _ in range(8):
        s = socket.create_connection(("127.0.0.1", node.kafka_port), timeout=5)
        s.sendall(struct.pack(">i", 100 * 1024 * 1024))
        socks.append(s)
    for s in socks:
        # The server closes right after the size; pushing the body afterwards fails, as it should.
        try:
            for _ in range(20):
                s.sendall(chunk)
        except OSError:
            pass
        assert _closed_by_server(s, 5.0), "a 100 MB frame before authentication was not refused"
        s.close()
    grown_mib = (_rss_kib(pid) - before) / 1024
    assert grown_mib < 32, f"RSS grew by {grown_mib:.0f} MiB for unauthenticated frames"
    metrics = node.metrics()
    assert any(line.startswith("strait_kafka_frames_rejected_total") and line.split()[-1] == "8"
               for line in metrics.splitlines()), metrics
    # Once authenticated, frames above the pre-auth limit are fine again (a 700 KB record).
    from confluent_kafka import Producer
    p = Producer({**SASL_ALICE, "bootstrap.servers": node.bootstrap, "acks": "all", "message.timeout.ms": 20000})
    errors = []
    p.produce("big-after-auth", value=b"x" * 700_000, on_delivery=lambda e, m: e and errors.append(e))
    assert p.flush(30) == 0 and not errors, errors
    assert_serves_authenticated(node, SASL_ALICE, "AKIDANY", "any-secret")
