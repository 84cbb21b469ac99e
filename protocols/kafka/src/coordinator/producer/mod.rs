//! Idempotent-producer state: per `(producer id, partition)` the producer epoch and the last
//! [`CACHED_BATCHES`] batches, checked before every idempotent append (Kafka's `ProducerStateManager`).
//!
//! Rules (Kafka 2.5+ / KIP-360, which is what today's clients expect):
//! - an older epoch than the one last seen is fenced with INVALID_PRODUCER_EPOCH;
//! - a batch equal (epoch, first and last sequence) to one of the cached batches is a retry: it is acknowledged
//!   with the offsets it got the first time and not written again;
//! - a newer epoch must start at sequence 0, the same epoch must continue at last sequence + 1 (wrapping at
//!   `i32::MAX`), else OUT_OF_ORDER_SEQUENCE_NUMBER;
//! - an unknown producer (never seen, expired, or its records deleted) may start at any sequence. Kafka stopped
//!   answering UNKNOWN_PRODUCER_ID to produce requests with KIP-360, and so does Strait.
//!
//! Check and append happen under one per-partition async mutex ([`ProducerStates::lock`]), so two retries of
//! one batch cannot both be written. State survives restarts through snapshots plus a log scan, see
//! [`recovery`]: this state is derived from the partition logs (the snapshots in `kafka_producer_state` are
//! checkpoints of it, written behind, never read back except at the first use of a partition after start), so
//! it is not a mirror of metadata rows and follows no watcher. The producer-id reservation ([`ids`]) is one.

pub mod ids;
mod recovery;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use strait_engine::batch::BatchHeader;
use strait_engine::{Engine, EngineError, MetaStore, Partition};
use tokio::sync::OwnedMutexGuard;

/// Batches remembered per producer: the idempotent producer's cap on in-flight requests per connection.
pub const CACHED_BATCHES: usize = 5;
/// Producers idle for longer than this are forgotten (Kafka's `producer.id.expiration.ms` default).
pub const PRODUCER_EXPIRATION_MS: i64 = 24 * 3600 * 1000;

/// Where one accepted batch landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchMeta {
    pub first_seq: i32,
    pub last_seq: i32,
    pub first_offset: i64,
    pub last_offset: i64,
    /// Broker timestamp on LogAppendTime topics, else -1; repeated in the answer to a retry.
    pub log_append_time: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProducerEntry {
    pub epoch: i16,
    pub batches: VecDeque<BatchMeta>,
    pub last_seen_ms: i64,
}

/// The idempotence fields of an incoming batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerBatch {
    pub producer_id: i64,
    pub epoch: i16,
    pub first_seq: i32,
    pub last_seq: i32,
}

impl ProducerBatch {
    /// `None` for batches without a producer id (plain, non-idempotent producers).
    pub fn from_header(h: &BatchHeader) -> Option<ProducerBatch> {
        (h.producer_id >= 0).then(|| ProducerBatch {
            producer_id: h.producer_id,
            epoch: h.producer_epoch,
            first_seq: h.base_sequence,
            last_seq: last_sequence(h.base_sequence, h.last_offset_delta),
        })
    }
}

/// Sequence numbers wrap to 0 after `i32::MAX` (Kafka's `DefaultRecordBatch.incrementSequence`).
pub fn last_sequence(base: i32, delta: i32) -> i32 {
    if base > i32::MAX - delta {
        delta - (i32::MAX - base) - 1
    } else {
        base + delta
    }
}

fn in_sequence(last: i32, next: i32) -> bool {
    next as i64 == last as i64 + 1 || (next == 0 && last == i32::MAX)
}

/// The outcome of checking a batch against the producer state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Append,
    /// A retry of a batch already in the log.
    Duplicate(BatchMeta),
    Reject(ResponseError, String),
}

/// The producers of one partition.
#[derive(Debug, Default)]
pub struct PartitionProducers {
    producers: HashMap<i64, ProducerEntry>,
    /// The partition this state describes; a topic deleted and recreated under the same name gets a new
    /// `Partition`, and with it fresh state.
    /// (`None` before first use: a `Weak` of a trait object has no empty default.)
    partition: Option<Weak<Partition>>,
    loaded: bool,
    /// The log's latest leader epoch when this state was last brought up to its end; a different epoch means
    /// batches may have arrived through replication (see [`ProducerStates::lock`]).
    synced_epoch: Option<i32>,
    topic_id: uuid::Uuid,
    /// Offset after the last batch reflected in this state, and that batch (see `recovery`).
    end_offset: i64,
    anchor: Option<recovery::Anchor>,
    since_snapshot: u32,
    last_snapshot_ms: i64,
}

impl PartitionProducers {
    pub fn check(&self, b: &ProducerBatch) -> Verdict {
        let Some(e) = self.producers.get(&b.producer_id) else {
            return Verdict::Append;
        };
        if b.epoch < e.epoch {
            return Verdict::Reject(
                ResponseError::InvalidProducerEpoch,
                format!(
                    "producer {} epoch {} is older than the last seen epoch {}",
                    b.producer_id, b.epoch, e.epoch
                ),
            );
        }
        if b.epoch == e.epoch
            && let Some(d) = e
                .batches
                .iter()
                .find(|d| d.first_seq == b.first_seq && d.last_seq == b.last_seq)
        {
            return Verdict::Duplicate(*d);
        }
        let expected = if b.epoch != e.epoch {
            // A bumped epoch (KIP-360: the client resets its sequences after an error) restarts at 0.
            0
        } else {
            match e.batches.back() {
                Some(last) if !in_sequence(last.last_seq, b.first_seq) => {
                    if last.last_seq == i32::MAX {
                        0
                    } else {
                        last.last_seq + 1
                    }
                }
                _ => return Verdict::Append,
            }
        };
        if b.first_seq == expected {
            return Verdict::Append;
        }
        Verdict::Reject(
            ResponseError::OutOfOrderSequenceNumber,
            format!(
                "producer {} epoch {}: sequence {} where {} was expected",
                b.producer_id, b.epoch, b.first_seq, expected
            ),
        )
    }

    /// Remembers an appended (or, during recovery, a scanned) batch.
    pub fn record(&mut self, b: &ProducerBatch, meta: BatchMeta, seen_ms: i64) {
        let e = self
            .producers
            .entry(b.producer_id)
            .or_insert_with(|| ProducerEntry {
                epoch: b.epoch,
                batches: VecDeque::with_capacity(CACHED_BATCHES),
                last_seen_ms: seen_ms,
            });
        if b.epoch < e.epoch {
            // Only reachable from a log scan (appends were checked): Kafka ignores such a batch too.
            return;
        }
        if b.epoch > e.epoch {
            e.epoch = b.epoch;
            e.batches.clear();
        }
        if e.batches.len() == CACHED_BATCHES {
            e.batches.pop_front();
        }
        e.batches.push_back(meta);
        e.last_seen_ms = e.last_seen_ms.max(seen_ms);
    }

    fn expire(&mut self, now_ms: i64) {
        self.producers
            .retain(|_, e| e.last_seen_ms >= now_ms - PRODUCER_EXPIRATION_MS);
    }

    pub fn producer_count(&self) -> usize {
        self.producers.len()
    }

    /// The producers this partition remembers (not yet expired), by producer id.
    pub fn active(&self) -> impl Iterator<Item = (i64, &ProducerEntry)> {
        self.producers.iter().map(|(id, e)| (*id, e))
    }

    /// Each producer's epoch and remembered batches, without the time it was last seen (producers read back
    /// from the log after a restart count as seen at the restart): what tests compare across a restart.
    #[doc(hidden)]
    pub fn snapshot(&self) -> BTreeMap<i64, (i16, Vec<BatchMeta>)> {
        self.producers
            .iter()
            .map(|(id, e)| (*id, (e.epoch, e.batches.iter().copied().collect())))
            .collect()
    }
}

type Slot = Arc<tokio::sync::Mutex<PartitionProducers>>;

/// Producer state of every partition plus the producer-id allocator; held by the broker.
pub struct ProducerStates {
    slots: Mutex<HashMap<(String, u32), Slot>>,
    ids: ids::ProducerIdAllocator,
}

impl ProducerStates {
    /// `cluster_node`: this node's id when it is part of a cluster (producer ids then come from its own space,
    /// see [`ids`]), `None` on a single node.
    pub fn new(meta: MetaStore, cluster_node: Option<i32>) -> ProducerStates {
        ProducerStates {
            slots: Mutex::new(HashMap::new()),
            ids: ids::ProducerIdAllocator::new(meta, cluster_node),
        }
    }

    pub fn ids(&self) -> &ids::ProducerIdAllocator {
        &self.ids
    }

    /// Locks the producer state of `p`, loading it first if this is its first use since start.
    pub async fn lock(
        &self,
        engine: &Engine,
        p: &Arc<Partition>,
    ) -> Result<OwnedMutexGuard<PartitionProducers>, EngineError> {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
            slots
                .entry((p.topic().to_string(), p.index()))
                .or_default()
                .clone()
        };
        let mut st = slot.lock_owned().await;
        let current = st
            .partition
            .as_ref()
            .and_then(Weak::upgrade)
            .is_some_and(|q| Arc::ptr_eq(&q, p));
        if !current {
            *st = PartitionProducers {
                partition: Some(Arc::downgrade(p)),
                ..Default::default()
            };
        }
        if !st.loaded {
            recovery::settle(p).await?;
            recovery::load(engine, p, &mut st).await?;
            st.loaded = true;
            st.synced_epoch = p.latest_epoch();
        } else if p.latest_epoch() != st.synced_epoch {
            // The log gained batches this state did not see append: written under another leader (a replicated
            // partition whose leadership moved here, or back here). Without them a producer's retry into the new
            // leader would be written twice.
            recovery::settle(p).await?;
            recovery::catch_up(engine, p, &mut st).await?;
            st.synced_epoch = p.latest_epoch();
        }
        Ok(st)
    }
}

/// Wall-clock milliseconds.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests;
