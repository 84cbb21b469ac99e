//! CreateTable, DescribeTable, UpdateTable (GSI), DeleteTable, ListTables, backups and tags.

mod common;

use common::{DELAY, open};
use serde_json::json;

#[tokio::test]
async fn create_describe_status_and_errors() {
    let h = open().await;
    let d = h
        .ok(
            "CreateTable",
            json!({
                "TableName": "app",
                "AttributeDefinitions": [{"AttributeName": "leaseKey", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
                "Tags": [{"Key": "k", "Value": "v"}],
            }),
        )
        .await;
    assert_eq!(d["TableDescription"]["TableStatus"], "CREATING");
    assert_eq!(
        d["TableDescription"]["TableArn"],
        "arn:aws:dynamodb:us-east-1:000000000000:table/app"
    );
    // Item operations wait for ACTIVE.
    h.err(
        "GetItem",
        json!({"TableName": "app", "Key": {"leaseKey": {"S": "a"}}}),
        "ResourceNotFoundException",
    )
    .await;
    let d = h.ok("DescribeTable", json!({"TableName": "app"})).await;
    assert_eq!(d["Table"]["TableStatus"], "CREATING");
    h.clock.advance(DELAY);
    let d = h.ok("DescribeTable", json!({"TableName": "app"})).await;
    assert_eq!(d["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(d["Table"]["ItemCount"], 0);
    assert_eq!(
        d["Table"]["BillingModeSummary"]["BillingMode"],
        "PAY_PER_REQUEST"
    );
    assert_eq!(d["Table"]["KeySchema"][0]["KeyType"], "HASH");

    let r = h
        .err(
            "CreateTable",
            json!({
                "TableName": "app",
                "AttributeDefinitions": [{"AttributeName": "leaseKey", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
            "ResourceInUseException",
        )
        .await;
    assert_eq!(
        r.body["__type"],
        "com.amazonaws.dynamodb.v20120810#ResourceInUseException"
    );
    assert_eq!(r.message(), "Table already exists: app");

    let r = h
        .err(
            "DescribeTable",
            json!({"TableName": "nope"}),
            "ResourceNotFoundException",
        )
        .await;
    assert_eq!(
        r.message(),
        "Requested resource not found: Table: nope not found"
    );

    let r = h
        .err(
            "CreateTable",
            json!({
                "TableName": "bad",
                "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
            "ValidationException",
        )
        .await;
    assert!(
        r.message()
            .contains("Some index key attributes are not defined"),
        "{}",
        r.message()
    );
    assert_eq!(
        r.body["__type"],
        "com.amazon.coral.validate#ValidationException"
    );
    let r = h
        .err(
            "CreateTable",
            json!({
                "TableName": "bad",
                "AttributeDefinitions": [{"AttributeName": "x", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "x", "KeyType": "HASH"}],
            }),
            "ValidationException",
        )
        .await;
    assert!(
        r.message()
            .contains("ReadCapacityUnits and WriteCapacityUnits must both be specified")
    );
    h.err(
        "CreateTable",
        json!({"TableName": "x"}),
        "ValidationException",
    )
    .await;
    let r = h
        .err("DescribeTable", json!({}), "ValidationException")
        .await;
    assert_eq!(
        r.message(),
        "1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null"
    );

    let r = h
        .ok(
            "ListTagsOfResource",
            json!({"ResourceArn": "arn:aws:dynamodb:us-east-1:000000000000:table/app"}),
        )
        .await;
    assert_eq!(r["Tags"], json!([{"Key": "k", "Value": "v"}]));
}

#[tokio::test]
async fn unknown_operation_and_bad_json() {
    let h = open().await;
    let r =
        h.db.handle(
            &strait_dynamodb::RequestContext::allow_all(),
            Some("DynamoDB_20120810.Nope"),
            b"{}",
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error, Some("UnknownOperationException"));
    let r =
        h.db.handle(
            &strait_dynamodb::RequestContext::allow_all(),
            Some("DynamoDB_20120810.ListTables"),
            b"{not json",
        )
        .await;
    assert_eq!(r.error, Some("SerializationException"));
    assert_eq!(
        r.header("x-amz-crc32"),
        Some(crc32fast::hash(&r.body).to_string().as_str())
    );
}

#[tokio::test]
async fn list_tables_paginates() {
    let h = open().await;
    for n in ["t03", "t01", "t02", "t05", "t04"] {
        h.lease_table(n).await;
    }
    let p1 = h.ok("ListTables", json!({"Limit": 2})).await;
    assert_eq!(p1["TableNames"], json!(["t01", "t02"]));
    assert_eq!(p1["LastEvaluatedTableName"], "t02");
    let p2 = h
        .ok(
            "ListTables",
            json!({"Limit": 2, "ExclusiveStartTableName": "t02"}),
        )
        .await;
    assert_eq!(p2["TableNames"], json!(["t03", "t04"]));
    let p3 = h
        .ok(
            "ListTables",
            json!({"Limit": 2, "ExclusiveStartTableName": "t04"}),
        )
        .await;
    assert_eq!(p3["TableNames"], json!(["t05"]));
    assert!(p3.get("LastEvaluatedTableName").is_none());
}

#[tokio::test]
async fn delete_table() {
    let h = open().await;
    h.lease_table("gone").await;
    h.ok(
        "PutItem",
        json!({"TableName": "gone", "Item": {"leaseKey": {"S": "a"}}}),
    )
    .await;
    let d = h.ok("DeleteTable", json!({"TableName": "gone"})).await;
    assert_eq!(d["TableDescription"]["TableStatus"], "DELETING");
    h.err(
        "DescribeTable",
        json!({"TableName": "gone"}),
        "ResourceNotFoundException",
    )
    .await;
    h.err(
        "DeleteTable",
        json!({"TableName": "gone"}),
        "ResourceNotFoundException",
    )
    .await;
    // A new table of the same name starts empty.
    h.lease_table("gone").await;
    let s = h.ok("Scan", json!({"TableName": "gone"})).await;
    assert_eq!(s["Count"], 0);
}

#[tokio::test]
async fn update_table_adds_gsi_that_becomes_active_and_is_backfilled() {
    let h = open().await;
    h.lease_table("kcl").await;
    for (k, o) in [("shard-1", "w1"), ("shard-2", "w2"), ("shard-3", "w1")] {
        h.ok("PutItem", json!({"TableName": "kcl", "Item": {"leaseKey": {"S": k}, "leaseOwner": {"S": o}, "checkpoint": {"S": "TRIM_HORIZON"}}})).await;
    }
    h.ok(
        "PutItem",
        json!({"TableName": "kcl", "Item": {"leaseKey": {"S": "unowned"}}}),
    )
    .await;
    let d = h.ok("UpdateTable", json!({
        "TableName": "kcl",
        "AttributeDefinitions": [
            {"AttributeName": "leaseOwner", "AttributeType": "S"},
            {"AttributeName": "leaseKey", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {
            "IndexName": "LeaseOwnerToLeaseKeyIndex",
            "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"}, {"AttributeName": "leaseKey", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"}}}],
    })).await;
    assert_eq!(d["TableDescription"]["TableStatus"], "UPDATING");
    assert_eq!(
        d["TableDescription"]["GlobalSecondaryIndexes"][0]["IndexStatus"],
        "CREATING"
    );
    h.err(
        "UpdateTable",
        json!({"TableName": "kcl", "BillingMode": "PAY_PER_REQUEST"}),
        "ResourceInUseException",
    )
    .await;
    h.clock.advance(DELAY);
    let d = h.ok("DescribeTable", json!({"TableName": "kcl"})).await;
    assert_eq!(d["Table"]["TableStatus"], "ACTIVE");
    let g = &d["Table"]["GlobalSecondaryIndexes"][0];
    assert_eq!(g["IndexStatus"], "ACTIVE");
    assert_eq!(g["IndexName"], "LeaseOwnerToLeaseKeyIndex");
    assert_eq!(g["ItemCount"], 3);
    let q = h
        .ok(
            "Query",
            json!({
                "TableName": "kcl", "IndexName": "LeaseOwnerToLeaseKeyIndex",
                "KeyConditionExpression": "leaseOwner = :leaseOwner",
                "ExpressionAttributeValues": {":leaseOwner": {"S": "w1"}},
            }),
        )
        .await;
    assert_eq!(q["Count"], 2);
    // KEYS_ONLY: table key and index key, nothing else.
    assert_eq!(
        q["Items"],
        json!([
        {"leaseKey": {"S": "shard-1"}, "leaseOwner": {"S": "w1"}},
        {"leaseKey": {"S": "shard-3"}, "leaseOwner": {"S": "w1"}}])
    );
    // Items written after the index exists are in it too.
    h.ok(
        "UpdateItem",
        json!({"TableName": "kcl", "Key": {"leaseKey": {"S": "unowned"}},
        "AttributeUpdates": {"leaseOwner": {"Action": "PUT", "Value": {"S": "w1"}}}}),
    )
    .await;
    let q = h.ok("Query", json!({
        "TableName": "kcl", "IndexName": "LeaseOwnerToLeaseKeyIndex",
        "KeyConditionExpression": "leaseOwner = :o", "ExpressionAttributeValues": {":o": {"S": "w1"}},
        "ScanIndexForward": false, "Limit": 2,
    })).await;
    assert_eq!(q["Items"][0]["leaseKey"]["S"], "unowned");
    assert_eq!(q["Items"][1]["leaseKey"]["S"], "shard-3");
    assert_eq!(
        q["LastEvaluatedKey"],
        json!({"leaseKey": {"S": "shard-3"}, "leaseOwner": {"S": "w1"}})
    );
    let q2 = h.ok("Query", json!({
        "TableName": "kcl", "IndexName": "LeaseOwnerToLeaseKeyIndex",
        "KeyConditionExpression": "leaseOwner = :o", "ExpressionAttributeValues": {":o": {"S": "w1"}},
        "ScanIndexForward": false, "ExclusiveStartKey": q["LastEvaluatedKey"],
    })).await;
    assert_eq!(
        q2["Items"],
        json!([{"leaseKey": {"S": "shard-1"}, "leaseOwner": {"S": "w1"}}])
    );
    h.err("Query", json!({
        "TableName": "kcl", "IndexName": "LeaseOwnerToLeaseKeyIndex", "ConsistentRead": true,
        "KeyConditionExpression": "leaseOwner = :o", "ExpressionAttributeValues": {":o": {"S": "w1"}},
    }), "ValidationException").await;
}

#[tokio::test]
async fn continuous_backups_and_tags() {
    let h = open().await;
    h.lease_table("pitr").await;
    let d = h
        .ok("DescribeContinuousBackups", json!({"TableName": "pitr"}))
        .await;
    assert_eq!(
        d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "DISABLED"
    );
    let d = h
        .ok(
            "UpdateContinuousBackups",
            json!({"TableName": "pitr",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
        )
        .await;
    assert_eq!(
        d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "ENABLED"
    );
    let d = h
        .ok("DescribeContinuousBackups", json!({"TableName": "pitr"}))
        .await;
    assert_eq!(
        d["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "ENABLED"
    );
    h.err(
        "UpdateContinuousBackups",
        json!({"TableName": "nope",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
        "TableNotFoundException",
    )
    .await;
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/pitr";
    h.ok("TagResource", json!({"ResourceArn": arn, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})).await;
    h.ok(
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["a"]}),
    )
    .await;
    let t = h
        .ok("ListTagsOfResource", json!({"ResourceArn": arn}))
        .await;
    assert_eq!(t["Tags"], json!([{"Key": "b", "Value": "2"}]));
}

#[tokio::test]
async fn auth_errors_render_as_coral_exceptions() {
    use strait_aws::{Service, SigV4Error};
    use strait_dynamodb::Response;
    let r = Response::from_envelope(
        &SigV4Error::UnrecognizedClient.to_envelope(Service::DynamoDb, false),
    );
    assert_eq!(r.status, 400);
    assert_eq!(r.error, Some("UnrecognizedClientException"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
    assert_eq!(
        body["__type"],
        "com.amazon.coral.service#UnrecognizedClientException"
    );
    assert_eq!(
        body["message"],
        "The security token included in the request is invalid."
    );
    assert_eq!(
        r.header("x-amz-crc32"),
        Some(crc32fast::hash(&r.body).to_string().as_str())
    );
}
