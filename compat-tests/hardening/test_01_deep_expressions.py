"""Defect 1: deeply nested input overflowed a tokio worker's stack and aborted the whole process (Kafka with it).

The DynamoDB expression parser recursed once per `(` or `NOT`: a 4,006-character ConditionExpression of 2,000
parentheses, or `NOT ` repeated, crashed the node. Each attack now gets the protocol's own error (AWS's wording
where known), and so do the other deep shapes: a boto3-style expression nested past the limit, nested update
functions, a 1,000-deep attribute value, and deeply nested JSON and CBOR bodies to Kinesis. Expressions a
client library really builds (boto3 parenthesises every `&`) still work. Then the node serves normally."""
import json
import urllib.error
import urllib.request

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from conftest import assert_serves

T = "deep"
VALUES = {":v": {"S": "a"}}


def expect_error(call, code, text):
    with pytest.raises(ClientError) as e:
        call()
    err = e.value.response["Error"]
    assert err["Code"] == code, err
    assert text in err["Message"], err
    return err["Message"]


def signed_post(node, service, target, content_type, body):
    """A raw request signed as any SDK would: for bodies no SDK can serialise (botocore recurses per level)."""
    req = AWSRequest(method="POST", url=node.endpoint + "/", data=body,
                     headers={"X-Amz-Target": target, "Content-Type": content_type})
    SigV4Auth(Credentials("AKIDHARDENING", "s3cr3t"), service, "us-east-1").add_auth(req)
    r = urllib.request.Request(req.url, data=body, headers=dict(req.headers.items()), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def test_deep_expressions_and_values_are_refused(make_node):
    node = make_node()
    ddb = node.client("dynamodb")
    ddb.create_table(TableName=T, KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.get_waiter("table_exists").wait(TableName=T, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100})
    item = {"k": {"S": "a"}}

    # The two reproductions.
    parens = "(" * 2000 + "k = :v" + ")" * 2000
    assert len(parens) == 4006
    expect_error(lambda: ddb.put_item(TableName=T, Item=item, ConditionExpression=parens,
                                      ExpressionAttributeValues=VALUES),
                 "ValidationException", "Invalid ConditionExpression: The expression has redundant parentheses;")
    expect_error(lambda: ddb.put_item(TableName=T, Item=item, ConditionExpression="NOT " * 10000 + "k = :v",
                                      ExpressionAttributeValues=VALUES),
                 "ValidationException",
                 "Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; "
                 "expression size: 40006")
    assert node.alive(), node.log()

    # The same attacks inside AWS's 4 KB: NOTs, and boto3's shape nested past the limit, in a filter.
    expect_error(lambda: ddb.put_item(TableName=T, Item=item, ConditionExpression="NOT " * 1000 + "k = :v",
                                      ExpressionAttributeValues=VALUES),
                 "ValidationException", "Invalid ConditionExpression: The expression is nested too deeply")
    boto3_style = lambda n: "(" * n + "k = :v" + " AND k = :v)" * n  # noqa: E731
    expect_error(lambda: ddb.scan(TableName=T, FilterExpression=boto3_style(300),
                                  ExpressionAttributeValues=VALUES),
                 "ValidationException", "Invalid FilterExpression: The expression is nested too deeply")
    expect_error(lambda: ddb.update_item(
        TableName=T, Key=item, ExpressionAttributeValues={":l": {"L": []}},
        UpdateExpression="SET l = " + "list_append(:l," * 200 + ":l" + ")" * 200),
        "ValidationException", "Invalid UpdateExpression: The expression is nested too deeply")
    expect_error(lambda: ddb.query(TableName=T, KeyConditionExpression="(" * 2000 + "k = :v" + ")" * 2000,
                                   ExpressionAttributeValues=VALUES),
                 "ValidationException", "redundant parentheses")

    # What a client library really builds still works: 150 conditions joined with boto3's `&` nest 149 deep.
    ddb.put_item(TableName=T, Item=item)
    got = ddb.scan(TableName=T, FilterExpression=boto3_style(150), ExpressionAttributeValues=VALUES)
    assert got["Items"] == [item]

    # Attribute values: 33 levels is past AWS's 32 (boto3 can send that); 1,000 levels only raw.
    deep = {"S": "x"}
    for _ in range(33):
        deep = {"L": [deep]}
    expect_error(lambda: ddb.put_item(TableName=T, Item={"k": {"S": "b"}, "d": deep}),
                 "ValidationException", "Nesting Levels have exceeded supported limits")
    body = '{"TableName":"deep","Item":{"k":{"S":"c"},"d":' + '{"M":{"m":' * 500 + '{"L":[' * 500 + '{"S":"x"}' \
        + "]}" * 500 + "}}" * 500 + "}}"
    status, answer = signed_post(node, "dynamodb", "DynamoDB_20120810.PutItem", "application/x-amz-json-1.0",
                                 body.encode())
    err = json.loads(answer)
    assert status == 400 and err["__type"].endswith("#ValidationException"), (status, err)
    assert err["message"].startswith("Nesting Levels have exceeded supported limits"), err
    assert "Item" not in ddb.get_item(TableName=T, Key={"k": {"S": "c"}})

    # Kinesis: a JSON body and a CBOR body nested far past any Kinesis shape.
    target = "Kinesis_20131202.PutRecord"
    status, answer = signed_post(node, "kinesis", target, "application/x-amz-json-1.1",
                                 ('{"StreamName":' + "[" * 5000 + "1" + "]" * 5000 + "}").encode())
    err = json.loads(answer)
    assert status == 400 and err["__type"] == "SerializationException", (status, err)
    assert "nested too deeply" in err["Message"], err  # AWS spells this exception's member `Message`
    cbor = bytes([0xA1, 0x6A]) + b"StreamName" + bytes([0x81]) * 100_000 + bytes([0x01])
    status, answer = signed_post(node, "kinesis", target, "application/x-amz-cbor-1.1", cbor)
    assert status == 400 and b"SerializationException" in answer, (status, answer[:200])

    # The node is still whole: the table answers and a conditional write that should pass passes.
    ddb.put_item(TableName=T, Item=item, ConditionExpression="(k = :v) AND NOT (attribute_not_exists(k))",
                 ExpressionAttributeValues=VALUES)
    assert ddb.get_item(TableName=T, Key=item)["Item"] == item
    assert_serves(node)
