//! Tables and items survive closing and reopening the engine.

mod common;

use common::{DELAY, open_at};
use serde_json::json;
use strait_dynamodb::ManualClock;

#[tokio::test]
async fn state_survives_an_engine_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(1_795_622_869_000);
    {
        let h = open_at(dir.path(), clock.clone()).await;
        h.lease_table("durable").await;
        h.ok("UpdateTable", json!({"TableName": "durable",
            "AttributeDefinitions": [{"AttributeName": "leaseOwner", "AttributeType": "S"}],
            "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byOwner",
                "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}}}]})).await;
        h.clock.advance(DELAY);
        h.ok("TransactWriteItems", json!({"TransactItems": [
            {"Put": {"TableName": "durable", "Item": {"leaseKey": {"S": "a"}, "leaseOwner": {"S": "w"}, "c": {"N": "5"}}}},
            {"Put": {"TableName": "durable", "Item": {"leaseKey": {"S": "b"}}}}]})).await;
        h.ok(
            "DeleteItem",
            json!({"TableName": "durable", "Key": {"leaseKey": {"S": "b"}}}),
        )
        .await;
        h.ok(
            "UpdateContinuousBackups",
            json!({"TableName": "durable",
            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
        )
        .await;
        h.engine.shutdown().await.expect("shutdown");
    }
    let h = open_at(dir.path(), clock).await;
    let d = h.ok("DescribeTable", json!({"TableName": "durable"})).await;
    assert_eq!(d["Table"]["TableStatus"], "ACTIVE");
    assert_eq!(d["Table"]["ItemCount"], 1);
    assert_eq!(
        d["Table"]["GlobalSecondaryIndexes"][0]["IndexName"],
        "byOwner"
    );
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": "durable", "Key": {"leaseKey": {"S": "a"}}}),
        )
        .await;
    assert_eq!(g["Item"]["c"], json!({"N": "5"}));
    let q = h.ok("Query", json!({"TableName": "durable", "IndexName": "byOwner",
        "KeyConditionExpression": "leaseOwner = :w", "ExpressionAttributeValues": {":w": {"S": "w"}}})).await;
    assert_eq!(q["Count"], 1);
    let b = h
        .ok("DescribeContinuousBackups", json!({"TableName": "durable"}))
        .await;
    assert_eq!(
        b["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"],
        "ENABLED"
    );
    h.engine.shutdown().await.expect("shutdown");
}
