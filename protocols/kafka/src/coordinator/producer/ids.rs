//! Producer-id allocation for InitProducerId.
//!
//! Ids must never be handed out twice, across restarts too: a reused id would make the new producer's batches
//! look like out-of-order retries of the old one's. Ids are reserved in blocks whose end is committed to the
//! metadata store (table `kafka_producers`) before any id of the block is returned, so a restart skips at most
//! the unused rest of one block. One commit per [`BLOCK`] ids keeps InitProducerId off the fsync path.
//!
//! The committed reservation is known only through a [`MetaWatcher`] on the table ([`Reservation`]): allocation
//! commits a new block end and reads it back from there, so a restart (fed the table's contents) and a second
//! store fed the same committed changes know the same reservation. The cursor inside the block is this node's
//! own, volatile state.
//!
//! **In a cluster** every node reserves blocks in its own id space: `kafka_producers` is replicated by the
//! controller group, and two nodes that read the same committed end and both commit `end + BLOCK` would hand out
//! the same ids (the metadata store has no compare-and-set). So a clustered node `n` keeps its reservation under
//! its own key and hands out `(n + 1) << NODE_SHIFT | counter`: spaces never overlap each other, nor the ids a
//! single node handed out before it joined a cluster (all below `1 << NODE_SHIFT`).

use std::sync::{Arc, Mutex, PoisonError};

use strait_engine::{EngineError, MetaOp, MetaStore, MetaWatcher};

use crate::coordinator::follow::Follow;

const TABLE: &str = strait_engine::meta::tables::KAFKA_PRODUCERS;
const KEY: &[u8] = b"id_block_end";
/// Ids reserved per metadata commit.
pub const BLOCK: i64 = 1000;
/// Bits of a clustered node's id space: 2^40 producer ids per node, for node ids below 2^22.
pub const NODE_SHIFT: u32 = 40;

/// The committed reservation row, as the watcher last saw it (raw: a row that does not decode is reported by
/// the allocation that needs it, as before, rather than lost on the writer thread).
pub struct Reservation {
    key: Vec<u8>,
    raw: Mutex<Option<Vec<u8>>>,
}

impl Reservation {
    fn new(key: Vec<u8>) -> Reservation {
        Reservation {
            key,
            raw: Mutex::new(None),
        }
    }

    /// The first id not covered by the committed reservation (0 when nothing was ever reserved).
    pub fn end(&self) -> Result<i64, EngineError> {
        let raw = self.raw.lock().unwrap_or_else(PoisonError::into_inner);
        match raw.as_deref() {
            Some(raw) => {
                serde_json::from_slice::<i64>(raw).map_err(|source| EngineError::CorruptMetadata {
                    what: "kafka producer id reservation".into(),
                    source,
                })
            }
            None => Ok(0),
        }
    }
}

impl MetaWatcher for Reservation {
    fn apply(&self, ops: &[MetaOp]) {
        let mut raw = self.raw.lock().unwrap_or_else(PoisonError::into_inner);
        for op in ops {
            match op {
                MetaOp::Put { key, value, .. } if *key == self.key => *raw = Some(value.clone()),
                MetaOp::Delete { key, .. } if *key == self.key => *raw = None,
                MetaOp::DeletePrefix { prefix, .. } if self.key.starts_with(prefix) => *raw = None,
                // Other nodes' reservations.
                MetaOp::Put { .. } | MetaOp::Delete { .. } | MetaOp::DeletePrefix { .. } => {}
            }
        }
    }
}

pub struct ProducerIdAllocator {
    meta: MetaStore,
    reservation: Arc<Reservation>,
    /// The first id of this allocator's space: 0 on a single node, `(node + 1) << NODE_SHIFT` in a cluster.
    base: i64,
    follow: Follow,
    /// The next id to hand out, -1 until the first allocation since start (it then starts at the committed end:
    /// the rest of the block reserved before a restart is skipped).
    next: tokio::sync::Mutex<i64>,
}

impl ProducerIdAllocator {
    /// An allocator whose reservation follows `meta`'s `kafka_producers` table: the single-node space when
    /// `cluster_node` is `None`, else that node's own space.
    pub fn new(meta: MetaStore, cluster_node: Option<i32>) -> ProducerIdAllocator {
        let (key, base) = match cluster_node {
            None => (KEY.to_vec(), 0),
            Some(n) => (
                format!("id_block_end.node.{n}").into_bytes(),
                (i64::from(n.clamp(0, (1 << 22) - 2)) + 1) << NODE_SHIFT,
            ),
        };
        let reservation = Arc::new(Reservation::new(key));
        ProducerIdAllocator {
            follow: Follow::new(&meta, &[TABLE], reservation.clone()),
            meta,
            reservation,
            base,
            next: tokio::sync::Mutex::new(-1),
        }
    }

    /// The committed reservation (what tests compare across a restart and a replica).
    #[doc(hidden)]
    pub fn reserved_end(&self) -> Result<i64, EngineError> {
        self.reservation.end()
    }

    /// A producer id never returned before.
    pub async fn allocate(&self) -> Result<i64, EngineError> {
        let mut next = self.next.lock().await;
        self.follow.ensure()?;
        let end = self.reservation.end()?.max(self.base);
        if *next < 0 {
            *next = end;
        }
        if *next >= end {
            // Committed before any id of the block is returned; the watcher has published it when `put` returns.
            let end = *next + BLOCK;
            self.meta
                .put(TABLE, &self.reservation.key, end.to_string().into_bytes())
                .await?;
        }
        let id = *next;
        *next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cluster_nodes_allocate_from_disjoint_spaces_that_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("meta.redb");
        let meta = MetaStore::open(&path, 1 << 20).expect("open");
        // One store standing for the replicated table every node sees: the reservations must not collide.
        let single = ProducerIdAllocator::new(meta.clone(), None);
        let one = ProducerIdAllocator::new(meta.clone(), Some(1));
        let two = ProducerIdAllocator::new(meta.clone(), Some(2));
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..(BLOCK + 5) {
            for a in [&single, &one, &two] {
                let id = a.allocate().await.expect("allocate");
                assert!(seen.insert(id), "id {id} handed out twice");
            }
        }
        let of = |n: i64| {
            seen.iter()
                .filter(move |&&id| id >> NODE_SHIFT == n)
                .count()
        };
        assert_eq!(
            of(0),
            (BLOCK + 5) as usize,
            "single-node ids stay below 2^40"
        );
        assert_eq!(
            of(2),
            (BLOCK + 5) as usize,
            "node 1 owns the space (1 + 1) << 40"
        );
        assert_eq!(
            of(3),
            (BLOCK + 5) as usize,
            "node 2 owns the space (2 + 1) << 40"
        );
        // A restarted node 1 (a fresh allocator over the same table) never repeats an id it handed out.
        let again = ProducerIdAllocator::new(meta.clone(), Some(1));
        let next = again.allocate().await.expect("allocate");
        assert!(!seen.contains(&next) && next >> NODE_SHIFT == 2, "{next}");
    }
}
