"""Defect 9: one protocol's authentication must not be bypassed through the other, and failed logins are slowed
and counted. With Kafka SASL users and the AWS API left at `aws.auth = "none"`, the node refuses to start unless
told so explicitly; with both configured, made-up AWS keys are refused; wrong SASL passwords are answered slowly
(even from many connections at once) and counted. Also: in dev mode a request without credentials is told that
any keys will do."""
import json
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import pytest
from botocore.exceptions import ClientError

from conftest import assert_serves, assert_serves_authenticated, kafka_frame

SASL_USER = {"STRAIT_KAFKA__SASL_PLAIN_USERS__alice": "alice-secret"}
SASL_ALICE = {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN", "sasl.username": "alice",
              "sasl.password": "alice-secret"}
REAL_KEYS = {"STRAIT_AWS__AUTH": "sigv4",
             "STRAIT_AWS__ACCESS_KEYS": '[{access_key_id="AKIDREAL",secret_access_key="real-secret"}]'}


def test_sasl_users_with_an_open_aws_api_refuse_to_start():
    with tempfile.TemporaryDirectory(prefix="strait-hardening-") as tmp:
        r = subprocess.run(
            [os.environ["STRAIT_BIN"], "dev", "--data-dir", os.path.join(tmp, "data"),
             "--kafka-addr", "127.0.0.1:0", "--aws-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0"],
            env={**os.environ, **SASL_USER}, capture_output=True, text=True, timeout=30)
    assert r.returncode != 0, "started with Kafka authenticated and the AWS API open"
    assert "aws.auth" in r.stderr and "security.allow_unauthenticated_aws = true" in r.stderr, r.stderr


def test_explicit_opt_in_starts_and_dev_mode_explains_missing_keys(make_node):
    node = make_node(env={**SASL_USER, "STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_AWS": "true"})
    req = urllib.request.Request(node.endpoint + "/", data=b"{}", method="POST", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=10)
    body = json.loads(e.value.read())
    assert body["__type"] == "MissingAuthenticationTokenException"
    assert "accepts any access key" in body["message"] and "AWS_REGION" in body["message"], body
    assert_serves_authenticated(node, SASL_ALICE, "AKIDANYTHING", "anything")


def _sasl_attempt(port, password):
    """SaslHandshake v1 (PLAIN) and SaslAuthenticate v0 on a fresh connection; the SaslAuthenticate error code."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(kafka_frame(17, 1, struct.pack(">h", 5) + b"PLAIN"))
        _read_response(s)
        token = b"\0alice\0" + password
        s.sendall(kafka_frame(36, 0, struct.pack(">i", len(token)) + token, correlation_id=8))
        resp = _read_response(s)
        return struct.unpack(">h", resp[4:6])[0]


def _read_response(s):
    size = struct.unpack(">i", _recv(s, 4))[0]
    return _recv(s, size)


def _recv(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        assert chunk, "connection closed"
        buf += chunk
    return buf


def _counter(node, name, label):
    for line in node.metrics().splitlines():
        if line.startswith(name) and label in line:
            return float(line.split()[-1])
    return 0.0


def test_both_authenticated_refuses_fake_keys_and_slows_wrong_passwords(make_node):
    node = make_node(env={**SASL_USER, **REAL_KEYS,
                          "STRAIT_SECURITY__AUTH_FAILURE_DELAY_MS": "20",
                          "STRAIT_SECURITY__AUTH_FAILURE_MAX_DELAY_MS": "100"})
    # Made-up keys cannot read (or delete) anything through Kinesis.
    with pytest.raises(ClientError) as e:
        node.client("kinesis").list_streams()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"
    assert _counter(node, "strait_auth_failures_total", 'protocol="aws"') == 1

    # 50 right passwords, sequentially.
    start = time.time()
    assert all(_sasl_attempt(node.kafka_port, b"alice-secret") == 0 for _ in range(50))
    right = time.time() - start

    # 50 wrong ones, from 10 connections at a time: answers to one address are spaced by a delay that grows from
    # 20 ms to 100 ms, so they take at least 20 + 40 + 80 + 47 * 100 ms = 4.84 s however many connections.
    codes = []
    def guess(n):
        for _ in range(n):
            codes.append(_sasl_attempt(node.kafka_port, b"wrong-guess"))
    start = time.time()
    threads = [threading.Thread(target=guess, args=(5,)) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wrong = time.time() - start
    assert codes == [58] * 50, codes  # SASL_AUTHENTICATION_FAILED
    assert wrong >= 4.5, f"50 wrong passwords took only {wrong:.2f} s (50 right ones: {right:.2f} s)"
    print(f"50 right passwords: {right:.2f} s; 50 wrong ones over 10 connections: {wrong:.2f} s")
    assert _counter(node, "strait_auth_failures_total", 'protocol="kafka"') == 50
    # Logged, but rate-limited (log.max_repeated_per_minute, 10 by default, shared with the AWS failure above).
    lines = [line for line in _full_log(node) if "authentication failed" in line and "WARN" in line]
    assert 1 <= len(lines) <= 10, f"{len(lines)} log lines for 51 failed authentications"
    assert_serves_authenticated(node, SASL_ALICE, "AKIDREAL", "real-secret")


def test_dev_node_without_any_auth_still_serves(node):
    assert_serves(node)


def _full_log(node):
    """Every line the node logged (`node.log()` keeps only the tail)."""
    with open(node.log_path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()
