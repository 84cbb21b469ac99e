//! Topic lifecycle across protocols, and the stream cache built from committed changes.
//!
//! A Kafka DeleteTopics is `Engine::delete_topic` (what the Kafka handler calls) and a Kafka CreateTopics is
//! `Engine::create_topic`: the Kinesis front end must react to both as it does to its own DeleteStream and
//! CreateStream.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use strait_engine::{MetaOp, MetaStore, Tables};
use strait_kinesis::store::{StreamCache, TABLE};

use common::{Harness, config, open, open_at};

fn names(list: &serde_json::Value) -> Vec<String> {
    list["StreamNames"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().expect("name").to_string())
        .collect()
}

async fn shard_ids(h: &Harness, stream: &str) -> Vec<String> {
    let d = h.ok("DescribeStream", json!({"StreamName": stream})).await;
    d["StreamDescription"]["Shards"]
        .as_array()
        .expect("shards")
        .iter()
        .map(|s| s["ShardId"].as_str().expect("id").to_string())
        .collect()
}

/// Waits until the record's removal, committed after the deletion on a spawned task, is in the store.
async fn record_gone(h: &Harness, stream: &str) {
    let key = format!("stream/{stream}").into_bytes();
    for _ in 0..200 {
        if h.engine.meta().get(TABLE, &key).expect("get").is_none() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the record of {stream} is still in the metadata store");
}

#[tokio::test]
async fn a_kafka_deletion_deletes_the_stream_and_a_recreation_starts_fresh() {
    let h = open().await;
    h.stream("orders", 2).await;
    h.ok(
        "SplitShard",
        json!({"StreamName": "orders", "ShardToSplit": "shardId-000000000000",
        "NewStartingHashKey": "100"}),
    )
    .await;
    h.settle();
    h.ok(
        "AddTagsToStream",
        json!({"StreamName": "orders", "Tags": {"team": "a"}}),
    )
    .await;
    h.ok(
        "RegisterStreamConsumer",
        json!({"StreamARN":
        "arn:aws:kinesis:us-east-1:000000000000:stream/orders", "ConsumerName": "app"}),
    )
    .await;
    assert_eq!(shard_ids(&h, "orders").await.len(), 4);

    // Kafka DeleteTopics.
    h.engine.delete_topic("orders").await.expect("delete");
    // Gone at once, not DELETING: no Kinesis DeleteStream happened.
    assert!(!names(&h.ok("ListStreams", json!({})).await).contains(&"orders".to_string()));
    h.err(
        "DescribeStream",
        json!({"StreamName": "orders"}),
        "ResourceNotFoundException",
    )
    .await;
    record_gone(&h, "orders").await;

    // Kafka CreateTopics with another partition count: a fresh view, no lineage, tags or consumers.
    h.engine
        .create_topic("orders", 3, BTreeMap::new())
        .await
        .expect("create");
    assert_eq!(
        shard_ids(&h, "orders").await,
        [
            "shardId-000000000000",
            "shardId-000000000001",
            "shardId-000000000002"
        ]
    );
    let tags = h
        .ok("ListTagsForStream", json!({"StreamName": "orders"}))
        .await;
    assert_eq!(tags["Tags"], json!([]));
    let consumers = h
        .ok(
            "ListStreamConsumers",
            json!({"StreamARN":
            "arn:aws:kinesis:us-east-1:000000000000:stream/orders"}),
        )
        .await;
    assert_eq!(consumers["Consumers"], json!([]));

    // And again through Kinesis: deleted with the topic, re-created fresh.
    h.ok("DeleteStream", json!({"StreamName": "orders"})).await;
    assert!(
        h.engine.topic("orders").is_none(),
        "the topic went with the stream"
    );
    h.settle();
    h.stream("orders", 1).await;
    assert_eq!(shard_ids(&h, "orders").await, ["shardId-000000000000"]);
    assert_eq!(h.engine.topic("orders").expect("topic").partitions, 1);
}

#[tokio::test]
async fn a_record_left_by_a_crash_is_absent_and_removed_at_the_next_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = strait_kinesis::ManualClock::new(1_795_622_869_000);
    let h = open_at(config(), dir.path(), clock.clone()).await;
    h.stream("s", 2).await;
    let key = b"stream/s".to_vec();
    let stale = h
        .engine
        .meta()
        .get(TABLE, &key)
        .expect("get")
        .expect("record");
    // A crash after the topic's deletion and before the record's removal: the record is still there.
    h.engine.delete_topic("s").await.expect("delete");
    record_gone(&h, "s").await;
    h.engine
        .meta()
        .put(TABLE, &key, stale)
        .await
        .expect("put back");
    // A topic re-created through Kafka is not the record's: fresh, and ListStreams lists it once.
    h.engine
        .create_topic("s", 1, BTreeMap::new())
        .await
        .expect("create");
    assert_eq!(shard_ids(&h, "s").await, ["shardId-000000000000"]);
    h.engine.delete_topic("s").await.expect("delete again");
    h.engine.shutdown().await.expect("shutdown");
    drop(h);

    let h = open_at(config(), dir.path(), clock).await;
    assert!(
        h.engine.meta().get(TABLE, &key).expect("get").is_none(),
        "removed at start"
    );
    assert!(!names(&h.ok("ListStreams", json!({})).await).contains(&"s".to_string()));
    h.engine.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_second_store_fed_the_committed_changes_builds_the_same_stream_cache() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = strait_kinesis::ManualClock::new(1_795_622_869_000);
    let h = open_at(config(), dir.path(), clock.clone()).await;
    let tap: Arc<Mutex<Vec<Vec<MetaOp>>>> = Arc::default();
    // The tap starts with the contents so far (the iterator key), then every commit.
    let sink = tap.clone();
    h.engine
        .meta()
        .watch(
            Tables::All,
            Arc::new(move |ops: &[MetaOp]| sink.lock().expect("lock").push(ops.to_vec())),
        )
        .expect("tap");
    h.stream("a", 2).await;
    h.stream("b", 1).await;
    h.ok(
        "AddTagsToStream",
        json!({"StreamName": "a", "Tags": {"k": "v"}}),
    )
    .await;
    h.ok(
        "MergeShards",
        json!({"StreamName": "a", "ShardToMerge": "shardId-000000000000",
        "AdjacentShardToMerge": "shardId-000000000001"}),
    )
    .await;
    h.settle();
    h.ok("DeleteStream", json!({"StreamName": "b"})).await;
    // A Kafka topic adopted by a Kinesis control-plane change, and one deleted through Kafka.
    h.engine
        .create_topic("k", 2, BTreeMap::new())
        .await
        .expect("create");
    h.ok(
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "k", "RetentionPeriodHours": 200}),
    )
    .await;
    h.stream("gone", 1).await;
    h.engine.delete_topic("gone").await.expect("delete");
    record_gone(&h, "gone").await;
    let want = h.k.cached_streams();
    assert_eq!(want.keys().collect::<Vec<_>>(), ["a", "k"]);

    let other = tempfile::tempdir().expect("tempdir");
    let replica = MetaStore::open(&other.path().join("meta.redb"), 1 << 20).expect("open");
    let follower = StreamCache::follow(&replica).expect("follow");
    let batches = tap.lock().expect("lock").clone();
    for ops in batches {
        replica.commit(ops).await.expect("replay");
    }
    assert_eq!(follower.snapshot(), want, "a second store fed the changes");
    assert_eq!(follower.account(), Default::default());
    replica.close().await;

    h.engine.shutdown().await.expect("shutdown");
    drop(h);
    let h = open_at(config(), dir.path(), clock).await;
    assert_eq!(h.k.cached_streams(), want, "a restart");
    h.engine.shutdown().await.expect("shutdown");
}
