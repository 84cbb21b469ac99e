"""The DynamoDB API subset served on the AWS port (KCL's lease, coordinator-state and worker-metrics tables), with
boto3's DynamoDB client. Expectations follow the DynamoDB API reference; the shapes are the ones KCL sends
(legacy Expected/AttributeUpdates for leases, expressions for coordinator state and worker metrics)."""
import time

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from conftest import ACCESS_KEY, REGION, SECRET_KEY, start_strait, stop_strait, unique


def ddb_client(strait):
    return boto3.client(
        "dynamodb",
        endpoint_url=strait.endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


@pytest.fixture(scope="module")
def ddb(strait):
    return ddb_client(strait)


def lease_table(ddb, name=None):
    name = name or unique("leases")
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    return name


def error_code(exc):
    return exc.value.response["Error"]["Code"]


def test_create_describe_list_delete(ddb):
    name = lease_table(ddb)
    t = ddb.describe_table(TableName=name)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["KeySchema"] == [{"AttributeName": "leaseKey", "KeyType": "HASH"}]
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert name in ddb.list_tables()["TableNames"]
    with pytest.raises(ClientError) as e:
        ddb.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "leaseKey", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "leaseKey", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    assert error_code(e) == "ResourceInUseException"
    ddb.delete_table(TableName=name)
    ddb.get_waiter("table_not_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    with pytest.raises(ClientError) as e:
        ddb.describe_table(TableName=name)
    assert error_code(e) == "ResourceNotFoundException"


def test_kcl_lease_lifecycle_in_legacy_syntax(ddb):
    """createLeaseIfNotExists, takeLease, renewLease and a lost race, as KCL's DynamoDBLeaseRefresher sends them."""
    name = lease_table(ddb)
    lease = {"leaseKey": {"S": "shardId-000000000000"}, "leaseCounter": {"N": "0"},
             "checkpoint": {"S": "TRIM_HORIZON"}, "ownerSwitchesSinceCheckpoint": {"N": "0"}}
    ddb.put_item(TableName=name, Item=lease, Expected={"leaseKey": {"Exists": False}})
    with pytest.raises(ClientError) as e:
        ddb.put_item(TableName=name, Item=lease, Expected={"leaseKey": {"Exists": False}})
    assert error_code(e) == "ConditionalCheckFailedException"

    key = {"leaseKey": {"S": "shardId-000000000000"}}
    taken = ddb.update_item(
        TableName=name, Key=key,
        Expected={"leaseCounter": {"Value": {"N": "0"}, "ComparisonOperator": "EQ"}},
        AttributeUpdates={"leaseOwner": {"Value": {"S": "worker-a"}, "Action": "PUT"},
                          "leaseCounter": {"Value": {"N": "1"}, "Action": "ADD"},
                          "ownerSwitchesSinceCheckpoint": {"Value": {"N": "1"}, "Action": "ADD"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert taken["leaseOwner"] == {"S": "worker-a"}
    assert taken["leaseCounter"] == {"N": "1"}
    # Another worker still holding counter 0 loses the race.
    with pytest.raises(ClientError) as e:
        ddb.update_item(
            TableName=name, Key=key,
            Expected={"leaseCounter": {"Value": {"N": "0"}, "ComparisonOperator": "EQ"}},
            AttributeUpdates={"leaseOwner": {"Value": {"S": "worker-b"}, "Action": "PUT"}},
        )
    assert error_code(e) == "ConditionalCheckFailedException"
    # Checkpoint with a sequence number and sub-sequence number, guarded by owner and counter.
    ddb.update_item(
        TableName=name, Key=key,
        Expected={"leaseCounter": {"Value": {"N": "1"}, "ComparisonOperator": "EQ"},
                  "leaseOwner": {"Value": {"S": "worker-a"}, "ComparisonOperator": "EQ"}},
        AttributeUpdates={"checkpoint": {"Value": {"S": "49" + "0" * 54}, "Action": "PUT"},
                          "checkpointSubSequenceNumber": {"Value": {"N": "0"}, "Action": "PUT"},
                          "ownerSwitchesSinceCheckpoint": {"Value": {"N": "0"}, "Action": "PUT"}},
    )
    item = ddb.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]
    assert item["checkpoint"] == {"S": "49" + "0" * 54}
    assert item["ownerSwitchesSinceCheckpoint"] == {"N": "0"}
    assert item["leaseOwner"] == {"S": "worker-a"}


def test_expressions_and_condition_failure_item(ddb):
    name = lease_table(ddb)
    key = {"leaseKey": {"S": "wm-1"}}
    ddb.put_item(TableName=name, Item={**key, "cpu": {"N": "1.50"}, "tags": {"SS": ["a"]}})
    out = ddb.update_item(
        TableName=name, Key=key,
        UpdateExpression="SET #c = #c + :d, #h = list_append(if_not_exists(#h, :empty), :one) "
                         "ADD #t :b REMOVE #gone",
        ConditionExpression="attribute_exists(#k) AND #c < :max",
        ExpressionAttributeNames={"#c": "cpu", "#h": "history", "#t": "tags", "#gone": "nothing", "#k": "leaseKey"},
        ExpressionAttributeValues={":d": {"N": "0.5"}, ":empty": {"L": []}, ":one": {"L": [{"N": "1"}]},
                                   ":b": {"SS": ["b"]}, ":max": {"N": "100"}},
        ReturnValues="ALL_NEW",
    )["Attributes"]
    assert out["cpu"] == {"N": "2"}  # DynamoDB normalises numbers
    assert out["history"] == {"L": [{"N": "1"}]}
    assert sorted(out["tags"]["SS"]) == ["a", "b"]
    with pytest.raises(ClientError) as e:
        ddb.update_item(
            TableName=name, Key=key, UpdateExpression="SET cpu = :v", ConditionExpression="cpu > :v",
            ExpressionAttributeValues={":v": {"N": "50"}}, ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )
    assert error_code(e) == "ConditionalCheckFailedException"
    assert e.value.response["Item"]["cpu"] == {"N": "2"}
    with pytest.raises(ClientError) as e:
        ddb.update_item(TableName=name, Key=key, UpdateExpression="SET cpu = :undefined")
    assert error_code(e) == "ValidationException"


def test_scan_pagination_segments_and_gsi_query(ddb):
    name = lease_table(ddb)
    for i in range(25):
        ddb.put_item(TableName=name, Item={"leaseKey": {"S": f"shard-{i:03}"},
                                           "leaseOwner": {"S": "worker-a" if i % 2 else "worker-b"}})
    seen, kwargs = [], {}
    while True:
        page = ddb.scan(TableName=name, Limit=7, **kwargs)
        seen += [it["leaseKey"]["S"] for it in page["Items"]]
        if "LastEvaluatedKey" not in page:
            break
        kwargs = {"ExclusiveStartKey": page["LastEvaluatedKey"]}
    assert sorted(seen) == [f"shard-{i:03}" for i in range(25)]
    segs = [ddb.scan(TableName=name, Segment=s, TotalSegments=3)["Items"] for s in range(3)]
    assert sorted(it["leaseKey"]["S"] for seg in segs for it in seg) == sorted(seen)

    # KCL 3 adds a leaseOwner GSI to an existing lease table.
    ddb.update_table(
        TableName=name,
        AttributeDefinitions=[{"AttributeName": "leaseOwner", "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[{"Create": {
            "IndexName": "LeaseOwnerToLeaseKeyIndex",
            "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
    )
    deadline = time.time() + 30
    while True:
        gsis = ddb.describe_table(TableName=name)["Table"].get("GlobalSecondaryIndexes", [])
        if gsis and gsis[0]["IndexStatus"] == "ACTIVE":
            break
        assert time.time() < deadline, gsis
        time.sleep(0.2)
    got = ddb.query(TableName=name, IndexName="LeaseOwnerToLeaseKeyIndex",
                    KeyConditionExpression="leaseOwner = :o",
                    ExpressionAttributeValues={":o": {"S": "worker-a"}})["Items"]
    assert sorted(it["leaseKey"]["S"] for it in got) == [f"shard-{i:03}" for i in range(25) if i % 2]


def test_transactions_and_batches(ddb):
    name = lease_table(ddb)
    ddb.batch_write_item(RequestItems={name: [
        {"PutRequest": {"Item": {"leaseKey": {"S": f"k{i}"}, "v": {"N": str(i)}}}} for i in range(20)]})
    got = ddb.batch_get_item(RequestItems={name: {"Keys": [{"leaseKey": {"S": f"k{i}"}} for i in range(20)]}})
    assert len(got["Responses"][name]) == 20
    with pytest.raises(ClientError) as e:
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": name, "Item": {"leaseKey": {"S": "new"}}}},
            {"ConditionCheck": {"TableName": name, "Key": {"leaseKey": {"S": "k1"}},
                                "ConditionExpression": "v = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
        ])
    assert error_code(e) == "TransactionCanceledException"
    reasons = [r["Code"] for r in e.value.response["CancellationReasons"]]
    assert reasons == ["None", "ConditionalCheckFailed"]
    # All or nothing: the Put of the cancelled transaction is not there.
    assert "Item" not in ddb.get_item(TableName=name, Key={"leaseKey": {"S": "new"}})
    ddb.transact_write_items(TransactItems=[
        {"Put": {"TableName": name, "Item": {"leaseKey": {"S": "new"}}}},
        {"Delete": {"TableName": name, "Key": {"leaseKey": {"S": "k1"}}}},
    ])
    assert "Item" in ddb.get_item(TableName=name, Key={"leaseKey": {"S": "new"}})
    assert "Item" not in ddb.get_item(TableName=name, Key={"leaseKey": {"S": "k1"}})


def test_missing_table_and_bad_key(ddb):
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=unique("nope"), Key={"leaseKey": {"S": "x"}})
    assert error_code(e) == "ResourceNotFoundException"
    name = lease_table(ddb)
    with pytest.raises(ClientError) as e:
        ddb.get_item(TableName=name, Key={"wrong": {"S": "x"}})
    assert error_code(e) == "ValidationException"


def test_tables_survive_a_restart():
    tmp, s = start_strait()
    try:
        ddb = ddb_client(s)
        name = lease_table(ddb)
        ddb.put_item(TableName=name, Item={"leaseKey": {"S": "durable"}, "checkpoint": {"S": "SHARD_END"}})
        s.stop()
        s.start()
        ddb = ddb_client(s)
        item = ddb.get_item(TableName=name, Key={"leaseKey": {"S": "durable"}}, ConsistentRead=True)["Item"]
        assert item["checkpoint"] == {"S": "SHARD_END"}
        assert ddb.describe_table(TableName=name)["Table"]["TableStatus"] == "ACTIVE"
    finally:
        stop_strait(tmp, s)
