//! Admin APIs through the wire encoding, configs and the rest: DescribeConfigs, AlterConfigs,
//! IncrementalAlterConfigs, DeleteRecords, DescribeLogDirs and DescribeCluster, and persistence across a restart.

mod common;

use common::admin::*;

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
        // Tiered storage needs a node with an object store ([tiering]); this one has none.
        (
            legacy_alter(TOPIC, "alter", &[("remote.storage.enable", "true")], false),
            ResponseError::InvalidConfig,
        ),
        // Kafka's rule: local retention may not exceed total retention.
        (
            legacy_alter(
                TOPIC,
                "alter",
                &[("retention.ms", "1000"), ("local.retention.ms", "2000")],
                false,
            ),
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
