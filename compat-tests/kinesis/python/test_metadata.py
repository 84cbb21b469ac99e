"""boto3: tags (stream-name and ARN styles), encryption and enhanced-monitoring state, resource policies and the
enhanced fan-out consumer registry."""
import json
import re
import time

import pytest
from botocore.exceptions import ClientError

from conftest import create_active, unique, wait_active

ALL_METRICS = {"IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
               "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
               "IteratorAgeMilliseconds"}


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def arn_of(kinesis, name):
    return kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]


def test_tags_by_stream_name(kinesis):
    name = unique()
    kinesis.create_stream(StreamName=name, ShardCount=1, Tags={"team": "data"})
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    kinesis.add_tags_to_stream(StreamName=name, Tags={"env": "test", "cost": "42", "team": "platform"})
    resp = kinesis.list_tags_for_stream(StreamName=name)
    assert resp["HasMoreTags"] is False
    assert sorted((t["Key"], t["Value"]) for t in resp["Tags"]) == [
        ("cost", "42"), ("env", "test"), ("team", "platform")]

    # Pagination: Limit plus ExclusiveStartTagKey (tags are listed in key order).
    first = kinesis.list_tags_for_stream(StreamName=name, Limit=2)
    assert len(first["Tags"]) == 2 and first["HasMoreTags"] is True
    rest = kinesis.list_tags_for_stream(StreamName=name, ExclusiveStartTagKey=first["Tags"][-1]["Key"])
    assert {t["Key"] for t in first["Tags"]} | {t["Key"] for t in rest["Tags"]} == {"cost", "env", "team"}
    assert rest["HasMoreTags"] is False

    kinesis.remove_tags_from_stream(StreamName=name, TagKeys=["cost", "not-there"])
    assert {t["Key"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]} == {"env", "team"}

    # AWS allows at most 50 tags per stream (documented), added at most 10 per call (documented for Tags). The
    # error type for the 51st is not documented (kinesalite recorded InvalidArgumentException when the limit was
    # 10; the API lists LimitExceededException too), so either is accepted.
    for start in range(0, 48, 10):
        kinesis.add_tags_to_stream(StreamName=name, Tags={f"k{i}": "v" for i in range(start, min(start + 10, 48))})
    assert len(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == 50
    with pytest.raises(ClientError) as e:
        kinesis.add_tags_to_stream(StreamName=name, Tags={"one-too-many": "v"})
    assert error(e)[0] in ("InvalidArgumentException", "LimitExceededException"), error(e)
    assert len(kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == 50, "a refused call adds nothing"


def test_tags_by_resource_arn(kinesis):
    name = create_active(kinesis)
    arn = arn_of(kinesis, name)
    kinesis.tag_resource(ResourceARN=arn, Tags={"a": "1", "b": "2"})
    tags = kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("a", "1"), ("b", "2")]
    # Both styles see the same tags.
    assert sorted(t["Key"] for t in kinesis.list_tags_for_stream(StreamName=name)["Tags"]) == ["a", "b"]
    kinesis.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert [t["Key"] for t in kinesis.list_tags_for_resource(ResourceARN=arn)["Tags"]] == ["b"]

    missing = re.sub(r"stream/.*$", "stream/" + unique("gone"), arn)
    with pytest.raises(ClientError) as e:
        kinesis.list_tags_for_resource(ResourceARN=missing)
    assert error(e)[0] == "ResourceNotFoundException"


def test_encryption_state(kinesis):
    name = create_active(kinesis)
    kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert d["EncryptionType"] == "KMS" and d["KeyId"] == "alias/aws/kinesis"
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["EncryptionType"] == "KMS" and s["KeyId"] == "alias/aws/kinesis"
    put = kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"secret")
    assert put["EncryptionType"] == "KMS"
    it = kinesis.get_shard_iterator(StreamName=name, ShardId=put["ShardId"],
                                    ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    rec = kinesis.get_records(ShardIterator=it)["Records"][0]
    assert rec["Data"] == b"secret" and rec["EncryptionType"] == "KMS"

    kinesis.stop_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId="alias/aws/kinesis")
    wait_active(kinesis, name)
    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert d["EncryptionType"] == "NONE" and "KeyId" not in d
    assert kinesis.put_record(StreamName=name, PartitionKey="p", Data=b"x").get("EncryptionType", "NONE") == "NONE"


def test_enhanced_monitoring_state(kinesis):
    name = create_active(kinesis)
    resp = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes", "OutgoingRecords"])
    assert resp["StreamName"] == name
    assert resp.get("CurrentShardLevelMetrics", []) == []
    assert set(resp["DesiredShardLevelMetrics"]) == {"IncomingBytes", "OutgoingRecords"}
    wait_active(kinesis, name)
    em = kinesis.describe_stream(StreamName=name)["StreamDescription"]["EnhancedMonitoring"]
    assert set(em[0]["ShardLevelMetrics"]) == {"IncomingBytes", "OutgoingRecords"}

    resp = kinesis.enable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    wait_active(kinesis, name)
    assert set(resp["DesiredShardLevelMetrics"]) == ALL_METRICS
    resp = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["IncomingBytes"])
    assert set(resp["CurrentShardLevelMetrics"]) == ALL_METRICS
    assert set(resp["DesiredShardLevelMetrics"]) == ALL_METRICS - {"IncomingBytes"}
    wait_active(kinesis, name)
    resp = kinesis.disable_enhanced_monitoring(StreamName=name, ShardLevelMetrics=["ALL"])
    assert resp.get("DesiredShardLevelMetrics", []) == []
    wait_active(kinesis, name)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]


def test_resource_policy_is_stored_and_returned(kinesis):
    name = create_active(kinesis)
    arn = arn_of(kinesis, name)
    policy = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "read", "Effect": "Allow",
                       "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                       "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator"], "Resource": arn}],
    }
    kinesis.put_resource_policy(ResourceARN=arn, Policy=json.dumps(policy))
    assert json.loads(kinesis.get_resource_policy(ResourceARN=arn)["Policy"]) == policy
    kinesis.delete_resource_policy(ResourceARN=arn)
    try:
        after = kinesis.get_resource_policy(ResourceARN=arn)["Policy"]
        assert json.loads(after) == {}, after
    except ClientError as e:
        assert e.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as e:
        kinesis.put_resource_policy(ResourceARN=arn, Policy="{not json")
    assert error(e)[0] in ("InvalidArgumentException", "ValidationException"), error(e)


def wait_consumer(kinesis, arn, status="ACTIVE", timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        c = kinesis.describe_stream_consumer(ConsumerARN=arn)["ConsumerDescription"]
        if c["ConsumerStatus"] == status:
            return c
        time.sleep(0.1)
    raise AssertionError(f"consumer {arn} not {status} after {timeout} s")


def test_consumer_registry(kinesis):
    name = create_active(kinesis)
    stream_arn = arn_of(kinesis, name)
    c = kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app-1")["Consumer"]
    assert c["ConsumerName"] == "app-1"
    assert c["ConsumerStatus"] in ("CREATING", "ACTIVE")
    assert re.fullmatch(re.escape(stream_arn) + r"/consumer/app-1:\d+", c["ConsumerARN"]), c["ConsumerARN"]
    d = wait_consumer(kinesis, c["ConsumerARN"])
    assert d["StreamARN"] == stream_arn and d["ConsumerName"] == "app-1"
    assert d["ConsumerCreationTimestamp"] == c["ConsumerCreationTimestamp"]
    by_name = kinesis.describe_stream_consumer(StreamARN=stream_arn, ConsumerName="app-1")["ConsumerDescription"]
    assert by_name["ConsumerARN"] == c["ConsumerARN"]

    with pytest.raises(ClientError) as e:
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName="app-1")
    assert error(e)[0] == "ResourceInUseException"

    for i in range(2, 5):
        kinesis.register_stream_consumer(StreamARN=stream_arn, ConsumerName=f"app-{i}")
    names, resp = [], kinesis.list_stream_consumers(StreamARN=stream_arn, MaxResults=3)
    names += [x["ConsumerName"] for x in resp["Consumers"]]
    assert len(resp["Consumers"]) == 3 and resp.get("NextToken")
    resp = kinesis.list_stream_consumers(StreamARN=stream_arn, NextToken=resp["NextToken"], MaxResults=3)
    names += [x["ConsumerName"] for x in resp["Consumers"]]
    assert sorted(names) == ["app-1", "app-2", "app-3", "app-4"]
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["ConsumerCount"] == 4

    # Deregister by ARN and by stream + name; then it is gone.
    kinesis.deregister_stream_consumer(ConsumerARN=c["ConsumerARN"])
    kinesis.deregister_stream_consumer(StreamARN=stream_arn, ConsumerName="app-2")
    deadline = time.time() + 60
    while True:
        try:
            st = kinesis.describe_stream_consumer(ConsumerARN=c["ConsumerARN"])["ConsumerDescription"]
            assert st["ConsumerStatus"] == "DELETING"
        except ClientError as e:
            assert e.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        assert time.time() < deadline
        time.sleep(0.1)
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream_consumer(StreamARN=stream_arn, ConsumerName="never-registered")
    assert error(e)[0] == "ResourceNotFoundException"

    # A stream with consumers is deleted only with EnforceConsumerDeletion.
    deadline = time.time() + 60
    while len(kinesis.list_stream_consumers(StreamARN=stream_arn)["Consumers"]) != 2:
        assert time.time() < deadline
        time.sleep(0.1)
    with pytest.raises(ClientError) as e:
        kinesis.delete_stream(StreamName=name)
    assert error(e)[0] == "ResourceInUseException"
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def test_consumer_name_validation(raw):
    name = create_active(raw)
    with pytest.raises(ClientError) as e:
        raw.register_stream_consumer(StreamARN=arn_of(raw, name), ConsumerName="bad name")
    assert error(e) == ("ValidationException",
                        "1 validation error detected: Value 'bad name' at 'consumerName' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
