"""Defect 11: Kafka topics counted against the Kinesis account shard limit, so after enough Kafka topics every
CreateStream failed; ListStreams was slow with thousands of topics. Now only Kinesis streams count (DescribeLimits
agrees), and ListStreams pages as AWS does: at most 100 names a call whatever Limit asks, HasMoreStreams and
NextToken until every name has come back exactly once."""
import time

from confluent_kafka.admin import AdminClient, NewTopic

from conftest import assert_serves

TOPICS = 520  # 520 one-partition topics: 520 shards, over the default limit of 500 (each costs ~20 ms)


def test_kafka_topics_do_not_exhaust_the_shard_limit(node):
    admin = AdminClient({"bootstrap.servers": node.bootstrap})
    names = [f"kafka-{i:04d}" for i in range(TOPICS)]
    for start in range(0, TOPICS, 100):
        futures = admin.create_topics([NewTopic(n, 1, 1) for n in names[start:start + 100]],
                                      operation_timeout=30)
        for f in futures.values():
            f.result(timeout=60)

    k = node.client("kinesis")
    assert k.describe_limits()["OpenShardCount"] == 0
    k.create_stream(StreamName="kinesis-stream", ShardCount=2)
    limits = k.describe_limits()
    assert (limits["ShardLimit"], limits["OpenShardCount"]) == (500, 2), limits
    expected = sorted(names + ["kinesis-stream"])

    # Limit above 100 still gets a page of 100, as AWS's model documents, and says more are there.
    started = time.monotonic()
    first = k.list_streams(Limit=1000)
    elapsed = time.monotonic() - started
    assert first["StreamNames"] == expected[:100]
    assert len(first["StreamSummaries"]) == 100 and first["HasMoreStreams"] and first["NextToken"]
    assert elapsed < 2.0, f"ListStreams took {elapsed:.3f} s with {TOPICS} topics"

    seen, kw = [], {"Limit": 100}
    while True:
        page = k.list_streams(**kw)
        seen += page["StreamNames"]
        if not page["HasMoreStreams"]:
            assert "NextToken" not in page
            break
        kw = {"NextToken": page["NextToken"]}
    assert seen == expected, f"{len(seen)} names, {len(set(seen))} distinct, {len(expected)} expected"
    # boto3's own paginator (what most code uses) gets the same.
    paged = [n for p in k.get_paginator("list_streams").paginate() for n in p["StreamNames"]]
    assert paged == expected

    assert_serves(node)
