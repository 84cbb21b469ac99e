//! Coordinator routing, CreateTopics and share-group data APIs with the 3-node [`TestView`], over real sockets
//! (share APIs through the hand-written v2 codec): group, transaction and share-group requests for a key this
//! node coordinates are served, for a key another node coordinates answer NOT_COORDINATOR, and for a key no
//! node coordinates COORDINATOR_NOT_AVAILABLE; FindCoordinator names the coordinator's Kafka endpoint.

mod common;

use common::TestBroker;
use common::cluster::{LOCAL, SocketBroker, TestView, port_of};
use common::group_harness::{commit_req, fetch_group, join_req, range, s};
use common::records::*;
use common::share::share_call;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::create_topics_request::{CreatableReplicaAssignment, CreatableTopic};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, BrokerId, ConsumerGroupDescribeRequest,
    ConsumerGroupHeartbeatRequest, CreateTopicsRequest, DeleteGroupsRequest, DescribeGroupsRequest,
    DescribeTransactionsRequest, EndTxnRequest, FindCoordinatorRequest, GroupId, HeartbeatRequest,
    InitProducerIdRequest, LeaveGroupRequest, ListGroupsRequest, ListGroupsResponse,
    OffsetDeleteRequest, OffsetFetchRequest, ProducerId, ShareGroupDescribeRequest,
    ShareGroupHeartbeatRequest, SyncGroupRequest, TopicName, TransactionalId,
    TxnOffsetCommitRequest,
};
use kafka_protocol::records::Compression;
use strait_engine::cluster::CoordinatorKind;
use strait_kafka::BrokerConfig;
use strait_kafka::share::wire::{AckBatch, PartitionReq, ShareRequest, TopicReq};

const NOT_COORDINATOR: i16 = ResponseError::NotCoordinator.code();
const NOT_AVAILABLE: i16 = ResponseError::CoordinatorNotAvailable.code();
const NOT_LEADER: i16 = ResponseError::NotLeaderOrFollower.code();

/// Keys coordinated here (`*-here`), by node 2 (`*-there`) and by nobody (`*-none`).
async fn cluster() -> SocketBroker {
    let view = TestView::new(Some(LOCAL));
    for kind in [CoordinatorKind::Group, CoordinatorKind::Transaction] {
        let prefix = if kind == CoordinatorKind::Group {
            "g"
        } else {
            "tx"
        };
        view.set_coordinator(kind, &format!("{prefix}-there"), Some(2));
        view.set_coordinator(kind, &format!("{prefix}-none"), None);
    }
    let sb = SocketBroker::start(view).await;
    sb.create_topic("t", 1).await;
    sb
}

const GROUPS: [&str; 3] = ["g-here", "g-there", "g-none"];
const TXNS: [&str; 3] = ["tx-here", "tx-there", "tx-none"];

/// What the three keys got: the local one anything but a routing error, then NOT_COORDINATOR and
/// COORDINATOR_NOT_AVAILABLE.
fn routed(api: &str, codes: [i16; 3]) {
    assert!(
        codes[0] != NOT_COORDINATOR && codes[0] != NOT_AVAILABLE,
        "{api}: served here, got {}",
        codes[0]
    );
    assert_eq!(&codes[1..], &[NOT_COORDINATOR, NOT_AVAILABLE], "{api}");
}

/// Runs `body` for each of three keys (bound to `k`) and collects the error codes.
macro_rules! each {
    ($keys:expr, |$k:ident| $body:block) => {{
        let mut out = [0i16; 3];
        for (i, $k) in $keys.iter().enumerate() {
            out[i] = $body;
        }
        out
    }};
}

#[tokio::test]
async fn find_coordinator_names_the_coordinators_endpoint() {
    let sb = cluster().await;
    let mut c = sb.client().await;
    for (key_type, key) in [(0, "g-there"), (1, "tx-there")] {
        let r = c
            .call(
                3,
                &FindCoordinatorRequest::default()
                    .with_key(common::group_harness::s(key))
                    .with_key_type(key_type),
            )
            .await;
        assert_eq!(
            (r.error_code, r.node_id.0, r.host.as_str(), r.port),
            (0, 2, "127.0.0.2", i32::from(port_of(2)))
        );
    }
    let r = c
        .call(
            4,
            &FindCoordinatorRequest::default()
                .with_key_type(0)
                .with_coordinator_keys(GROUPS.iter().map(|g| s(g)).collect()),
        )
        .await;
    let got: Vec<(i16, i32, i32)> = r
        .coordinators
        .iter()
        .map(|c| (c.error_code, c.node_id.0, c.port))
        .collect();
    assert_eq!(
        got,
        vec![
            (0, 1, i32::from(port_of(1))),
            (0, 2, i32::from(port_of(2))),
            (NOT_AVAILABLE, -1, -1)
        ]
    );
    sb.shutdown().await;
}

#[tokio::test]
async fn classic_group_apis_route_to_the_coordinator() {
    let sb = cluster().await;
    let mut c = sb.client().await;
    let codes = each!(GROUPS, |g| {
        c.call(5, &join_req(g, "", &range(&["t"]))).await.error_code
    });
    routed("JoinGroup", codes);
    let codes = each!(GROUPS, |g| {
        let req = SyncGroupRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_member_id(s("m"))
            .with_generation_id(1);
        c.call(3, &req).await.error_code
    });
    routed("SyncGroup", codes);
    let codes = each!(GROUPS, |g| {
        let req = HeartbeatRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_member_id(s("m"))
            .with_generation_id(1);
        c.call(3, &req).await.error_code
    });
    routed("Heartbeat", codes);
    let codes = each!(GROUPS, |g| {
        let req = LeaveGroupRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_member_id(s("m"));
        c.call(1, &req).await.error_code
    });
    routed("LeaveGroup", codes);
    let codes = each!(GROUPS, |g| {
        let r = c.call(8, &commit_req(g, -1, "", &[("t", 0, 5)])).await;
        r.topics[0].partitions[0].error_code
    });
    routed("OffsetCommit", codes);
    // v7: one group and a top-level error; v8: per group.
    let codes = each!(GROUPS, |g| {
        let req = OffsetFetchRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(name("t"))
                    .with_partition_indexes(vec![0]),
            ]));
        c.call(7, &req).await.error_code
    });
    routed("OffsetFetch v7", codes);
    let r = c
        .call(
            8,
            &OffsetFetchRequest::default()
                .with_groups(GROUPS.iter().map(|g| fetch_group(g, None)).collect()),
        )
        .await;
    let codes: Vec<i16> = r.groups.iter().map(|g| g.error_code).collect();
    routed("OffsetFetch v8", codes.try_into().expect("three groups"));
    let codes = each!(GROUPS, |g| {
        let req = OffsetDeleteRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_topics(vec![
                OffsetDeleteRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0),
                    ]),
            ]);
        c.call(0, &req).await.error_code
    });
    routed("OffsetDelete", codes);
    let r = c
        .call(
            5,
            &DescribeGroupsRequest::default()
                .with_groups(GROUPS.iter().map(|g| GroupId(s(g))).collect()),
        )
        .await;
    let codes: Vec<i16> = r.groups.iter().map(|g| g.error_code).collect();
    routed("DescribeGroups", codes.try_into().expect("three groups"));
    let r = c
        .call(
            2,
            &DeleteGroupsRequest::default()
                .with_groups_names(GROUPS.iter().map(|g| GroupId(s(g))).collect()),
        )
        .await;
    let codes: Vec<i16> = r.results.iter().map(|g| g.error_code).collect();
    routed("DeleteGroups", codes.try_into().expect("three groups"));

    // ListGroups lists what this node coordinates: a group whose coordinator moved away drops out.
    let r = c
        .call(8, &commit_req("g-moving", -1, "", &[("t", 0, 5)]))
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    let listed =
        |r: &ListGroupsResponse| r.groups.iter().any(|g| g.group_id.0.as_str() == "g-moving");
    assert!(listed(&c.call(4, &ListGroupsRequest::default()).await));
    sb.view
        .set_coordinator(CoordinatorKind::Group, "g-moving", Some(2));
    assert!(!listed(&c.call(4, &ListGroupsRequest::default()).await));
    sb.shutdown().await;
}

#[tokio::test]
async fn kip848_and_share_group_apis_route_to_the_group_coordinator() {
    let sb = cluster().await;
    let mut c = sb.client().await;
    let codes = each!(GROUPS, |g| {
        let req = ConsumerGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_member_id(s("m-1"))
            .with_member_epoch(0)
            .with_rebalance_timeout_ms(10_000)
            .with_subscribed_topic_names(Some(vec![name("t")]))
            .with_topic_partitions(Some(vec![]));
        c.call(0, &req).await.error_code
    });
    routed("ConsumerGroupHeartbeat", codes);
    let r = c
        .call(
            0,
            &ConsumerGroupDescribeRequest::default()
                .with_group_ids(GROUPS.iter().map(|g| GroupId(s(g))).collect()),
        )
        .await;
    let codes: Vec<i16> = r.groups.iter().map(|g| g.error_code).collect();
    routed("ConsumerGroupDescribe", codes.try_into().expect("three"));
    let codes = each!(GROUPS, |g| {
        let req = ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(s(g)))
            .with_member_id(s("m-1"))
            .with_member_epoch(0)
            .with_subscribed_topic_names(Some(vec![name("t")]));
        c.call(1, &req).await.error_code
    });
    routed("ShareGroupHeartbeat", codes);
    let r = c
        .call(
            1,
            &ShareGroupDescribeRequest::default()
                .with_group_ids(GROUPS.iter().map(|g| GroupId(s(g))).collect()),
        )
        .await;
    let codes: Vec<i16> = r.groups.iter().map(|g| g.error_code).collect();
    routed("ShareGroupDescribe", codes.try_into().expect("three"));
    sb.shutdown().await;
}

fn txn(id: &str) -> TransactionalId {
    TransactionalId(s(id))
}

#[tokio::test]
async fn transaction_apis_route_to_the_transaction_coordinator() {
    let sb = cluster().await;
    let mut c = sb.client().await;
    // An idempotent producer needs no coordinator: any node hands out its id.
    let r = c
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert!(r.producer_id.0 >= 0);
    let codes = each!(TXNS, |t| {
        let req = InitProducerIdRequest::default()
            .with_transactional_id(Some(txn(t)))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let r = c.call(4, &req).await;
        if r.error_code != 0 {
            assert_eq!((r.producer_id.0, r.producer_epoch), (-1, -1));
        }
        r.error_code
    });
    routed("InitProducerId", codes);
    assert_eq!(codes[0], 0);
    let r = c
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(txn("tx-here")))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    let (pid, epoch) = (r.producer_id, r.producer_epoch);
    let codes = each!(TXNS, |t| {
        let req = AddPartitionsToTxnRequest::default()
            .with_v3_and_below_transactional_id(txn(t))
            .with_v3_and_below_producer_id(pid)
            .with_v3_and_below_producer_epoch(epoch)
            .with_v3_and_below_topics(vec![
                AddPartitionsToTxnTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![0]),
            ]);
        let r = c.call(3, &req).await;
        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code
    });
    routed("AddPartitionsToTxn", codes);
    assert_eq!(codes[0], 0);
    let codes = each!(TXNS, |t| {
        let req = AddOffsetsToTxnRequest::default()
            .with_transactional_id(txn(t))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_group_id(GroupId(s("g-here")));
        c.call(3, &req).await.error_code
    });
    routed("AddOffsetsToTxn", codes);
    // TxnOffsetCommit goes to the group's coordinator.
    let codes = each!(GROUPS, |g| {
        let req = TxnOffsetCommitRequest::default()
            .with_transactional_id(txn("tx-here"))
            .with_group_id(GroupId(s(g)))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_generation_id(-1)
            .with_member_id(s(""))
            .with_topics(vec![
                TxnOffsetCommitRequestTopic::default()
                    .with_name(name("t"))
                    .with_partitions(vec![
                        TxnOffsetCommitRequestPartition::default()
                            .with_partition_index(0)
                            .with_committed_offset(1),
                    ]),
            ]);
        let r = c.call(3, &req).await;
        r.topics[0].partitions[0].error_code
    });
    routed("TxnOffsetCommit", codes);
    let r = c
        .call(
            0,
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(TXNS.iter().map(|t| txn(t)).collect()),
        )
        .await;
    let codes: Vec<i16> = r.transaction_states.iter().map(|t| t.error_code).collect();
    routed("DescribeTransactions", codes.try_into().expect("three"));
    let codes = each!(TXNS, |t| {
        let req = EndTxnRequest::default()
            .with_transactional_id(txn(t))
            .with_producer_id(pid)
            .with_producer_epoch(epoch)
            .with_committed(false);
        c.call(3, &req).await.error_code
    });
    routed("EndTxn", codes);
    assert_eq!(codes[0], 0);
    sb.shutdown().await;
}

fn topic(name_: &str, partitions: i32, rf: i16, assignments: &[&[i32]]) -> CreatableTopic {
    CreatableTopic::default()
        .with_name(TopicName(s(name_)))
        .with_num_partitions(partitions)
        .with_replication_factor(rf)
        .with_assignments(
            assignments
                .iter()
                .enumerate()
                .map(|(i, ids)| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(i as i32)
                        .with_broker_ids(ids.iter().map(|&id| BrokerId(id)).collect())
                })
                .collect(),
        )
}

#[tokio::test]
async fn create_topics_takes_replication_factors_and_assignments_up_to_the_cluster() {
    let sb = cluster().await;
    let mut c = sb.client().await;
    let req = CreateTopicsRequest::default()
        .with_timeout_ms(5_000)
        .with_topics(vec![
            topic("rf3", 2, 3, &[]),
            topic("rf-default", 2, -1, &[]),
            topic("rf4", 2, 4, &[]),
            topic("placed", -1, -1, &[&[1, 2, 3], &[2, 3, 1]]),
            topic("unknown-node", -1, -1, &[&[1, 4]]),
            topic("uneven", -1, -1, &[&[1, 2], &[3]]),
            topic("twice", -1, -1, &[&[2, 2]]),
        ]);
    let r = c.call(7, &req).await;
    let got: Vec<(String, i16, i32, i16)> = r
        .topics
        .iter()
        .map(|t| {
            (
                t.name.0.to_string(),
                t.error_code,
                t.num_partitions,
                t.replication_factor,
            )
        })
        .collect();
    let invalid_rf = ResponseError::InvalidReplicationFactor.code();
    let invalid_assignment = ResponseError::InvalidReplicaAssignment.code();
    assert_eq!(
        got,
        vec![
            ("rf3".into(), 0, 2, 3),
            ("rf-default".into(), 0, 2, 3),
            ("rf4".into(), invalid_rf, -1, -1),
            ("placed".into(), 0, 2, 3),
            ("unknown-node".into(), invalid_assignment, -1, -1),
            ("uneven".into(), invalid_assignment, -1, -1),
            ("twice".into(), invalid_assignment, -1, -1),
        ]
    );
    let message = |i: usize| {
        r.topics[i]
            .error_message
            .as_deref()
            .unwrap_or("")
            .to_string()
    };
    assert!(
        message(2).contains("only 3 broker(s) are registered"),
        "{}",
        message(2)
    );
    assert!(message(4).contains("broker 4"), "{}", message(4));
    assert!(sb.broker.engine().topic("placed").is_some());
    assert!(sb.broker.engine().topic("rf4").is_none());
    sb.shutdown().await;
}

fn share_req(member: &str, epoch: i32, topic: uuid::Uuid, acks: bool) -> ShareRequest {
    ShareRequest {
        group_id: Some("g-here".into()),
        member_id: Some(member.into()),
        session_epoch: epoch,
        max_wait_ms: 50,
        min_bytes: 1,
        max_bytes: 1 << 20,
        max_records: 500,
        batch_size: 500,
        topics: vec![TopicReq {
            topic_id: topic,
            partitions: (0..3)
                .map(|partition| PartitionReq {
                    partition,
                    acks: if acks {
                        vec![AckBatch {
                            first_offset: 0,
                            last_offset: 0,
                            types: vec![1],
                        }]
                    } else {
                        vec![]
                    },
                })
                .collect(),
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn share_fetch_and_acknowledge_name_the_partition_leader() {
    let view = TestView::new(Some(LOCAL));
    view.set_leader("sh", 1, Some(2), Some(7), &[2, 1, 3], &[2, 1]);
    view.set_leader("sh", 2, None, None, &[], &[]);
    let mut t = TestBroker::with_config(BrokerConfig {
        cluster: Some(view),
        ..Default::default()
    })
    .await;
    let info = t
        .broker
        .engine()
        .create_topic("sh", 3, Default::default())
        .await
        .expect("topic");
    t.call(
        9,
        &produce("sh", 0, batch(&["a"], Compression::None, None), -1),
    )
    .await;
    let hb = ShareGroupHeartbeatRequest::default()
        .with_group_id(GroupId(s("g-here")))
        .with_member_id(s("m-1"))
        .with_member_epoch(0)
        .with_subscribed_topic_names(Some(vec![name("sh")]));
    assert_eq!(t.call(1, &hb).await.error_code, 0);
    let r = share_call(&mut t, true, &share_req("m-1", 0, info.id, false)).await;
    assert_eq!(r.error_code, 0);
    let parts = &r.topics[0].partitions;
    let got: Vec<(i32, i16, i32, i32)> = parts
        .iter()
        .map(|p| (p.partition, p.error_code, p.leader_id, p.leader_epoch))
        .collect();
    assert!(got.contains(&(1, NOT_LEADER, 2, 7)), "{got:?}");
    assert!(got.contains(&(2, NOT_LEADER, -1, -1)), "{got:?}");
    let ids: Vec<i32> = r.node_endpoints.iter().map(|e| e.node_id).collect();
    assert_eq!(ids, vec![2]);
    assert_eq!(r.node_endpoints[0].port, i32::from(port_of(2)));

    let r = share_call(&mut t, false, &share_req("m-1", 1, info.id, true)).await;
    let got: Vec<(i32, i16, i32)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.partition, p.ack_error_code, p.leader_id))
        .collect();
    assert!(got.contains(&(1, NOT_LEADER, 2)), "{got:?}");
    assert!(got.contains(&(2, NOT_LEADER, -1)), "{got:?}");
    assert_eq!(r.node_endpoints.len(), 1);
    t.shutdown().await;
}
