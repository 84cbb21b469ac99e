//! The cluster view in Kafka's terms: broker entries, partition leaders and coordinators as Metadata,
//! DescribeCluster, FindCoordinator and the data-path APIs report them. Every node id a response carries comes
//! from here, never from the broker's own config.

use kafka_protocol::messages::BrokerId;
use strait_engine::cluster::{CoordinatorKind, NodeInfo};

use crate::broker::{Broker, LISTENER};

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
