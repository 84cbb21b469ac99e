"""Defect 12 (part): `strait config show` must not print secrets, and a flood of bad connections must not flood the
log (at most `log.max_repeated_per_minute` lines per kind, the rest counted)."""
import os
import socket
import struct
import subprocess
import tempfile

from conftest import assert_serves, kafka_frame


def test_config_show_redacts_passwords_and_secret_keys():
    with tempfile.TemporaryDirectory(prefix="strait-hardening-") as tmp:
        path = os.path.join(tmp, "strait.toml")
        with open(path, "w") as f:
            f.write('[kafka.sasl_plain_users]\nalice = "alice-PASSWORD-7731"\n\n'
                    '[aws]\nauth = "sigv4"\n\n[[aws.access_keys]]\naccess_key_id = "AKIDVISIBLE"\n'
                    'secret_access_key = "wJalr-SECRET-4242"\n')
        r = subprocess.run([os.environ["STRAIT_BIN"], "config", "show", "--config", path],
                           capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "alice-PASSWORD-7731" not in r.stdout and "wJalr-SECRET-4242" not in r.stdout, r.stdout
    # Who can log in stays visible.
    assert "alice" in r.stdout and "AKIDVISIBLE" in r.stdout and '"***"' in r.stdout


def test_bad_connections_do_not_flood_the_log(make_node):
    node = make_node(env={"STRAIT_LOG__MAX_REPEATED_PER_MINUTE": "5"})
    # 200 connections announcing a frame far above kafka.max_request_bytes, 200 sending an unknown API key: each
    # is closed at once, and each used to write a log line.
    oversized = struct.pack(">i", 0x7FFFFFFF)
    unknown_api = kafka_frame(9999, 0, b"")
    for attack in [oversized] * 200 + [unknown_api] * 200:
        with socket.create_connection(("127.0.0.1", node.kafka_port), timeout=5) as s:
            s.sendall(attack)
            s.settimeout(5)
            try:
                s.recv(1)
            except ConnectionResetError:
                pass
    log = _full_log(node)
    too_large = [line for line in log if "exceeds kafka.max_request_bytes" in line]
    assert 1 <= len(too_large) <= 5, f"{len(too_large)} log lines for 200 oversized frames"
    closed = [line for line in log if "closing Kafka connection" in line and "unknown API key" in line]
    assert 1 <= len(closed) <= 5, f"{len(closed)} log lines for 200 unknown API keys"
    # Every one is still counted.
    assert any(line.startswith("strait_kafka_frames_rejected_total") and line.split()[-1] == "200"
               for line in node.metrics().splitlines())
    assert_serves(node)


def _full_log(node):
    """Every line the node logged (`node.log()` keeps only the tail)."""
    with open(node.log_path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()
