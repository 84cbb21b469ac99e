"""produce and consume, checked with confluent-kafka's producer and consumer."""
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def read_all(strait, topic, partitions, expected):
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": name("reader"),
                  "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in partitions])
    got = []
    for _ in range(60):
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            got.append(m)
        if len(got) >= expected:
            break
    c.close()
    return got


def test_produced_lines_are_read_by_confluent_kafka(cli, strait):
    t = name("produced")
    cli.ok("topic", "create", t, "-p", "2")
    r = cli.ok("produce", t, "--key", "user-1", "-H", "source=cli", "-H", "trace=a=b",
               stdin="first\nsecond\nthird\n")
    assert "RECORDS" in r.stderr, "the summary table goes to stderr"
    got = read_all(strait, t, [0, 1], 3)
    assert [m.value() for m in got] == [b"first", b"second", b"third"]
    assert {m.key() for m in got} == {b"user-1"}
    assert len({m.partition() for m in got}) == 1, "one key, one partition"
    assert all(m.headers() == [("source", b"cli"), ("trace", b"a=b")] for m in got)
    # The Java client's partitioner puts the key on the same partition (librdkafka's murmur2_random matches it).
    p = Producer({"bootstrap.servers": strait.bootstrap, "partitioner": "murmur2_random"})
    placed = []
    p.produce(t, key=b"user-1", value=b"x", on_delivery=lambda err, msg: placed.append(msg.partition()))
    p.flush(10)
    assert placed == [got[0].partition()]


def test_produce_to_a_partition_reports_offsets(cli, strait):
    t = name("partitioned")
    cli.ok("topic", "create", t, "-p", "3")
    out = cli.json("produce", t, "--partition", "2", "--value", "only")
    assert out == [{"topic": t, "partition": 2, "records": 1, "first_offset": 0, "last_offset": 0}]
    [m] = read_all(strait, t, [2], 1)
    assert (m.partition(), m.offset(), m.value(), m.key()) == (2, 0, b"only", None)


def test_consume_shows_what_confluent_kafka_produced(cli, strait):
    t = name("consumed")
    cli.ok("topic", "create", t, "-p", "1")
    p = Producer({"bootstrap.servers": strait.bootstrap})
    for i in range(5):
        p.produce(t, key=f"k{i}".encode(), value=f"v{i}".encode(), headers=[("n", str(i).encode())],
                  timestamp=1_700_000_000_000 + i)
    p.flush(10)
    lines = cli.json_lines("consume", t, "--from-beginning", "--end")
    assert [(x["offset"], x["key"], x["value"], x["headers"], x["timestamp"]) for x in lines] == \
        [(i, f"k{i}", f"v{i}", {"n": str(i)}, 1_700_000_000_000 + i) for i in range(5)]
    assert all(x["topic"] == t and x["partition"] == 0 for x in lines)
    text = cli.ok("consume", t, "--offset", "3", "--count", "2", "-f", "%p %o %k %s\\n").stdout
    assert text == "0 3 k3 v3\n0 4 k4 v4\n"
    assert cli.ok("consume", t, "--offset", "-1", "--count", "1").stdout == "v4\n"
    at = cli.json_lines("consume", t, "--timestamp", "1700000000003", "--end")
    assert [x["offset"] for x in at] == [3, 4]


def test_consume_with_a_group_commits_its_position(cli, strait):
    t, g = name("grouped"), name("simple")
    cli.ok("topic", "create", t, "-p", "1")
    cli.ok("produce", t, stdin="a\nb\nc\n")
    assert cli.ok("consume", t, "--group", g, "--from-beginning", "--count", "2").stdout == "a\nb\n"
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": g})
    assert [x.offset for x in c.committed([TopicPartition(t, 0)], timeout=10)] == [2]
    c.close()
    assert cli.ok("consume", t, "--group", g, "--end").stdout == "c\n", "resumes from the commit"
