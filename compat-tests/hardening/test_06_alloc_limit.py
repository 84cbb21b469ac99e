"""Defect 6: under an address-space limit, a request whose array count asks for gigabytes must be refused, not abort
the process ("memory allocation of 154618822584 bytes failed" from a 14-byte Metadata request). The node runs under
`prlimit --as=4294967296`; each frame carries a count of 2^31 - 1 and almost nothing after it. Kafka closes the
connection on a request it cannot parse, and so does Strait."""
import struct

from conftest import assert_serves, kafka_exchange, kafka_frame

AS_LIMIT = 4 * 1024 ** 3
HUGE = struct.pack(">i", 0x7FFFFFFF)


def _string(s):
    return struct.pack(">h", len(s)) + s


# (what, frame): the count sits on the request's first array; nothing follows it.
ATTACKS = [
    # The reported one, byte for byte: Metadata v1, correlation id 1, null client id, 2^31 - 1 topics.
    ("Metadata v1", bytes([0, 0, 0, 14, 0, 3, 0, 1, 0, 0, 0, 1, 0xFF, 0xFF]) + HUGE),
    # Metadata v12 (flexible): compact count 2^32 - 1 means 2^32 - 2 topics.
    ("Metadata v12", kafka_frame(3, 12, b"\xff\xff\xff\xff\x0f", flexible_header=True)),
    # Produce v3: null transactional id, acks=1, timeout 1000 ms, then the topics array.
    ("Produce v3", kafka_frame(0, 3, struct.pack(">hhi", -1, 1, 1000) + HUGE)),
    # Fetch v4: replica -1, max wait 0, min bytes 0, max bytes 0, isolation 0, then the topics array.
    ("Fetch v4", kafka_frame(1, 4, struct.pack(">iiiib", -1, 0, 0, 0, 0) + HUGE)),
    # CreateTopics v2: the topics array first.
    ("CreateTopics v2", kafka_frame(19, 2, HUGE)),
    # OffsetCommit v2: group "g", generation -1, member "", retention -1, then the topics array.
    ("OffsetCommit v2", kafka_frame(8, 2, _string(b"g") + struct.pack(">i", -1) + _string(b"") +
                                    struct.pack(">q", -1) + HUGE)),
]


def _address_space_limit(pid):
    with open(f"/proc/{pid}/limits") as f:
        for line in f:
            if line.startswith("Max address space"):
                return int(line.split()[3])
    raise AssertionError(f"no address-space line in /proc/{pid}/limits")


def test_huge_counts_under_an_address_space_limit(make_node):
    node = make_node(wrapper=["prlimit", f"--as={AS_LIMIT}", "--"])
    # prlimit execs strait, so the node's PID is strait's: check the limit it actually runs under.
    assert _address_space_limit(node.proc.pid) == AS_LIMIT
    for what, frame in ATTACKS:
        assert kafka_exchange(node, frame) is None, f"{what}: a response to an unparseable request"
        assert node.alive(), f"{what} killed the node:\n{node.log()}"
    log = node.log()
    assert "memory allocation" not in log, log
    assert_serves(node)
