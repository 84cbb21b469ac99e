//! Authorized-operations fields are computed from the authorizer (one question per operation the resource type
//! supports, Kafka's `AclOperation` bits), and every question names the API that asks.

mod common;

use std::sync::{Arc, Mutex};

use common::TestBroker;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use strait_access::{Access, Authorizer, Decision, Operation, Resource};
use strait_kafka::BrokerConfig;

/// Denies WRITE on topic "ro", CLUSTER_ACTION on the cluster and ALTER_CONFIGS on group "g"; records the API
/// name of every question.
#[derive(Debug, Default)]
struct Recording {
    apis: Mutex<Vec<&'static str>>,
}

impl Authorizer for Recording {
    fn authorize(&self, a: &Access<'_>) -> Decision {
        self.apis.lock().expect("lock").push(a.api);
        match (a.operation, a.resource) {
            (Operation::Write, Resource::Topic("ro"))
            | (Operation::ClusterAction, Resource::Cluster)
            | (Operation::AlterConfigs, Resource::Group("g")) => Decision::Deny,
            _ => Decision::Allow,
        }
    }
}

/// READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
const TOPIC_ALL: i32 =
    (1 << 3) | (1 << 4) | (1 << 5) | (1 << 6) | (1 << 7) | (1 << 8) | (1 << 10) | (1 << 11);
/// CREATE 5, ALTER 7, DESCRIBE 8, CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12.
const CLUSTER_ALL: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);
/// READ 3, DELETE 6, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11.
const GROUP_ALL: i32 = (1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11);

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

#[tokio::test]
async fn authorized_operations_follow_the_authorizer_and_questions_name_their_api() {
    let auth = Arc::new(Recording::default());
    let mut t = TestBroker::with_config(BrokerConfig {
        authorizer: auth.clone(),
        ..Default::default()
    })
    .await;
    for topic in ["t", "ro"] {
        t.broker
            .engine()
            .create_topic(topic, 1, Default::default())
            .await
            .expect("topic");
    }
    let topics = || {
        Some(
            ["t", "ro"]
                .iter()
                .map(|n| MetadataRequestTopic::default().with_name(Some(TopicName(s(n)))))
                .collect(),
        )
    };
    let m = t
        .call(
            10,
            &MetadataRequest::default()
                .with_topics(topics())
                .with_include_topic_authorized_operations(true)
                .with_include_cluster_authorized_operations(true),
        )
        .await;
    let ops: Vec<(String, i32)> = m
        .topics
        .iter()
        .map(|x| {
            let name = x.name.as_ref().map(|n| n.to_string()).unwrap_or_default();
            (name, x.topic_authorized_operations)
        })
        .collect();
    assert_eq!(
        ops,
        vec![
            ("t".to_string(), TOPIC_ALL),
            ("ro".to_string(), TOPIC_ALL & !(1 << 4))
        ]
    );
    assert_eq!(m.cluster_authorized_operations, CLUSTER_ALL & !(1 << 9));
    assert!(
        auth.apis
            .lock()
            .expect("lock")
            .iter()
            .all(|a| *a == "Metadata")
    );

    // Not asked for: Kafka's "omitted" marker.
    let m = t
        .call(12, &MetadataRequest::default().with_topics(topics()))
        .await;
    assert!(
        m.topics
            .iter()
            .all(|x| x.topic_authorized_operations == i32::MIN)
    );

    auth.apis.lock().expect("lock").clear();
    let c = t
        .call(
            1,
            &DescribeClusterRequest::default().with_include_cluster_authorized_operations(true),
        )
        .await;
    assert_eq!(c.cluster_authorized_operations, CLUSTER_ALL & !(1 << 9));
    assert!(
        auth.apis
            .lock()
            .expect("lock")
            .iter()
            .all(|a| *a == "DescribeCluster")
    );

    let g = t
        .call(
            5,
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(s("g")), GroupId(s("other"))])
                .with_include_authorized_operations(true),
        )
        .await;
    assert_eq!(g.groups[0].authorized_operations, GROUP_ALL & !(1 << 11));
    assert_eq!(g.groups[1].authorized_operations, GROUP_ALL);
    t.shutdown().await;
}
