//! Scan and Query: pagination, parallel segments, filters (both syntaxes), sort order, Select.

mod common;

use common::open;
use serde_json::{Value as Json, json};

async fn fill(h: &common::Harness) {
    h.lease_table("leases").await;
    for i in 0..25 {
        h.ok(
            "PutItem",
            json!({"TableName": "leases", "Item": {
            "leaseKey": {"S": format!("shardId-{i:03}")}, "leaseCounter": {"N": i.to_string()},
            "leaseOwner": {"S": if i % 2 == 0 { "w-even" } else { "w-odd" }}}}),
        )
        .await;
    }
}

#[tokio::test]
async fn scan_paginates_and_segments_cover_everything_once() {
    let h = open().await;
    fill(&h).await;
    let mut seen = Vec::new();
    let mut start: Option<Json> = None;
    let mut pages = 0;
    loop {
        let mut req = json!({"TableName": "leases", "Limit": 7, "ConsistentRead": true});
        if let Some(s) = &start {
            req["ExclusiveStartKey"] = s.clone();
        }
        let p = h.ok("Scan", req).await;
        pages += 1;
        for i in p["Items"].as_array().expect("items") {
            seen.push(i["leaseKey"]["S"].as_str().expect("key").to_string());
        }
        match p.get("LastEvaluatedKey") {
            Some(k) => start = Some(k.clone()),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    let mut total = 0;
    for s in 0..4 {
        let p = h
            .ok(
                "Scan",
                json!({"TableName": "leases", "Segment": s, "TotalSegments": 4}),
            )
            .await;
        total += p["Count"].as_u64().expect("count");
    }
    assert_eq!(total, 25);
    h.err(
        "Scan",
        json!({"TableName": "leases", "Segment": 4, "TotalSegments": 4}),
        "ValidationException",
    )
    .await;
    h.err(
        "Scan",
        json!({"TableName": "leases", "Segment": 1}),
        "ValidationException",
    )
    .await;
    h.err(
        "Scan",
        json!({"TableName": "leases", "Limit": 0}),
        "ValidationException",
    )
    .await;
}

#[tokio::test]
async fn scan_filters_in_both_syntaxes_and_select_count() {
    let h = open().await;
    fill(&h).await;
    let a = h.ok("Scan", json!({"TableName": "leases", "FilterExpression": "leaseCounter >= :ten AND leaseOwner = :o",
        "ExpressionAttributeValues": {":ten": {"N": "10"}, ":o": {"S": "w-odd"}}})).await;
    let b = h
        .ok(
            "Scan",
            json!({"TableName": "leases", "ScanFilter": {
        "leaseCounter": {"ComparisonOperator": "GE", "AttributeValueList": [{"N": "10"}]},
        "leaseOwner": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "w-odd"}]}}}),
        )
        .await;
    assert_eq!(a["Count"], 7);
    assert_eq!(a["ScannedCount"], 25);
    assert_eq!(a["Items"], b["Items"]);
    let c = h
        .ok("Scan", json!({"TableName": "leases", "Select": "COUNT"}))
        .await;
    assert_eq!(c["Count"], 25);
    assert!(c.get("Items").is_none());
    let p = h
        .ok(
            "Scan",
            json!({"TableName": "leases", "ProjectionExpression": "leaseKey", "Limit": 1}),
        )
        .await;
    assert_eq!(p["Items"], json!([{"leaseKey": {"S": "shardId-000"}}]));
}

#[tokio::test]
async fn query_on_hash_range_table() {
    let h = open().await;
    h.range_table("metrics").await;
    for (pk, sk) in [("a", "3"), ("a", "1"), ("a", "10"), ("a", "2"), ("b", "1")] {
        h.ok("PutItem", json!({"TableName": "metrics", "Item": {"pk": {"S": pk}, "sk": {"N": sk}, "v": {"S": format!("{pk}{sk}")}}})).await;
    }
    let q = h
        .ok(
            "Query",
            json!({"TableName": "metrics", "KeyConditionExpression": "pk = :p AND sk > :one",
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":one": {"N": "1"}}}),
        )
        .await;
    let sks: Vec<&str> = q["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["sk"]["N"].as_str().expect("n"))
        .collect();
    assert_eq!(sks, ["2", "3", "10"]);
    let q = h.ok("Query", json!({"TableName": "metrics", "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
        "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "10"}},
        "ScanIndexForward": false, "Limit": 2})).await;
    let sks: Vec<&str> = q["Items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["sk"]["N"].as_str().expect("n"))
        .collect();
    assert_eq!(sks, ["10", "3"]);
    let q2 = h.ok("Query", json!({"TableName": "metrics", "KeyConditionExpression": "#p = :p AND #s BETWEEN :lo AND :hi",
        "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
        "ExpressionAttributeValues": {":p": {"S": "a"}, ":lo": {"N": "2"}, ":hi": {"N": "10"}},
        "ScanIndexForward": false, "ExclusiveStartKey": q["LastEvaluatedKey"]})).await;
    assert_eq!(q2["Items"][0]["sk"], json!({"N": "2"}));
    assert_eq!(q2["Count"], 1);
    // Legacy KeyConditions, with a QueryFilter.
    let q = h
        .ok(
            "Query",
            json!({"TableName": "metrics",
        "KeyConditions": {"pk": {"ComparisonOperator": "EQ", "AttributeValueList": [{"S": "a"}]},
                          "sk": {"ComparisonOperator": "LE", "AttributeValueList": [{"N": "3"}]}},
        "QueryFilter": {"v": {"ComparisonOperator": "NE", "AttributeValueList": [{"S": "a2"}]}}}),
        )
        .await;
    assert_eq!(q["Count"], 2);
    assert_eq!(q["ScannedCount"], 3);
    let r = h
        .err(
            "Query",
            json!({"TableName": "metrics", "KeyConditionExpression": "sk = :one",
        "ExpressionAttributeValues": {":one": {"N": "1"}}}),
            "ValidationException",
        )
        .await;
    assert_eq!(r.message(), "Query condition missed key schema element: pk");
    h.err(
        "Query",
        json!({"TableName": "metrics", "IndexName": "nope", "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": "a"}}}),
        "ValidationException",
    )
    .await;
}
