//! The cluster view decides leadership. First a view in which another node leads every partition and
//! coordinates every key: the data-path APIs answer NOT_LEADER_OR_FOLLOWER, Metadata names the other node as
//! leader and FindCoordinator points at it, and nothing is appended. Then, over real sockets with the 3-node
//! [`TestView`], each partition-addressed API with this node leader, follower (or no replica) and with no
//! leader: KIP-951 leader hints, KIP-320 epoch checks against the view's epoch, Metadata and DescribeCluster.
//! Coordinator routing and CreateTopics are in `cluster_coordinators.rs`.

mod common;

use std::sync::Arc;

use common::TestBroker;
use common::cluster::{LOCAL, SocketBroker, TestView, port_of, rack_of};
use common::records::*;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{FindCoordinatorRequest, MetadataRequest};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_engine::cluster::{
    ClusterView, Coordinator, CoordinatorKind, Endpoint, LeadershipHook, NodeId, NodeInfo,
    PartitionLeadership,
};
use strait_kafka::BrokerConfig;

const NOT_LEADER: i16 = ResponseError::NotLeaderOrFollower.code();

/// Node 1 (this one) and node 2; node 2 leads and coordinates everything.
#[derive(Debug)]
struct ElsewhereLeads;

fn node(id: NodeId, port: u16) -> NodeInfo {
    NodeInfo {
        id,
        rack: None,
        endpoints: vec![Endpoint {
            listener: "kafka".into(),
            host: "127.0.0.1".into(),
            port,
        }],
    }
}

impl ClusterView for ElsewhereLeads {
    fn local_node(&self) -> NodeId {
        1
    }
    fn nodes(&self) -> Vec<NodeInfo> {
        vec![node(1, 9092), node(2, 9093)]
    }
    fn controller(&self) -> Option<NodeId> {
        Some(2)
    }
    fn partition_leadership(&self, _topic: &str, _partition: u32) -> Option<PartitionLeadership> {
        Some(PartitionLeadership {
            leader: 2,
            leader_epoch: Some(5),
            replicas: vec![2, 1],
            isr: vec![2],
        })
    }
    fn coordinator(&self, _kind: CoordinatorKind, _key: &str) -> Option<Coordinator> {
        Some(Coordinator {
            node: 2,
            partition: 0,
        })
    }
    fn on_leadership(&self, _hook: LeadershipHook) {}
}

#[tokio::test]
async fn a_partition_led_elsewhere_is_not_served_here() {
    let mut t = TestBroker::with_config(BrokerConfig {
        cluster: Some(Arc::new(ElsewhereLeads)),
        ..Default::default()
    })
    .await;
    t.broker
        .engine()
        .create_topic("t", 1, Default::default())
        .await
        .expect("topic");

    let r = t
        .call(
            9,
            &produce("t", 0, batch(&["a"], Compression::None, None), -1),
        )
        .await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, NOT_LEADER);

    let r = t
        .call(12, &fetch("t", vec![fetch_partition(0, 0, 1 << 20)]))
        .await;
    assert_eq!(r.responses[0].partitions[0].error_code, NOT_LEADER);

    let r = t.call(7, &list_offsets("t", 0, -1)).await;
    assert_eq!(r.topics[0].partitions[0].error_code, NOT_LEADER);

    // Nothing was appended.
    let p = t.broker.engine().partition("t", 0).expect("partition");
    assert_eq!(p.offsets().log_end, 0);

    let r = t
        .call(12, &MetadataRequest::default().with_topics(None))
        .await;
    assert_eq!(r.brokers.len(), 2);
    assert_eq!(r.controller_id.0, 2);
    let topic = r
        .topics
        .iter()
        .find(|x| x.name.as_ref().is_some_and(|n| n.0.as_str() == "t"));
    let p = &topic.expect("topic listed").partitions[0];
    assert_eq!((p.leader_id.0, p.leader_epoch), (2, 5));
    assert_eq!(
        p.replica_nodes.iter().map(|n| n.0).collect::<Vec<_>>(),
        vec![2, 1]
    );

    let r = t
        .call(
            3,
            &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
        )
        .await;
    assert_eq!((r.error_code, r.node_id.0, r.port), (0, 2, 9093));
    t.shutdown().await;
}

// ---- Three nodes over sockets -------------------------------------------------------------------------------

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::{
    BrokerId, DeleteRecordsRequest, DescribeClusterRequest, FetchRequest,
    OffsetForLeaderEpochRequest, ProduceRequest,
};

const FENCED: i16 = ResponseError::FencedLeaderEpoch.code();
const UNKNOWN_EPOCH: i16 = ResponseError::UnknownLeaderEpoch.code();
const NO_LEADER: i16 = ResponseError::LeaderNotAvailable.code();

/// Topic "t" with three partitions: 0 led here at view epoch 4, 1 led by node 2 at epoch 7 (this node a
/// follower in its ISR), 2 without a leader.
async fn three_nodes() -> SocketBroker {
    let view = TestView::new(Some(3));
    view.set_leader("t", 0, Some(LOCAL), Some(4), &[1, 2, 3], &[1, 2, 3]);
    view.set_leader("t", 1, Some(2), Some(7), &[2, 1, 3], &[2, 1]);
    view.set_leader("t", 2, None, None, &[], &[]);
    let s = SocketBroker::start(view).await;
    s.create_topic("t", 3).await;
    s
}

fn topic_id(s: &SocketBroker) -> uuid::Uuid {
    s.broker.engine().topic("t").expect("topic").id
}

/// One Produce for partitions 0–2 of "t" (by name before v13, by id from v13).
fn produce_all(s: &SocketBroker, version: i16) -> ProduceRequest {
    let mut req = produce("t", 0, batch(&["a"], Compression::None, None), -1);
    let data = &mut req.topic_data[0];
    if version >= 13 {
        data.topic_id = topic_id(s);
    }
    for p in 1..3 {
        let mut extra = data.partition_data[0].clone();
        extra.index = p;
        data.partition_data.push(extra);
    }
    req
}

#[tokio::test]
async fn produce_answers_per_leadership_with_kip951_hints_from_v10() {
    let s = three_nodes().await;
    let mut c = s.client().await;
    for version in [9, 10, 11, 13] {
        let r = c.call(version, &produce_all(&s, version)).await;
        let parts = &r.responses[0].partition_responses;
        assert_eq!(parts[0].error_code, 0, "v{version}: led here");
        assert_eq!(parts[1].error_code, NOT_LEADER, "v{version}: led by node 2");
        assert_eq!(parts[2].error_code, NOT_LEADER, "v{version}: no leader");
        let hint = |i: usize| {
            let l = &parts[i].current_leader;
            (l.leader_id.0, l.leader_epoch)
        };
        if version < 10 {
            // No such fields before KIP-951: they decode as their defaults.
            assert_eq!((hint(1), hint(2)), ((-1, -1), (-1, -1)));
            assert!(r.node_endpoints.is_empty());
            continue;
        }
        assert_eq!(hint(0), (-1, -1), "v{version}: no hint on success");
        assert_eq!(hint(1), (2, 7), "v{version}");
        assert_eq!(hint(2), (-1, -1), "v{version}: no leader to name");
        // Only the leader that was named, with its Kafka endpoint and rack.
        assert_eq!(r.node_endpoints.len(), 1, "v{version}");
        let n = &r.node_endpoints[0];
        assert_eq!(
            (n.node_id.0, n.host.as_str(), n.port, n.rack.as_deref()),
            (
                2,
                "127.0.0.2",
                i32::from(port_of(2)),
                Some(rack_of(2).as_str())
            )
        );
    }
    // Only partition 0 took the four batches.
    let e = s.broker.engine();
    let ends: Vec<i64> = (0..3)
        .map(|p| e.partition("t", p).expect("p").offsets().log_end)
        .collect();
    assert_eq!(ends, vec![4, 0, 0]);
    // A batch appended here is stamped with the view's epoch (the term), which reads back through Fetch.
    let r = c
        .call(12, &fetch("t", vec![fetch_partition(0, 0, 1 << 20)]))
        .await;
    let first = fetched(&r);
    assert_eq!(
        i32::from_be_bytes(first[12..16].try_into().expect("4 bytes")),
        4
    );
    s.shutdown().await;
}

fn fetch_epoch(p: i32, current: i32) -> kafka_protocol::messages::fetch_request::FetchPartition {
    fetch_partition(p, 0, 1 << 20).with_current_leader_epoch(current)
}

fn fetch_by_id(
    s: &SocketBroker,
    parts: Vec<kafka_protocol::messages::fetch_request::FetchPartition>,
) -> FetchRequest {
    let mut req = fetch("t", parts);
    req.topics[0].topic_id = topic_id(s);
    req
}

#[tokio::test]
async fn fetch_checks_the_views_epoch_and_names_the_leader_from_v16() {
    let s = three_nodes().await;
    let mut c = s.client().await;
    c.call(
        9,
        &produce("t", 0, batch(&["x"], Compression::None, None), -1),
    )
    .await;
    let parts = || {
        vec![
            fetch_epoch(0, 4),  // current epoch here
            fetch_epoch(0, 3),  // stale: fenced
            fetch_epoch(0, 5),  // newer than ours: unknown
            fetch_epoch(1, -1), // follower, unchecked
            fetch_epoch(1, 6),  // follower, stale: fenced before not-leader, as on a Kafka replica
            fetch_epoch(1, 7),  // follower, current: not leader
            fetch_epoch(2, -1), // no leader
        ]
    };
    for version in [12, 15, 16] {
        let req = if version >= 13 {
            fetch_by_id(&s, parts())
        } else {
            fetch("t", parts())
        };
        let r = c.call(version, &req).await;
        let p = &r.responses[0].partitions;
        let codes: Vec<i16> = p.iter().map(|p| p.error_code).collect();
        assert_eq!(
            codes,
            vec![
                0,
                FENCED,
                UNKNOWN_EPOCH,
                NOT_LEADER,
                FENCED,
                NOT_LEADER,
                NOT_LEADER
            ],
            "v{version}"
        );
        assert_eq!(p[0].records.as_ref().map(|r| !r.is_empty()), Some(true));
        let hint = |i: usize| {
            (
                p[i].current_leader.leader_id.0,
                p[i].current_leader.leader_epoch,
            )
        };
        // Epoch errors name the leader in every version with the field (Strait always has).
        assert_eq!(hint(1), (LOCAL, 4), "v{version}");
        assert_eq!(hint(2), (LOCAL, 4), "v{version}");
        assert_eq!(hint(4), (2, 7), "v{version}");
        if version < 16 {
            assert_eq!((hint(3), hint(5)), ((-1, -1), (-1, -1)), "v{version}");
            assert!(r.node_endpoints.is_empty());
            continue;
        }
        assert_eq!((hint(3), hint(5), hint(6)), ((2, 7), (2, 7), (-1, -1)));
        let mut named: Vec<(i32, String, i32, Option<String>)> = r
            .node_endpoints
            .iter()
            .map(|n| {
                (
                    n.node_id.0,
                    n.host.to_string(),
                    n.port,
                    n.rack.as_ref().map(|r| r.to_string()),
                )
            })
            .collect();
        named.sort();
        assert_eq!(
            named,
            vec![
                (
                    1,
                    "127.0.0.1".into(),
                    i32::from(port_of(1)),
                    Some(rack_of(1))
                ),
                (
                    2,
                    "127.0.0.2".into(),
                    i32::from(port_of(2)),
                    Some(rack_of(2))
                ),
            ]
        );
    }
    // A node that holds no replica answers NOT_LEADER_OR_FOLLOWER whatever epoch the client sends.
    s.view
        .set_leader("t", 1, Some(2), Some(7), &[2, 3], &[2, 3]);
    let r = c.call(12, &fetch("t", vec![fetch_epoch(1, 6)])).await;
    assert_eq!(r.responses[0].partitions[0].error_code, NOT_LEADER);
    s.shutdown().await;
}

fn list_at(p: i32, current: i32) -> kafka_protocol::messages::ListOffsetsRequest {
    let mut req = list_offsets("t", p, -1);
    req.topics[0].partitions[0].current_leader_epoch = current;
    req
}

fn epoch_query(p: i32, current: i32, epoch: i32) -> OffsetForLeaderEpochRequest {
    OffsetForLeaderEpochRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![
            OffsetForLeaderTopic::default()
                .with_topic(name("t"))
                .with_partitions(vec![
                    OffsetForLeaderPartition::default()
                        .with_partition(p)
                        .with_current_leader_epoch(current)
                        .with_leader_epoch(epoch),
                ]),
        ])
}

#[tokio::test]
async fn list_offsets_and_offset_for_leader_epoch_follow_the_view() {
    let s = three_nodes().await;
    let mut c = s.client().await;
    for _ in 0..2 {
        c.call(
            9,
            &produce("t", 0, batch(&["x"], Compression::None, None), -1),
        )
        .await;
    }
    let lo = |r: &kafka_protocol::messages::ListOffsetsResponse| {
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.offset, p.leader_epoch)
    };
    assert_eq!(lo(&c.call(7, &list_at(0, -1)).await), (0, 2, 4));
    assert_eq!(lo(&c.call(7, &list_at(0, 4)).await), (0, 2, 4));
    assert_eq!(lo(&c.call(7, &list_at(0, 3)).await).0, FENCED);
    assert_eq!(lo(&c.call(7, &list_at(0, 9)).await).0, UNKNOWN_EPOCH);
    assert_eq!(lo(&c.call(7, &list_at(1, -1)).await).0, NOT_LEADER);
    assert_eq!(lo(&c.call(7, &list_at(1, 6)).await).0, FENCED);
    assert_eq!(lo(&c.call(7, &list_at(2, -1)).await).0, NOT_LEADER);

    let ep = |r: &kafka_protocol::messages::OffsetForLeaderEpochResponse| {
        let p = &r.topics[0].partitions[0];
        (p.error_code, p.leader_epoch, p.end_offset)
    };
    // The current (view) epoch ends at the log end; a future one is undefined.
    assert_eq!(ep(&c.call(4, &epoch_query(0, 4, 4)).await), (0, 4, 2));
    assert_eq!(ep(&c.call(4, &epoch_query(0, -1, 5)).await), (0, -1, -1));
    assert_eq!(ep(&c.call(4, &epoch_query(0, 3, 4)).await).0, FENCED);
    assert_eq!(ep(&c.call(4, &epoch_query(1, 7, 7)).await).0, NOT_LEADER);
    assert_eq!(ep(&c.call(4, &epoch_query(1, 8, 7)).await).0, UNKNOWN_EPOCH);
    assert_eq!(ep(&c.call(4, &epoch_query(2, -1, 0)).await).0, NOT_LEADER);
    s.shutdown().await;
}

#[tokio::test]
async fn delete_records_only_on_the_leader() {
    let s = three_nodes().await;
    let mut c = s.client().await;
    for p in 0..2u32 {
        // The engine takes writes directly, as a replica's log would have them.
        let part = s.broker.engine().partition("t", p).expect("p");
        part.append(
            batch(&["x", "y"], Compression::None, None),
            Default::default(),
        )
        .await
        .expect("append");
    }
    let req = DeleteRecordsRequest::default()
        .with_timeout_ms(1000)
        .with_topics(vec![
            DeleteRecordsTopic::default()
                .with_name(name("t"))
                .with_partitions(
                    (0..3)
                        .map(|p| {
                            DeleteRecordsPartition::default()
                                .with_partition_index(p)
                                .with_offset(1)
                        })
                        .collect(),
                ),
        ]);
    let r = c.call(2, &req).await;
    let got: Vec<(i16, i64)> = r.topics[0]
        .partitions
        .iter()
        .map(|p| (p.error_code, p.low_watermark))
        .collect();
    assert_eq!(got, vec![(0, 1), (NOT_LEADER, -1), (NOT_LEADER, -1)]);
    assert_eq!(
        s.broker.engine().partition("t", 1).expect("p").log_start(),
        0
    );
    s.shutdown().await;
}

#[tokio::test]
async fn metadata_and_describe_cluster_list_every_node_and_the_views_leaders() {
    let s = three_nodes().await;
    let mut c = s.client().await;
    for version in [1, 9, 12] {
        let r = c
            .call(version, &MetadataRequest::default().with_topics(None))
            .await;
        let brokers: Vec<(i32, String, i32, Option<String>)> = r
            .brokers
            .iter()
            .map(|b| {
                (
                    b.node_id.0,
                    b.host.to_string(),
                    b.port,
                    b.rack.as_ref().map(|r| r.to_string()),
                )
            })
            .collect();
        let want: Vec<_> = (1..=3)
            .map(|id| {
                (
                    id,
                    format!("127.0.0.{id}"),
                    i32::from(port_of(id)),
                    Some(rack_of(id)),
                )
            })
            .collect();
        assert_eq!(brokers, want, "v{version}");
        assert_eq!(r.controller_id.0, 3, "v{version}");
        let t = r
            .topics
            .iter()
            .find(|x| x.name.as_ref().is_some_and(|n| n.0.as_str() == "t"))
            .expect("topic listed");
        assert_eq!(t.error_code, 0);
        let parts: Vec<_> = t
            .partitions
            .iter()
            .map(|p| {
                let ids = |v: &[BrokerId]| v.iter().map(|b| b.0).collect::<Vec<_>>();
                (
                    p.partition_index,
                    p.error_code,
                    p.leader_id.0,
                    p.leader_epoch,
                    ids(&p.replica_nodes),
                    ids(&p.isr_nodes),
                    ids(&p.offline_replicas),
                )
            })
            .collect();
        let epoch = |e: i32| if version >= 7 { e } else { -1 };
        assert_eq!(
            parts,
            vec![
                (0, 0, 1, epoch(4), vec![1, 2, 3], vec![1, 2, 3], vec![]),
                (1, 0, 2, epoch(7), vec![2, 1, 3], vec![2, 1], vec![]),
                (2, NO_LEADER, -1, epoch(0), vec![], vec![], vec![]),
            ],
            "v{version}"
        );
    }
    for version in [0, 1, 2] {
        let r = c.call(version, &DescribeClusterRequest::default()).await;
        assert_eq!((r.error_code, r.controller_id.0), (0, 3));
        let brokers: Vec<(i32, i32, Option<String>)> = r
            .brokers
            .iter()
            .map(|b| {
                (
                    b.broker_id.0,
                    b.port,
                    b.rack.as_ref().map(|r| r.to_string()),
                )
            })
            .collect();
        let want: Vec<_> = (1..=3)
            .map(|id| (id, i32::from(port_of(id)), Some(rack_of(id))))
            .collect();
        assert_eq!(brokers, want, "v{version}");
    }
    s.shutdown().await;
}
