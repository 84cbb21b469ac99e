//! Every operation, fed members nested as deep as serde_json accepts (127 levels) and deeper, on a tokio
//! worker's 2 MiB stack: what our code does with a parsed body after serde_json's own recursion limit (type
//! checks, attribute-value decoding, drops) stays within the stack, and the answer is never a 5xx or a crash.

mod common;

use common::open;
use serde_json::{Value as Json, json};
use strait_dynamodb::OPERATIONS;

/// `levels` of arrays around a scalar, or of `{"L": [...]}` attribute values when `attr`.
fn deep(levels: usize, attr: bool) -> Json {
    (0..levels).fold(if attr { json!({"S": "x"}) } else { json!(1) }, |v, _| {
        if attr { json!({"L": [v]}) } else { json!([v]) }
    })
}

/// A body whose every member an operation might read holds `v`.
fn body_with(v: &Json) -> Json {
    let mut b = serde_json::Map::new();
    for m in [
        "TableName",
        "Item",
        "Key",
        "Expected",
        "ExpressionAttributeValues",
        "ExpressionAttributeNames",
        "AttributeUpdates",
        "KeyConditions",
        "ScanFilter",
        "QueryFilter",
        "ExclusiveStartKey",
        "RequestItems",
        "TransactItems",
        "KeySchema",
        "AttributeDefinitions",
        "GlobalSecondaryIndexes",
        "Tags",
        "Limit",
    ] {
        b.insert(m.into(), v.clone());
    }
    Json::Object(b)
}

#[test]
fn deep_members_get_client_errors_on_a_worker_stack() {
    std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                let h = open().await;
                h.lease_table("deep").await;
                // 62 attribute-value levels is 125 JSON levels inside the body: parsed by serde_json, refused by us.
                let attr = deep(62, true);
                for op in OPERATIONS {
                    for v in [deep(125, false), attr.clone(), json!({":v": attr}), json!({"deep": attr})] {
                        let r = h.call(op, body_with(&v)).await;
                        // DescribeLimits reads no member and answers 200; everything else refuses the body.
                        assert!(r.status < 500, "{op}: {r:?}");
                    }
                }
                // An item nested deeper than AWS's 32 levels, through every write path.
                let item = json!({"leaseKey": {"S": "k"}, "d": deep(33, true)});
                let nested = "Nesting Levels have exceeded supported limits: Attributes in the item have nested levels beyond supported limit";
                for (op, b) in [
                    ("PutItem", json!({"TableName": "deep", "Item": item})),
                    ("BatchWriteItem", json!({"RequestItems": {"deep": [{"PutRequest": {"Item": item}}]}})),
                    ("TransactWriteItems", json!({"TransactItems": [{"Put": {"TableName": "deep", "Item": item}}]})),
                    ("UpdateItem", json!({"TableName": "deep", "Key": {"leaseKey": {"S": "k"}},
                        "UpdateExpression": "SET d = :d", "ExpressionAttributeValues": {":d": deep(33, true)}})),
                ] {
                    let r = h.call(op, b).await;
                    assert_eq!((r.status, r.error, r.message().as_str()), (400, Some("ValidationException"), nested), "{op}");
                }
                // An update that nests an allowed value inside another is checked on the item it would store.
                h.ok("PutItem", json!({"TableName": "deep", "Item": {"leaseKey": {"S": "k"}, "d": deep(20, true)}})).await;
                let path = format!("SET d{} = :d", "[0]".repeat(15));
                let r = h.call("UpdateItem", json!({"TableName": "deep", "Key": {"leaseKey": {"S": "k"}},
                    "UpdateExpression": path, "ExpressionAttributeValues": {":d": deep(20, true)}})).await;
                assert_eq!((r.status, r.message().as_str()), (400, nested));
                // Past serde_json's 128 levels: the same answer, from the raw body.
                let raw = format!(
                    r#"{{"TableName":"deep","Item":{{"leaseKey":{{"S":"z"}},"d":{}{{"S":"x"}}{}}}}}"#,
                    r#"{"L":["#.repeat(1000),
                    "]}".repeat(1000)
                );
                let r = h.db.handle(&strait_dynamodb::RequestContext::allow_all(), Some("DynamoDB_20120810.PutItem"), raw.as_bytes()).await;
                assert_eq!(r.status, 400);
                assert!(String::from_utf8_lossy(&r.body).contains("Nesting Levels have exceeded"));
            });
        })
        .expect("thread")
        .join()
        .expect("no panic, no stack overflow");
}
