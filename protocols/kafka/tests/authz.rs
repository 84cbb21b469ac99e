//! Every API the broker advertises asks the authorizer: with `DenyAll`, each enforced API answers with its
//! protocol's authorization error and changes nothing. The loop runs over ApiVersions' advertised list, so a
//! newly advertised API fails this test until it is classified here.

mod authz_probes;
mod common;

use std::sync::Arc;

use common::TestBroker;
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_kafka::BrokerConfig;
use strait_kafka::api::authz::{Rule, rule};

const TOPIC: i16 = ResponseError::TopicAuthorizationFailed.code();
const GROUP: i16 = ResponseError::GroupAuthorizationFailed.code();
const CLUSTER: i16 = ResponseError::ClusterAuthorizationFailed.code();
const TXN: i16 = ResponseError::TransactionalIdAuthorizationFailed.code();

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Sends a minimal valid request of `api` and returns the authorization-relevant error code it got.
async fn probe(t: &mut TestBroker, api: ApiKey) -> i16 {
    match api {
        ApiKey::Produce => {
            let req = produce("t", 0, batch(&["a"], Compression::None, None), -1);
            t.call(9, &req).await.responses[0].partition_responses[0].error_code
        }
        ApiKey::Fetch => {
            let r = t
                .call(12, &fetch("t", vec![fetch_partition(0, 0, 1 << 20)]))
                .await;
            r.responses[0].partitions[0].error_code
        }
        ApiKey::ListOffsets => {
            t.call(7, &list_offsets("t", 0, -1)).await.topics[0].partitions[0].error_code
        }
        ApiKey::Metadata => {
            // Listing all topics hides every one of them; naming one (or an unknown one to auto-create) is refused.
            let all = t
                .call(12, &MetadataRequest::default().with_topics(None))
                .await;
            assert!(all.topics.is_empty(), "{:?}", all.topics);
            let named = MetadataRequest::default()
                .with_allow_auto_topic_creation(true)
                .with_topics(Some(vec![
                    MetadataRequestTopic::default().with_name(Some(name("t"))),
                    MetadataRequestTopic::default().with_name(Some(name("auto"))),
                ]));
            let r = t.call(12, &named).await;
            assert_eq!(r.topics[1].error_code, TOPIC);
            r.topics[0].error_code
        }
        ApiKey::CreateTopics => {
            let req = CreateTopicsRequest::default().with_topics(vec![
                CreatableTopic::default()
                    .with_name(name("new"))
                    .with_num_partitions(1)
                    .with_replication_factor(1),
            ]);
            t.call(7, &req).await.topics[0].error_code
        }
        ApiKey::DeleteTopics => {
            let req = DeleteTopicsRequest::default()
                .with_topics(vec![DeleteTopicState::default().with_name(Some(name("t")))]);
            t.call(6, &req).await.responses[0].error_code
        }
        ApiKey::JoinGroup => {
            let req = JoinGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_session_timeout_ms(10_000)
                .with_rebalance_timeout_ms(10_000)
                .with_protocol_type(s("consumer"))
                .with_protocols(vec![
                    JoinGroupRequestProtocol::default().with_name(s("range")),
                ]);
            t.call(9, &req).await.error_code
        }
        ApiKey::SyncGroup => {
            let req = SyncGroupRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s("m"));
            t.call(5, &req).await.error_code
        }
        ApiKey::Heartbeat => {
            let req = HeartbeatRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s("m"));
            t.call(4, &req).await.error_code
        }
        ApiKey::LeaveGroup => {
            let req = LeaveGroupRequest::default().with_group_id(GroupId(s("g")));
            t.call(5, &req).await.error_code
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let req = ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s("m"))
                .with_rebalance_timeout_ms(10_000)
                .with_subscribed_topic_names(Some(vec![name("t")]));
            t.call(0, &req).await.error_code
        }
        ApiKey::ShareGroupHeartbeat => {
            let req = ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("g")))
                .with_member_id(s("m"))
                .with_subscribed_topic_names(Some(vec![name("t")]));
            t.call(1, &req).await.error_code
        }
        ApiKey::EndTxn => {
            let req = EndTxnRequest::default().with_transactional_id(TransactionalId(s("x")));
            t.call(4, &req).await.error_code
        }
        ApiKey::AddOffsetsToTxn => {
            let req = AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s("x")))
                .with_group_id(GroupId(s("g")));
            t.call(4, &req).await.error_code
        }
        ApiKey::InitProducerId => {
            // An idempotent producer needs CLUSTER IDEMPOTENT_WRITE; a transactional one its transactional id.
            let idempotent = InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1);
            assert_eq!(t.call(5, &idempotent).await.error_code, CLUSTER);
            let txn = idempotent
                .with_transactional_id(Some(TransactionalId(s("x"))))
                .with_transaction_timeout_ms(60_000);
            t.call(5, &txn).await.error_code
        }
        ApiKey::DescribeCluster => {
            t.call(1, &DescribeClusterRequest::default())
                .await
                .error_code
        }
        ApiKey::DescribeLogDirs => {
            t.call(4, &DescribeLogDirsRequest::default().with_topics(None))
                .await
                .error_code
        }
        ApiKey::DescribeUserScramCredentials => {
            t.call(
                0,
                &DescribeUserScramCredentialsRequest::default().with_users(None),
            )
            .await
            .error_code
        }
        ApiKey::AlterUserScramCredentials => {
            use kafka_protocol::messages::alter_user_scram_credentials_request::ScramCredentialUpsertion;
            let req = AlterUserScramCredentialsRequest::default().with_upsertions(vec![
                ScramCredentialUpsertion::default()
                    .with_name(s("mallory"))
                    .with_mechanism(1)
                    .with_iterations(4096)
                    .with_salt(vec![1; 16].into())
                    .with_salted_password(vec![2; 32].into()),
            ]);
            let code = t.call(0, &req).await.results[0].error_code;
            let users = t.broker.scram().users().expect("users");
            assert!(users.is_empty(), "nothing stored: {users:?}");
            code
        }
        other => authz_probes::probe(t, other)
            .await
            .unwrap_or_else(|| panic!("no probe for {other:?}")),
    }
}

fn expected(api: ApiKey) -> i16 {
    match api {
        ApiKey::Produce
        | ApiKey::Fetch
        | ApiKey::ListOffsets
        | ApiKey::Metadata
        | ApiKey::CreateTopics
        | ApiKey::DeleteTopics => TOPIC,
        ApiKey::JoinGroup
        | ApiKey::SyncGroup
        | ApiKey::Heartbeat
        | ApiKey::LeaveGroup
        | ApiKey::ConsumerGroupHeartbeat
        | ApiKey::ShareGroupHeartbeat => GROUP,
        ApiKey::EndTxn | ApiKey::AddOffsetsToTxn | ApiKey::InitProducerId => TXN,
        ApiKey::DescribeCluster
        | ApiKey::DescribeLogDirs
        | ApiKey::DescribeUserScramCredentials
        | ApiKey::AlterUserScramCredentials => CLUSTER,
        other => {
            authz_probes::expected(other).unwrap_or_else(|| panic!("no expectation for {other:?}"))
        }
    }
}

#[tokio::test]
async fn deny_all_refuses_every_advertised_api_and_changes_nothing() {
    let mut t = TestBroker::with_config(BrokerConfig {
        authorizer: Arc::new(strait_access::DenyAll),
        ..Default::default()
    })
    .await;
    t.broker
        .engine()
        .create_topic("t", 1, Default::default())
        .await
        .expect("topic");
    let advertised = t.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(advertised.error_code, 0, "ApiVersions is never authorized");
    let mut enforced = 0;
    for k in &advertised.api_keys {
        let api = ApiKey::try_from(k.api_key).expect("known key");
        match rule(api) {
            Rule::Open => continue,
            Rule::NotServed => panic!("{api:?} is advertised but has no rule"),
            Rule::Needs(_) => {}
        }
        assert_eq!(probe(&mut t, api).await, expected(api), "{api:?}");
        enforced += 1;
    }
    assert_eq!(enforced + 3, advertised.api_keys.len());

    // Nothing changed: no topic created (explicitly or by auto-creation), none deleted, nothing appended.
    let names: Vec<String> = t
        .broker
        .engine()
        .list_topics()
        .into_iter()
        .map(|x| x.name)
        .collect();
    assert_eq!(names, vec!["t".to_string()]);
    let info = t.broker.engine().topic("t").expect("topic");
    assert_eq!(info.partitions, 1, "no partition was added");
    let p = t.broker.engine().partition("t", 0).expect("partition");
    assert_eq!(p.offsets().log_end, 0);
    let groups = t.broker.groups().list_groups().expect("groups");
    assert!(groups.is_empty(), "no group was created");
    t.shutdown().await;
}

/// Denies every access to topic "secret", DESCRIBE of group "hidden", and CLUSTER DESCRIBE; allows the rest.
#[derive(Debug)]
struct Partial;

impl strait_access::Authorizer for Partial {
    fn authorize(&self, a: &strait_access::Access<'_>) -> strait_access::Decision {
        use strait_access::{Decision, Operation, Resource};
        match (a.operation, a.resource) {
            (_, Resource::Topic("secret"))
            | (Operation::Describe, Resource::Group("hidden"))
            | (Operation::Describe, Resource::Cluster) => Decision::Deny,
            _ => Decision::Allow,
        }
    }
}

#[tokio::test]
async fn per_item_denials_refuse_only_the_denied_items() {
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    let mut t = TestBroker::with_config(BrokerConfig {
        authorizer: Arc::new(Partial),
        ..Default::default()
    })
    .await;
    for topic in ["t", "secret"] {
        t.broker
            .engine()
            .create_topic(topic, 1, Default::default())
            .await
            .expect("topic");
    }
    let commit = |group: &str| {
        OffsetCommitRequest::default()
            .with_group_id(GroupId(s(group)))
            .with_generation_id_or_member_epoch(-1)
            .with_topics(
                ["t", "secret"]
                    .iter()
                    .map(|n| {
                        OffsetCommitRequestTopic::default()
                            .with_name(name(n))
                            .with_partitions(vec![
                                OffsetCommitRequestPartition::default()
                                    .with_partition_index(0)
                                    .with_committed_offset(0),
                            ])
                    })
                    .collect(),
            )
    };
    for group in ["g", "hidden"] {
        let r = t.call(8, &commit(group)).await;
        let codes: Vec<(String, i16)> = r
            .topics
            .iter()
            .map(|x| (x.name.to_string(), x.partitions[0].error_code))
            .collect();
        assert!(codes.contains(&("t".to_string(), 0)), "{codes:?}");
        assert!(codes.contains(&("secret".to_string(), TOPIC)), "{codes:?}");
    }
    // Without CLUSTER DESCRIBE, ListGroups shows only the groups the principal may describe.
    let listed = t.call(5, &ListGroupsRequest::default()).await;
    assert_eq!(listed.error_code, 0);
    let ids: Vec<String> = listed
        .groups
        .iter()
        .map(|g| g.group_id.to_string())
        .collect();
    assert_eq!(ids, vec!["g".to_string()]);
    let described = t
        .call(
            5,
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(s("g")), GroupId(s("hidden"))]),
        )
        .await;
    assert_eq!(described.groups[0].error_code, 0);
    assert_eq!(described.groups[1].error_code, GROUP);
    t.shutdown().await;
}
