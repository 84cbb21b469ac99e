//! BatchGetItem, BatchWriteItem, TransactWriteItems, TransactGetItems.

mod common;

use common::open;
use serde_json::json;

#[tokio::test]
async fn batch_write_and_get() {
    let h = open().await;
    h.lease_table("bt1").await;
    h.lease_table("bt2").await;
    let r = h
        .ok(
            "BatchWriteItem",
            json!({"RequestItems": {
        "bt1": [{"PutRequest": {"Item": {"leaseKey": {"S": "a"}, "x": {"N": "1"}}}},
                {"PutRequest": {"Item": {"leaseKey": {"S": "b"}}}}],
        "bt2": [{"PutRequest": {"Item": {"leaseKey": {"S": "c"}}}}]}}),
        )
        .await;
    assert_eq!(r["UnprocessedItems"], json!({}));
    h.ok(
        "BatchWriteItem",
        json!({"RequestItems": {"bt1": [{"DeleteRequest": {"Key": {"leaseKey": {"S": "b"}}}}]}}),
    )
    .await;
    let g = h.ok("BatchGetItem", json!({"RequestItems": {
        "bt1": {"Keys": [{"leaseKey": {"S": "a"}}, {"leaseKey": {"S": "b"}}], "ProjectionExpression": "x"},
        "bt2": {"Keys": [{"leaseKey": {"S": "c"}}]}}})).await;
    assert_eq!(g["Responses"]["bt1"], json!([{"x": {"N": "1"}}]));
    assert_eq!(g["Responses"]["bt2"], json!([{"leaseKey": {"S": "c"}}]));
    assert_eq!(g["UnprocessedKeys"], json!({}));
    h.err("BatchWriteItem", json!({"RequestItems": {"bt1": [
        {"PutRequest": {"Item": {"leaseKey": {"S": "a"}}}}, {"DeleteRequest": {"Key": {"leaseKey": {"S": "a"}}}}]}}),
        "ValidationException").await;
}

#[tokio::test]
async fn transactions_are_all_or_nothing() {
    let h = open().await;
    h.lease_table("txn").await;
    h.ok("PutItem", json!({"TableName": "txn", "Item": {"leaseKey": {"S": "a"}, "owner": {"S": "w1"}, "n": {"N": "1"}}})).await;
    let r = h.err("TransactWriteItems", json!({"TransactItems": [
        {"Put": {"TableName": "txn", "Item": {"leaseKey": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(leaseKey)"}},
        {"Update": {"TableName": "txn", "Key": {"leaseKey": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
            "ConditionExpression": "#o = :w", "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":w": {"S": "w2"}}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}]}),
        "TransactionCanceledException").await;
    assert_eq!(
        r.message(),
        "Transaction cancelled, please refer cancellation reasons for specific reasons [None, ConditionalCheckFailed]"
    );
    assert_eq!(r.body["CancellationReasons"][0], json!({"Code": "None"}));
    assert_eq!(
        r.body["CancellationReasons"][1]["Code"],
        "ConditionalCheckFailed"
    );
    assert_eq!(
        r.body["CancellationReasons"][1]["Item"]["owner"],
        json!({"S": "w1"})
    );
    // Nothing of the cancelled transaction happened.
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": "txn", "Key": {"leaseKey": {"S": "new"}}}),
        )
        .await;
    assert!(g.get("Item").is_none());

    h.ok("TransactWriteItems", json!({"TransactItems": [
        {"Put": {"TableName": "txn", "Item": {"leaseKey": {"S": "new"}}, "ConditionExpression": "attribute_not_exists(leaseKey)"}},
        {"Update": {"TableName": "txn", "Key": {"leaseKey": {"S": "a"}}, "UpdateExpression": "SET n = n + :one",
            "ConditionExpression": "#o = :w", "ExpressionAttributeNames": {"#o": "owner"},
            "ExpressionAttributeValues": {":one": {"N": "1"}, ":w": {"S": "w1"}}}},
        {"ConditionCheck": {"TableName": "txn", "Key": {"leaseKey": {"S": "zz"}}, "ConditionExpression": "attribute_not_exists(leaseKey)"}}
    ]})).await;
    h.err("TransactWriteItems", json!({"TransactItems": [
        {"Delete": {"TableName": "txn", "Key": {"leaseKey": {"S": "new"}}}},
        {"ConditionCheck": {"TableName": "txn", "Key": {"leaseKey": {"S": "new"}}, "ConditionExpression": "attribute_exists(leaseKey)"}}
    ]}), "ValidationException").await;
    let g = h
        .ok(
            "TransactGetItems",
            json!({"TransactItems": [
        {"Get": {"TableName": "txn", "Key": {"leaseKey": {"S": "a"}}}},
        {"Get": {"TableName": "txn", "Key": {"leaseKey": {"S": "missing"}}}}]}),
        )
        .await;
    assert_eq!(g["Responses"][0]["Item"]["n"], json!({"N": "2"}));
    assert_eq!(g["Responses"][1], json!({}));
}

#[tokio::test]
async fn transaction_retry_with_the_same_token_is_not_applied_twice() {
    let h = open().await;
    h.lease_table("idem").await;
    let req = json!({"ClientRequestToken": "tok-1", "TransactItems": [
        {"Put": {"TableName": "idem", "Item": {"leaseKey": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(leaseKey)"}}]});
    h.ok("TransactWriteItems", req.clone()).await;
    // The retry (same token, same payload) succeeds without re-evaluating the condition.
    h.ok("TransactWriteItems", req).await;
    h.err(
        "TransactWriteItems",
        json!({"ClientRequestToken": "tok-1", "TransactItems": [
        {"Put": {"TableName": "idem", "Item": {"leaseKey": {"S": "b"}}}}]}),
        "IdempotentParameterMismatchException",
    )
    .await;
    // Without a token the same request is a new transaction, and its condition fails.
    h.err("TransactWriteItems", json!({"TransactItems": [
        {"Put": {"TableName": "idem", "Item": {"leaseKey": {"S": "a"}}, "ConditionExpression": "attribute_not_exists(leaseKey)"}}]}),
        "TransactionCanceledException").await;
}
