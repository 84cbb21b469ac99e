"""/metrics of a server busy with Kafka and Kinesis clients: promtool-clean, and its partition and lag series equal
what the clients see."""
import json
import os
import re
import subprocess
import time

import boto3
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import samples, scrape

TOPIC = "metrics-orders"
GROUP = "metrics-billing"
STREAM = "metrics-clicks"
PRODUCED = 30
CONSUMED = 17


def create_topic(strait, name, partitions):
    admin = AdminClient({"bootstrap.servers": strait.bootstrap})
    for f in admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)]).values():
        f.result(10)


@pytest.fixture(scope="module")
def busy(strait, kinesis):
    """Kafka: 30 keyed records into 3 partitions, a group that consumed and committed 17 of them. Kinesis: 10
    records into a 2-shard stream, every one read back with GetRecords."""
    create_topic(strait, TOPIC, 3)
    p = Producer({"bootstrap.servers": strait.bootstrap, "acks": "all", "linger.ms": 0})
    for i in range(PRODUCED):
        p.produce(TOPIC, key=f"k{i % 7}", value=f"order-{i}".encode())
        p.flush(10)  # one batch per record, so request counts are real
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": strait.bootstrap, "group.id": GROUP, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest"})
    c.subscribe([TOPIC])
    got = 0
    deadline = time.time() + 30
    while got < CONSUMED and time.time() < deadline:
        m = c.poll(1)
        if m is None or m.error():
            continue
        got += 1
    # The consumed positions of every partition it read from, as a consumer's commit() sends them.
    c.commit(asynchronous=False)
    assert got == CONSUMED
    # Then a commit a few records short of each partition's end, so every partition has lag to report.
    highs = {i: c.get_watermark_offsets(TopicPartition(TOPIC, i), timeout=10)[1] for i in range(3)}
    c.commit(offsets=[TopicPartition(TOPIC, i, max(0, highs[i] - (i + 2))) for i in range(3)], asynchronous=False)
    # The group's view, as kafka-consumer-groups computes lag: committed offset and high watermark per partition.
    parts = [TopicPartition(TOPIC, i) for i in range(3)]
    committed = {tp.partition: tp.offset for tp in c.committed(parts, timeout=10)}
    c.close()

    kinesis.create_stream(StreamName=STREAM, ShardCount=2)
    kinesis.get_waiter("stream_exists").wait(StreamName=STREAM, WaiterConfig={"Delay": 0.2})
    for i in range(10):
        kinesis.put_record(StreamName=STREAM, PartitionKey=f"user-{i}", Data=f"click-{i}".encode())
    read = 0
    for shard in kinesis.list_shards(StreamName=STREAM)["Shards"]:
        it = kinesis.get_shard_iterator(StreamName=STREAM, ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        read += len(kinesis.get_records(ShardIterator=it, Limit=100)["Records"])
    assert read == 10
    # A KCL-style CloudWatch datum: the PutMetricData mirror's series must pass the same checks.
    cw = boto3.client("cloudwatch", endpoint_url=strait.endpoint, region_name="us-east-1",
                      aws_access_key_id="dev", aws_secret_access_key="dev")
    cw.put_metric_data(Namespace="metrics-app", MetricData=[
        {"MetricName": "RecordsProcessed", "Value": 4.0, "Unit": "Count",
         "Dimensions": [{"Name": "ShardId", "Value": "shardId-000000000000"}]}])
    return {"committed": committed, "highs": highs}


def test_a_busy_scrape_passes_promtool_without_warnings(strait, busy):
    text, _ = scrape(strait)
    r = subprocess.run([os.environ["PROMTOOL"], "check", "metrics"], input=text.encode(), capture_output=True,
                       timeout=60)
    out = (r.stdout + r.stderr).decode()
    assert r.returncode == 0 and out.strip() == "", f"promtool check metrics (rc {r.returncode}):\n{out}"
    # It is a busy scrape: the series under test are in it.
    for name in ["strait_partition_in_records_total", "strait_consumer_group_lag",
                 "strait_kafka_request_seconds_bucket", "strait_aws_request_seconds_bucket"]:
        assert re.search(rf"^{name}{{", text, re.M), f"{name} missing from the scrape"


def test_promtool_is_not_a_rubber_stamp(strait, busy):
    """The same check fails a scrape with a counter lacking its _total suffix and a series without # HELP."""
    bad = "# TYPE strait_x counter\nstrait_x 1\n"
    r = subprocess.run([os.environ["PROMTOOL"], "check", "metrics"], input=bad.encode(), capture_output=True,
                       timeout=60)
    assert r.returncode != 0 or (r.stdout + r.stderr).strip(), "promtool accepted a broken scrape"


def test_every_family_has_help_and_type(strait, busy):
    text, _ = scrape(strait)
    helped = set(re.findall(r"^# HELP (\S+) \S", text, re.M))
    typed = set(re.findall(r"^# TYPE (\S+) \S", text, re.M))
    families = set()
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            base = re.sub(r"_(bucket|sum|count)$", "", name)
            families.add(base if base in typed else name)
    assert families - helped == set(), "families without # HELP"
    assert families - typed == set(), "families without # TYPE"


def test_kafka_requests_are_counted_once(strait, busy):
    text, fams = scrape(strait)
    # One family per meaning: the per-API counter has no unlabelled sample beside the labelled ones to double a
    # sum(); frames read are their own counter.
    assert not re.search(r"^strait_kafka_requests_total ", text, re.M)
    by_api = samples(fams, "strait_kafka_requests", "strait_kafka_requests_total")
    frames = samples(fams, "strait_kafka_frames", "strait_kafka_frames_total")
    assert len(frames) == 1 and sum(by_api) <= frames[0]
    produces = samples(fams, "strait_kafka_requests", "strait_kafka_requests_total", api="Produce")
    assert produces and produces[0] >= PRODUCED
    # The latency histogram counted the same Produce requests, in buckets.
    count = samples(fams, "strait_kafka_request_seconds", "strait_kafka_request_seconds_count", api="Produce")
    assert count == produces
    inf = samples(fams, "strait_kafka_request_seconds", "strait_kafka_request_seconds_bucket", api="Produce",
                  le="+Inf")
    assert inf == produces
    puts = samples(fams, "strait_aws_request_seconds", "strait_aws_request_seconds_count", operation="PutRecord")
    assert puts == [10.0]
    # The fsync durations are a histogram too (cumulative buckets, sum and count), not a windowed summary.
    assert fams["strait_log_fsync_seconds"].type == "histogram"


def test_partition_series_equal_the_clients_view(strait, busy):
    _, fams = scrape(strait)
    ins = samples(fams, "strait_partition_in_records", "strait_partition_in_records_total", topic=TOPIC)
    assert sum(ins) == PRODUCED
    for part, high in busy["highs"].items():
        labels = {"topic": TOPIC, "partition": str(part)}
        assert samples(fams, "strait_partition_high_watermark", **labels) == [high]
        assert samples(fams, "strait_partition_log_end_offset", **labels) == [high]
        assert samples(fams, "strait_partition_log_start_offset", **labels) == [0]
        assert samples(fams, "strait_partition_size_bytes", **labels)[0] > 0
    # The consumer fetched at least what it consumed (a fetch may return more than the 17 polled).
    outs = samples(fams, "strait_partition_out_records", "strait_partition_out_records_total", topic=TOPIC)
    assert sum(outs) >= CONSUMED
    # Kinesis: 10 records in through PutRecord, 10 out through GetRecords, across the two shards.
    k_in = samples(fams, "strait_partition_in_records", "strait_partition_in_records_total", topic=STREAM)
    k_out = samples(fams, "strait_partition_out_records", "strait_partition_out_records_total", topic=STREAM)
    assert (len(k_in), sum(k_in), sum(k_out)) == (2, 10, 10)
    k_bytes = samples(fams, "strait_partition_out_bytes", "strait_partition_out_bytes_total", topic=STREAM)
    assert sum(k_bytes) == sum(len(f"click-{i}") + len(f"user-{i}") for i in range(10))


def test_group_lag_equals_the_consumers_own_view(strait, busy):
    _, fams = scrape(strait)
    total = 0
    for part, high in busy["highs"].items():
        committed = busy["committed"][part]
        labels = {"group": GROUP, "topic": TOPIC, "partition": str(part)}
        if committed < 0:  # nothing committed on this partition: no series, as kafka-consumer-groups shows "-"
            assert samples(fams, "strait_consumer_group_lag", **labels) == []
            continue
        assert samples(fams, "strait_consumer_group_committed_offset", **labels) == [committed]
        assert samples(fams, "strait_consumer_group_lag", **labels) == [high - committed]
        total += high - committed
    assert total > 0, (busy, fams.get("strait_consumer_group_lag"))


def test_a_deleted_topics_series_go_with_it(strait, busy):
    create_topic(strait, "metrics-doomed", 2)
    text, _ = scrape(strait)
    assert 'topic="metrics-doomed"' in text
    admin = AdminClient({"bootstrap.servers": strait.bootstrap})
    for f in admin.delete_topics(["metrics-doomed"]).values():
        f.result(10)
    text, _ = scrape(strait)
    assert 'topic="metrics-doomed"' not in text


DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../deploy/grafana/strait.json")


def dashboard_exprs():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    return [t["expr"] for p in dash["panels"] for t in p["targets"]]


def test_the_grafana_dashboard_queries_parse_and_use_real_series(strait, busy, tmp_path):
    exprs = dashboard_exprs()
    assert len(exprs) >= 15
    # promtool parses each query as a recording rule (Grafana's variables replaced by what they expand to).
    rules = ["groups:", "  - name: strait-dashboard", "    rules:"]
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$instance", ".*")
        rules += [f"      - record: strait_dashboard:query{i}", f"        expr: {json.dumps(e)}"]
    path = tmp_path / "dashboard-rules.yml"
    path.write_text("\n".join(rules) + "\n")
    r = subprocess.run([os.environ["PROMTOOL"], "check", "rules", str(path)], capture_output=True, timeout=60)
    assert r.returncode == 0, (r.stdout + r.stderr).decode()
    # Every series a query names is one the catalogue documents, and each label it groups by is one of its labels.
    with open(os.path.join(os.path.dirname(DASHBOARD), "../../docs/metrics.md")) as f:
        rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `(strait_\w+)` \|[^|]*\|[^|]*\| ([^|]*) \|",
                                                            f.read(), re.M)}
    text, _ = scrape(strait)
    for e in exprs:
        for name in set(re.findall(r"strait_\w+", e)):
            base = re.sub(r"_bucket$", "", name)
            assert base in rows, f"{name} in the dashboard is not in docs/metrics.md"
            for group in re.findall(r"by \(([^)]*)\)", e):
                for label in (x.strip() for x in group.split(",")):
                    if label != "le":
                        assert f"`{label}`" in rows[base], f"{name} has no label {label}"
        # On a single node the cluster and tiering series are absent; everything else is in a busy scrape.
        if not re.search(r"strait_(raft|tier)_", e):
            for name in set(re.findall(r"strait_\w+", e)):
                assert re.search(rf"^{name}[{{ ]", text, re.M), f"{name} (dashboard) is not in a busy scrape"
