"""TLS and mutual TLS on every listener, proved with real clients over real sockets."""
import datetime
import os
import socket
import ssl
import struct
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.config import Config as BotoConfig
from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def ssl_conf(node, cert=None, key=None, **extra):
    conf = {"bootstrap.servers": node.bootstrap, "security.protocol": "ssl", "ssl.ca.location": node.ca, **extra}
    if cert:
        conf.update({"ssl.certificate.location": cert, "ssl.key.location": key})
    return conf


def round_trip(conf, n=20):
    """Produces n records to a new topic and reads them back with the same settings."""
    topic = f"tls-{uuid.uuid4().hex[:8]}"
    p = Producer({**conf, "acks": "all"})
    for i in range(n):
        p.produce(topic, value=f"m{i}".encode())
    assert p.flush(20) == 0
    c = Consumer({**conf, "group.id": f"g-{topic}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    deadline = time.time() + 20
    while len(got) < n and time.time() < deadline:
        m = c.poll(1)
        if m is not None:
            assert m.error() is None, m.error()
            got.append(m.value())
    c.close()
    assert got == [f"m{i}".encode() for i in range(n)]


def refused(conf):
    """The client gets no metadata (its connection fails), and reports a transport or SSL error."""
    errors = []
    p = Producer({**conf, "error_cb": errors.append, "socket.timeout.ms": 3000})
    with pytest.raises(KafkaException):
        p.list_topics(timeout=4)
    p.poll(0.5)
    return errors


def test_ssl_produce_and_consume(dev):
    round_trip(ssl_conf(dev))


def test_dev_prints_the_client_settings(dev):
    log = open(dev.log_path, encoding="utf-8", errors="replace").read()
    for line in ("security.protocol=ssl", f"ssl.ca.location={dev.ca}", "ssl.truststore.type=PEM",
                 "AWS_CA_BUNDLE=", f"https://127.0.0.1:{dev.aws_port}"):
        assert line in log, line
    assert "protocol=SSL" in log or 'protocol="SSL"' in log, "startup log names Kafka's security protocol"


def test_a_client_certificate_is_accepted_when_requested(dev):
    tls = os.path.join(dev.data_dir, "tls")
    round_trip(ssl_conf(dev, os.path.join(tls, "client.pem"), os.path.join(tls, "client-key.pem")), n=5)


def test_mtls_required_refuses_a_client_without_a_certificate(mtls, pki):
    errors = refused(ssl_conf(mtls))
    assert errors, "no error reported"
    round_trip(ssl_conf(mtls, pki["client"], pki["client-key"]), n=5)


def test_sasl_ssl(sasl_ssl):
    sasl = {"security.protocol": "sasl_ssl", "sasl.mechanism": "PLAIN", "sasl.username": "alice"}
    round_trip(ssl_conf(sasl_ssl, **sasl, **{"sasl.password": "alice-secret"}), n=5)
    errors = refused(ssl_conf(sasl_ssl, **sasl, **{"sasl.password": "wrong"}))
    assert any("Authentication failed" in e.str() or e.code() == -169 for e in errors), errors


def test_plain_tcp_client_on_the_ssl_port_fails_cleanly(dev):
    before = handshake_failures(dev)
    # An ApiVersions v0 request in plain Kafka framing: not a TLS ClientHello.
    body = struct.pack(">hhih", 18, 0, 1, 4) + b"test"
    with socket.create_connection(("127.0.0.1", dev.kafka_port), timeout=5) as s:
        s.sendall(struct.pack(">i", len(body)) + body)
        reply = b""
        try:
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        except ConnectionResetError:
            pass
    # At most a TLS alert record (content type 21), never a Kafka response.
    assert reply == b"" or reply[0] == 21, reply[:16]
    assert handshake_failures(dev) > before
    round_trip(ssl_conf(dev), n=3)


def handshake_failures(node):
    for line in node.metrics().splitlines():
        if line.startswith("strait_tls_handshake_failures_total") and 'listener="kafka"' in line:
            return float(line.split()[-1])
    return 0.0


def test_boto3_kinesis_over_https(dev):
    kinesis = boto3.client("kinesis", endpoint_url=dev.endpoint, region_name="us-east-1", verify=dev.ca,
                           aws_access_key_id="AKID", aws_secret_access_key="secret",
                           config=BotoConfig(retries={"max_attempts": 2}))
    name = f"tls-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 50})
    put = kinesis.put_record(StreamName=name, Data=b"over-https", PartitionKey="k")
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = kinesis.get_records(ShardIterator=it)["Records"]
    assert [r["Data"] for r in records] == [b"over-https"]


def test_a_client_without_the_ca_refuses_the_server(dev):
    """Without the dev CA, a client refuses the server: the certificate really is the dev CA's, not a public one."""
    with pytest.raises(ssl.SSLCertVerificationError):
        with socket.create_connection(("127.0.0.1", dev.aws_port), timeout=5) as s:
            ssl.create_default_context().wrap_socket(s, server_hostname="127.0.0.1")


def test_http2_over_alpn(dev):
    out = subprocess.run(
        ["curl", "-sS", "--http2", "--cacert", dev.ca, "-o", "/dev/null", "-w", "%{http_version}",
         f"https://127.0.0.1:{dev.admin_port}/healthz"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "2", out.stdout
    out = subprocess.run(
        ["curl", "-sS", "--http1.1", "--cacert", dev.ca, "-o", "/dev/null", "-w", "%{http_version}",
         f"https://127.0.0.1:{dev.aws_port}/"], capture_output=True, text=True, timeout=20)
    assert out.returncode == 0 and out.stdout == "1.1", (out.stdout, out.stderr)


def server_serial(node):
    ctx = ssl.create_default_context(cafile=node.ca)
    with socket.create_connection(("127.0.0.1", node.kafka_port), timeout=5) as s:
        with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
            return x509.load_der_x509_certificate(t.getpeercert(binary_form=True)).serial_number


def test_certificate_reload(dev):
    tls = os.path.join(dev.data_dir, "tls")
    old = server_serial(dev)
    with open(os.path.join(tls, "ca.pem"), "rb") as f:
        ca = x509.load_pem_x509_certificate(f.read())
    with open(os.path.join(tls, "ca-key.pem"), "rb") as f:
        ca_key = serialization.load_pem_private_key(f.read(), password=None)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    serial = x509.random_serial_number()
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca.subject).public_key(key.public_key()).serial_number(serial)
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                critical=False)
            .sign(ca_key, hashes.SHA256()))
    # A producer connected before the change keeps working on its connection.
    p = Producer({**ssl_conf(dev), "acks": "all"})
    p.produce("reload-live", value=b"before")
    assert p.flush(10) == 0
    # Key first, then certificate: in between, the pair does not match and the old one stays in use.
    with open(os.path.join(tls, "server-key.pem"), "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    with open(os.path.join(tls, "server.pem"), "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    deadline = time.time() + 10
    seen = old
    while time.time() < deadline and seen != serial:
        time.sleep(0.2)
        seen = server_serial(dev)
    assert old != serial and seen == serial, (old, seen, serial)
    p.produce("reload-live", value=b"after")
    assert p.flush(10) == 0
