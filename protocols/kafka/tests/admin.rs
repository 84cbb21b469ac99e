//! Admin APIs through the wire encoding: CreateTopics, DeleteTopics, CreatePartitions, DescribeConfigs,
//! AlterConfigs, IncrementalAlterConfigs, DeleteRecords, DescribeLogDirs and DescribeCluster, including their
//! error paths, validate_only, config round trips and persistence across a restart.

mod support;

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::describe_configs_response::DescribeConfigsResult;
use kafka_protocol::messages::describe_log_dirs_request::DescribableLogDirTopic;
use kafka_protocol::messages::{
    AlterConfigsRequest, ApiKey, ApiVersionsRequest, BrokerId, CreatePartitionsRequest,
    CreateTopicsRequest, DeleteRecordsRequest, DeleteTopicsRequest, DescribeClusterRequest,
    DescribeConfigsRequest, DescribeLogDirsRequest, IncrementalAlterConfigsRequest, TopicName,
    alter_configs_request, incremental_alter_configs_request,
};
use kafka_protocol::protocol::StrBytes;
use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_engine::{AppendOptions, CleanupPolicy};
use strait_kafka::BrokerConfig;
use support::TestBroker;

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const DEFAULT_CONFIG: i8 = 5;

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

fn tn(v: &str) -> TopicName {
    TopicName(s(v))
}

fn code(e: ResponseError) -> i16 {
    e.code()
}

fn new_topic(name: &str, partitions: i32, rf: i16, configs: &[(&str, &str)]) -> CreatableTopic {
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

async fn create_all(
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

async fn create(t: &mut TestBroker, topic: CreatableTopic) -> CreatableTopicResult {
    let mut r = create_all(t, 7, vec![topic], false).await;
    assert_eq!(r.len(), 1);
    r.remove(0)
}

async fn describe_raw(
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
async fn topic_configs(t: &mut TestBroker, name: &str) -> BTreeMap<String, (String, i8)> {
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

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

/// Appends `n` single-record batches straight to the engine (the Produce path is tested elsewhere).
async fn append(t: &TestBroker, topic: &str, partition: u32, n: usize) {
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

#[tokio::test]
async fn api_versions_advertises_admin_ranges() {
    let mut t = TestBroker::new().await;
    let r = t.call(3, &ApiVersionsRequest::default()).await;
    let range = |k: ApiKey| {
        r.api_keys
            .iter()
            .find(|a| a.api_key == k as i16)
            .map(|a| (a.min_version, a.max_version))
    };
    assert_eq!(range(ApiKey::CreateTopics), Some((2, 7)));
    assert_eq!(range(ApiKey::DeleteTopics), Some((1, 6)));
    assert_eq!(range(ApiKey::CreatePartitions), Some((0, 3)));
    assert_eq!(range(ApiKey::DeleteRecords), Some((0, 2)));
    assert_eq!(range(ApiKey::DescribeConfigs), Some((1, 4)));
    assert_eq!(range(ApiKey::AlterConfigs), Some((0, 2)));
    assert_eq!(range(ApiKey::IncrementalAlterConfigs), Some((0, 1)));
    assert_eq!(range(ApiKey::DescribeLogDirs), Some((1, 4)));
    assert_eq!(range(ApiKey::DescribeCluster), Some((0, 2)));
    t.shutdown().await;
}

#[tokio::test]
async fn create_topics_reports_what_it_created() {
    let mut t = TestBroker::with_config(BrokerConfig {
        default_partitions: 4,
        ..Default::default()
    })
    .await;
    let configs = [("retention.ms", "60000"), ("compression.type", "zstd")];
    let r = create(&mut t, new_topic("orders", 3, -1, &configs)).await;
    assert_eq!(r.error_code, 0, "{:?}", r.error_message);
    assert_eq!(r.error_message, None);
    assert_ne!(r.topic_id, uuid::Uuid::nil());
    assert_eq!((r.num_partitions, r.replication_factor), (3, 1));
    let cfg: BTreeMap<String, (String, i8)> = r
        .configs
        .expect("configs")
        .into_iter()
        .map(|c| {
            let v = c.value.map(|v| v.to_string()).unwrap_or_default();
            (c.name.to_string(), (v, c.config_source))
        })
        .collect();
    assert_eq!(cfg["retention.ms"], ("60000".into(), DYNAMIC_TOPIC_CONFIG));
    assert_eq!(
        cfg["compression.type"],
        ("zstd".into(), DYNAMIC_TOPIC_CONFIG)
    );
    assert_eq!(
        cfg["segment.bytes"],
        ((1u64 << 30).to_string(), DEFAULT_CONFIG)
    );
    let info = t.broker.engine().topic("orders").expect("created");
    assert_eq!((info.id, info.partitions), (r.topic_id, 3));
    assert_eq!(info.config.retention_ms, 60_000);

    // -1 partitions and replication factor take the broker defaults; replication factor 1 is accepted too.
    let r = create(&mut t, new_topic("defaults", -1, -1, &[])).await;
    assert_eq!(
        (r.error_code, r.num_partitions, r.replication_factor),
        (0, 4, 1)
    );
    let r = create(&mut t, new_topic("rf-one", 2, 1, &[])).await;
    assert_eq!((r.error_code, r.num_partitions), (0, 2));
    // The oldest version we speak still works (no ids, no configs on the wire).
    let r = create_all(&mut t, 2, vec![new_topic("old-client", 1, 1, &[])], false).await;
    assert_eq!(r[0].error_code, 0);
    assert!(t.broker.engine().topic("old-client").is_some());
    t.shutdown().await;
}

#[tokio::test]
async fn create_topics_manual_assignments() {
    let mut t = TestBroker::new().await;
    let assign = |p: i32, ids: &[i32]| {
        CreatableReplicaAssignment::default()
            .with_partition_index(p)
            .with_broker_ids(ids.iter().map(|i| BrokerId(*i)).collect())
    };
    let with = |name: &str, a: Vec<CreatableReplicaAssignment>| {
        new_topic(name, -1, -1, &[]).with_assignments(a)
    };
    let r = create(
        &mut t,
        with("manual", vec![assign(0, &[1]), assign(1, &[1])]),
    )
    .await;
    assert_eq!((r.error_code, r.num_partitions), (0, 2));
    let cases = [
        (
            with("m1", vec![assign(0, &[2])]),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            with("m2", vec![assign(0, &[1, 1])]),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            with("m3", vec![assign(0, &[])]),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            with("m4", vec![assign(0, &[1]), assign(2, &[1])]),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            with("m5", vec![assign(0, &[1]), assign(0, &[1])]),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            new_topic("m6", 2, -1, &[]).with_assignments(vec![assign(0, &[1])]),
            ResponseError::InvalidRequest,
        ),
    ];
    for (topic, expected) in cases {
        let name = topic.name.0.to_string();
        let r = create(&mut t, topic).await;
        assert_eq!(
            r.error_code,
            code(expected),
            "{name}: {:?}",
            r.error_message
        );
        assert!(r.error_message.is_some_and(|m| !m.is_empty()));
        assert!(t.broker.engine().topic(&name).is_none(), "{name}");
    }
    t.shutdown().await;
}

#[tokio::test]
async fn create_topics_errors() {
    let mut t = TestBroker::new().await;
    assert_eq!(
        create(&mut t, new_topic("exists", 1, -1, &[]))
            .await
            .error_code,
        0
    );
    assert_eq!(
        create(&mut t, new_topic("a.b", 1, -1, &[]))
            .await
            .error_code,
        0
    );
    let null_value = new_topic("nullcfg", 1, -1, &[]).with_configs(vec![
        CreatableTopicConfig::default()
            .with_name(s("retention.ms"))
            .with_value(None),
    ]);
    let cases = [
        (
            new_topic("exists", 1, -1, &[]),
            ResponseError::TopicAlreadyExists,
        ),
        (
            new_topic("bad name!", 1, -1, &[]),
            ResponseError::InvalidTopicException,
        ),
        (
            new_topic("a_b", 1, -1, &[]),
            ResponseError::InvalidTopicException,
        ),
        (
            new_topic("rf3", 1, 3, &[]),
            ResponseError::InvalidReplicationFactor,
        ),
        (
            new_topic("rf0", 1, 0, &[]),
            ResponseError::InvalidReplicationFactor,
        ),
        (
            new_topic("p0", 0, -1, &[]),
            ResponseError::InvalidPartitions,
        ),
        (
            new_topic("pneg", -5, -1, &[]),
            ResponseError::InvalidPartitions,
        ),
        (
            new_topic("huge", 1_000_000, -1, &[]),
            ResponseError::InvalidPartitions,
        ),
        (
            new_topic("unknown-key", 1, -1, &[("no.such.config", "1")]),
            ResponseError::InvalidConfig,
        ),
        (
            new_topic("bad-value", 1, -1, &[("retention.ms", "soon")]),
            ResponseError::InvalidConfig,
        ),
        (
            new_topic("bad-extra", 1, -1, &[("min.insync.replicas", "0")]),
            ResponseError::InvalidConfig,
        ),
        (
            new_topic("removed-key", 1, -1, &[("message.format.version", "3.0")]),
            ResponseError::InvalidConfig,
        ),
        (null_value, ResponseError::InvalidConfig),
    ];
    for (topic, expected) in cases {
        let name = topic.name.0.to_string();
        let r = create(&mut t, topic).await;
        assert_eq!(
            r.error_code,
            code(expected),
            "{name}: {:?}",
            r.error_message
        );
        assert!(r.error_message.is_some_and(|m| !m.is_empty()), "{name}");
        assert_eq!((r.num_partitions, r.replication_factor), (-1, -1));
    }
    let rf = create(&mut t, new_topic("rf3", 1, 3, &[])).await;
    assert!(rf.error_message.expect("message").contains("only 1 broker"));
    // A name given twice gets one INVALID_REQUEST answer and is not created; the others proceed.
    let r = create_all(
        &mut t,
        7,
        vec![
            new_topic("twice", 1, -1, &[]),
            new_topic("once", 1, -1, &[]),
            new_topic("twice", 2, -1, &[]),
        ],
        false,
    )
    .await;
    assert_eq!(r.len(), 2);
    assert_eq!(
        (r[0].name.0.as_str(), r[0].error_code),
        ("twice", code(ResponseError::InvalidRequest))
    );
    assert_eq!((r[1].name.0.as_str(), r[1].error_code), ("once", 0));
    assert!(t.broker.engine().topic("twice").is_none());
    t.shutdown().await;
}

#[tokio::test]
async fn create_topics_validate_only_creates_nothing() {
    let mut t = TestBroker::new().await;
    let topics = vec![
        new_topic("dry", 5, -1, &[("cleanup.policy", "compact")]),
        new_topic("dry-bad", 1, 2, &[]),
    ];
    let r = create_all(&mut t, 7, topics, true).await;
    assert_eq!(
        (
            r[0].error_code,
            r[0].num_partitions,
            r[0].replication_factor
        ),
        (0, 5, 1)
    );
    let cfg = r[0].configs.as_ref().expect("configs");
    let policy = cfg
        .iter()
        .find(|c| &*c.name == "cleanup.policy")
        .expect("listed");
    assert_eq!(policy.value.as_deref(), Some("compact"));
    assert_eq!(
        r[1].error_code,
        code(ResponseError::InvalidReplicationFactor)
    );
    assert!(t.broker.engine().list_topics().is_empty());
    t.shutdown().await;
}

#[tokio::test]
async fn delete_topics_by_name_and_id() {
    let mut t = TestBroker::new().await;
    for n in ["a", "b", "c", "d"] {
        assert_eq!(create(&mut t, new_topic(n, 1, -1, &[])).await.error_code, 0);
    }
    // v5: names only; the unknown one fails, the others go, and nothing else is touched.
    let r = t
        .call(
            5,
            &DeleteTopicsRequest::default().with_topic_names(vec![tn("a"), tn("nope")]),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        r.responses[1].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
    assert!(r.responses[1].error_message.is_some());
    let left: Vec<String> = t
        .broker
        .engine()
        .list_topics()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(left, ["b", "c", "d"]);

    // v6: by id (the response names the topic), unknown id, name and id together, and an entry repeated.
    let b_id = t.broker.engine().topic("b").expect("b").id;
    let state = |name: Option<&str>, id: uuid::Uuid| {
        DeleteTopicState::default()
            .with_name(name.map(tn))
            .with_topic_id(id)
    };
    let req = DeleteTopicsRequest::default().with_topics(vec![
        state(None, b_id),
        state(None, uuid::Uuid::new_v4()),
        state(Some("c"), b_id),
        state(Some("d"), uuid::Uuid::nil()),
        state(Some("d"), uuid::Uuid::nil()),
        state(None, uuid::Uuid::nil()),
    ]);
    let r = t.call(6, &req).await;
    let codes: Vec<i16> = r.responses.iter().map(|x| x.error_code).collect();
    let invalid = code(ResponseError::InvalidRequest);
    assert_eq!(
        codes,
        [
            0,
            code(ResponseError::UnknownTopicId),
            invalid,
            invalid,
            invalid
        ]
    );
    assert_eq!(
        r.responses[0].name.as_ref().map(|n| n.0.as_str()),
        Some("b")
    );
    assert_eq!(r.responses[0].topic_id, b_id);
    let left: Vec<String> = t
        .broker
        .engine()
        .list_topics()
        .into_iter()
        .map(|i| i.name)
        .collect();
    assert_eq!(
        left,
        ["c", "d"],
        "repeated and ambiguous entries delete nothing"
    );

    // v1 still works, and a name and an id for the same topic in one request are caught.
    let r = t
        .call(
            1,
            &DeleteTopicsRequest::default().with_topic_names(vec![tn("c")]),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    let d_id = t.broker.engine().topic("d").expect("d").id;
    let r = t
        .call(
            6,
            &DeleteTopicsRequest::default()
                .with_topics(vec![state(Some("d"), uuid::Uuid::nil()), state(None, d_id)]),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(r.responses[1].error_code, invalid);
    assert!(t.broker.engine().list_topics().is_empty());
    t.shutdown().await;
}

#[tokio::test]
async fn recreated_topic_does_not_inherit_stored_configs() {
    let mut t = TestBroker::new().await;
    let r = create(
        &mut t,
        new_topic("again", 1, -1, &[("compression.type", "lz4")]),
    )
    .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(
        topic_configs(&mut t, "again").await["compression.type"].0,
        "lz4"
    );
    let r = t
        .call(
            6,
            &DeleteTopicsRequest::default().with_topics(vec![
                DeleteTopicState::default().with_name(Some(tn("again"))),
            ]),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        create(&mut t, new_topic("again", 1, -1, &[]))
            .await
            .error_code,
        0
    );
    let cfg = topic_configs(&mut t, "again").await;
    assert_eq!(cfg["compression.type"], ("producer".into(), DEFAULT_CONFIG));
    t.shutdown().await;
}

fn grow(name: &str, count: i32, assignments: Option<Vec<Vec<i32>>>) -> CreatePartitionsTopic {
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

#[tokio::test]
async fn create_partitions_grows_and_validates() {
    let mut t = TestBroker::new().await;
    assert_eq!(
        create(&mut t, new_topic("grow", 1, -1, &[]))
            .await
            .error_code,
        0
    );
    let call = |topics: Vec<CreatePartitionsTopic>, validate_only: bool| {
        CreatePartitionsRequest::default()
            .with_topics(topics)
            .with_timeout_ms(30_000)
            .with_validate_only(validate_only)
    };
    let parts = |t: &TestBroker| t.broker.engine().topic("grow").expect("topic").partitions;

    let r = t.call(3, &call(vec![grow("grow", 4, None)], true)).await;
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(parts(&t), 1, "validate_only changes nothing");
    let r = t.call(3, &call(vec![grow("grow", 3, None)], false)).await;
    assert_eq!(
        (r.results[0].error_code, r.results[0].error_message.as_ref()),
        (0, None)
    );
    assert_eq!(parts(&t), 3);
    let r = t
        .call(
            0,
            &call(vec![grow("grow", 5, Some(vec![vec![1], vec![1]]))], false),
        )
        .await;
    assert_eq!(r.results[0].error_code, 0);
    assert_eq!(parts(&t), 5);

    let cases = [
        (grow("grow", 5, None), ResponseError::InvalidPartitions),
        (grow("grow", 2, None), ResponseError::InvalidPartitions),
        (
            grow("nope", 2, None),
            ResponseError::UnknownTopicOrPartition,
        ),
        (
            grow("grow", 7, Some(vec![vec![1]])),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            grow("grow", 6, Some(vec![vec![2]])),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            grow("grow", 6, Some(vec![vec![1, 1]])),
            ResponseError::InvalidReplicaAssignment,
        ),
        (
            grow("grow", 100_000, None),
            ResponseError::InvalidPartitions,
        ),
    ];
    for (topic, expected) in cases {
        let r = t.call(3, &call(vec![topic], false)).await;
        assert_eq!(
            r.results[0].error_code,
            code(expected),
            "{:?}",
            r.results[0].error_message
        );
        assert!(r.results[0].error_message.is_some());
    }
    let r = t
        .call(
            3,
            &call(vec![grow("grow", 8, None), grow("grow", 9, None)], false),
        )
        .await;
    assert_eq!(r.results.len(), 1);
    assert_eq!(r.results[0].error_code, code(ResponseError::InvalidRequest));
    assert_eq!(parts(&t), 5);
    t.shutdown().await;
}

#[tokio::test]
async fn describe_configs_topic_and_broker() {
    let mut t = TestBroker::new().await;
    let r = create(
        &mut t,
        new_topic(
            "desc",
            1,
            -1,
            &[("retention.ms", "1000"), ("min.insync.replicas", "1")],
        ),
    )
    .await;
    assert_eq!(r.error_code, 0);

    let r = describe_raw(&mut t, 4, TOPIC, "desc", None, true).await;
    assert_eq!((r.error_code, r.error_message.as_ref()), (0, None));
    let names: Vec<&str> = r.configs.iter().map(|c| &*c.name).collect();
    for k in strait_engine::config::TOPIC_CONFIG_KEYS {
        assert!(names.contains(k), "{k} described");
    }
    assert!(names.contains(&"compression.type"));
    assert!(
        !names.contains(&"message.timestamp.difference.max.ms"),
        "legacy keys only when set"
    );
    let get = |n: &str| r.configs.iter().find(|c| &*c.name == n).expect("listed");
    let ret = get("retention.ms");
    assert_eq!(
        (ret.value.as_deref(), ret.config_source),
        (Some("1000"), DYNAMIC_TOPIC_CONFIG)
    );
    assert!(!ret.read_only && !ret.is_sensitive);
    assert_eq!(ret.config_type, 5, "LONG");
    assert!(ret.documentation.as_ref().is_some_and(|d| !d.is_empty()));
    let syn: Vec<(&str, i8)> = ret.synonyms.iter().map(|s| (&*s.name, s.source)).collect();
    assert_eq!(
        syn,
        [
            ("retention.ms", DYNAMIC_TOPIC_CONFIG),
            ("log.retention.ms", DEFAULT_CONFIG)
        ]
    );
    let seg = get("segment.ms");
    assert_eq!(seg.config_source, DEFAULT_CONFIG);
    assert_eq!(seg.synonyms[0].name.as_str(), "log.roll.ms");
    assert_eq!(get("cleanup.policy").config_type, 7, "LIST");
    assert_eq!(
        get("min.insync.replicas").config_source,
        DYNAMIC_TOPIC_CONFIG
    );

    // Without synonyms or documentation requested, neither is sent.
    let r = describe_raw(
        &mut t,
        1,
        TOPIC,
        "desc",
        Some(vec!["retention.ms", "no.such.key"]),
        false,
    )
    .await;
    assert_eq!(
        r.configs.len(),
        1,
        "key filter; unknown keys are just absent"
    );
    assert!(r.configs[0].synonyms.is_empty());
    let req = DescribeConfigsRequest::default().with_resources(vec![
        DescribeConfigsResource::default()
            .with_resource_type(TOPIC)
            .with_resource_name(s("desc"))
            .with_configuration_keys(None),
    ]);
    let r = t.call(4, &req).await;
    assert!(
        r.results[0]
            .configs
            .iter()
            .all(|c| c.documentation.is_none())
    );

    let r = describe_raw(&mut t, 4, TOPIC, "missing", None, false).await;
    assert_eq!(r.error_code, code(ResponseError::UnknownTopicOrPartition));
    assert!(r.error_message.is_some() && r.configs.is_empty());
    let r = describe_raw(&mut t, 4, TOPIC, "bad name!", None, false).await;
    assert_eq!(r.error_code, code(ResponseError::InvalidTopicException));

    let r = describe_raw(&mut t, 4, BROKER, "1", None, true).await;
    assert_eq!(r.error_code, 0);
    let get = |n: &str| {
        r.configs
            .iter()
            .find(|c| &*c.name == n)
            .unwrap_or_else(|| panic!("{n} missing"))
    };
    assert_eq!(get("log.retention.ms").value.as_deref(), Some("604800000"));
    assert_eq!(get("num.partitions").value.as_deref(), Some("1"));
    assert_eq!(
        get("auto.create.topics.enable").value.as_deref(),
        Some("true")
    );
    assert!(r.configs.iter().all(|c| c.read_only));
    let r = describe_raw(&mut t, 4, BROKER, "", None, false).await;
    assert_eq!(
        (r.error_code, r.configs.len()),
        (0, 0),
        "no dynamic cluster-wide defaults"
    );
    let r = describe_raw(&mut t, 4, BROKER, "7", None, false).await;
    assert_eq!(r.error_code, code(ResponseError::InvalidRequest));
    let r = describe_raw(&mut t, 4, 99, "x", None, false).await;
    assert_eq!(r.error_code, code(ResponseError::InvalidRequest));
    let r = describe_raw(&mut t, 4, 8, "1", None, false).await;
    assert_eq!(
        r.error_code,
        code(ResponseError::InvalidRequest),
        "BROKER_LOGGER"
    );
    t.shutdown().await;
}

fn legacy_alter(
    resource_type: i8,
    name: &str,
    configs: &[(&str, &str)],
    validate_only: bool,
) -> AlterConfigsRequest {
    AlterConfigsRequest::default()
        .with_resources(vec![
            alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(s(name))
                .with_configs(
                    configs
                        .iter()
                        .map(|(k, v)| {
                            alter_configs_request::AlterableConfig::default()
                                .with_name(s(k))
                                .with_value(Some(s(v)))
                        })
                        .collect(),
                ),
        ])
        .with_validate_only(validate_only)
}

#[tokio::test]
async fn alter_configs_replaces_the_override_set() {
    let mut t = TestBroker::new().await;
    let initial = [
        ("retention.ms", "1000"),
        ("segment.ms", "5000"),
        ("compression.type", "gzip"),
    ];
    assert_eq!(
        create(&mut t, new_topic("alter", 1, -1, &initial))
            .await
            .error_code,
        0
    );

    let r = t
        .call(
            2,
            &legacy_alter(TOPIC, "alter", &[("retention.bytes", "4096")], true),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        topic_configs(&mut t, "alter").await["retention.ms"].0,
        "1000",
        "validate_only"
    );

    let r = t
        .call(
            2,
            &legacy_alter(
                TOPIC,
                "alter",
                &[("retention.bytes", "4096"), ("preallocate", "true")],
                false,
            ),
        )
        .await;
    assert_eq!(
        (
            r.responses[0].error_code,
            r.responses[0].error_message.as_ref()
        ),
        (0, None)
    );
    let cfg = topic_configs(&mut t, "alter").await;
    assert_eq!(
        cfg["retention.bytes"],
        ("4096".into(), DYNAMIC_TOPIC_CONFIG)
    );
    assert_eq!(cfg["preallocate"], ("true".into(), DYNAMIC_TOPIC_CONFIG));
    assert_eq!(
        cfg["retention.ms"],
        ("604800000".into(), DEFAULT_CONFIG),
        "unlisted keys revert"
    );
    assert_eq!(cfg["compression.type"], ("producer".into(), DEFAULT_CONFIG));
    let info = t.broker.engine().topic("alter").expect("topic");
    assert_eq!(
        (info.config.retention_bytes, info.config.retention_ms),
        (4096, 604_800_000)
    );

    let cases = [
        (
            legacy_alter(TOPIC, "alter", &[("no.such", "1")], false),
            ResponseError::InvalidConfig,
        ),
        (
            legacy_alter(TOPIC, "alter", &[("segment.bytes", "1")], false),
            ResponseError::InvalidConfig,
        ),
        (
            legacy_alter(
                TOPIC,
                "alter",
                &[("retention.ms", "1"), ("retention.ms", "2")],
                false,
            ),
            ResponseError::InvalidRequest,
        ),
        (
            legacy_alter(TOPIC, "missing", &[("retention.ms", "1")], false),
            ResponseError::UnknownTopicOrPartition,
        ),
        (
            legacy_alter(BROKER, "1", &[("log.retention.ms", "1")], false),
            ResponseError::InvalidConfig,
        ),
        (
            legacy_alter(BROKER, "5", &[("log.retention.ms", "1")], false),
            ResponseError::InvalidRequest,
        ),
        (
            legacy_alter(32, "group", &[("x", "1")], false),
            ResponseError::InvalidRequest,
        ),
    ];
    for (req, expected) in cases {
        let r = t.call(0, &req).await;
        assert_eq!(
            r.responses[0].error_code,
            code(expected),
            "{:?}",
            r.responses[0].error_message
        );
        assert!(r.responses[0].error_message.is_some());
    }
    assert_eq!(
        topic_configs(&mut t, "alter").await["retention.bytes"].0,
        "4096",
        "failures change nothing"
    );
    let mut twice = legacy_alter(TOPIC, "alter", &[("retention.ms", "1")], false);
    twice.resources.push(twice.resources[0].clone());
    let r = t.call(1, &twice).await;
    assert!(
        r.responses
            .iter()
            .all(|x| x.error_code == code(ResponseError::InvalidRequest))
    );
    t.shutdown().await;
}

fn op(
    name: &str,
    operation: i8,
    value: Option<&str>,
) -> incremental_alter_configs_request::AlterableConfig {
    incremental_alter_configs_request::AlterableConfig::default()
        .with_name(s(name))
        .with_config_operation(operation)
        .with_value(value.map(s))
}

fn incremental(
    resource_type: i8,
    name: &str,
    ops: Vec<incremental_alter_configs_request::AlterableConfig>,
    validate_only: bool,
) -> IncrementalAlterConfigsRequest {
    IncrementalAlterConfigsRequest::default()
        .with_resources(vec![
            incremental_alter_configs_request::AlterConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(s(name))
                .with_configs(ops),
        ])
        .with_validate_only(validate_only)
}

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

#[tokio::test]
async fn incremental_alter_configs_operations() {
    let mut t = TestBroker::new().await;
    let initial = [("retention.ms", "1000"), ("max.message.bytes", "2000")];
    assert_eq!(
        create(&mut t, new_topic("inc", 1, -1, &initial))
            .await
            .error_code,
        0
    );

    let ops = vec![
        op("retention.ms", SET, Some("5000")),
        op("max.message.bytes", DELETE, None),
        op("min.insync.replicas", SET, Some("2")),
        op("cleanup.policy", APPEND, Some("compact")),
    ];
    let r = t.call(1, &incremental(TOPIC, "inc", ops, false)).await;
    assert_eq!(
        (
            r.responses[0].error_code,
            r.responses[0].error_message.as_ref()
        ),
        (0, None)
    );
    let cfg = topic_configs(&mut t, "inc").await;
    assert_eq!(cfg["retention.ms"], ("5000".into(), DYNAMIC_TOPIC_CONFIG));
    assert_eq!(cfg["max.message.bytes"], ("1048588".into(), DEFAULT_CONFIG));
    assert_eq!(
        cfg["min.insync.replicas"],
        ("2".into(), DYNAMIC_TOPIC_CONFIG)
    );
    assert_eq!(
        cfg["cleanup.policy"],
        ("delete,compact".into(), DYNAMIC_TOPIC_CONFIG)
    );
    let info = t.broker.engine().topic("inc").expect("topic");
    assert_eq!(info.config.cleanup_policy, CleanupPolicy::CompactDelete);
    assert_eq!(info.config.retention_ms, 5000);

    let r = t
        .call(
            0,
            &incremental(
                TOPIC,
                "inc",
                vec![op("cleanup.policy", SUBTRACT, Some("delete"))],
                false,
            ),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        topic_configs(&mut t, "inc").await["cleanup.policy"].0,
        "compact"
    );
    assert_eq!(
        t.broker
            .engine()
            .topic("inc")
            .expect("topic")
            .config
            .cleanup_policy,
        CleanupPolicy::Compact
    );

    let r = t
        .call(
            1,
            &incremental(TOPIC, "inc", vec![op("retention.ms", SET, Some("7"))], true),
        )
        .await;
    assert_eq!(r.responses[0].error_code, 0);
    assert_eq!(
        topic_configs(&mut t, "inc").await["retention.ms"].0,
        "5000",
        "validate_only"
    );

    let cases = [
        (
            vec![op("retention.ms", APPEND, Some("1"))],
            ResponseError::InvalidConfig,
        ),
        (
            vec![op("cleanup.policy", SUBTRACT, Some("compact"))],
            ResponseError::InvalidConfig,
        ),
        (
            vec![op("retention.ms", 7, Some("1"))],
            ResponseError::InvalidRequest,
        ),
        (
            vec![op("retention.ms", SET, None)],
            ResponseError::InvalidConfig,
        ),
        (
            vec![op("no.such", SET, Some("1"))],
            ResponseError::InvalidConfig,
        ),
        (
            vec![op("compression.type", SET, Some("brotli"))],
            ResponseError::InvalidConfig,
        ),
        (
            vec![
                op("retention.ms", SET, Some("1")),
                op("retention.ms", DELETE, None),
            ],
            ResponseError::InvalidRequest,
        ),
        (
            vec![
                op("retention.ms", SET, Some("1")),
                op("segment.bytes", SET, Some("12")),
            ],
            ResponseError::InvalidConfig,
        ),
    ];
    for (ops, expected) in cases {
        let r = t.call(1, &incremental(TOPIC, "inc", ops, false)).await;
        assert_eq!(
            r.responses[0].error_code,
            code(expected),
            "{:?}",
            r.responses[0].error_message
        );
    }
    assert_eq!(
        topic_configs(&mut t, "inc").await["retention.ms"].0,
        "5000",
        "all or nothing"
    );
    let r = t
        .call(
            1,
            &incremental(
                TOPIC,
                "missing",
                vec![op("retention.ms", SET, Some("1"))],
                false,
            ),
        )
        .await;
    assert_eq!(
        r.responses[0].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );
    let r = t
        .call(
            1,
            &incremental(
                BROKER,
                "1",
                vec![op("log.retention.ms", SET, Some("1"))],
                false,
            ),
        )
        .await;
    assert_eq!(
        r.responses[0].error_code,
        code(ResponseError::InvalidConfig)
    );
    t.shutdown().await;
}

fn delete_records(topic: &str, partitions: &[(i32, i64)]) -> DeleteRecordsRequest {
    DeleteRecordsRequest::default()
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(tn(topic))
                .with_partitions(
                    partitions
                        .iter()
                        .map(|(p, o)| {
                            DeleteRecordsPartition::default()
                                .with_partition_index(*p)
                                .with_offset(*o)
                        })
                        .collect(),
                ),
        ])
        .with_timeout_ms(30_000)
}

#[tokio::test]
async fn delete_records_moves_the_low_watermark() {
    let mut t = TestBroker::new().await;
    assert_eq!(
        create(&mut t, new_topic("dr", 2, -1, &[])).await.error_code,
        0
    );
    append(&t, "dr", 0, 10).await;
    append(&t, "dr", 1, 4).await;
    let r = t
        .call(2, &delete_records("dr", &[(0, 6), (1, -1), (2, 0)]))
        .await;
    let res: Vec<(i32, i64, i16)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.low_watermark, p.error_code))
        .collect();
    assert_eq!(
        res,
        [
            (0, 6, 0),
            (1, 4, 0),
            (2, -1, code(ResponseError::UnknownTopicOrPartition))
        ]
    );
    assert_eq!(
        t.broker
            .engine()
            .partition("dr", 0)
            .expect("p")
            .offsets()
            .log_start,
        6
    );

    // Below the current start is a no-op reporting the start; beyond the high watermark is out of range.
    let r = t
        .call(0, &delete_records("dr", &[(0, 3), (1, 5), (0, -7)]))
        .await;
    let res: Vec<(i64, i16)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.low_watermark, p.error_code))
        .collect();
    let oor = code(ResponseError::OffsetOutOfRange);
    assert_eq!(res, [(6, 0), (-1, oor), (-1, oor)]);
    let r = t.call(1, &delete_records("nope", &[(0, 1)])).await;
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        code(ResponseError::UnknownTopicOrPartition)
    );

    assert_eq!(
        create(
            &mut t,
            new_topic("compacted", 1, -1, &[("cleanup.policy", "compact")])
        )
        .await
        .error_code,
        0
    );
    append(&t, "compacted", 0, 3).await;
    let r = t.call(2, &delete_records("compacted", &[(0, 1)])).await;
    assert_eq!(
        r.topics[0].partitions[0].error_code,
        code(ResponseError::PolicyViolation)
    );
    t.shutdown().await;
}

#[tokio::test]
async fn describe_log_dirs_reports_sizes() {
    let mut t = TestBroker::new().await;
    assert_eq!(
        create(&mut t, new_topic("logs", 2, -1, &[]))
            .await
            .error_code,
        0
    );
    assert_eq!(
        create(&mut t, new_topic("other", 1, -1, &[]))
            .await
            .error_code,
        0
    );
    append(&t, "logs", 1, 3).await;
    let r = t
        .call(4, &DescribeLogDirsRequest::default().with_topics(None))
        .await;
    assert_eq!((r.error_code, r.results.len()), (0, 1));
    let dir = &r.results[0];
    assert_eq!(dir.error_code, 0);
    assert!(dir.log_dir.starts_with('/'));
    assert!(dir.total_bytes > 0 && dir.usable_bytes > 0 && dir.usable_bytes <= dir.total_bytes);
    assert_eq!(dir.topics.len(), 2);
    let logs = dir
        .topics
        .iter()
        .find(|x| x.name.0.as_str() == "logs")
        .expect("logs");
    let sizes: Vec<(i32, bool)> = logs
        .partitions
        .iter()
        .map(|p| (p.partition_index, p.partition_size > 0))
        .collect();
    assert_eq!(sizes, [(0, false), (1, true)]);
    assert!(
        logs.partitions
            .iter()
            .all(|p| p.offset_lag == 0 && !p.is_future_key)
    );

    let wanted = vec![
        DescribableLogDirTopic::default()
            .with_topic(tn("logs"))
            .with_partitions(vec![1, 9]),
        DescribableLogDirTopic::default()
            .with_topic(tn("missing"))
            .with_partitions(vec![0]),
    ];
    let r = t
        .call(
            1,
            &DescribeLogDirsRequest::default().with_topics(Some(wanted)),
        )
        .await;
    let topics = &r.results[0].topics;
    assert_eq!(topics.len(), 1);
    assert_eq!(topics[0].partitions.len(), 1);
    assert_eq!(topics[0].partitions[0].partition_index, 1);
    t.shutdown().await;
}

#[tokio::test]
async fn describe_cluster_one_broker() {
    let mut t = TestBroker::with_config(BrokerConfig {
        node_id: 3,
        cluster_id: "test-cluster".into(),
        rack: Some("r1".into()),
        ..Default::default()
    })
    .await;
    for v in 0..=2 {
        let r = t.call(v, &DescribeClusterRequest::default()).await;
        assert_eq!(
            (r.error_code, r.cluster_id.as_str(), r.controller_id.0),
            (0, "test-cluster", 3)
        );
        assert_eq!(r.brokers.len(), 1);
        let b = &r.brokers[0];
        assert_eq!(
            (b.broker_id.0, b.host.as_str(), b.port),
            (3, "127.0.0.1", 9092)
        );
        assert_eq!(b.rack.as_deref(), Some("r1"));
        assert_eq!(r.cluster_authorized_operations, i32::MIN);
    }
    let r = t
        .call(
            2,
            &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
        )
        .await;
    assert_ne!(
        r.cluster_authorized_operations & (1 << 8),
        0,
        "DESCRIBE allowed"
    );
    let r = t
        .call(1, &DescribeClusterRequest::default().with_endpoint_type(2))
        .await;
    assert_eq!(r.error_code, code(ResponseError::MismatchedEndpointType));
    let r = t
        .call(2, &DescribeClusterRequest::default().with_endpoint_type(9))
        .await;
    assert_eq!(r.error_code, code(ResponseError::UnsupportedEndpointType));
    t.shutdown().await;
}

#[tokio::test]
async fn admin_state_survives_a_restart() {
    let mut t = TestBroker::new().await;
    let configs = [("retention.ms", "123456"), ("compression.type", "snappy")];
    let created = create(&mut t, new_topic("durable", 2, -1, &configs)).await;
    assert_eq!(created.error_code, 0);
    let ops = vec![
        op("min.insync.replicas", SET, Some("1")),
        op("segment.ms", SET, Some("60000")),
    ];
    assert_eq!(
        t.call(1, &incremental(TOPIC, "durable", ops, false))
            .await
            .responses[0]
            .error_code,
        0
    );
    let grow_req = CreatePartitionsRequest::default().with_topics(vec![grow("durable", 3, None)]);
    assert_eq!(t.call(3, &grow_req).await.results[0].error_code, 0);
    append(&t, "durable", 0, 5).await;
    let r = t.call(2, &delete_records("durable", &[(0, 3)])).await;
    assert_eq!(r.topics[0].partitions[0].low_watermark, 3);
    let before = topic_configs(&mut t, "durable").await;

    let mut t = t.restart().await;
    let info = t
        .broker
        .engine()
        .topic("durable")
        .expect("topic after restart");
    assert_eq!((info.id, info.partitions), (created.topic_id, 3));
    assert_eq!(topic_configs(&mut t, "durable").await, before);
    assert_eq!(
        before["compression.type"],
        ("snappy".into(), DYNAMIC_TOPIC_CONFIG)
    );
    assert_eq!(before["segment.ms"], ("60000".into(), DYNAMIC_TOPIC_CONFIG));
    assert_eq!(
        t.broker
            .engine()
            .partition("durable", 0)
            .expect("p")
            .offsets()
            .log_start,
        3
    );
    let r = t.call(2, &delete_records("durable", &[(0, -1)])).await;
    assert_eq!(r.topics[0].partitions[0].low_watermark, 5);
    t.shutdown().await;
}
