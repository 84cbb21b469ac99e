"""group commands: lag and resets checked against confluent-kafka's committed offsets and watermarks."""
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def filled_topic(cli, strait, partitions, per_partition):
    t = name("lagged")
    cli.ok("topic", "create", t, "-p", str(partitions))
    p = Producer({"bootstrap.servers": strait.bootstrap})
    for part in range(partitions):
        for i in range(per_partition):
            p.produce(t, value=f"{part}-{i}".encode(), partition=part)
    p.flush(10)
    return t


def consumer(strait, group, **extra):
    return Consumer({"bootstrap.servers": strait.bootstrap, "group.id": group, "enable.auto.commit": False,
                     "auto.offset.reset": "earliest", **extra})


def committed(strait, group, topic, partitions):
    c = consumer(strait, group)
    try:
        return {tp.partition: tp.offset for tp in
                c.committed([TopicPartition(topic, p) for p in partitions], timeout=10)}
    finally:
        c.close()


def test_describe_lag_equals_commits_and_watermarks(cli, strait):
    t, g = filled_topic(cli, strait, 2, 6), name("lag")
    c = consumer(strait, g)
    c.commit(offsets=[TopicPartition(t, 0, 4), TopicPartition(t, 1, 1)], asynchronous=False)
    c.close()
    [d] = cli.json("group", "describe", g)
    assert d["group"] == g and d["state"] == "Empty" and d["members"] == []
    rows = {(o["topic"], o["partition"]): o for o in d["offsets"]}
    w = consumer(strait, name("watermarks"))
    for p, want in committed(strait, g, t, [0, 1]).items():
        low, high = w.get_watermark_offsets(TopicPartition(t, p), timeout=10)
        row = rows[(t, p)]
        assert (row["committed_offset"], row["log_end_offset"], row["lag"]) == (want, high, high - want)
    w.close()
    assert [rows[(t, 0)]["lag"], rows[(t, 1)]["lag"]] == [2, 5]
    assert g in {x["group"] for x in cli.json("group", "list")}


def test_describe_shows_a_live_member_and_its_assignment(cli, strait):
    t, g = filled_topic(cli, strait, 2, 1), name("live")
    c = consumer(strait, g, **{"client.id": "cli-test-client"})
    c.subscribe([t])
    for _ in range(40):
        c.poll(0.25)
        if c.assignment():
            break
    try:
        [d] = cli.json("group", "describe", g)
        assert d["state"] == "Stable"
        [m] = d["members"]
        assert m["client_id"] == "cli-test-client"
        assert sorted((a["topic"], a["partition"]) for a in m["assignments"]) == [(t, 0), (t, 1)]
        r = cli.run("group", "reset-offsets", g, "--topic", t, "--to-earliest")
        assert r.returncode == 1, r.stderr
        assert "NON_EMPTY_GROUP" in r.stderr
    finally:
        c.close()


def test_reset_offsets_moves_the_commits(cli, strait):
    t, g = filled_topic(cli, strait, 2, 5), name("reset")
    c = consumer(strait, g)
    c.commit(offsets=[TopicPartition(t, 0, 5), TopicPartition(t, 1, 5)], asynchronous=False)
    c.close()
    dry = cli.json("group", "reset-offsets", g, "--topic", t, "--to-earliest", "--dry-run")
    assert dry["dry_run"] and [o["new_offset"] for o in dry["offsets"]] == [0, 0]
    assert committed(strait, g, t, [0, 1]) == {0: 5, 1: 5}, "a dry run commits nothing"
    cli.ok("group", "reset-offsets", g, "--topic", t, "--to-earliest")
    assert committed(strait, g, t, [0, 1]) == {0: 0, 1: 0}
    cli.ok("group", "reset-offsets", g, "--topic", f"{t}:1", "--to-offset", "3")
    assert committed(strait, g, t, [0, 1]) == {0: 0, 1: 3}
    out = cli.json("group", "reset-offsets", g, "--all-topics", "--to-offset", "99")
    assert [o["new_offset"] for o in out["offsets"]] == [5, 5], "clamped to the log end"
    cli.ok("group", "reset-offsets", g, "--topic", t, "--to-datetime", "2000-01-01T00:00:00Z")
    assert committed(strait, g, t, [0, 1]) == {0: 0, 1: 0}
    cli.ok("group", "reset-offsets", g, "--topic", t, "--to-latest")
    assert committed(strait, g, t, [0, 1]) == {0: 5, 1: 5}
    assert cli.json("group", "delete", g) == [{"group": g, "status": "deleted"}]
    assert committed(strait, g, t, [0, 1]) == {0: -1001, 1: -1001}, "no commits after delete"
    r = cli.run("group", "reset-offsets", g, "--topic", t)
    assert r.returncode == 2, "a reset needs a target"


def test_describe_a_kip848_consumer_group(cli, strait):
    t, g = filled_topic(cli, strait, 2, 3), name("kip848")
    c = consumer(strait, g, **{"group.protocol": "consumer", "client.id": "cli-848"})
    c.subscribe([t])
    for _ in range(40):
        c.poll(0.25)
        if len(c.assignment()) == 2:
            break
    try:
        c.commit(offsets=[TopicPartition(t, 0, 2)], asynchronous=False)
        [d] = cli.json("group", "describe", g)
        assert (d["state"], d["protocol_type"]) == ("Stable", "consumer")
        [m] = d["members"]
        assert m["client_id"] == "cli-848"
        assert sorted((a["topic"], a["partition"]) for a in m["assignments"]) == [(t, 0), (t, 1)]
        rows = {o["partition"]: o for o in d["offsets"]}
        assert (rows[0]["committed_offset"], rows[0]["lag"], rows[0]["member_id"]) == (2, 1, m["member_id"])
        r = cli.run("group", "reset-offsets", g, "--topic", t, "--to-earliest")
        assert r.returncode == 1 and "NON_EMPTY_GROUP" in r.stderr
    finally:
        c.close()
