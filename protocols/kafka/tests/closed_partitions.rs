//! Partitions closed by a Kinesis reshard: a Produce there is refused with POLICY_VIOLATION and a message naming
//! the children and the open partitions, and DescribeConfigs lists them in `strait.closed.partitions`.

mod common;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{CreateTopicsRequest, DescribeConfigsRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_kafka::api::closed_partitions::CLOSED_PARTITIONS_CONFIG;
use strait_shard_map::ShardMap;
use strait_shard_map::stored::{META_TABLE, stream_key};

const TOPIC: i8 = 2;

async fn create(t: &mut TestBroker, topic: &str, partitions: i32) {
    let req = CreateTopicsRequest::default()
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(1),
        ])
        .with_timeout_ms(30_000);
    let r = t.call(7, &req).await;
    assert_eq!(r.topics[0].error_code, 0, "{:?}", r.topics[0].error_message);
}

async fn closed_config(t: &mut TestBroker, topic: &str) -> Option<(String, bool)> {
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(StrBytes::from_string(topic.to_string()))
            .with_configuration_keys(None),
    ]);
    let mut r = t.call(4, &req).await;
    let r = r.results.remove(0);
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    r.configs
        .into_iter()
        .find(|c| &*c.name == CLOSED_PARTITIONS_CONFIG)
        .map(|c| {
            (
                c.value.map(|v| v.to_string()).unwrap_or_default(),
                c.read_only,
            )
        })
}

async fn produce_error(t: &mut TestBroker, topic: &str, partition: i32) -> (i16, String) {
    let r = t
        .call(
            9,
            &produce(topic, partition, batch(&["v"], Compression::None, None), -1),
        )
        .await;
    let p = &r.responses[0].partition_responses[0];
    (
        p.error_code,
        p.error_message
            .as_ref()
            .map(|m| m.to_string())
            .unwrap_or_default(),
    )
}

#[tokio::test]
async fn closed_partitions_are_named_in_the_error_and_the_config() {
    let mut t = TestBroker::new().await;
    create(&mut t, "split", 4).await;
    assert_eq!(
        closed_config(&mut t, "split").await,
        Some((String::new(), true))
    );

    // What Kinesis does for SplitShard of shard 1 of a 2-shard stream: seal partition 1, then persist the map
    // (children 2 and 3).
    let mut map = ShardMap::new(2, 0).expect("map");
    let plan = map.plan_split(1, 3u128 << 126, 1).expect("plan");
    let end = t
        .broker
        .engine()
        .partition("split", 1)
        .expect("partition")
        .seal()
        .await
        .expect("seal");
    map.apply(&plan, &[(1, end)].into_iter().collect())
        .expect("apply");
    let record = serde_json::json!({"name": "split", "status": "ACTIVE", "shards": map});
    t.broker
        .engine()
        .meta()
        .put(
            META_TABLE,
            &stream_key("split"),
            serde_json::to_vec(&record).expect("json"),
        )
        .await
        .expect("put");

    let (code, message) = produce_error(&mut t, "split", 1).await;
    assert_eq!(code, ResponseError::PolicyViolation.code());
    assert_eq!(
        message,
        "partition 1 of stream split is closed by resharding; its child shards are partitions 2, 3; produce \
         without a key-based partitioner or to the open partitions (0, 2, 3)"
    );
    assert_eq!(
        produce_error(&mut t, "split", 2).await.0,
        0,
        "a child takes writes"
    );
    assert_eq!(
        closed_config(&mut t, "split").await,
        Some(("1".to_string(), true))
    );

    // Sealed by the engine before a reshard committed its map: listed, and the error says so.
    t.broker
        .engine()
        .partition("split", 0)
        .expect("partition")
        .seal()
        .await
        .expect("seal");
    assert_eq!(
        closed_config(&mut t, "split").await,
        Some(("0,1".to_string(), true))
    );
    let (code, message) = produce_error(&mut t, "split", 0).await;
    assert_eq!(code, ResponseError::PolicyViolation.code());
    assert!(message.contains("not recorded yet"), "{message}");
    t.shutdown().await;
}

#[tokio::test]
async fn internal_topics_have_no_closed_partitions_entry() {
    let mut t = TestBroker::new().await;
    create(&mut t, "__internal_like", 1).await;
    assert_eq!(closed_config(&mut t, "__internal_like").await, None);
    t.shutdown().await;
}
