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

use std::sync::{Arc, Mutex, PoisonError};

use strait_engine::{EngineError, MetaOp, MetaStore, MetaWatcher};

use crate::coordinator::follow::Follow;

const TABLE: &str = strait_engine::meta::tables::KAFKA_PRODUCERS;
const KEY: &[u8] = b"id_block_end";
/// Ids reserved per metadata commit.
pub const BLOCK: i64 = 1000;

/// The committed reservation row, as the watcher last saw it (raw: a row that does not decode is reported by
/// the allocation that needs it, as before, rather than lost on the writer thread).
#[derive(Default)]
pub struct Reservation {
    raw: Mutex<Option<Vec<u8>>>,
}

impl Reservation {
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
                MetaOp::Put { key, value, .. } if key == KEY => *raw = Some(value.clone()),
                MetaOp::Delete { key, .. } if key == KEY => *raw = None,
                MetaOp::DeletePrefix { prefix, .. } if KEY.starts_with(prefix) => *raw = None,
                // Other keys of the table: none are written today.
                MetaOp::Put { .. } | MetaOp::Delete { .. } | MetaOp::DeletePrefix { .. } => {}
            }
        }
    }
}

pub struct ProducerIdAllocator {
    meta: MetaStore,
    reservation: Arc<Reservation>,
    follow: Follow,
    /// The next id to hand out, -1 until the first allocation since start (it then starts at the committed end:
    /// the rest of the block reserved before a restart is skipped).
    next: tokio::sync::Mutex<i64>,
}

impl ProducerIdAllocator {
    /// An allocator whose reservation follows `meta`'s `kafka_producers` table.
    pub fn new(meta: MetaStore) -> ProducerIdAllocator {
        let reservation = Arc::new(Reservation::default());
        ProducerIdAllocator {
            follow: Follow::new(&meta, &[TABLE], reservation.clone()),
            meta,
            reservation,
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
        let end = self.reservation.end()?;
        if *next < 0 {
            *next = end;
        }
        if *next >= end {
            // Committed before any id of the block is returned; the watcher has published it when `put` returns.
            let end = *next + BLOCK;
            self.meta
                .put(TABLE, KEY, end.to_string().into_bytes())
                .await?;
        }
        let id = *next;
        *next += 1;
        Ok(id)
    }
}
