//! Admin APIs through the wire encoding, topics half: ApiVersions ranges, CreateTopics, DeleteTopics and
//! CreatePartitions, including their error paths, validate_only and re-creation.

mod common;

use common::admin::*;

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
