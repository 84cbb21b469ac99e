//! The cluster view decides leadership: with a view in which another node leads every partition and coordinates
//! every key, the data-path APIs answer NOT_LEADER_OR_FOLLOWER, Metadata names the other node as leader and
//! FindCoordinator points at it. Nothing is appended.

mod common;

use std::sync::Arc;

use common::TestBroker;
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
