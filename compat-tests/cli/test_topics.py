"""topic and cluster commands, checked with confluent-kafka's AdminClient."""
import uuid

from confluent_kafka.admin import ConfigResource, ResourceType


def name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def configs(admin, topic):
    res = ConfigResource(ResourceType.TOPIC, topic)
    return {k: v.value for k, v in admin.describe_configs([res])[res].result(timeout=10).items()}


def test_topic_create_is_seen_by_the_admin_client(cli, admin):
    t = name("created")
    out = cli.json("topic", "create", t, "-p", "3", "-c", "retention.ms=123456")
    assert out == [{"topic": t, "partitions": 3, "replication_factor": 1}]
    md = admin.list_topics(timeout=10)
    assert len(md.topics[t].partitions) == 3
    assert configs(admin, t)["retention.ms"] == "123456"
    assert t in {x["name"] for x in cli.json("topic", "list")}
    [d] = cli.json("topic", "describe", t)
    assert [p["partition"] for p in d["partitions"]] == [0, 1, 2]
    assert all(p["high_watermark"] == 0 and p["log_start_offset"] == 0 for p in d["partitions"])
    retention = [c for c in d["configs"] if c["name"] == "retention.ms"]
    assert retention == [{"name": "retention.ms", "value": "123456", "source": "DYNAMIC_TOPIC_CONFIG",
                          "read_only": False, "sensitive": False}]
    table = cli.ok("topic", "describe", t).stdout
    assert "retention.ms  123456  DYNAMIC_TOPIC_CONFIG" in table
    assert "HIGH-WATERMARK" in table


def test_topic_alter_config_then_delete(cli, admin):
    t = name("altered")
    cli.ok("topic", "create", t, "-p", "1", "-c", "retention.ms=1000000")
    cli.ok("topic", "alter-config", t, "--set", "max.message.bytes=65536", "--delete", "retention.ms")
    c = configs(admin, t)
    assert c["max.message.bytes"] == "65536"
    assert c["retention.ms"] != "1000000", "deleted back to the default"
    assert cli.json("topic", "delete", t) == [{"topic": t}]
    assert t not in admin.list_topics(timeout=10).topics


def test_topic_create_twice_reports_the_broker_error(cli):
    t = name("twice")
    cli.ok("topic", "create", t)
    r = cli.run("topic", "create", t)
    assert r.returncode == 1
    assert "TOPIC_ALREADY_EXISTS" in r.stderr
    assert "TOPIC_ALREADY_EXISTS" in r.stdout, "the per-topic table shows it too"


def test_cluster_info_matches_the_admin_client(cli, admin, strait):
    t = name("counted")
    cli.ok("topic", "create", t)
    info = cli.json("cluster", "info")
    md = admin.list_topics(timeout=10)
    assert info["cluster_id"] == md.cluster_id
    assert info["controller"] == md.controller_id
    assert [(b["node_id"], f'{b["host"]}:{b["port"]}') for b in info["brokers"]] == \
        [(b.id, f"{b.host}:{b.port}") for b in md.brokers.values()]
    assert info["brokers"][0]["port"] == strait.kafka_port
    assert info["topics"] == len([x for x in md.topics if not x.startswith("__")])
    assert "CLUSTER-ID" in cli.ok("cluster", "info").stdout
