"""boto3: stream management (CreateStream .. DeleteStream, pagination, retention, modes, limits) and AWS's
validation and not-found errors for it."""
import re
from datetime import datetime, timezone

import pytest
from botocore.exceptions import ClientError

from conftest import all_shards, create_active, unique, wait_active

ARN = re.compile(r"^arn:aws:kinesis:[a-z0-9-]+:\d{12}:stream/(?P<name>[a-zA-Z0-9_.-]+)$")
MAX_HASH = 2**128 - 1


def error(excinfo):
    err = excinfo.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_describe_delete_lifecycle(kinesis):
    name = unique()
    before = datetime.now(timezone.utc)
    kinesis.create_stream(StreamName=name, ShardCount=3)
    # CREATING is observable right after the call; the waiter then sees ACTIVE.
    first = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert first["StreamStatus"] in ("CREATING", "ACTIVE")
    kinesis.get_waiter("stream_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})

    d = kinesis.describe_stream(StreamName=name)["StreamDescription"]
    assert d["StreamName"] == name
    assert ARN.match(d["StreamARN"]).group("name") == name
    assert d["StreamStatus"] == "ACTIVE"
    assert d["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert d["RetentionPeriodHours"] == 24
    assert d["EncryptionType"] == "NONE"
    assert d["EnhancedMonitoring"] == [{"ShardLevelMetrics": []}]
    assert d["HasMoreShards"] is False
    assert abs((d["StreamCreationTimestamp"] - before).total_seconds()) < 30
    shards = d["Shards"]
    assert [s["ShardId"] for s in shards] == [f"shardId-{i:012d}" for i in range(3)]
    # Hash ranges split 0..2^128-1 evenly and contiguously; open shards have no EndingSequenceNumber.
    start = 0
    for s in shards:
        lo, hi = int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"])
        assert lo == start and hi > lo
        assert abs((hi - lo) - MAX_HASH // 3) <= 3, "even split"
        start = hi + 1
        assert "ParentShardId" not in s
        assert re.fullmatch(r"0|[1-9]\d{0,128}", s["SequenceNumberRange"]["StartingSequenceNumber"])
        assert "EndingSequenceNumber" not in s["SequenceNumberRange"]
    assert start == MAX_HASH + 1

    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["StreamName"] == name
    assert summary["StreamARN"] == d["StreamARN"]
    assert summary["OpenShardCount"] == 3
    assert summary["ConsumerCount"] == 0
    assert summary["RetentionPeriodHours"] == 24
    assert summary["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert summary["EncryptionType"] == "NONE"

    kinesis.delete_stream(StreamName=name)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
    with pytest.raises(ClientError) as e:
        kinesis.describe_stream(StreamName=name)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    code, msg = error(e)
    assert code == "ResourceNotFoundException"
    assert re.fullmatch(rf"Stream {name} under account \d{{12}} not found\.", msg), msg


def test_missing_stream_is_resource_not_found_everywhere(kinesis):
    name = unique("missing")
    calls = [
        lambda: kinesis.describe_stream(StreamName=name),
        lambda: kinesis.describe_stream_summary(StreamName=name),
        lambda: kinesis.delete_stream(StreamName=name),
        lambda: kinesis.list_shards(StreamName=name),
        lambda: kinesis.put_record(StreamName=name, PartitionKey="k", Data=b"x"),
        lambda: kinesis.put_records(StreamName=name, Records=[{"PartitionKey": "k", "Data": b"x"}]),
        lambda: kinesis.get_shard_iterator(StreamName=name, ShardId="shardId-000000000000",
                                           ShardIteratorType="TRIM_HORIZON"),
        lambda: kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48),
        lambda: kinesis.add_tags_to_stream(StreamName=name, Tags={"a": "b"}),
        lambda: kinesis.split_shard(StreamName=name, ShardToSplit="shardId-000000000000", NewStartingHashKey="10"),
    ]
    for call in calls:
        with pytest.raises(ClientError) as e:
            call()
        assert error(e)[0] == "ResourceNotFoundException", error(e)
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        assert name in error(e)[1]


def test_create_existing_stream_is_resource_in_use(kinesis):
    name = create_active(kinesis)
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    code, msg = error(e)
    assert code == "ResourceInUseException"
    assert re.fullmatch(rf"Stream {name} under account \d{{12}} already exists\.", msg), msg


def test_validation_messages_have_aws_format(raw):
    # One violated constraint: "1 validation error detected: Value '<v>' at '<camelCaseMember>' failed to satisfy
    # constraint: Member must ...".
    with pytest.raises(ClientError) as e:
        raw.create_stream(StreamName="bad;name", ShardCount=1)
    assert error(e) == ("ValidationException",
                        "1 validation error detected: Value 'bad;name' at 'streamName' failed to satisfy "
                        "constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    long_name = "a" * 129
    with pytest.raises(ClientError) as e:
        raw.describe_stream(StreamName=long_name)
    assert error(e) == ("ValidationException",
                        f"1 validation error detected: Value '{long_name}' at 'streamName' failed to satisfy "
                        "constraint: Member must have length less than or equal to 128")

    # Several: counted, joined with "; " (AWS does not promise an order, so compare as a set).
    with pytest.raises(ClientError) as e:
        raw.create_stream(StreamName="", ShardCount=0)
    code, msg = error(e)
    assert code == "ValidationException"
    head, _, rest = msg.partition(": ")
    assert head == "3 validation errors detected", msg
    assert set(rest.split("; ")) == {
        "Value '0' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1",
        "Value '' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: "
        "[a-zA-Z0-9_.-]+",
        "Value '' at 'streamName' failed to satisfy constraint: Member must have length greater than or equal to 1",
    }, msg

    with pytest.raises(ClientError) as e:
        raw.get_records(ShardIterator="x" * 10, Limit=10001)
    code, msg = error(e)
    assert code == "ValidationException"
    assert ("Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal "
            "to 10000") in msg, msg

    # Enumerations: "Member must satisfy enum value set: [...]".
    with pytest.raises(ClientError) as e:
        raw.update_shard_count(StreamName="some-stream", TargetShardCount=2, ScalingType="SOMETIMES")
    assert error(e) == ("ValidationException",
                        "1 validation error detected: Value 'SOMETIMES' at 'scalingType' failed to satisfy "
                        "constraint: Member must satisfy enum value set: [UNIFORM_SCALING]")
    with pytest.raises(ClientError) as e:
        raw.get_shard_iterator(StreamName="some-stream", ShardId="shardId-000000000000", ShardIteratorType="OLDEST")
    code, msg = error(e)
    assert code == "ValidationException"
    assert msg.startswith("1 validation error detected: Value 'OLDEST' at 'shardIteratorType' failed to satisfy "
                          "constraint: Member must satisfy enum value set: ["), msg
    assert set(msg[msg.rindex("[") + 1:-1].split(", ")) == {
        "AFTER_SEQUENCE_NUMBER", "LATEST", "AT_TIMESTAMP", "AT_SEQUENCE_NUMBER", "TRIM_HORIZON"}, msg

    # A required member missing: "Value null at ... Member must not be null".
    with pytest.raises(ClientError) as e:
        raw.put_record(StreamName="some-stream", Data=b"x")
    assert error(e) == ("ValidationException",
                        "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint: "
                        "Member must not be null")


def test_stream_arn_is_accepted_wherever_stream_name_is(kinesis):
    name = create_active(kinesis, shards=1)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    assert kinesis.describe_stream(StreamARN=arn)["StreamDescription"]["StreamName"] == name
    put = kinesis.put_record(StreamARN=arn, PartitionKey="k", Data=b"by-arn")
    it = kinesis.get_shard_iterator(StreamARN=arn, ShardId=put["ShardId"],
                                    ShardIteratorType="AT_SEQUENCE_NUMBER",
                                    StartingSequenceNumber=put["SequenceNumber"])["ShardIterator"]
    assert kinesis.get_records(ShardIterator=it, StreamARN=arn)["Records"][0]["Data"] == b"by-arn"
    assert len(kinesis.list_shards(StreamARN=arn)["Shards"]) == 1
    kinesis.add_tags_to_stream(StreamARN=arn, Tags={"via": "arn"})
    assert kinesis.list_tags_for_stream(StreamARN=arn)["Tags"] == [{"Key": "via", "Value": "arn"}]
    kinesis.delete_stream(StreamARN=arn)
    kinesis.get_waiter("stream_not_exists").wait(StreamName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})


def test_list_streams_paginates_with_summaries(kinesis):
    prefix = unique("ls")
    names = sorted(f"{prefix}-{i}" for i in range(5))
    for n in names:
        kinesis.create_stream(StreamName=n, ShardCount=1)
    for n in names:
        kinesis.get_waiter("stream_exists").wait(StreamName=n, WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})

    seen, summaries = [], []
    resp = kinesis.list_streams(Limit=2)
    while True:
        assert len(resp["StreamNames"]) <= 2
        assert [s["StreamName"] for s in resp["StreamSummaries"]] == resp["StreamNames"]
        seen += resp["StreamNames"]
        summaries += resp["StreamSummaries"]
        if not resp["HasMoreStreams"]:
            assert "NextToken" not in resp or not resp["NextToken"]
            break
        assert resp["NextToken"]
        resp = kinesis.list_streams(NextToken=resp["NextToken"], Limit=2)
    assert len(seen) == len(set(seen)), "no stream twice across pages"
    assert set(names) <= set(seen)
    for s in summaries:
        if s["StreamName"] in names:
            assert ARN.match(s["StreamARN"]).group("name") == s["StreamName"]
            assert s["StreamStatus"] == "ACTIVE"
            assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
            assert isinstance(s["StreamCreationTimestamp"], datetime)

    # ExclusiveStartStreamName: the listing continues after that name (names are listed in sorted order).
    after = kinesis.list_streams(ExclusiveStartStreamName=names[1], Limit=100)["StreamNames"]
    assert names[1] not in after and names[0] not in after
    assert set(names[2:]) <= set(after)
    # The paginator follows the same tokens.
    paged = [n for page in kinesis.get_paginator("list_streams").paginate(PaginationConfig={"PageSize": 3})
             for n in page["StreamNames"]]
    assert set(names) <= set(paged)


def test_describe_stream_paginates_shards(kinesis):
    name = create_active(kinesis, shards=5)
    d = kinesis.describe_stream(StreamName=name, Limit=2)["StreamDescription"]
    assert [s["ShardId"] for s in d["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert d["HasMoreShards"] is True
    d = kinesis.describe_stream(StreamName=name, Limit=2,
                                ExclusiveStartShardId="shardId-000000000001")["StreamDescription"]
    assert [s["ShardId"] for s in d["Shards"]] == ["shardId-000000000002", "shardId-000000000003"]
    assert d["HasMoreShards"] is True
    d = kinesis.describe_stream(StreamName=name, ExclusiveStartShardId="shardId-000000000003")["StreamDescription"]
    assert [s["ShardId"] for s in d["Shards"]] == ["shardId-000000000004"]
    assert d["HasMoreShards"] is False
    # botocore's describe_stream paginator follows ExclusiveStartShardId.
    ids = [s["ShardId"] for page in kinesis.get_paginator("describe_stream").paginate(
        StreamName=name, PaginationConfig={"PageSize": 2}) for s in page["StreamDescription"]["Shards"]]
    assert ids == [f"shardId-{i:012d}" for i in range(5)]


def test_list_shards_pagination_and_argument_rules(kinesis):
    name = create_active(kinesis, shards=5)
    page = kinesis.list_shards(StreamName=name, MaxResults=2)
    assert [s["ShardId"] for s in page["Shards"]] == ["shardId-000000000000", "shardId-000000000001"]
    assert page["NextToken"]
    ids = [s["ShardId"] for s in page["Shards"]]
    while page.get("NextToken"):
        page = kinesis.list_shards(NextToken=page["NextToken"], MaxResults=2)
        ids += [s["ShardId"] for s in page["Shards"]]
    assert ids == [f"shardId-{i:012d}" for i in range(5)]
    assert [s["ShardId"] for s in all_shards(kinesis, name)] == ids

    after = kinesis.list_shards(StreamName=name, ExclusiveStartShardId="shardId-000000000002")["Shards"]
    assert [s["ShardId"] for s in after] == ["shardId-000000000003", "shardId-000000000004"]

    # Documented: NextToken must not be combined with StreamName.
    token = kinesis.list_shards(StreamName=name, MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as e:
        kinesis.list_shards(StreamName=name, NextToken=token)
    assert error(e) == ("InvalidArgumentException", "NextToken and StreamName cannot be provided together.")
    with pytest.raises(ClientError) as e:
        kinesis.list_shards(NextToken="not-a-token")
    assert error(e)[0] == "InvalidArgumentException"
    with pytest.raises(ClientError) as e:
        kinesis.list_shards()
    assert error(e)[0] == "InvalidArgumentException"


def test_retention_bounds(kinesis):
    name = create_active(kinesis)
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=48)
    wait_active(kinesis, name)
    assert kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["RetentionPeriodHours"] == 48

    with pytest.raises(ClientError) as e:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=25)
    assert error(e) == ("InvalidArgumentException",
                        f"Requested retention period (25 hours) for stream {name} can not be shorter than existing "
                        "retention period (48 hours). Use DecreaseRetentionPeriod API.")
    with pytest.raises(ClientError) as e:
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=72)
    assert error(e) == ("InvalidArgumentException",
                        f"Requested retention period (72 hours) for stream {name} can not be longer than existing "
                        "retention period (48 hours). Use IncreaseRetentionPeriod API.")
    with pytest.raises(ClientError) as e:
        kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=12)
    assert error(e) == ("InvalidArgumentException",
                        "Minimum allowed retention period is 24 hours. Requested retention period (12 hours) is too "
                        "short.")
    with pytest.raises(ClientError) as e:
        kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8761)
    assert error(e) == ("InvalidArgumentException",
                        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is "
                        "too long.")
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=8760)
    wait_active(kinesis, name)
    kinesis.decrease_stream_retention_period(StreamName=name, RetentionPeriodHours=24)
    wait_active(kinesis, name)
    assert kinesis.describe_stream(StreamName=name)["StreamDescription"]["RetentionPeriodHours"] == 24


def test_stream_modes(kinesis):
    name = create_active(kinesis, StreamModeDetails={"StreamMode": "ON_DEMAND"})
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "ON_DEMAND"}
    # AWS: a new on-demand stream starts with 4 MB/s of write capacity, i.e. four shards.
    assert s["OpenShardCount"] == 4
    arn = s["StreamARN"]

    kinesis.update_stream_mode(StreamARN=arn, StreamModeDetails={"StreamMode": "PROVISIONED"})
    wait_active(kinesis, name)
    s = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert s["StreamModeDetails"] == {"StreamMode": "PROVISIONED"}
    assert s["OpenShardCount"] == 4

    # Provisioned without ShardCount is an error (it is optional only for ON_DEMAND).
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName=unique(), StreamModeDetails={"StreamMode": "PROVISIONED"})
    assert error(e)[0] in ("InvalidArgumentException", "ValidationException")


def test_limits_and_account_settings(kinesis):
    create_active(kinesis, shards=2)
    limits = kinesis.describe_limits()
    assert limits["ShardLimit"] >= limits["OpenShardCount"] >= 2
    assert isinstance(limits["OnDemandStreamCount"], int)
    assert limits["OnDemandStreamCountLimit"] >= limits["OnDemandStreamCount"]
    settings = kinesis.describe_account_settings()
    assert settings["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_update_max_record_size(kinesis):
    name = create_active(kinesis)
    arn = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"]
    kinesis.update_max_record_size(StreamARN=arn, MaxRecordSizeInKiB=2048)
    wait_active(kinesis, name)
    summary = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
    assert summary["MaxRecordSizeInKiB"] == 2048
    # A 1.5 MiB record (over the default 1 MiB, under the new 2 MiB) is now accepted.
    kinesis.put_record(StreamName=name, PartitionKey="big", Data=b"x" * (1536 * 1024))


def test_record_over_one_mib_is_refused_by_default(raw):
    name = create_active(raw)
    with pytest.raises(ClientError) as e:
        raw.put_record(StreamName=name, PartitionKey="k", Data=b"x" * (1024 * 1024 + 1))
    assert error(e)[0] in ("ValidationException", "InvalidArgumentException"), error(e)


def test_stream_status_updating_is_observable_and_blocks_changes(kinesis):
    name = create_active(kinesis, shards=2)
    kinesis.update_shard_count(StreamName=name, TargetShardCount=4, ScalingType="UNIFORM_SCALING")
    status = kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamStatus"]
    if status == "UPDATING":
        # AWS refuses a second resharding while the first is in progress.
        with pytest.raises(ClientError) as e:
            kinesis.update_shard_count(StreamName=name, TargetShardCount=2, ScalingType="UNIFORM_SCALING")
        assert error(e)[0] in ("ResourceInUseException", "LimitExceededException"), error(e)
    wait_active(kinesis, name)
    # ACTIVE again: further changes are accepted
    kinesis.increase_stream_retention_period(StreamName=name, RetentionPeriodHours=25)


def test_shard_limit(kinesis):
    limits = kinesis.describe_limits()
    too_many = limits["ShardLimit"] - limits["OpenShardCount"] + 1
    with pytest.raises(ClientError) as e:
        kinesis.create_stream(StreamName=unique(), ShardCount=too_many)
    code, msg = error(e)
    assert code == "LimitExceededException"
    assert re.fullmatch(r"This request would exceed the shard limit for the account \d{12} in [a-z0-9-]+\. Current "
                        rf"shard count for the account: \d+\. Limit: {limits['ShardLimit']}\. Number of additional "
                        rf"shards that would have resulted from this request: {too_many}\. Refer to the AWS Service "
                        r"Limits page \(.*\) for current limits and how to request higher limits\.", msg), msg

