//! Consumers, tags (stream and ARN styles), encryption, enhanced monitoring and resource policies.

mod common;

use common::*;
use serde_json::json;

const ARN: &str = "arn:aws:kinesis:us-east-1:000000000000:stream/s";

#[tokio::test]
async fn consumer_registry_lifecycle() {
    let h = open().await;
    h.stream("s", 1).await;
    let c = h
        .ok(
            "RegisterStreamConsumer",
            json!({"StreamARN": ARN, "ConsumerName": "app"}),
        )
        .await;
    let c = &c["Consumer"];
    assert_eq!(c["ConsumerStatus"], "CREATING");
    let carn = c["ConsumerARN"].as_str().expect("arn").to_string();
    assert_eq!(
        carn,
        format!(
            "{ARN}/consumer/app:{}",
            (1_795_622_869_000i64 + DELAY.as_millis() as i64 + 1) / 1000
        )
    );
    let m = h
        .err(
            "RegisterStreamConsumer",
            json!({"StreamARN": ARN, "ConsumerName": "app"}),
            "ResourceInUseException",
        )
        .await;
    assert_eq!(
        m,
        "Consumer app under stream s already exists for account 000000000000."
    );
    h.settle();
    let d = h
        .ok("DescribeStreamConsumer", json!({"ConsumerARN": carn}))
        .await;
    assert_eq!(d["ConsumerDescription"]["ConsumerStatus"], "ACTIVE");
    assert_eq!(d["ConsumerDescription"]["StreamARN"], ARN);
    let d = h
        .ok(
            "DescribeStreamConsumer",
            json!({"StreamARN": ARN, "ConsumerName": "app"}),
        )
        .await;
    assert_eq!(d["ConsumerDescription"]["ConsumerARN"], carn);
    for i in 0..3 {
        h.ok(
            "RegisterStreamConsumer",
            json!({"StreamARN": ARN, "ConsumerName": format!("more{i}")}),
        )
        .await;
    }
    let l = h
        .ok(
            "ListStreamConsumers",
            json!({"StreamARN": ARN, "MaxResults": 3}),
        )
        .await;
    assert_eq!(l["Consumers"].as_array().expect("list").len(), 3);
    let l2 = h
        .ok(
            "ListStreamConsumers",
            json!({"StreamARN": ARN, "NextToken": l["NextToken"]}),
        )
        .await;
    assert_eq!(l2["Consumers"].as_array().expect("list").len(), 1);
    h.ok("DeregisterStreamConsumer", json!({"ConsumerARN": carn}))
        .await;
    let d = h
        .ok("DescribeStreamConsumer", json!({"ConsumerARN": carn}))
        .await;
    assert_eq!(d["ConsumerDescription"]["ConsumerStatus"], "DELETING");
    h.settle();
    h.err(
        "DescribeStreamConsumer",
        json!({"ConsumerARN": carn}),
        "ResourceNotFoundException",
    )
    .await;
    // The registry the SubscribeToShard glue uses.
    let live = h.k.stream_consumers(
        &h.k.shard_view("s", "shardId-000000000000")
            .expect("view")
            .stream,
    );
    assert_eq!(live.len(), 3);
    assert!(h.k.consumer_by_arn(&live[0].arn).is_ok());
    h.err(
        "DeleteStream",
        json!({"StreamName": "s"}),
        "ResourceInUseException",
    )
    .await;
    h.ok(
        "DeleteStream",
        json!({"StreamName": "s", "EnforceConsumerDeletion": true}),
    )
    .await;
}

#[tokio::test]
async fn tags_in_both_styles() {
    let h = open().await;
    h.stream("s", 1).await;
    h.ok(
        "AddTagsToStream",
        json!({"StreamName": "s", "Tags": {"b": "2", "a": "1", "c": ""}}),
    )
    .await;
    let t = h
        .ok("ListTagsForStream", json!({"StreamName": "s", "Limit": 2}))
        .await;
    assert_eq!(
        t["Tags"],
        json!([{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}])
    );
    assert_eq!(t["HasMoreTags"], true);
    let t = h
        .ok(
            "ListTagsForStream",
            json!({"StreamName": "s", "ExclusiveStartTagKey": "b"}),
        )
        .await;
    assert_eq!(t["Tags"], json!([{"Key": "c", "Value": ""}]));
    h.ok(
        "RemoveTagsFromStream",
        json!({"StreamName": "s", "TagKeys": ["a", "zz"]}),
    )
    .await;
    h.ok(
        "TagResource",
        json!({"ResourceARN": ARN, "Tags": {"d": "4"}}),
    )
    .await;
    h.ok(
        "UntagResource",
        json!({"ResourceARN": ARN, "TagKeys": ["b"]}),
    )
    .await;
    let t = h
        .ok("ListTagsForResource", json!({"ResourceARN": ARN}))
        .await;
    assert_eq!(
        t["Tags"],
        json!([{"Key": "c", "Value": ""}, {"Key": "d", "Value": "4"}])
    );
    let many: serde_json::Map<String, serde_json::Value> =
        (0..49).map(|i| (format!("k{i}"), json!("v"))).collect();
    let m = h
        .err(
            "AddTagsToStream",
            json!({"StreamName": "s", "Tags": many}),
            "LimitExceededException",
        )
        .await;
    assert!(m.contains("cannot have more than 50 tags"), "{m}");
    h.err(
        "ListTagsForResource",
        json!({"ResourceARN": "arn:aws:kinesis:us-east-1:000000000000:stream/other"}),
        "ResourceNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn encryption_monitoring_and_policies_are_recorded() {
    let h = open().await;
    h.stream("s", 1).await;
    h.ok(
        "StartStreamEncryption",
        json!({"StreamName": "s", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    )
    .await;
    h.settle();
    let d = h.ok("DescribeStream", json!({"StreamName": "s"})).await;
    assert_eq!(d["StreamDescription"]["EncryptionType"], "KMS");
    assert_eq!(d["StreamDescription"]["KeyId"], "alias/aws/kinesis");
    let p = h
        .ok(
            "PutRecord",
            json!({"StreamName": "s", "PartitionKey": "k", "Data": ""}),
        )
        .await;
    assert_eq!(p["EncryptionType"], "KMS");
    h.ok(
        "StopStreamEncryption",
        json!({"StreamName": "s", "EncryptionType": "KMS", "KeyId": "alias/aws/kinesis"}),
    )
    .await;
    h.settle();
    let e = h
        .ok(
            "EnableEnhancedMonitoring",
            json!({"StreamName": "s", "ShardLevelMetrics": ["IncomingBytes", "OutgoingRecords"]}),
        )
        .await;
    assert_eq!(e["CurrentShardLevelMetrics"], json!([]));
    assert_eq!(
        e["DesiredShardLevelMetrics"],
        json!(["IncomingBytes", "OutgoingRecords"])
    );
    h.settle();
    let e = h
        .ok(
            "DisableEnhancedMonitoring",
            json!({"StreamName": "s", "ShardLevelMetrics": ["IncomingBytes"]}),
        )
        .await;
    assert_eq!(e["DesiredShardLevelMetrics"], json!(["OutgoingRecords"]));
    h.settle();
    let d = h.ok("DescribeStream", json!({"StreamName": "s"})).await;
    assert_eq!(d["StreamDescription"]["EncryptionType"], "NONE");
    assert_eq!(
        d["StreamDescription"]["EnhancedMonitoring"],
        json!([{"ShardLevelMetrics": ["OutgoingRecords"]}])
    );
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    h.ok(
        "PutResourcePolicy",
        json!({"ResourceARN": ARN, "Policy": policy}),
    )
    .await;
    assert_eq!(
        h.ok("GetResourcePolicy", json!({"ResourceARN": ARN})).await["Policy"],
        policy
    );
    h.ok("DeleteResourcePolicy", json!({"ResourceARN": ARN}))
        .await;
    assert_eq!(
        h.ok("GetResourcePolicy", json!({"ResourceARN": ARN})).await["Policy"],
        "{}"
    );
    h.err(
        "DeleteResourcePolicy",
        json!({"ResourceARN": ARN}),
        "ResourceNotFoundException",
    )
    .await;
    h.err(
        "PutResourcePolicy",
        json!({"ResourceARN": ARN, "Policy": "nope"}),
        "InvalidArgumentException",
    )
    .await;
}
