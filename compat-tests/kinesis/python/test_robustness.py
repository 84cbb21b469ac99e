"""Bad input never crashes the server: malformed and hostile bodies (truncated, wrongly typed, deeply nested,
invalid UTF-8, garbage CBOR) sent to every Kinesis operation, signed, in both wire formats. Each gets an AWS
answer (a 4xx error body; 200 only where the operation ignores the odd members); the same process still serves."""
import json

import botocore.session

from test_envelope import send

CBOR = "application/x-amz-cbor-1.1"
JSON = "application/x-amz-json-1.1"

JSON_BODIES = [
    b"{",
    b"[]",
    b"null",
    b"123",
    b'{"StreamName": {"nested": true}, "ShardCount": "many"}',
    b'{"StreamName": "x", "Limit": 1e400, "ShardCount": -99999999999999999999999}',
    b'{"StreamName": "\xff\xfe", "PartitionKey": "\xc3\x28"}',
    b'{"Records": [' + b'{"Data": "not base64!!", "PartitionKey": 5},' * 50 + b'{}]}',
    b'{"Data": "' + b"=" * 1000 + b'", "PartitionKey": "k", "StreamName": "s"}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    bytes(range(256)) * 8,
]
CBOR_BODIES = [
    b"\xff\xff\xff",
    b"\xbf",  # an indefinite-length map that never ends
    b"\x81" * 200_000,  # arrays nested 200,000 deep
    b"\xa1" * 100_000 + b"\x00",  # maps nested as keys
    b"\x5b\xff\xff\xff\xff\xff\xff\xff\xff",  # a byte string claiming 2^64-1 bytes
    b"\x9b\x00\x00\x00\x01\x00\x00\x00\x00",  # an array claiming 2^32 items
    b"\xa1\x6aStreamName\xc1\xfb\x7f\xf0\x00\x00\x00\x00\x00\x00",  # a tagged infinity where a string belongs
    b"\xa2\x6aStreamName\x61x\x64Data\x7f\x61a",  # an unterminated indefinite text string
]


def operations():
    model = botocore.session.get_session().get_service_model("kinesis")
    return list(model.operation_names)


def assert_aws_error(status, headers, body, content_type, what):
    # A well-formed JSON object whose odd members the operation does not have is accepted, as AWS ignores
    # unknown members (DescribeLimits takes none): 200 is fine there. Never a 5xx, never a dropped connection.
    assert 200 <= status < 500, f"{what}: status {status}, body {body[:200]!r}"
    if status == 200:
        return
    if content_type == JSON:
        assert "__type" in json.loads(body), f"{what}: {body[:200]!r}"
    else:
        assert body, f"{what}: empty error body"


def test_hostile_bodies_get_aws_errors_and_the_server_survives(strait):
    ops = operations()
    assert "PutRecords" in ops and "SubscribeToShard" in ops
    for op in ops:
        target = f"Kinesis_20131202.{op}"
        for body in JSON_BODIES:
            status, headers, got = send(strait, body, target=target, content_type=JSON)
            assert_aws_error(status, headers, got, JSON, f"{op} JSON {body[:40]!r}")
        for body in CBOR_BODIES:
            status, headers, got = send(strait, body, target=target, content_type=CBOR)
            assert_aws_error(status, headers, got, CBOR, f"{op} CBOR {body[:40]!r}")
        assert strait.proc.poll() is None, f"strait died on {op}:\n{strait.log()}"
    status, _, body = send(strait, b"{}")
    assert status == 200, body
