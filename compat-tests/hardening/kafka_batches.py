"""Raw Kafka v2 record batches and Produce v8 frames for the attacks of tests 02 and 03 (no client library would
send these): a pure-Python CRC-32C, record and batch encoders, and a Produce v8 request/response codec."""
import struct

from conftest import kafka_exchange, kafka_frame

_CRC32C_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1
    _CRC32C_TABLE.append(_c)


def crc32c(data):
    """CRC-32C (Castagnoli), as record batches use. Pure Python: fine for the small batches of these tests."""
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def varint(v):
    """Kafka's zigzag varint/varlong."""
    z = (v << 1) ^ (v >> 63)
    z &= (1 << 64) - 1
    out = bytearray()
    while z >= 0x80:
        out.append((z & 0x7F) | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def record_head(offset_delta, key, value_len, timestamp_delta=0):
    """Everything of one record up to (not including) its value bytes, for a value of `value_len` bytes and no
    headers; the length prefix counts the value (and the header count after it)."""
    body = b"\x00" + varint(timestamp_delta) + varint(offset_delta)
    body += varint(-1) if key is None else varint(len(key)) + key
    body += varint(value_len)
    return varint(len(body) + value_len + 1) + body


def record(offset_delta, value, key=None, timestamp_delta=0):
    """One whole record without headers."""
    return record_head(offset_delta, key, len(value), timestamp_delta) + value + varint(0)


def batch(records, count, last_offset_delta=None, compression=0, base_timestamp=1_700_000_000_000):
    """A v2 batch around already encoded (maybe compressed) `records`, claiming `count` records, with a valid
    CRC."""
    if last_offset_delta is None:
        last_offset_delta = count - 1
    after_crc = struct.pack(">hiqqqhii", compression, last_offset_delta, base_timestamp, base_timestamp,
                            -1, -1, -1, count) + records
    crc = crc32c(after_crc)
    batch_length = 4 + 1 + 4 + len(after_crc)  # epoch, magic, crc, then the rest
    return struct.pack(">qiibI", 0, batch_length, -1, 2, crc) + after_crc


def produce_v8(node, topic, batch_bytes, partition=0, timeout=30.0):
    """Sends one Produce v8 request (acks=all) carrying `batch_bytes` for one partition; returns
    `(error_code, base_offset, error_message, record_errors)`, record_errors as `[(batch_index, message)]`."""
    name = topic.encode()
    body = struct.pack(">hhi", -1, -1, 10_000)  # transactional_id null, acks=all, timeout_ms
    body += struct.pack(">i", 1) + struct.pack(">h", len(name)) + name
    body += struct.pack(">i", 1) + struct.pack(">ii", partition, len(batch_bytes)) + batch_bytes
    resp = kafka_exchange(node, kafka_frame(0, 8, body), timeout=timeout)
    assert resp is not None, f"the server closed the connection:\n{node.log()}"
    pos = 4  # correlation id
    (n_topics,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    assert n_topics == 1
    (name_len,) = struct.unpack_from(">h", resp, pos)
    pos += 2 + name_len
    (n_parts,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    assert n_parts == 1
    _index, code, base_offset, _append_time, _log_start = struct.unpack_from(">ihqqq", resp, pos)
    pos += 4 + 2 + 8 + 8 + 8
    (n_record_errors,) = struct.unpack_from(">i", resp, pos)
    pos += 4
    record_errors = []
    for _ in range(max(n_record_errors, 0)):
        (batch_index, msg_len) = struct.unpack_from(">ih", resp, pos)
        pos += 6
        record_errors.append((batch_index, resp[pos:pos + max(msg_len, 0)].decode()))
        pos += max(msg_len, 0)
    (msg_len,) = struct.unpack_from(">h", resp, pos)
    pos += 2
    message = None if msg_len < 0 else resp[pos:pos + msg_len].decode()
    return code, base_offset, message, record_errors


CORRUPT_MESSAGE = 2
INVALID_RECORD = 87


def log_end(node, topic, partition=0):
    """The partition's high watermark (its log end: produces here are acks=all)."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": node.bootstrap, "group.id": "watermarks"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        c.close()


def create_topic(node, topic):
    """Creates `topic` (one partition) by producing one ordinary record to it; returns its log end (1)."""
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": node.bootstrap, "acks": "all"})
    p.produce(topic, value=b"first")
    assert p.flush(30) == 0
    return log_end(node, topic)


def vm_hwm_kib(node):
    """The node's peak resident memory (VmHWM), KiB."""
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM in /proc/PID/status")
