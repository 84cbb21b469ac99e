"""KCL lease checkpoints are Kafka consumer-group offsets (docs/migration.md).

These tests write lease items exactly as KCL does (legacy `Expected`/`AttributeUpdates` syntax, through boto3's
DynamoDB client against Strait) and read the group through confluent-kafka, and the other way round. The real KCL
applications migrating in both directions are in compat-tests/cross/kcl-java.
"""
import hashlib
import time

import boto3
from botocore.config import Config
from confluent_kafka import TopicPartition

from conftest import ACCESS_KEY, REGION, SECRET_KEY, create_via_kinesis, unique


def dynamodb(strait):
    return boto3.client(
        "dynamodb", endpoint_url=strait.endpoint, region_name=REGION,
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}))


def lease_table(ddb, app):
    ddb.create_table(
        TableName=app, BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}])
    deadline = time.time() + 10
    while ddb.describe_table(TableName=app)["Table"]["TableStatus"] != "ACTIVE":
        assert time.time() < deadline
        time.sleep(0.05)


def create_lease(ddb, app, shard, checkpoint="TRIM_HORIZON", extra=None):
    item = {"leaseKey": {"S": shard}, "leaseCounter": {"N": "0"}, "leaseOwner": {"S": "worker-1"},
            "checkpoint": {"S": checkpoint}, "checkpointSubSequenceNumber": {"N": "0"},
            "ownerSwitchesSinceCheckpoint": {"N": "0"}, **(extra or {})}
    ddb.put_item(TableName=app, Item=item, Expected={"leaseKey": {"Exists": False}})


def lease(ddb, app, key):
    return ddb.get_item(TableName=app, Key={"leaseKey": {"S": key}}, ConsistentRead=True)["Item"]


def renew(ddb, app, key):
    """A lease renewal as KCL sends it: counter expectation, counter + 1, checkpoint untouched."""
    counter = lease(ddb, app, key)["leaseCounter"]["N"]
    ddb.update_item(TableName=app, Key={"leaseKey": {"S": key}},
                    Expected={"leaseCounter": {"Value": {"N": counter}, "ComparisonOperator": "EQ"}},
                    AttributeUpdates={"leaseCounter": {"Action": "ADD", "Value": {"N": "1"}}})


def checkpoint(ddb, app, key, seq, sub=0):
    """A checkpoint as KCL's DynamoDBLeaseRefresher.updateLease sends it."""
    counter = lease(ddb, app, key)["leaseCounter"]["N"]
    ddb.update_item(TableName=app, Key={"leaseKey": {"S": key}},
                    Expected={"leaseCounter": {"Value": {"N": counter}, "ComparisonOperator": "EQ"}},
                    AttributeUpdates={
                        "leaseCounter": {"Action": "ADD", "Value": {"N": "1"}},
                        "checkpoint": {"Action": "PUT", "Value": {"S": seq}},
                        "checkpointSubSequenceNumber": {"Action": "PUT", "Value": {"N": str(sub)}},
                        "ownerSwitchesSinceCheckpoint": {"Action": "PUT", "Value": {"N": "0"}},
                        "pendingCheckpoint": {"Action": "DELETE"}})


def put(kinesis, stream, n, key="k"):
    return [kinesis.put_record(StreamName=stream, PartitionKey=key, Data=f"r{i}".encode(),
                               ExplicitHashKey="0")["SequenceNumber"] for i in range(n)]


def committed(strait, group, stream, partition=0):
    c = strait.consumer(group)
    try:
        [tp] = c.committed([TopicPartition(stream, partition)], timeout=10)
        return tp.offset
    finally:
        c.close()


def commit(strait, group, stream, offset, partition=0):
    c = strait.consumer(group)
    try:
        c.commit(offsets=[TopicPartition(stream, partition, offset)], asynchronous=False)
    finally:
        c.close()


def register_consumer(kinesis, stream, app):
    arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.register_stream_consumer(StreamARN=arn, ConsumerName=app)


def test_kcl_checkpoint_is_the_groups_committed_offset(strait, kinesis):
    stream = create_via_kinesis(strait, kinesis, 1)
    app = unique("app")
    register_consumer(kinesis, stream, app)  # KCL's default (enhanced fan-out) registers a consumer named so
    seqs = put(kinesis, stream, 10)
    ddb = dynamodb(strait)
    lease_table(ddb, app)
    create_lease(ddb, app, "shardId-000000000000")
    # TRIM_HORIZON means nothing processed: no offset yet.
    assert committed(strait, app, stream) < 0

    checkpoint(ddb, app, "shardId-000000000000", seqs[4])
    assert committed(strait, app, stream) == 5  # the record after the checkpointed one

    renew(ddb, app, "shardId-000000000000")
    assert committed(strait, app, stream) == 5

    checkpoint(ddb, app, "shardId-000000000000", seqs[9])
    assert committed(strait, app, stream) == 10

    admin = strait.admin()  # kept referenced until the result arrives
    listing = admin.list_consumer_groups(request_timeout=10).result()
    groups = {g.group_id for g in listing.valid}
    assert app in groups, listing.errors
    # The lease is shown as stored: the group's offset came from it.
    assert lease(ddb, app, "shardId-000000000000")["checkpoint"]["S"] == seqs[9]


def test_kafka_commit_is_the_lease_checkpoint_kcl_resumes_from(strait, kinesis):
    stream = create_via_kinesis(strait, kinesis, 1)
    app = unique("app")
    seqs = put(kinesis, stream, 10)
    commit(strait, app, stream, 7)  # a Kafka group processed records 0..6
    ddb = dynamodb(strait)
    lease_table(ddb, app)
    create_lease(ddb, app, "shardId-000000000000")

    # KCL reads the lease (Scan when taking leases, GetItem when initialising) and sees the group's position.
    scanned = ddb.scan(TableName=app, ConsistentRead=True)["Items"]
    assert [i["checkpoint"]["S"] for i in scanned] == [seqs[6]]
    assert lease(ddb, app, "shardId-000000000000")["checkpoint"]["S"] == seqs[6]
    # Renewals rewrite the stale stored checkpoint; they must not undo the Kafka position.
    renew(ddb, app, "shardId-000000000000")
    assert committed(strait, app, stream) == 7
    assert lease(ddb, app, "shardId-000000000000")["checkpoint"]["S"] == seqs[6]

    # KCL then checkpoints on: from here the lease owns the position again.
    checkpoint(ddb, app, "shardId-000000000000", seqs[8])
    assert committed(strait, app, stream) == 9
    assert lease(ddb, app, "shardId-000000000000")["checkpoint"]["S"] == seqs[8]

    # And a later Kafka commit (a migration back) wins again.
    commit(strait, app, stream, 10)
    assert lease(ddb, app, "shardId-000000000000")["checkpoint"]["S"] == seqs[9]


def test_shard_end_is_the_sealed_end_offset(strait, kinesis):
    stream = create_via_kinesis(strait, kinesis, 1)
    app = unique("app")
    register_consumer(kinesis, stream, app)
    put(kinesis, stream, 6)
    shard = kinesis.list_shards(StreamName=stream)["Shards"][0]
    start, end = int(shard["HashKeyRange"]["StartingHashKey"]), int(shard["HashKeyRange"]["EndingHashKey"])
    kinesis.split_shard(StreamName=stream, ShardToSplit=shard["ShardId"], NewStartingHashKey=str((start + end) // 2))
    ddb = dynamodb(strait)
    lease_table(ddb, app)
    create_lease(ddb, app, "shardId-000000000000")
    checkpoint(ddb, app, "shardId-000000000000", "SHARD_END")
    assert committed(strait, app, stream) == 6


def test_multi_stream_leases_name_their_stream(strait, kinesis):
    stream = create_via_kinesis(strait, kinesis, 2)
    app = unique("app")
    seqs = put(kinesis, stream, 3)
    ddb = dynamodb(strait)
    lease_table(ddb, app)
    key = f"000000000000:{stream}:1:shardId-000000000000"
    create_lease(ddb, app, key, extra={"streamName": {"S": f"000000000000:{stream}:1"},
                                       "shardId": {"S": "shardId-000000000000"}})
    checkpoint(ddb, app, key, seqs[1])
    assert committed(strait, app, stream) == 2


def kpl_aggregate(user_records):
    """A KPL aggregated record (magic, protobuf AggregatedRecord, MD5), encoded by hand as KPL lays it out."""
    def field(num, payload):
        return bytes([(num << 3) | 2, len(payload)]) + payload
    proto = field(1, b"agg-key")
    for data in user_records:
        proto += field(3, bytes([0x08, 0x00]) + field(3, data))  # Record{partition_key_index=0, data}
    return b"\xf3\x89\x9a\xc2" + proto + hashlib.md5(proto).digest()


def test_sub_sequence_checkpoints_inside_an_aggregate(strait, kinesis):
    """A checkpoint in the middle of a KPL aggregate commits the aggregate's own offset (a Kafka consumer must
    re-read it); at its last user record, the next offset. And back: a Kafka commit past an aggregate shows KCL
    the aggregate's last sub-sequence number, so KCL does not re-deliver its user records."""
    stream = create_via_kinesis(strait, kinesis, 1)
    app = unique("app")
    register_consumer(kinesis, stream, app)
    seqs = put(kinesis, stream, 2)
    agg = kinesis.put_record(StreamName=stream, PartitionKey="agg-key", ExplicitHashKey="0",
                             Data=kpl_aggregate([b"u0", b"u1", b"u2"]))["SequenceNumber"]
    ddb = dynamodb(strait)
    lease_table(ddb, app)
    create_lease(ddb, app, "shardId-000000000000")
    checkpoint(ddb, app, "shardId-000000000000", agg, sub=1)
    assert committed(strait, app, stream) == 2  # user record u2 of the aggregate at offset 2 is not done
    checkpoint(ddb, app, "shardId-000000000000", agg, sub=2)
    assert committed(strait, app, stream) == 3

    app2 = unique("app")
    commit(strait, app2, stream, 3)
    lease_table(ddb, app2)
    create_lease(ddb, app2, "shardId-000000000000")
    shown = lease(ddb, app2, "shardId-000000000000")
    assert (shown["checkpoint"]["S"], shown["checkpointSubSequenceNumber"]["N"]) == (agg, "2")
    commit(strait, app2, stream, 2)
    shown = lease(ddb, app2, "shardId-000000000000")
    assert (shown["checkpoint"]["S"], shown["checkpointSubSequenceNumber"]["N"]) == (seqs[1], "0")
