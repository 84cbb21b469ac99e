//! Helpers shared by the admin API tests (`admin_topics.rs`, `admin_configs.rs`), with the imports they use.
#![allow(dead_code, unreachable_pub, unused_imports)]

pub use std::collections::BTreeMap;

pub use super::TestBroker;
pub use kafka_protocol::error::ResponseError;
pub use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
pub use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
pub use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
pub use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
pub use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
pub use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
pub use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
pub use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
pub use kafka_protocol::messages::{
    AlterConfigsRequest, ApiKey, ApiVersionsRequest, BrokerId, CreatePartitionsRequest,
    CreateTopicsRequest, DeleteRecordsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, DescribeLogDirsRequest, IncrementalAlterConfigsRequest, TopicName,
    alter_configs_request, incremental_alter_configs_request,
};
pub use kafka_protocol::protocol::StrBytes;
pub use strait_engine::batch::{BatchBuilder, RecordInput};
pub use strait_engine::{AppendOptions, CleanupPolicy};
pub use strait_kafka::BrokerConfig;

pub const TOPIC: i8 = 2;
pub const BROKER: i8 = 4;
pub const DYNAMIC_TOPIC_CONFIG: i8 = 1;
pub const DEFAULT_CONFIG: i8 = 5;

pub fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

pub fn tn(v: &str) -> TopicName {
    TopicName(s(v))
}

pub fn code(e: ResponseError) -> i16 {
    e.code()
}

pub fn new_topic(name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(tn(name))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_configs(
            configs
                .iter()
                .map(|(k, v)| {
                    CreatableTopicConfig::default()
                        .with_name(s(k))
                        .with_value(Some(s(v)))
                })
                .collect(),
        )
}

pub async fn create_all(
    t: &mut TestBroker,
    version: i16,
    topics: Vec<CreatableTopic>,
    validate_only: bool,
) -> Vec<CreatableTopicResult> {
    let req = CreateTopicsRequest::default()
        .with_topics(topics)
        .with_timeout_ms(30_000)
        .with_validate_only(validate_only);
    t.call(version, &req).await.topics
}

pub async fn create(t: &mut TestBroker, topic: CreatableTopic) -> CreatableTopicResult {
    let mut r = create_all(t, 7, vec![topic], false).await;
    assert_eq!(r.len(), 1);
    r.remove(0)
}

pub async fn describe_raw(
    t: &mut TestBroker,
    version: i16,
    resource_type: i8,
    name: &str,
    keys: Option<Vec<&str>>,
    synonyms: bool,
) -> DescribeConfigsResult {
    let req = DescribeConfigsRequest::default()
        .with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(s(name))
                .with_configuration_keys(keys.map(|k| k.into_iter().map(s).collect())),
        ])
        .with_include_synonyms(synonyms)
        .with_include_documentation(version >= 3);
    let mut r = t.call(version, &req).await;
    r.results.remove(0)
}

/// A topic's configs as name → (value, source).
pub async fn topic_configs(t: &mut TestBroker, name: &str) -> BTreeMap<String, (String, i8)> {
    let r = describe_raw(t, 4, TOPIC, name, None, false).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    r.configs
        .into_iter()
        .map(|c| {
            let v = c.value.map(|v| v.to_string()).unwrap_or_default();
            (c.name.to_string(), (v, c.config_source))
        })
        .collect()
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Appends `n` single-record batches straight to the engine (the Produce path is tested elsewhere).
pub async fn append(t: &TestBroker, topic: &str, partition: u32, n: usize) {
    let p = t
        .broker
        .engine()
        .partition(topic, partition)
        .expect("partition");
    for _ in 0..n {
        let mut b = BatchBuilder::new();
        b.push(RecordInput {
            key: None,
            value: Some(b"some value"),
            headers: &[],
            timestamp_ms: now_ms(),
        });
        p.append(b.finish().into(), AppendOptions::default())
            .await
            .expect("append");
    }
}

pub fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> CreatePartitionsTopic {
    CreatePartitionsTopic::default()
        .with_name(tn(name))
        .with_count(count)
        .with_assignments(assignments.map(|a| {
            a.into_iter()
                .map(|ids| {
                    CreatePartitionsAssignment::default()
                        .with_broker_ids(ids.into_iter().map(BrokerId).collect())
                })
                .collect()
        }))
}
