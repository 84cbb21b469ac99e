//! Every DynamoDB operation asks the request's authorizer before it runs: under a deny-all authorizer each one
//! answers AccessDeniedException and changes nothing.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use strait_access::DenyAll;
use strait_dynamodb::{Operation, RequestContext};

async fn state(h: &Harness) -> serde_json::Value {
    let tables = h.ok("ListTables", json!({})).await;
    let scan = h.ok("Scan", json!({"TableName": "leases"})).await;
    let mut table = h.ok("DescribeTable", json!({"TableName": "leases"})).await;
    // Item counts and sizes are refreshed lazily on AWS; the rest must not move.
    if let Some(t) = table["Table"].as_object_mut() {
        t.remove("ItemCount");
    }
    json!({"tables": tables, "scan": scan, "table": table})
}

#[tokio::test]
async fn deny_all_refuses_every_operation_and_changes_nothing() {
    let h = open().await;
    h.lease_table("leases").await;
    h.ok(
        "PutItem",
        json!({"TableName": "leases", "Item": {"leaseKey": {"S": "a"}, "owner": {"S": "w1"}}}),
    )
    .await;
    let before = state(&h).await;
    let denied = RequestContext::anonymous(Arc::new(DenyAll));
    // A body naming the table every way an operation can (authorization comes before validation).
    let body = json!({
        "TableName": "leases",
        "Key": {"leaseKey": {"S": "a"}},
        "Item": {"leaseKey": {"S": "b"}},
        "AttributeDefinitions": [{"AttributeName": "leaseKey", "AttributeType": "S"}],
        "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
        "BillingMode": "PAY_PER_REQUEST",
    })
    .to_string();
    for op in Operation::ALL {
        let target = format!("DynamoDB_20120810.{}", op.name());
        let r = h.db.handle(&denied, Some(&target), body.as_bytes()).await;
        assert_eq!(r.status, 400, "{op:?}");
        assert_eq!(r.error, Some("AccessDeniedException"), "{op:?}");
        let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
        assert_eq!(
            v["__type"],
            "com.amazon.coral.service#AccessDeniedException"
        );
        let m = v["message"].as_str().expect("message");
        let action = format!(
            "is not authorized to perform: dynamodb:{} on resource: arn:aws:dynamodb:",
            op.name()
        );
        assert!(
            m.starts_with("User: anonymous ") && m.contains(&action),
            "{m}"
        );
    }
    h.clock.advance(DELAY);
    assert_eq!(state(&h).await, before);
}
