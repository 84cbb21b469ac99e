//! Stream management: lifecycle, describe, list and pagination, retention, limits, modes.

mod common;

use common::*;
use serde_json::json;

#[tokio::test]
async fn lifecycle_is_observable_and_describe_matches_aws_shapes() {
    let h = open().await;
    h.ok(
        "CreateStream",
        json!({"StreamName": "orders", "ShardCount": 3}),
    )
    .await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "orders"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["StreamStatus"], "CREATING");
    // Data operations do not see a CREATING stream yet, as on AWS.
    h.err(
        "PutRecord",
        json!({"StreamName": "orders", "PartitionKey": "k", "Data": ""}),
        "ResourceNotFoundException",
    )
    .await;
    h.settle();
    let d = h
        .ok("DescribeStream", json!({"StreamName": "orders"}))
        .await;
    let d = &d["StreamDescription"];
    assert_eq!(d["StreamStatus"], "ACTIVE");
    assert_eq!(
        d["StreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/orders"
    );
    assert_eq!(d["RetentionPeriodHours"], 24);
    assert_eq!(d["HasMoreShards"], false);
    assert_eq!(d["EncryptionType"], "NONE");
    assert_eq!(d["StreamModeDetails"]["StreamMode"], "PROVISIONED");
    assert_eq!(d["StreamCreationTimestamp"], json!(1_795_622_869));
    let shards = d["Shards"].as_array().expect("shards");
    assert_eq!(shards.len(), 3);
    assert_eq!(shards[0]["ShardId"], "shardId-000000000000");
    assert_eq!(shards[0]["HashKeyRange"]["StartingHashKey"], "0");
    assert_eq!(
        shards[0]["HashKeyRange"]["EndingHashKey"],
        "113427455640312821154458202477256070484"
    );
    assert_eq!(
        shards[2]["HashKeyRange"]["EndingHashKey"],
        "340282366920938463463374607431768211455"
    );
    // The same stream by ARN.
    let by_arn = h
        .ok(
            "DescribeStreamSummary",
            json!({"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"}),
        )
        .await;
    assert_eq!(by_arn["StreamDescriptionSummary"]["OpenShardCount"], 3);

    let m = h
        .err(
            "CreateStream",
            json!({"StreamName": "orders", "ShardCount": 1}),
            "ResourceInUseException",
        )
        .await;
    assert_eq!(
        m,
        "Stream orders under account 000000000000 already exists."
    );

    h.ok("DeleteStream", json!({"StreamName": "orders"})).await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "orders"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["StreamStatus"], "DELETING");
    h.settle();
    let m = h
        .err(
            "DescribeStream",
            json!({"StreamName": "orders"}),
            "ResourceNotFoundException",
        )
        .await;
    assert_eq!(m, "Stream orders under account 000000000000 not found.");
    assert!(h.engine.topic("orders").is_none(), "topic deleted");
}

#[tokio::test]
async fn describe_stream_and_list_shards_paginate() {
    let h = open().await;
    h.stream("wide", 5).await;
    let page = h
        .ok("DescribeStream", json!({"StreamName": "wide", "Limit": 2}))
        .await;
    assert_eq!(page["StreamDescription"]["HasMoreShards"], true);
    let page = h
        .ok(
            "DescribeStream",
            json!({"StreamName": "wide", "Limit": 2, "ExclusiveStartShardId": "shardId-000000000003"}),
        )
        .await;
    let d = &page["StreamDescription"];
    assert_eq!(d["HasMoreShards"], false);
    assert_eq!(d["Shards"][0]["ShardId"], "shardId-000000000004");

    let first = h
        .ok("ListShards", json!({"StreamName": "wide", "MaxResults": 3}))
        .await;
    assert_eq!(first["Shards"].as_array().expect("list").len(), 3);
    let token = first["NextToken"].as_str().expect("token").to_string();
    let m = h
        .err(
            "ListShards",
            json!({"StreamName": "wide", "NextToken": token}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(m, "NextToken and StreamName cannot be provided together.");
    let rest = h.ok("ListShards", json!({"NextToken": token})).await;
    let ids: Vec<&str> = rest["Shards"]
        .as_array()
        .expect("list")
        .iter()
        .map(|s| s["ShardId"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["shardId-000000000003", "shardId-000000000004"]);
    assert!(rest.get("NextToken").is_none());
    // Tokens expire after 300 s.
    h.clock.advance(std::time::Duration::from_secs(301));
    h.err(
        "ListShards",
        json!({"NextToken": token}),
        "ExpiredNextTokenException",
    )
    .await;
    let after = h
        .ok(
            "ListShards",
            json!({"StreamName": "wide", "ExclusiveStartShardId": "shardId-000000000001"}),
        )
        .await;
    assert_eq!(after["Shards"].as_array().expect("list").len(), 3);
    let filtered = h
        .ok(
            "ListShards",
            json!({"StreamName": "wide", "ShardFilter": {"Type": "AFTER_SHARD_ID", "ShardId": "shardId-000000000003"}}),
        )
        .await;
    assert_eq!(filtered["Shards"].as_array().expect("list").len(), 1);
}

#[tokio::test]
async fn list_streams_paginates_with_summaries() {
    let h = open().await;
    for name in ["a", "b", "c"] {
        h.stream(name, 1).await;
    }
    let p1 = h.ok("ListStreams", json!({"Limit": 2})).await;
    assert_eq!(p1["StreamNames"], json!(["a", "b"]));
    assert_eq!(p1["HasMoreStreams"], true);
    assert_eq!(p1["StreamSummaries"][1]["StreamStatus"], "ACTIVE");
    assert_eq!(
        p1["StreamSummaries"][0]["StreamARN"],
        "arn:aws:kinesis:us-east-1:000000000000:stream/a"
    );
    let token = p1["NextToken"].as_str().expect("token");
    let p2 = h.ok("ListStreams", json!({"NextToken": token})).await;
    assert_eq!(p2["StreamNames"], json!(["c"]));
    assert_eq!(p2["HasMoreStreams"], false);
    let p3 = h
        .ok("ListStreams", json!({"ExclusiveStartStreamName": "a"}))
        .await;
    assert_eq!(p3["StreamNames"], json!(["b", "c"]));
}

#[tokio::test]
async fn a_kafka_topic_is_listed_as_a_stream() {
    let h = open().await;
    h.engine
        .create_topic("from-kafka", 2, Default::default())
        .await
        .expect("topic");
    let l = h.ok("ListStreams", json!({})).await;
    assert_eq!(l["StreamNames"], json!(["from-kafka"]));
    let shards = h
        .ok("ListShards", json!({"StreamName": "from-kafka"}))
        .await;
    assert_eq!(shards["Shards"].as_array().expect("shards").len(), 2);
    let (shard, _) = h.put("from-kafka", "k", b"v").await;
    let it = h.iterator("from-kafka", &shard, "TRIM_HORIZON").await;
    assert_eq!(h.drain(&it).await.0, vec![b"v".to_vec()]);
}

#[tokio::test]
async fn retention_bounds_messages_and_engine_config() {
    let h = open().await;
    h.stream("r", 1).await;
    let m = h
        .err(
            "IncreaseStreamRetentionPeriod",
            json!({"StreamName": "r", "RetentionPeriodHours": 8761}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Maximum allowed retention period is 8760 hours. Requested retention period (8761 hours) is too long."
    );
    let m = h
        .err(
            "DecreaseStreamRetentionPeriod",
            json!({"StreamName": "r", "RetentionPeriodHours": 23}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Minimum allowed retention period is 24 hours. Requested retention period (23 hours) is too short."
    );
    h.ok(
        "IncreaseStreamRetentionPeriod",
        json!({"StreamName": "r", "RetentionPeriodHours": 72}),
    )
    .await;
    assert_eq!(
        h.engine.topic("r").expect("topic").config.retention_ms,
        72 * 3_600_000
    );
    let m = h
        .err(
            "IncreaseStreamRetentionPeriod",
            json!({"StreamName": "r", "RetentionPeriodHours": 48}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Requested retention period (48 hours) for stream r can not be shorter than existing retention period (72 hours). Use DecreaseRetentionPeriod API."
    );
    h.ok(
        "DecreaseStreamRetentionPeriod",
        json!({"StreamName": "r", "RetentionPeriodHours": 48}),
    )
    .await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "r"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["RetentionPeriodHours"], 48);
}

#[tokio::test]
async fn modes_limits_and_account_settings() {
    let h = open().await;
    h.ok(
        "CreateStream",
        json!({"StreamName": "od", "StreamModeDetails": {"StreamMode": "ON_DEMAND"}}),
    )
    .await;
    h.settle();
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "od"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["OpenShardCount"], 4);
    assert_eq!(
        s["StreamDescriptionSummary"]["StreamModeDetails"]["StreamMode"],
        "ON_DEMAND"
    );
    let arn = "arn:aws:kinesis:us-east-1:000000000000:stream/od";
    let m = h
        .err(
            "UpdateShardCount",
            json!({"StreamName": "od", "TargetShardCount": 5, "ScalingType": "UNIFORM_SCALING"}),
            "ValidationException",
        )
        .await;
    assert!(m.contains("ON_DEMAND capacity mode"), "{m}");
    h.ok(
        "UpdateStreamMode",
        json!({"StreamARN": arn, "StreamModeDetails": {"StreamMode": "PROVISIONED"}}),
    )
    .await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "od"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["StreamStatus"], "UPDATING");
    // Control-plane changes wait for ACTIVE.
    h.err(
        "UpdateMaxRecordSize",
        json!({"StreamARN": arn, "MaxRecordSizeInKiB": 2048}),
        "ResourceInUseException",
    )
    .await;
    h.settle();
    h.ok(
        "UpdateMaxRecordSize",
        json!({"StreamARN": arn, "MaxRecordSizeInKiB": 2048}),
    )
    .await;
    let s = h
        .ok("DescribeStreamSummary", json!({"StreamName": "od"}))
        .await;
    assert_eq!(s["StreamDescriptionSummary"]["MaxRecordSizeInKiB"], 2048);
    let l = h.ok("DescribeLimits", json!({})).await;
    assert_eq!(l["ShardLimit"], 500);
    assert_eq!(l["OpenShardCount"], 4);
    assert_eq!(l["OnDemandStreamCount"], 0);
    let m = h
        .err(
            "CreateStream",
            json!({"StreamName": "huge", "ShardCount": 497}),
            "LimitExceededException",
        )
        .await;
    assert!(m.starts_with("This request would exceed the shard limit for the account 000000000000 in us-east-1. Current shard count for the account: 4. Limit: 500."), "{m}");
    let a = h.ok("DescribeAccountSettings", json!({})).await;
    assert_eq!(
        a["MinimumThroughputBillingCommitment"]["Status"],
        "DISABLED"
    );
    let a = h
        .ok(
            "UpdateAccountSettings",
            json!({"MinimumThroughputBillingCommitment": {"Status": "ENABLED"}}),
        )
        .await;
    assert_eq!(a["MinimumThroughputBillingCommitment"]["Status"], "ENABLED");
}

#[tokio::test]
async fn state_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clock = strait_kinesis::ManualClock::new(1_795_622_869_000);
    let h = open_at(config(), dir.path(), clock.clone()).await;
    h.stream("keep", 2).await;
    h.ok(
        "AddTagsToStream",
        json!({"StreamName": "keep", "Tags": {"team": "data"}}),
    )
    .await;
    let (shard, _) = h.put("keep", "k", b"durable").await;
    let it = h.iterator("keep", &shard, "TRIM_HORIZON").await;
    h.engine.shutdown().await.expect("shutdown");
    drop(h);
    let h2 = open_at(config(), dir.path(), clock).await;
    let tags = h2
        .ok("ListTagsForStream", json!({"StreamName": "keep"}))
        .await;
    assert_eq!(tags["Tags"], json!([{"Key": "team", "Value": "data"}]));
    // The iterator issued before the restart is still valid (its key is persisted).
    assert_eq!(h2.drain(&it).await.0, vec![b"durable".to_vec()]);
    h2.engine.shutdown().await.expect("shutdown");
}

/// Topics created through Kafka are streams to every data-plane call but not to the account's shard limit: only
/// Kinesis streams count (and DescribeLimits reports the same count), until a Kinesis reshard adopts a topic.
#[tokio::test]
async fn kafka_topics_do_not_count_against_the_shard_limit() {
    let h = open_with(
        strait_kinesis::KinesisConfig {
            shard_limit: 10,
            ..config()
        },
        tempfile::tempdir().expect("tempdir"),
        strait_kinesis::ManualClock::new(1_795_622_869_000),
    )
    .await;
    for (name, partitions) in [("kafka-a", 20), ("kafka-b", 3), ("kafka-c", 2)] {
        h.engine
            .create_topic(name, partitions, Default::default())
            .await
            .expect("topic");
    }
    let l = h.ok("DescribeLimits", json!({})).await;
    assert_eq!(l["OpenShardCount"], 0);
    h.ok("CreateStream", json!({"StreamName": "s", "ShardCount": 5}))
        .await;
    h.settle();
    let l = h.ok("DescribeLimits", json!({})).await;
    assert_eq!(l["OpenShardCount"], 5);
    let m = h
        .err(
            "CreateStream",
            json!({"StreamName": "t", "ShardCount": 6}),
            "LimitExceededException",
        )
        .await;
    assert!(
        m.contains("Current shard count for the account: 5. Limit: 10."),
        "{m}"
    );
    // Resharding a Kafka topic makes it a Kinesis stream: its 3 shards plus the new one are counted.
    h.ok(
        "UpdateShardCount",
        json!({"StreamName": "kafka-b", "TargetShardCount": 4, "ScalingType": "UNIFORM_SCALING"}),
    )
    .await;
    h.settle();
    let l = h.ok("DescribeLimits", json!({})).await;
    assert_eq!(l["OpenShardCount"], 9);
    let m = h
        .err(
            "SplitShard",
            json!({"StreamName": "kafka-c", "ShardToSplit": "shardId-000000000000",
                   "NewStartingHashKey": "1000"}),
            "LimitExceededException",
        )
        .await;
    assert!(
        m.contains("Current shard count for the account: 9. Limit: 10. Number of additional shards that would \
                    have resulted from this request: 3."),
        "{m}"
    );
}

/// ListStreams pages as AWS does: at most 100 names whatever Limit asks for, HasMoreStreams and NextToken until
/// every name (Kinesis streams and Kafka topics) has been returned exactly once, in order.
#[tokio::test]
async fn list_streams_pages_every_name_once() {
    let h = open().await;
    let mut expected = Vec::new();
    for i in 0..230 {
        let name = format!("topic-{i:04}");
        h.engine
            .create_topic(&name, 1, Default::default())
            .await
            .expect("topic");
        expected.push(name);
    }
    for name in ["stream-a", "stream-b", "zz-last"] {
        h.stream(name, 1).await;
        expected.push(name.to_string());
    }
    expected.sort();
    let first = h.ok("ListStreams", json!({"Limit": 1000})).await;
    assert_eq!(first["StreamNames"].as_array().expect("names").len(), 100);
    assert_eq!(
        first["StreamSummaries"].as_array().expect("sums").len(),
        100
    );
    assert_eq!(first["HasMoreStreams"], true);
    let mut seen: Vec<String> = Vec::new();
    let mut body = json!({"Limit": 100});
    loop {
        let page = h.ok("ListStreams", body).await;
        let names = page["StreamNames"].as_array().expect("names");
        seen.extend(names.iter().map(|n| n.as_str().expect("name").to_string()));
        match page["NextToken"].as_str() {
            Some(t) => {
                assert_eq!(page["HasMoreStreams"], true);
                body = json!({"NextToken": t});
            }
            None => {
                assert_eq!(page["HasMoreStreams"], false);
                break;
            }
        }
    }
    assert_eq!(seen, expected);
    // ExclusiveStartStreamName need not exist (a stream deleted between pages).
    let after = h
        .ok(
            "ListStreams",
            json!({"ExclusiveStartStreamName": "topic-0228x", "Limit": 5}),
        )
        .await;
    assert_eq!(after["StreamNames"], json!(["topic-0229", "zz-last"]));
    assert_eq!(after["HasMoreStreams"], false);
}
