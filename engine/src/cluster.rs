//! The cluster view: which nodes exist (endpoints per listener, racks), who leads each partition and at which
//! leader epoch, who coordinates each group, transactional id and share group, and hooks that fire when this
//! node gains or loses a leadership. Front ends ask the view instead of assuming "this node"; today the only
//! implementation is [`SingleNode`], and replication plugs in a view fed by the Raft metadata log.
//!
//! Protocol-free: node ids are Kafka-compatible `i32`s, but nothing here knows any wire format.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// A node's id (Kafka's `node.id`).
pub type NodeId = i32;

/// One listener of a node: where clients of that listener connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The listener's name (`kafka`, `kinesis`, ...).
    pub listener: String,
    pub host: String,
    pub port: u16,
}

/// A node of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInfo {
    pub id: NodeId,
    pub rack: Option<String>,
    pub endpoints: Vec<Endpoint>,
}

impl NodeInfo {
    /// The endpoint of listener `name`, if the node has one.
    pub fn endpoint(&self, name: &str) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| e.listener == name)
    }
}

/// Who leads a partition and who replicates it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLeadership {
    pub leader: NodeId,
    /// The leader epoch the view knows; `None` when the leader's own log is authoritative (a single node, whose
    /// epoch is the latest one its log recorded).
    pub leader_epoch: Option<i32>,
    pub replicas: Vec<NodeId>,
    /// In-sync replicas.
    pub isr: Vec<NodeId>,
}

/// The kinds of coordinator a node can be: each owns its own coordinator partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordinatorKind {
    /// Consumer groups, classic and KIP-848, and their committed offsets.
    Group,
    /// Transactional ids (and producer-id allocation).
    Transaction,
    /// KIP-932 share groups.
    Share,
}

impl CoordinatorKind {
    pub const ALL: [CoordinatorKind; 3] = [
        CoordinatorKind::Group,
        CoordinatorKind::Transaction,
        CoordinatorKind::Share,
    ];
}

/// The coordinator of one key (group id, transactional id, share group id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Coordinator {
    pub node: NodeId,
    /// The coordinator partition the key maps to.
    pub partition: u32,
}

/// A change in what this node leads or coordinates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadershipEvent {
    BecameLeader {
        topic: String,
        partition: u32,
        leader_epoch: i32,
    },
    StoppedLeading {
        topic: String,
        partition: u32,
    },
    BecameCoordinator {
        kind: CoordinatorKind,
        partition: u32,
    },
    StoppedCoordinating {
        kind: CoordinatorKind,
        partition: u32,
    },
}

/// Called for every [`LeadershipEvent`] of this node. Hooks update memory and spawn slow work themselves; they
/// must not block, because the view calls them in order on its own thread.
pub type LeadershipHook = Arc<dyn Fn(&LeadershipEvent) + Send + Sync>;

/// The one answer to "who does what" in the cluster.
pub trait ClusterView: Send + Sync + fmt::Debug {
    /// This node.
    fn local_node(&self) -> NodeId;

    /// Every live node, in id order.
    fn nodes(&self) -> Vec<NodeInfo>;

    fn node(&self, id: NodeId) -> Option<NodeInfo> {
        self.nodes().into_iter().find(|n| n.id == id)
    }

    /// The node acting as controller (Kafka's metadata quorum leader), if one is known.
    fn controller(&self) -> Option<NodeId>;

    /// Who leads partition `partition` of `topic`; `None` when it has no leader right now. The view does not
    /// know whether the topic exists: callers resolve the topic first.
    fn partition_leadership(&self, topic: &str, partition: u32) -> Option<PartitionLeadership>;

    /// Whether this node leads the partition (may serve writes and reads for it).
    fn is_local_leader(&self, topic: &str, partition: u32) -> bool {
        self.partition_leadership(topic, partition)
            .is_some_and(|l| l.leader == self.local_node())
    }

    /// The coordinator of `key` (a group id, transactional id or share group id) for `kind`; `None` while no
    /// node coordinates its partition.
    fn coordinator(&self, kind: CoordinatorKind, key: &str) -> Option<Coordinator>;

    /// Registers a hook for this node's leadership changes. Leaderships this node already holds are reported to
    /// the new hook at once (as `Became*` events), so a hook registered at start-up sees the current state.
    fn on_leadership(&self, hook: LeadershipHook);
}

/// The shared handle front ends hold.
pub type SharedClusterView = Arc<dyn ClusterView>;

/// A cluster of one: this node is the controller, leads every partition (at its log's own epoch) and
/// coordinates everything through one coordinator partition per kind. A hook hears "became coordinator" for
/// each kind when it registers, and nothing afterwards. It hears no per-partition events: a single node leads a
/// partition from the moment it exists, so there is no leadership to gain or lose.
pub struct SingleNode {
    node: NodeInfo,
    // Kept so a later `step_down` (shutdown) can tell the registered hooks.
    hooks: Mutex<Vec<LeadershipHook>>,
}

impl fmt::Debug for SingleNode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SingleNode")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

impl SingleNode {
    pub fn new(node: NodeInfo) -> SingleNode {
        SingleNode {
            node,
            hooks: Mutex::new(Vec::new()),
        }
    }

    /// Tells every hook that this node stopped coordinating (at shutdown), so coordinators stop their timers.
    pub fn step_down(&self) {
        let hooks = self
            .hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        for hook in hooks {
            for kind in CoordinatorKind::ALL {
                hook(&LeadershipEvent::StoppedCoordinating { kind, partition: 0 });
            }
        }
    }
}

impl ClusterView for SingleNode {
    fn local_node(&self) -> NodeId {
        self.node.id
    }

    fn nodes(&self) -> Vec<NodeInfo> {
        vec![self.node.clone()]
    }

    fn controller(&self) -> Option<NodeId> {
        Some(self.node.id)
    }

    fn partition_leadership(&self, _topic: &str, _partition: u32) -> Option<PartitionLeadership> {
        Some(PartitionLeadership {
            leader: self.node.id,
            leader_epoch: None,
            replicas: vec![self.node.id],
            isr: vec![self.node.id],
        })
    }

    fn coordinator(&self, _kind: CoordinatorKind, _key: &str) -> Option<Coordinator> {
        Some(Coordinator {
            node: self.node.id,
            partition: 0,
        })
    }

    fn on_leadership(&self, hook: LeadershipHook) {
        self.hooks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(hook.clone());
        for kind in CoordinatorKind::ALL {
            hook(&LeadershipEvent::BecameCoordinator { kind, partition: 0 });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node() -> NodeInfo {
        NodeInfo {
            id: 7,
            rack: Some("r1".into()),
            endpoints: vec![Endpoint {
                listener: "kafka".into(),
                host: "127.0.0.1".into(),
                port: 9092,
            }],
        }
    }

    #[test]
    fn a_single_node_leads_and_coordinates_everything() {
        let v = SingleNode::new(node());
        assert_eq!(v.local_node(), 7);
        assert_eq!(v.controller(), Some(7));
        assert_eq!(v.nodes(), vec![node()]);
        assert_eq!(
            v.node(7).and_then(|n| n.endpoint("kafka").map(|e| e.port)),
            Some(9092)
        );
        assert!(v.node(8).is_none());
        let l = v.partition_leadership("t", 3).expect("a leader");
        assert_eq!(
            (l.leader, l.leader_epoch, l.replicas, l.isr),
            (7, None, vec![7], vec![7])
        );
        assert!(v.is_local_leader("t", 3));
        for kind in CoordinatorKind::ALL {
            assert_eq!(v.coordinator(kind, "g").map(|c| c.node), Some(7));
        }
    }

    #[test]
    fn hooks_hear_became_coordinator_once_at_registration_and_stopped_on_step_down() {
        let v = SingleNode::new(node());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        v.on_leadership(Arc::new(move |e: &LeadershipEvent| {
            s.lock().expect("lock").push(e.clone())
        }));
        let became: Vec<_> = CoordinatorKind::ALL
            .iter()
            .map(|&kind| LeadershipEvent::BecameCoordinator { kind, partition: 0 })
            .collect();
        assert_eq!(*seen.lock().expect("lock"), became);
        v.step_down();
        let got = seen.lock().expect("lock");
        assert_eq!(got.len(), 6);
        assert!(matches!(
            got[3],
            LeadershipEvent::StoppedCoordinating {
                kind: CoordinatorKind::Group,
                ..
            }
        ));
    }
}
