//! The cluster view of a Raft cluster node: nodes from the configuration, partition leadership from the
//! partitions' Raft groups (leader epoch = Raft term), coordinators on the coordinator node.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use strait_engine::cluster::{
    ClusterView, Coordinator, CoordinatorKind, LeadershipEvent, LeadershipHook, NodeId, NodeInfo,
    PartitionLeadership,
};
use strait_raft::DataGroup;

/// One partition as this node knows it.
#[derive(Clone)]
pub struct PartitionState {
    pub replicas: Vec<NodeId>,
    /// This node's replica, when it hosts one and it is open.
    pub group: Option<Arc<DataGroup>>,
}

/// What the view reports about leadership: the last value the hooks heard, per partition.
type Led = HashMap<(String, u32), i32>;

pub struct RaftView {
    local: NodeId,
    nodes: Vec<NodeInfo>,
    partitions: RwLock<HashMap<(String, u32), PartitionState>>,
    coordinator: RwLock<Option<NodeId>>,
    hooks: Mutex<Vec<LeadershipHook>>,
    led: Mutex<Led>,
}

impl fmt::Debug for RaftView {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RaftView")
            .field("local", &self.local)
            .field("nodes", &self.nodes)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RaftView {
    pub fn new(local: NodeId, mut nodes: Vec<NodeInfo>) -> Arc<RaftView> {
        nodes.sort_by_key(|n| n.id);
        Arc::new(RaftView {
            local,
            nodes,
            partitions: RwLock::new(HashMap::new()),
            coordinator: RwLock::new(None),
            hooks: Mutex::new(Vec::new()),
            led: Mutex::new(HashMap::new()),
        })
    }

    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.iter().map(|n| n.id).collect()
    }

    pub fn set_partition(&self, topic: &str, p: u32, s: PartitionState) {
        self.partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert((topic.to_string(), p), s);
    }

    pub fn remove_topic(&self, topic: &str) {
        self.partitions
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(t, _), _| t != topic);
        lock(&self.led).retain(|(t, _), _| t != topic);
    }

    fn state(&self, topic: &str, p: u32) -> Option<PartitionState> {
        self.partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(topic.to_string(), p))
            .cloned()
    }

    /// Sets the coordinator node and tells the hooks when this node starts or stops coordinating.
    pub fn set_coordinator(&self, node: Option<NodeId>) {
        let before = std::mem::replace(
            &mut *self
                .coordinator
                .write()
                .unwrap_or_else(PoisonError::into_inner),
            node,
        );
        let was = before == Some(self.local);
        let is = node == Some(self.local);
        if was == is {
            return;
        }
        for kind in CoordinatorKind::ALL {
            self.emit(&if is {
                LeadershipEvent::BecameCoordinator { kind, partition: 0 }
            } else {
                LeadershipEvent::StoppedCoordinating { kind, partition: 0 }
            });
        }
    }

    /// Compares every local replica's leadership with what the hooks last heard and reports the changes.
    pub fn refresh(&self) {
        let parts: Vec<((String, u32), Arc<DataGroup>)> = self
            .partitions
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter_map(|(k, s)| s.group.clone().map(|g| (k.clone(), g)))
            .collect();
        for ((topic, partition), g) in parts {
            let (leader, term) = g.leader();
            let epoch = i32::try_from(term).unwrap_or(i32::MAX);
            let leading = leader == Some(g.node());
            let key = (topic.clone(), partition);
            let prev = lock(&self.led).get(&key).copied();
            match (prev, leading) {
                (Some(e), true) if e == epoch => {}
                (_, true) => {
                    lock(&self.led).insert(key, epoch);
                    self.emit(&LeadershipEvent::BecameLeader {
                        topic,
                        partition,
                        leader_epoch: epoch,
                    });
                }
                (Some(_), false) => {
                    lock(&self.led).remove(&key);
                    self.emit(&LeadershipEvent::StoppedLeading { topic, partition });
                }
                (None, false) => {}
            }
        }
    }

    fn emit(&self, e: &LeadershipEvent) {
        let hooks = lock(&self.hooks).clone();
        for h in hooks {
            h(e);
        }
    }
}

impl ClusterView for RaftView {
    fn local_node(&self) -> NodeId {
        self.local
    }

    fn nodes(&self) -> Vec<NodeInfo> {
        self.nodes.clone()
    }

    fn controller(&self) -> Option<NodeId> {
        *self
            .coordinator
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn partition_leadership(&self, topic: &str, partition: u32) -> Option<PartitionLeadership> {
        let s = self.state(topic, partition)?;
        let g = s.group?;
        let (leader, term) = g.leader();
        let leader = i32::try_from(leader?).ok()?;
        Some(PartitionLeadership {
            leader,
            leader_epoch: Some(i32::try_from(term).unwrap_or(i32::MAX)),
            // Every voter is reported in sync: followers' matched indexes are not tracked yet.
            isr: s.replicas.clone(),
            replicas: s.replicas,
        })
    }

    fn coordinator(&self, _kind: CoordinatorKind, _key: &str) -> Option<Coordinator> {
        let node = (*self
            .coordinator
            .read()
            .unwrap_or_else(PoisonError::into_inner))?;
        Some(Coordinator { node, partition: 0 })
    }

    fn on_leadership(&self, hook: LeadershipHook) {
        lock(&self.hooks).push(hook.clone());
        if self.controller() == Some(self.local) {
            for kind in CoordinatorKind::ALL {
                hook(&LeadershipEvent::BecameCoordinator { kind, partition: 0 });
            }
        }
        for ((topic, partition), epoch) in lock(&self.led).clone() {
            hook(&LeadershipEvent::BecameLeader {
                topic,
                partition,
                leader_epoch: epoch,
            });
        }
    }
}
