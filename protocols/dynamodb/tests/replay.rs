//! The in-memory tables are a function of the committed metadata changes: a second metadata store fed the same
//! committed batches, and a restart over the same directory, hold the same tables and items. And writes that
//! check the cache before committing stay serialized: two conditional puts of one key never both succeed.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::{DELAY, Harness, open_at};
use serde_json::{Value as Json, json};
use strait_dynamodb::{HookFuture, ItemHook, ItemWrite, ManualClock, TableCache};
use strait_engine::{MetaOp, MetaStore, Tables};

/// Adds one row of its own table to every commit that writes items, as the KCL bridge adds Kafka offsets.
struct SideRow;

impl ItemHook for SideRow {
    fn before_commit<'a>(&'a self, writes: &'a [ItemWrite]) -> HookFuture<'a, Vec<MetaOp>> {
        Box::pin(async move {
            vec![MetaOp::Put {
                table: "test_side_rows".into(),
                key: writes[0].table.clone().into_bytes(),
                value: writes.len().to_string().into_bytes(),
            }]
        })
    }

    fn before_return<'a>(&'a self, _table: &'a str, _item: &'a mut Json) -> HookFuture<'a, ()> {
        Box::pin(async {})
    }
}

/// What a client sees of every table: its description and every item.
async fn client_view(h: &Harness) -> BTreeMap<String, (Json, Json)> {
    let names = h.ok("ListTables", json!({})).await;
    let mut out = BTreeMap::new();
    for n in names["TableNames"].as_array().expect("names") {
        let d = h.ok("DescribeTable", json!({ "TableName": n })).await;
        let s = h.ok("Scan", json!({ "TableName": n })).await;
        out.insert(
            n.as_str().expect("name").to_string(),
            (d["Table"].clone(), s["Items"].clone()),
        );
    }
    out
}

/// A mix of every kind of write the front end commits.
async fn workload(h: &Harness) {
    h.ok(
        "CreateTable",
        json!({
            "TableName": "leases",
            "AttributeDefinitions": [
                {"AttributeName": "leaseKey", "AttributeType": "S"},
                {"AttributeName": "leaseOwner", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
            "BillingMode": "PAY_PER_REQUEST",
            "GlobalSecondaryIndexes": [{"IndexName": "byOwner",
                "KeySchema": [{"AttributeName": "leaseOwner", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "ALL"}}],
            "Tags": [{"Key": "app", "Value": "kcl"}],
        }),
    )
    .await;
    h.clock.advance(DELAY);
    h.range_table("events").await;
    h.lease_table("doomed").await;
    h.ok(
        "PutItem",
        json!({"TableName": "doomed", "Item": {"leaseKey": {"S": "x"}}}),
    )
    .await;
    for (k, owner) in [("a", "w1"), ("b", "w2"), ("c", "w1")] {
        h.ok(
            "PutItem",
            json!({"TableName": "leases",
            "Item": {"leaseKey": {"S": k}, "leaseOwner": {"S": owner}, "counter": {"N": "0"}},
            "ConditionExpression": "attribute_not_exists(leaseKey)"}),
        )
        .await;
    }
    h.err(
        "PutItem",
        json!({"TableName": "leases",
        "Item": {"leaseKey": {"S": "a"}, "leaseOwner": {"S": "thief"}},
        "ConditionExpression": "attribute_not_exists(leaseKey)"}),
        "ConditionalCheckFailedException",
    )
    .await;
    h.ok(
        "UpdateItem",
        json!({"TableName": "leases", "Key": {"leaseKey": {"S": "a"}},
        "UpdateExpression": "SET counter = counter + :one, checkpoint = :cp ADD owners :o",
        "ConditionExpression": "leaseOwner = :w",
        "ExpressionAttributeValues": {":one": {"N": "1"}, ":cp": {"S": "TRIM_HORIZON"},
            ":o": {"SS": ["w1"]}, ":w": {"S": "w1"}}}),
    )
    .await;
    // KCL's legacy syntax: Expected + AttributeUpdates.
    h.ok(
        "UpdateItem",
        json!({"TableName": "leases", "Key": {"leaseKey": {"S": "b"}},
        "Expected": {"leaseOwner": {"Value": {"S": "w2"}}},
        "AttributeUpdates": {"leaseOwner": {"Action": "PUT", "Value": {"S": "w1"}},
            "counter": {"Action": "ADD", "Value": {"N": "5"}}}}),
    )
    .await;
    h.ok(
        "DeleteItem",
        json!({"TableName": "leases", "Key": {"leaseKey": {"S": "c"}}}),
    )
    .await;
    h.ok("BatchWriteItem", json!({"RequestItems": {
        "events": [
            {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": "1"}, "v": {"B": "AAE="}}}},
            {"PutRequest": {"Item": {"pk": {"S": "p"}, "sk": {"N": "2"}, "v": {"L": [{"NULL": true}]}}}},
            {"PutRequest": {"Item": {"pk": {"S": "q"}, "sk": {"N": "1.5"}}}}],
        "leases": [{"PutRequest": {"Item": {"leaseKey": {"S": "d"}, "leaseOwner": {"S": "w2"}}}}]}}))
        .await;
    h.ok(
        "BatchWriteItem",
        json!({"RequestItems": {"events": [
        {"DeleteRequest": {"Key": {"pk": {"S": "p"}, "sk": {"N": "1"}}}}]}}),
    )
    .await;
    h.ok(
        "TransactWriteItems",
        json!({"TransactItems": [
        {"ConditionCheck": {"TableName": "leases", "Key": {"leaseKey": {"S": "a"}},
            "ConditionExpression": "attribute_exists(leaseKey)"}},
        {"Put": {"TableName": "events", "Item": {"pk": {"S": "t"}, "sk": {"N": "9"}}}},
        {"Update": {"TableName": "leases", "Key": {"leaseKey": {"S": "d"}},
            "UpdateExpression": "REMOVE leaseOwner"}},
        {"Delete": {"TableName": "events", "Key": {"pk": {"S": "q"}, "sk": {"N": "1.5"}}}}]}),
    )
    .await;
    h.err(
        "TransactWriteItems",
        json!({"TransactItems": [
        {"Put": {"TableName": "events", "Item": {"pk": {"S": "never"}, "sk": {"N": "1"}}}},
        {"ConditionCheck": {"TableName": "leases", "Key": {"leaseKey": {"S": "zz"}},
            "ConditionExpression": "attribute_exists(leaseKey)"}}]}),
        "TransactionCanceledException",
    )
    .await;
    h.ok(
        "UpdateTable",
        json!({"TableName": "events",
        "AttributeDefinitions": [{"AttributeName": "v2", "AttributeType": "S"}],
        "GlobalSecondaryIndexUpdates": [{"Create": {"IndexName": "byV2",
            "KeySchema": [{"AttributeName": "v2", "KeyType": "HASH"}],
            "Projection": {"ProjectionType": "KEYS_ONLY"},
            "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1}}}]}),
    )
    .await;
    h.clock.advance(DELAY);
    let arn = "arn:aws:dynamodb:us-east-1:000000000000:table/leases";
    h.ok(
        "TagResource",
        json!({"ResourceArn": arn,
        "Tags": [{"Key": "team", "Value": "streams"}, {"Key": "tmp", "Value": "1"}]}),
    )
    .await;
    h.ok(
        "UntagResource",
        json!({"ResourceArn": arn, "TagKeys": ["tmp"]}),
    )
    .await;
    h.ok(
        "UpdateContinuousBackups",
        json!({"TableName": "leases",
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": true}}),
    )
    .await;
    h.ok("DeleteTable", json!({"TableName": "doomed"})).await;
    // Re-created under the same name with another key schema: nothing of the old table survives.
    h.range_table("doomed").await;
    h.ok(
        "PutItem",
        json!({"TableName": "doomed", "Item": {"pk": {"S": "y"}, "sk": {"N": "7"}}}),
    )
    .await;
}

#[tokio::test]
async fn a_second_store_and_a_restart_build_the_same_tables() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = ManualClock::new(1_795_622_869_000);
    let h = open_at(dir.path(), clock.clone()).await;
    assert!(h.db.set_hook(Arc::new(SideRow)));
    let tap: Arc<Mutex<Vec<Vec<MetaOp>>>> = Arc::default();
    let sink = tap.clone();
    h.engine
        .meta()
        .watch(
            Tables::All,
            Arc::new(move |ops: &[MetaOp]| sink.lock().expect("lock").push(ops.to_vec())),
        )
        .expect("tap");
    workload(&h).await;

    let want = h.db.cached_tables();
    assert_eq!(
        want.tables.keys().collect::<Vec<_>>(),
        ["doomed", "events", "leases"]
    );
    assert!(want.orphans.is_empty());
    let item_counts: Vec<usize> = want.tables.values().map(|t| t.items.len()).collect();
    assert_eq!(item_counts, [1, 2, 3]);
    assert_eq!(want.tables["doomed"].meta.range.as_deref(), Some("sk"));
    assert_eq!(want.tables["leases"].meta.tags.len(), 2);
    assert!(want.tables["leases"].meta.pitr);
    assert_eq!(want.tables["events"].meta.gsis.len(), 1);
    let seen = client_view(&h).await;

    // The hook's row is committed with the items it accompanies, in the same batch.
    let batches = tap.lock().expect("lock").clone();
    assert!(batches.iter().any(|b| {
        b.iter().any(|op| op.table() == "test_side_rows")
            && b.iter()
                .any(|op| op.table() == strait_dynamodb::store::META_TABLE)
    }));

    let other = tempfile::tempdir().expect("tempdir");
    let replica = MetaStore::open(&other.path().join("meta.redb"), 1 << 20).expect("open");
    let follower = TableCache::follow(&replica).expect("follow");
    for ops in batches {
        replica.commit(ops).await.expect("replay");
    }
    assert_eq!(follower.snapshot(), want, "a second store fed the changes");
    replica.close().await;

    h.engine.shutdown().await.expect("shutdown");
    drop(h);
    let h = open_at(dir.path(), clock).await;
    assert_eq!(h.db.cached_tables(), want, "a restart");
    assert_eq!(
        client_view(&h).await,
        seen,
        "what clients see after a restart"
    );
    h.engine.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_conditional_puts_of_one_key_let_exactly_one_through() {
    let h = Arc::new(common::open().await);
    h.lease_table("race").await;
    for round in 0..20 {
        let key = format!("shard-{round}");
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = ["w1", "w2"]
            .into_iter()
            .map(|owner| {
                let (h, key, barrier) = (h.clone(), key.clone(), barrier.clone());
                tokio::spawn(async move {
                    barrier.wait().await;
                    h.call(
                        "PutItem",
                        json!({"TableName": "race",
                        "Item": {"leaseKey": {"S": key}, "leaseOwner": {"S": owner}},
                        "ConditionExpression": "attribute_not_exists(leaseKey)"}),
                    )
                    .await
                })
            })
            .collect();
        let mut outcomes = Vec::new();
        for t in tasks {
            let r = t.await.expect("task");
            outcomes.push(r.error.unwrap_or("ok"));
        }
        outcomes.sort();
        assert_eq!(
            outcomes,
            ["ConditionalCheckFailedException", "ok"],
            "round {round}"
        );
    }
    // Read-modify-write: concurrent increments lose nothing.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move {
                h.ok("UpdateItem", json!({"TableName": "race", "Key": {"leaseKey": {"S": "shard-0"}},
                    "UpdateExpression": "ADD counter :one", "ExpressionAttributeValues": {":one": {"N": "1"}}}))
                    .await
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let g = h
        .ok(
            "GetItem",
            json!({"TableName": "race", "Key": {"leaseKey": {"S": "shard-0"}}}),
        )
        .await;
    assert_eq!(g["Item"]["counter"], json!({"N": "16"}));
    h.engine.shutdown().await.expect("shutdown");
}
