//! SplitShard, MergeShards and UpdateShardCount: lineage, sealed parents, the shard-end rule, and AWS's errors.

mod common;

use common::*;
use serde_json::{Value, json};

fn shards(v: &Value) -> Vec<Value> {
    v["Shards"].as_array().expect("shards").clone()
}

#[tokio::test]
async fn split_then_read_parent_to_children() {
    let h = open().await;
    h.stream("s", 1).await;
    let (_, before) = h.put("s", "k", b"before").await;
    h.ok(
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": (1u128 << 127).to_string()}),
    )
    .await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "s"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["StreamStatus"], "UPDATING");
    // Resharding again while UPDATING is refused, as on AWS.
    let m = h
        .err(
            "SplitShard",
            json!({"StreamName": "s", "ShardToSplit": "shardId-000000000001", "NewStartingHashKey": "5"}),
            "ResourceInUseException",
        )
        .await;
    assert_eq!(
        m,
        "Stream s under account 000000000000 not ACTIVE, instead in state UPDATING"
    );
    // Writes keep working while UPDATING and go to the children.
    let (child, _) = h.put("s", "k", b"after").await;
    assert_ne!(child, "shardId-000000000000");
    h.settle();
    let list = h.ok("ListShards", json!({"StreamName": "s"})).await;
    let list = shards(&list);
    assert_eq!(list.len(), 3);
    let parent_range = &list[0]["SequenceNumberRange"];
    let end = parent_range["EndingSequenceNumber"]
        .as_str()
        .expect("closed parent");
    // The ending number is the last record's own (AWS: >= every record of the shard).
    assert!(end.len() == before.len() && end >= before.as_str());
    assert_eq!(list[1]["ParentShardId"], "shardId-000000000000");
    assert_eq!(
        list[2]["HashKeyRange"]["StartingHashKey"],
        (1u128 << 127).to_string()
    );

    // Reading the parent: its record, then no NextShardIterator and the children (KCL's shard-end check).
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let (got, last) = h.drain(&it).await;
    assert_eq!(got, vec![b"before".to_vec()]);
    assert!(last.get("NextShardIterator").is_none());
    let children = last["ChildShards"].as_array().expect("children");
    assert_eq!(children.len(), 2);
    for c in children {
        assert_eq!(c["ParentShards"], json!(["shardId-000000000000"]));
    }
    let it = h.iterator("s", &child, "TRIM_HORIZON").await;
    assert_eq!(h.drain(&it).await.0, vec![b"after".to_vec()]);
    // A LATEST iterator on a closed shard is at its end at once.
    let it = h.iterator("s", "shardId-000000000000", "LATEST").await;
    let r = h.ok("GetRecords", json!({"ShardIterator": it})).await;
    assert!(
        r.get("NextShardIterator").is_none()
            && r["ChildShards"].as_array().is_some_and(|c| !c.is_empty())
    );

    let m = h
        .err(
            "SplitShard",
            json!({"StreamName": "s", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "5"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Shard shardId-000000000000 in stream s under account 000000000000 has already been merged or split, and thus is not eligible for merging or splitting."
    );
    let m = h
        .err(
            "SplitShard",
            json!({"StreamName": "s", "ShardToSplit": "shardId-000000000001", "NewStartingHashKey": "1"}),
            "InvalidArgumentException",
        )
        .await;
    assert!(
        m.starts_with("NewStartingHashKey 1 used in SplitShard() on shard shardId-000000000001"),
        "{m}"
    );
    h.err(
        "SplitShard",
        json!({"StreamName": "s", "ShardToSplit": "shardId-000000000042", "NewStartingHashKey": "5"}),
        "ResourceNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn merge_adjacent_and_refuse_others() {
    let h = open().await;
    h.stream("m", 3).await;
    let m = h
        .err(
            "MergeShards",
            json!({"StreamName": "m", "ShardToMerge": "shardId-000000000000", "AdjacentShardToMerge": "shardId-000000000002"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Shards shardId-000000000000 and shardId-000000000002 in stream m under account 000000000000 are not an adjacent pair of shards eligible for merging"
    );
    // AWS merges in hash-key order only: the adjacent shard given first is refused.
    let m = h
        .err(
            "MergeShards",
            json!({"StreamName": "m", "ShardToMerge": "shardId-000000000001", "AdjacentShardToMerge": "shardId-000000000000"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Shards shardId-000000000001 and shardId-000000000000 in stream m under account 000000000000 are not an adjacent pair of shards eligible for merging"
    );
    h.put("m", "k", b"x").await;
    // Short-form ids name the shard by the number after the hyphen.
    h.ok(
        "MergeShards",
        json!({"StreamName": "m", "ShardToMerge": "shard-0", "AdjacentShardToMerge": "x-1"}),
    )
    .await;
    h.settle();
    let list = shards(
        &h.ok(
            "ListShards",
            json!({"StreamName": "m", "ShardFilter": {"Type": "AT_LATEST"}}),
        )
        .await,
    );
    let ids: Vec<&str> = list
        .iter()
        .map(|s| s["ShardId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["shardId-000000000002", "shardId-000000000003"]);
    assert_eq!(list[1]["ParentShardId"], "shardId-000000000000");
    assert_eq!(list[1]["AdjacentParentShardId"], "shardId-000000000001");
    assert_eq!(list[1]["HashKeyRange"]["StartingHashKey"], "0");
    // AT_TRIM_HORIZON lists where a reader starts: the original shards.
    let th = shards(
        &h.ok(
            "ListShards",
            json!({"StreamName": "m", "ShardFilter": {"Type": "AT_TRIM_HORIZON"}}),
        )
        .await,
    );
    assert_eq!(th.len(), 3);
    let it = h
        .iterator("m", "shardId-000000000001", "TRIM_HORIZON")
        .await;
    let (_, last) = h.drain(&it).await;
    assert_eq!(
        last["ChildShards"][0]["ParentShards"],
        json!(["shardId-000000000000", "shardId-000000000001"])
    );
}

#[tokio::test]
async fn update_shard_count_uniform_scaling_and_limits() {
    let h = open().await;
    h.stream("u", 2).await;
    for i in 0..20 {
        h.put("u", &format!("k{i}"), b"x").await;
    }
    let r = h
        .ok(
            "UpdateShardCount",
            json!({"StreamName": "u", "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"}),
        )
        .await;
    assert_eq!(r["CurrentShardCount"], 2);
    assert_eq!(r["TargetShardCount"], 3);
    h.settle();
    let open_shards = shards(
        &h.ok(
            "ListShards",
            json!({"StreamName": "u", "ShardFilter": {"Type": "AT_LATEST"}}),
        )
        .await,
    );
    assert_eq!(open_shards.len(), 3);
    assert_eq!(
        open_shards[0]["HashKeyRange"]["EndingHashKey"],
        "113427455640312821154458202477256070484"
    );
    let m = h
        .err(
            "UpdateShardCount",
            json!({"StreamName": "u", "TargetShardCount": 7, "ScalingType": "UNIFORM_SCALING"}),
            "LimitExceededException",
        )
        .await;
    assert_eq!(
        m,
        "UpdateShardCount cannot scale up over double your current open shard count. Current open shard count: 3, Target shard count: 7"
    );
    // Every record written before the scaling is still readable from the closed shards.
    let mut total = 0;
    for s in shards(&h.ok("ListShards", json!({"StreamName": "u"})).await) {
        let it = h
            .iterator("u", s["ShardId"].as_str().expect("id"), "TRIM_HORIZON")
            .await;
        total += h.drain(&it).await.0.len();
    }
    assert_eq!(total, 20);
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "u"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["OpenShardCount"], 3);
}

#[tokio::test]
async fn a_kafka_topic_can_be_resharded_as_a_stream() {
    let h = open().await;
    h.engine
        .create_topic("kt", 1, Default::default())
        .await
        .expect("topic");
    h.put("kt", "k", b"one").await;
    h.ok(
        "SplitShard",
        json!({"StreamName": "kt", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": "1000"}),
    )
    .await;
    h.settle();
    let list = shards(&h.ok("ListShards", json!({"StreamName": "kt"})).await);
    assert_eq!(list.len(), 3);
    assert!(list[0]["SequenceNumberRange"]["EndingSequenceNumber"].is_string());
    assert_eq!(h.engine.topic("kt").expect("topic").partitions, 3);
    let it = h
        .iterator("kt", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let (got, last) = h.drain(&it).await;
    assert_eq!(got, vec![b"one".to_vec()]);
    assert_eq!(last["ChildShards"].as_array().map(Vec::len), Some(2));
}

/// Writers keep putting while shards split and merge; every acknowledged record is read back exactly once, in
/// order per partition key, by a reader that follows the lineage parent before child.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resharding_under_concurrent_writes_loses_and_duplicates_nothing() {
    use std::collections::{BTreeMap, BTreeSet};
    use std::sync::Arc;

    let h = Arc::new(open().await);
    h.stream("load", 2).await;
    let mut writers = Vec::new();
    for w in 0..4 {
        let h = h.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for i in 0..60 {
                let key = format!("w{w}-k{}", i % 5);
                let data = format!("{key}:{i}");
                let r = h
                    .call(
                        "PutRecord",
                        json!({"StreamName": "load", "PartitionKey": key, "Data": base64_of(data.as_bytes())}),
                    )
                    .await;
                if r.status == 200 {
                    acked.push(data);
                }
            }
            acked
        }));
    }
    // Reshard while they write: split, merge, uniform scaling; each waits for ACTIVE as a client would.
    let reshards = [
        json!({"op": "SplitShard", "body": {"StreamName": "load", "ShardToSplit": "shardId-000000000000", "NewStartingHashKey": (1u128 << 126).to_string()}}),
        json!({"op": "MergeShards", "body": {"StreamName": "load", "ShardToMerge": "shardId-000000000002", "AdjacentShardToMerge": "shardId-000000000003"}}),
        json!({"op": "UpdateShardCount", "body": {"StreamName": "load", "TargetShardCount": 3, "ScalingType": "UNIFORM_SCALING"}}),
    ];
    for r in reshards {
        tokio::task::yield_now().await;
        h.ok(r["op"].as_str().expect("op"), r["body"].clone()).await;
        h.settle();
    }
    let mut acked = BTreeSet::new();
    for w in writers {
        acked.extend(w.await.expect("writer"));
    }
    assert_eq!(acked.len(), 240, "every put was acknowledged");
    // Read every shard parents-first (indices grow with lineage), collecting per-key order.
    let list = shards(&h.ok("ListShards", json!({"StreamName": "load"})).await);
    let mut seen: Vec<String> = Vec::new();
    for s in &list {
        let it = h
            .iterator("load", s["ShardId"].as_str().expect("id"), "TRIM_HORIZON")
            .await;
        let (got, last) = h.drain(&it).await;
        let closed = s["SequenceNumberRange"]
            .get("EndingSequenceNumber")
            .is_some();
        assert_eq!(
            last.get("NextShardIterator").is_none(),
            closed,
            "shard-end rule for {s}"
        );
        seen.extend(
            got.into_iter()
                .map(|d| String::from_utf8(d).expect("utf-8")),
        );
    }
    let unique: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(unique.len(), seen.len(), "no record read twice");
    assert_eq!(unique, acked, "every acknowledged record read");
    let mut last_by_key: BTreeMap<String, i64> = BTreeMap::new();
    for d in &seen {
        let (key, i) = d.split_once(':').expect("key:i");
        let i: i64 = i.parse().expect("i");
        if let Some(prev) = last_by_key.insert(key.to_string(), i) {
            assert!(i > prev, "{key}: {i} after {prev}");
        }
    }
}

fn base64_of(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}
