"""Defect 2: a 36 KB zstd batch that inflated to 1 GiB was acknowledged, and every read of it that decompressed
took 1 GiB. Now append walks compressed records through a streaming decompressor with a cap
(engine.max_inflated_batch_bytes, 64 MiB): the bomb is refused with INVALID_RECORD, nothing is appended, and the
node's peak memory stays far below the inflated size."""
import zstandard
from conftest import assert_serves

from kafka_batches import INVALID_RECORD, batch, create_topic, log_end, produce_v8, record, record_head, varint, vm_hwm_kib

INFLATED = 96 << 20  # past the 64 MiB default cap


def zstd_bomb():
    """One record whose value is 96 MiB of zeros, zstd-compressed as a stream (the test never holds it whole)."""
    c = zstandard.ZstdCompressor(level=3).compressobj()
    out = [c.compress(record_head(0, None, INFLATED))]
    zeros = bytes(1 << 20)
    for _ in range(INFLATED >> 20):
        out.append(c.compress(zeros))
    out.append(c.compress(varint(0)))
    out.append(c.flush())
    return b"".join(out)


def test_zstd_bomb_is_refused_with_bounded_memory(make_node):
    node = make_node()
    topic = "bombs"
    assert create_topic(node, topic) == 1

    # A well-formed zstd batch is accepted (and checks the test's encoder).
    packed = zstandard.ZstdCompressor().compress(record(0, b"z0") + record(1, b"z1"))
    code, base, msg, _ = produce_v8(node, topic, batch(packed, 2, compression=4))
    assert (code, base) == (0, 1), msg
    assert log_end(node, topic) == 3

    bomb = zstd_bomb()
    assert len(bomb) < 64 << 10, len(bomb)
    for _ in range(3):
        code, base, msg, _ = produce_v8(node, topic, batch(bomb, 1, compression=4))
        assert code == INVALID_RECORD, (code, msg)
        assert base == -1 and "inflates to more than 67108864 bytes" in msg, msg
        assert log_end(node, topic) == 3

    hwm_mib = vm_hwm_kib(node) / 1024
    assert hwm_mib < 256, f"peak RSS {hwm_mib:.0f} MiB after the bombs"

    # Kinesis reads of the Kafka-produced zstd batch go through the bounded decoder.
    k = node.client("kinesis")
    shard = k.list_shards(StreamName=topic)["Shards"][0]["ShardId"]
    it = k.get_shard_iterator(StreamName=topic, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    data = [r["Data"] for r in k.get_records(ShardIterator=it, Limit=100)["Records"]]
    assert data == [b"first", b"z0", b"z1"]
    assert_serves(node)


def test_the_cap_is_a_node_setting(make_node):
    """engine.max_inflated_batch_bytes, here 1 MiB: a batch inflating to 2 MiB is refused, one of 512 KiB is not."""
    node = make_node(env={"STRAIT_ENGINE__MAX_INFLATED_BATCH_BYTES": str(1 << 20)})
    topic = "capped"
    assert create_topic(node, topic) == 1
    z = zstandard.ZstdCompressor()
    code, _, msg, _ = produce_v8(node, topic, batch(z.compress(record(0, bytes(2 << 20))), 1, compression=4))
    assert code == INVALID_RECORD and "more than 1048576 bytes" in msg, (code, msg)
    code, base, msg, _ = produce_v8(node, topic, batch(z.compress(record(0, bytes(512 << 10))), 1, compression=4))
    assert (code, base) == (0, 1), msg
    assert log_end(node, topic) == 2
    assert_serves(node)
