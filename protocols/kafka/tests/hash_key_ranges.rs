//! DescribeConfigs' read-only `strait.kinesis.hash.key.ranges`: even ranges for a topic Kinesis has no record of,
//! the open shards of the persisted lineage once it has one, nothing for internal topics.

mod common;

use common::TestBroker;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::{CreateTopicsRequest, DescribeConfigsRequest, TopicName};
use kafka_protocol::protocol::StrBytes;
use strait_shard_map::ShardMap;
use strait_shard_map::stored::{
    HASH_KEY_RANGES_CONFIG, META_TABLE, hash_key_ranges_config, parse_hash_key_ranges_config,
    stream_key,
};

const TOPIC: i8 = 2;
const DEFAULT_CONFIG: i8 = 5;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

async fn create(t: &mut TestBroker, name: &str, partitions: i32) {
    let req = CreateTopicsRequest::default()
        .with_topics(vec![
            CreatableTopic::default()
                .with_name(TopicName(s(name)))
                .with_num_partitions(partitions)
                .with_replication_factor(1),
        ])
        .with_timeout_ms(30_000);
    let r = t.call(7, &req).await;
    assert_eq!(r.topics[0].error_code, 0, "{:?}", r.topics[0].error_message);
}

async fn describe(
    t: &mut TestBroker,
    name: &str,
    keys: Option<Vec<&str>>,
) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(TOPIC)
                .with_resource_name(s(name))
                .with_configuration_keys(keys.map(|k| k.into_iter().map(s).collect())),
        ])
        .with_include_documentation(true);
    t.call(4, &req).await.results.remove(0)
}

async fn ranges(t: &mut TestBroker, name: &str) -> Option<String> {
    let r = describe(t, name, None).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    let c = r
        .configs
        .into_iter()
        .find(|c| &*c.name == HASH_KEY_RANGES_CONFIG)?;
    assert!(c.read_only);
    assert_eq!(c.config_source, DEFAULT_CONFIG);
    assert!(c.documentation.is_some());
    c.value.map(|v| v.to_string())
}

#[tokio::test]
async fn kafka_topic_has_even_ranges_one_per_partition() {
    let mut t = TestBroker::new().await;
    create(&mut t, "even", 4).await;
    let v = ranges(&mut t, "even").await.expect("listed");
    let parsed = parse_hash_key_ranges_config(&v).expect("parses");
    let want: Vec<_> = strait_shard_map::even_ranges(4)
        .into_iter()
        .zip(0u32..)
        .map(|(r, p)| (p, r))
        .collect();
    assert_eq!(parsed, want);
    // Asked for by name, it is the only entry.
    let r = describe(&mut t, "even", Some(vec![HASH_KEY_RANGES_CONFIG])).await;
    assert_eq!(r.configs.len(), 1);
    t.shutdown().await;
}

#[tokio::test]
async fn persisted_lineage_gives_the_open_shards_only() {
    let mut t = TestBroker::new().await;
    create(&mut t, "split", 3).await;
    // What the Kinesis front end persists after SplitShard of shard 1 (its record holds more members; the reader
    // ignores them).
    let mut map = ShardMap::new(2, 0).expect("map");
    let plan = map.plan_split(1, 3u128 << 126, 1).expect("plan");
    map.apply(&plan, &[(1, 0)].into_iter().collect())
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
    let v = ranges(&mut t, "split").await.expect("listed");
    assert_eq!(v, hash_key_ranges_config(&map));
    let parts: Vec<u32> = parse_hash_key_ranges_config(&v)
        .expect("parses")
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    assert_eq!(parts, [0, 2, 3], "closed parent 1 is not listed");

    // A damaged record is an error for this topic, not a wrong answer.
    t.broker
        .engine()
        .meta()
        .put(META_TABLE, &stream_key("split"), b"{}".to_vec())
        .await
        .expect("put");
    let r = describe(&mut t, "split", None).await;
    assert_ne!(r.error_code, 0);
    t.shutdown().await;
}

#[tokio::test]
async fn internal_topics_have_no_ranges() {
    let mut t = TestBroker::new().await;
    create(&mut t, "__internal_like", 1).await;
    assert_eq!(ranges(&mut t, "__internal_like").await, None);
    t.shutdown().await;
}
