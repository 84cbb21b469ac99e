"""Topic lifecycle across protocols (docs/cross-protocol.md, "Deletion and re-creation"): a topic deleted through
Kafka is a deleted stream at once, a stream deleted through Kinesis is a deleted topic, and a re-creation under the
same name, through either protocol, starts fresh (no inherited shard lineage, shard ids from shardId-000000000000)."""
import time

import pytest
from botocore.exceptions import ClientError
from confluent_kafka.admin import NewTopic

from conftest import create_via_kafka, unique, wait_active


def list_all_streams(kinesis):
    names, resp = [], kinesis.list_streams()
    names += resp["StreamNames"]
    while resp.get("HasMoreStreams"):
        resp = kinesis.list_streams(ExclusiveStartStreamName=names[-1])
        names += resp["StreamNames"]
    return names


def shard_ids(kinesis, name):
    return [s["ShardId"] for s in kinesis.describe_stream(StreamName=name)["StreamDescription"]["Shards"]]


def kafka_topics(strait):
    return set(strait.admin().list_topics(timeout=10).topics)


def kafka_create(strait, name, partitions):
    admin = strait.admin()
    futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
    futures[name].result(timeout=30)


def kafka_delete(strait, name):
    admin = strait.admin()
    admin.delete_topics([name])[name].result(timeout=30)


def test_kafka_delete_deletes_the_stream_and_a_kafka_recreation_is_fresh(strait, kinesis):
    name = create_via_kafka(strait, kinesis, 2)
    # A Kinesis resharding gives the stream a lineage of its own (shards 2 and 3 after splitting shard 0).
    kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="1000")
    wait_active(kinesis, name)
    kinesis.add_tags_to_stream(StreamName=name, Tags={"team": "a"})
    assert len(shard_ids(kinesis, name)) == 4
    assert name in list_all_streams(kinesis)

    kafka_delete(strait, name)
    assert name not in list_all_streams(kinesis)
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream(StreamName=name)
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"

    kafka_create(strait, name, 3)
    wait_active(kinesis, name)
    assert shard_ids(kinesis, name) == [f"shardId-00000000000{i}" for i in range(3)]
    assert kinesis.list_tags_for_stream(StreamName=name)["Tags"] == []


def test_kinesis_delete_deletes_the_topic_and_a_kinesis_recreation_is_fresh(strait, kinesis):
    name = unique("kin")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    wait_active(kinesis, name)
    kinesis.merge_shards(StreamName=name, ShardToMerge="shardId-000000000000",
                         AdjacentShardToMerge="shardId-000000000001")
    wait_active(kinesis, name)
    assert len(shard_ids(kinesis, name)) == 3
    assert name in kafka_topics(strait)

    kinesis.delete_stream(StreamName=name)
    assert name not in kafka_topics(strait)
    # DELETING for the status delay, then gone (a re-creation is refused until then, as on AWS).
    deadline = time.time() + 30
    while True:
        try:
            kinesis.create_stream(StreamName=name, ShardCount=3)
            break
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ResourceInUseException"
            assert time.time() < deadline, "the deleted stream never went away"
            time.sleep(0.1)
    wait_active(kinesis, name)
    assert shard_ids(kinesis, name) == [f"shardId-00000000000{i}" for i in range(3)]
    assert name in kafka_topics(strait)
    kinesis.delete_stream(StreamName=name)
