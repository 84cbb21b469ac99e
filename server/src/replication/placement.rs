//! Where a partition's replicas live and which Raft group id it has. Both are pure functions of the topic's id
//! and the partition index over the configured node list, so every node computes the same answer without asking
//! anyone (the controller's assignment table replaces this once reassignment exists).

use strait_engine::cluster::NodeId;
use strait_raft::GroupId;

/// FNV-1a, 64 bits: stable across builds and platforms (unlike std's hasher), which ids on the wire need.
fn fnv1a(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in *p {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

/// The Raft group id of partition `p` of the topic with id `topic_id`: never 0 (the controller's).
pub fn group_id(topic_id: &uuid::Uuid, p: u32) -> GroupId {
    fnv1a(&[topic_id.as_bytes(), &p.to_be_bytes()]).max(1)
}

/// The key of the group's rows in the node's Raft state table: a recreated topic (new id) starts afresh.
pub fn group_key(topic_id: &uuid::Uuid, p: u32) -> String {
    format!("{topic_id}/{p}")
}

/// `rf` replicas of partition `p` among `nodes` (sorted ids): consecutive nodes from a start spread by the hash,
/// so leaders (the first replica initially wins most elections) spread over the nodes too. Racks are not used yet.
pub fn replicas(nodes: &[NodeId], topic_id: &uuid::Uuid, p: u32, rf: usize) -> Vec<NodeId> {
    if nodes.is_empty() {
        return Vec::new();
    }
    let n = nodes.len();
    let start = (fnv1a(&[topic_id.as_bytes()]) as usize).wrapping_add(p as usize) % n;
    (0..rf.clamp(1, n))
        .map(|i| nodes[(start + i) % n])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placement_is_deterministic_spread_and_bounded() {
        let id = uuid::Uuid::from_u128(42);
        let nodes = [1, 2, 3, 4, 5];
        assert_eq!(replicas(&nodes, &id, 0, 3), replicas(&nodes, &id, 0, 3));
        for p in 0..10 {
            let r = replicas(&nodes, &id, p, 3);
            assert_eq!(r.len(), 3);
            let mut u = r.clone();
            u.sort();
            u.dedup();
            assert_eq!(u.len(), 3, "distinct replicas");
        }
        let firsts: std::collections::BTreeSet<_> =
            (0..5).map(|p| replicas(&nodes, &id, p, 3)[0]).collect();
        assert_eq!(firsts.len(), 5, "first replicas spread over every node");
        assert_eq!(replicas(&[7], &id, 3, 3), vec![7]);
        assert_ne!(group_id(&id, 0), group_id(&id, 1));
        assert_ne!(group_id(&id, 0), 0);
    }
}
