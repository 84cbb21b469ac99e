"""Defect 3: a batch whose records do not match its header (valid CRC) was acknowledged and poisoned the
partition for every reader; one claiming 2^31-1 records with one present moved the log end by ~2 billion. Now each
is refused with Kafka's code and nothing is appended."""
from conftest import assert_serves
from confluent_kafka import Consumer, TopicPartition

from kafka_batches import (CORRUPT_MESSAGE, INVALID_RECORD, batch, create_topic, log_end, produce_v8, record)


def test_invalid_batches_are_refused_and_nothing_is_appended(make_node):
    node = make_node()
    topic = "invalid-batches"
    end = create_topic(node, topic)
    assert end == 1

    # The test's own encoder first: a well-formed batch of two records is accepted.
    code, base, msg, _ = produce_v8(node, topic, batch(record(0, b"ok-0") + record(1, b"ok-1"), 2))
    assert (code, base) == (0, 1), msg
    end = log_end(node, topic)
    assert end == 3

    attacks = {
        # name: (batch, Kafka code, words of the message, index of the record named in record_errors)
        # (a) a valid CRC over garbage record bytes
        "garbage records": (batch(b"\xff" * 40, 1), INVALID_RECORD, "malformed", 0),
        # (b) 2^31-1 records claimed, one present
        "count that lies": (batch(record(0, b"x"), 2**31 - 1), INVALID_RECORD, "claims 2147483647 records", None),
        # (c) offset deltas that do not run 0, 1, ...
        "offset deltas": (batch(record(0, b"a") + record(7, b"b"), 2), INVALID_RECORD, "offset delta 7", 1),
        # (d) bytes after the claimed records
        "trailing bytes": (batch(record(0, b"a") + record(1, b"b"), 1), INVALID_RECORD, "bytes after", None),
    }
    for name, (b, want, words, bad_record) in attacks.items():
        code, base, msg, record_errors = produce_v8(node, topic, b)
        assert code == want, f"{name}: error code {code} ({msg}), expected {want}"
        assert base == -1 and msg and words in msg, f"{name}: {msg}"
        assert [i for i, _ in record_errors] == ([] if bad_record is None else [bad_record]), record_errors
        assert log_end(node, topic) == end, f"{name}: the log end moved"

    # A flipped byte under the CRC is damage, not a rule broken: CORRUPT_MESSAGE, as Kafka answers.
    damaged = bytearray(batch(record(0, b"abc"), 1))
    damaged[-3] ^= 0xFF
    code, _, msg, _ = produce_v8(node, topic, bytes(damaged))
    assert code == CORRUPT_MESSAGE and "CRC" in msg, (code, msg)
    assert log_end(node, topic) == end

    # The partition is not poisoned: a consumer reads everything that was acknowledged, and more can be added.
    code, base, msg, _ = produce_v8(node, topic, batch(record(0, b"after"), 1))
    assert (code, base) == (0, end), msg
    c = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "g-invalid", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    got = []
    for _ in range(30):
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got.append(m.value())
        if len(got) == 4:
            break
    c.close()
    assert got == [b"first", b"ok-0", b"ok-1", b"after"]
    assert_serves(node)
