//! Producer-id allocation for InitProducerId.
//!
//! Ids must never be handed out twice, across restarts too: a reused id would make the new producer's batches
//! look like out-of-order retries of the old one's. Ids are reserved in blocks whose end is committed to the
//! metadata store (table `kafka_producers`) before any id of the block is returned, so a restart skips at most
//! the unused rest of one block. One commit per [`BLOCK`] ids keeps InitProducerId off the fsync path.

use strait_engine::{EngineError, MetaStore};

const TABLE: &str = "kafka_producers";
const KEY: &[u8] = b"id_block_end";
/// Ids reserved per metadata commit.
pub const BLOCK: i64 = 1000;

struct Range {
    next: i64,
    /// First id not covered by the durable reservation; -1 until read from the store.
    end: i64,
}

pub struct ProducerIdAllocator {
    meta: MetaStore,
    range: tokio::sync::Mutex<Range>,
}

impl ProducerIdAllocator {
    pub fn new(meta: MetaStore) -> ProducerIdAllocator {
        ProducerIdAllocator {
            meta,
            range: tokio::sync::Mutex::new(Range { next: -1, end: -1 }),
        }
    }

    /// A producer id never returned before.
    pub async fn allocate(&self) -> Result<i64, EngineError> {
        let mut r = self.range.lock().await;
        if r.end < 0 {
            let end = match self.meta.get(TABLE, KEY)? {
                Some(raw) => serde_json::from_slice::<i64>(&raw).map_err(|source| {
                    EngineError::CorruptMetadata {
                        what: "kafka producer id reservation".into(),
                        source,
                    }
                })?,
                None => 0,
            };
            *r = Range { next: end, end };
        }
        if r.next >= r.end {
            let end = r.next + BLOCK;
            self.meta
                .put(TABLE, KEY, end.to_string().into_bytes())
                .await?;
            r.end = end;
        }
        let id = r.next;
        r.next += 1;
        Ok(id)
    }
}
