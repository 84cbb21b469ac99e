//! The cluster view in Kafka's terms: broker entries, partition leaders and coordinators as Metadata,
//! DescribeCluster, FindCoordinator and the data-path APIs report them. Every node id a response carries comes
//! from here, never from the broker's own config.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::BrokerId;
use strait_engine::cluster::{CoordinatorKind, NodeInfo};

use crate::broker::{Broker, LISTENER};
use crate::codec::share_wire::{Endpoint, ShareResponse};

/// One broker as Kafka responses list it.
pub(crate) struct BrokerEntry {
    pub id: BrokerId,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
}

fn entry(n: &NodeInfo) -> Option<BrokerEntry> {
    let e = n.endpoint(LISTENER)?;
    Some(BrokerEntry {
        id: BrokerId(n.id),
        host: e.host.clone(),
        port: i32::from(e.port),
        rack: n.rack.clone(),
    })
}

/// Every node with a Kafka listener.
pub(crate) fn brokers(b: &Broker) -> Vec<BrokerEntry> {
    b.cluster().nodes().iter().filter_map(entry).collect()
}

/// One node's Kafka entry, if it has a Kafka listener.
pub(crate) fn broker(b: &Broker, id: i32) -> Option<BrokerEntry> {
    b.cluster().node(id).as_ref().and_then(entry)
}

/// The controller's id, or -1 when none is known (Kafka's answer then).
pub(crate) fn controller(b: &Broker) -> BrokerId {
    BrokerId(b.cluster().controller().unwrap_or(-1))
}

/// A partition's leader, replicas and in-sync replicas; leader -1 and empty lists when it has no leader.
pub(crate) fn leadership(
    b: &Broker,
    topic: &str,
    partition: u32,
) -> (BrokerId, Vec<BrokerId>, Vec<BrokerId>) {
    match b.cluster().partition_leadership(topic, partition) {
        Some(l) => (
            BrokerId(l.leader),
            l.replicas.into_iter().map(BrokerId).collect(),
            l.isr.into_iter().map(BrokerId).collect(),
        ),
        None => (BrokerId(-1), Vec::new(), Vec::new()),
    }
}

/// The coordinator of `key` for `kind`, with its Kafka endpoint.
pub(crate) fn coordinator(b: &Broker, kind: CoordinatorKind, key: &str) -> Option<BrokerEntry> {
    let c = b.cluster().coordinator(kind, key)?;
    broker(b, c.node)
}

/// KIP-951: who a client should go to for a partition this node refused (NOT_LEADER_OR_FOLLOWER, a leader-epoch
/// error), as Kafka's `getCurrentLeader` answers: the leader's id and epoch, and its endpoint when it has a
/// Kafka listener. No leader: id -1, epoch -1 unless the view knows one, no endpoint.
pub(crate) struct LeaderHint {
    pub id: BrokerId,
    pub epoch: i32,
    pub node: Option<BrokerEntry>,
}

pub(crate) fn leader_hint(b: &Broker, topic: &str, partition: i32) -> LeaderHint {
    let none = LeaderHint {
        id: BrokerId(-1),
        epoch: -1,
        node: None,
    };
    let Ok(index) = u32::try_from(partition) else {
        return none;
    };
    let Some(l) = b.cluster().partition_leadership(topic, index) else {
        return none;
    };
    // The view's epoch, else (this node leading with its epoch in its log: a single node) the local log's.
    let local = l.leader == b.cluster().local_node();
    let epoch = l.leader_epoch.or_else(|| {
        local
            .then(|| b.engine().partition(topic, index).ok())
            .flatten()
            .map(|p| crate::topics::resolve::leader_epoch(&p))
    });
    LeaderHint {
        id: BrokerId(l.leader),
        epoch: epoch.unwrap_or(-1),
        node: broker(b, l.leader),
    }
}

/// KIP-951 for ShareFetch/ShareAcknowledge, as Kafka answers them: a partition refused with
/// NOT_LEADER_OR_FOLLOWER (as a fetch or an acknowledgement error) names its current leader and epoch, and the
/// response lists that leader's endpoint.
pub(crate) fn share_leader_hints(b: &Broker, resp: &mut ShareResponse) {
    let not_leader = ResponseError::NotLeaderOrFollower.code();
    let mut ids: Vec<i32> = Vec::new();
    for t in &mut resp.topics {
        for p in t
            .partitions
            .iter_mut()
            .filter(|p| p.error_code == not_leader || p.ack_error_code == not_leader)
        {
            let Ok(info) = b.topic_ids().lookup(b.engine(), &t.topic_id) else {
                continue;
            };
            let hint = leader_hint(b, &info.name, p.partition);
            p.leader_id = hint.id.0;
            p.leader_epoch = hint.epoch;
            if hint.node.is_some() && !ids.contains(&hint.id.0) {
                ids.push(hint.id.0);
            }
        }
    }
    ids.sort_unstable();
    for id in ids {
        if let Some(n) = broker(b, id)
            && !resp.node_endpoints.iter().any(|e| e.node_id == id)
        {
            resp.node_endpoints.push(Endpoint {
                node_id: id,
                host: n.host,
                port: n.port,
                rack: n.rack,
            });
        }
    }
}
