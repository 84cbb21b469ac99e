//! Rebuilding producer state after a restart: the latest snapshot from the metadata store, then a scan of the
//! batch headers written after it (Kafka's producer-state snapshots plus log recovery, on a smaller scale).
//!
//! Why both: a scan alone costs a read of the whole log on the first idempotent produce after every restart;
//! a snapshot written with every append would cost a metadata commit per produce. So a snapshot is written in
//! the background at most every [`SNAPSHOT_EVERY_MS`] or [`SNAPSHOT_EVERY_BATCHES`] per partition, and only the
//! tail after it is scanned. A partition never produced to idempotently is scanned once, then gets a snapshot.
//!
//! A snapshot names the last batch it reflects (the [`Anchor`]). It is trusted only if the log still holds that
//! exact batch: under `fsync = interval` a machine crash can cut the log below a snapshot that was already
//! durable, and new appends could then refill those offsets with other batches. Otherwise the whole log is
//! scanned. Stale snapshots of deleted topics are recognised by the topic id and ignored (not deleted).

use serde::{Deserialize, Serialize};
use strait_engine::batch::{BatchHeader, BatchIter};
use strait_engine::{Engine, EngineError, MetaOp, Partition};

use super::{BatchMeta, PartitionProducers, ProducerBatch, ProducerEntry, now_ms};

const TABLE: &str = strait_engine::meta::tables::KAFKA_PRODUCER_STATE;
const SNAPSHOT_EVERY_MS: i64 = 10_000;
const SNAPSHOT_EVERY_BATCHES: u32 = 1_000;
const SCAN_CHUNK: usize = 1 << 20;

/// Identifies one stored batch by fields that never change after the append.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Anchor {
    base_offset: i64,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
    record_count: i32,
}

impl Anchor {
    fn of(h: &BatchHeader) -> Anchor {
        Anchor {
            base_offset: h.base_offset,
            producer_id: h.producer_id,
            producer_epoch: h.producer_epoch,
            base_sequence: h.base_sequence,
            record_count: h.record_count,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    topic_id: uuid::Uuid,
    end_offset: i64,
    anchor: Option<Anchor>,
    producers: Vec<(i64, ProducerEntry)>,
}

fn key(p: &Partition) -> Vec<u8> {
    format!("{}\0{:010}", p.topic(), p.index()).into_bytes()
}

impl PartitionProducers {
    /// Notes a batch that was just appended at `meta.first_offset`.
    pub fn appended(&mut self, b: &ProducerBatch, meta: BatchMeta, h: &BatchHeader) {
        self.record(b, meta, now_ms());
        self.end_offset = meta.last_offset + 1;
        self.anchor = Some(Anchor {
            base_offset: meta.first_offset,
            ..Anchor::of(h)
        });
        self.since_snapshot += 1;
    }

    /// Notes a batch read back from the log. Its producer counts as seen now, not at the batch's timestamp:
    /// timestamps are the client's (a replay may carry old ones) and expiring a live producer's state right
    /// after a restart would let its retries through as new records.
    fn scanned(&mut self, h: &BatchHeader, now: i64) {
        if let Some(b) = ProducerBatch::from_header(h).filter(|_| !h.is_control()) {
            let meta = BatchMeta {
                first_seq: b.first_seq,
                last_seq: b.last_seq,
                first_offset: h.base_offset,
                last_offset: h.last_offset(),
                log_append_time: if h.is_log_append_time() {
                    h.max_timestamp
                } else {
                    -1
                },
            };
            self.record(&b, meta, now);
        }
        self.end_offset = h.last_offset() + 1;
        self.anchor = Some(Anchor::of(h));
        self.since_snapshot += 1;
    }

    /// Writes a snapshot in the background if enough has changed since the last one.
    pub fn snapshot_if_due(&mut self, engine: &Engine) {
        let now = now_ms();
        let due = self.since_snapshot >= SNAPSHOT_EVERY_BATCHES
            || (self.since_snapshot > 0 && now - self.last_snapshot_ms >= SNAPSHOT_EVERY_MS);
        let Some(p) = self
            .partition
            .as_ref()
            .and_then(std::sync::Weak::upgrade)
            .filter(|_| due)
        else {
            return;
        };
        self.expire(now);
        let snap = Snapshot {
            topic_id: self.topic_id,
            end_offset: self.end_offset,
            anchor: self.anchor,
            producers: self
                .producers
                .iter()
                .map(|(k, v)| (*k, v.clone()))
                .collect(),
        };
        match serde_json::to_vec(&snap) {
            Ok(value) => engine.meta().commit_in_background(vec![MetaOp::Put {
                table: TABLE.into(),
                key: key(&p),
                value,
            }]),
            Err(e) => tracing::warn!(topic = p.topic(), partition = p.index(), error = %e,
                "could not encode a producer-state snapshot"),
        }
        self.since_snapshot = 0;
        self.last_snapshot_ms = now;
    }
}

/// Fills `st` (fresh) from the snapshot and the log after it.
pub(super) async fn load(
    engine: &Engine,
    p: &Partition,
    st: &mut PartitionProducers,
) -> Result<(), EngineError> {
    st.topic_id = engine.topic(p.topic()).map(|t| t.id).unwrap_or_default();
    let log_start = p.log_start();
    let mut from = log_start;
    if let Some(raw) = engine.meta().get(TABLE, &key(p))? {
        match serde_json::from_slice::<Snapshot>(&raw) {
            Ok(s) if s.topic_id == st.topic_id && anchor_holds(p, s.anchor).await? => {
                st.producers = s.producers.into_iter().collect();
                st.end_offset = s.end_offset;
                st.anchor = s.anchor;
                from = s.end_offset.max(log_start);
            }
            Ok(_) => tracing::info!(
                topic = p.topic(),
                partition = p.index(),
                "producer-state snapshot does not match the log; rebuilding from the whole log"
            ),
            Err(e) => tracing::warn!(topic = p.topic(), partition = p.index(), error = %e,
                "unreadable producer-state snapshot; rebuilding from the whole log"),
        }
    }
    st.expire(now_ms());
    let scanned = scan(p, from, st).await?;
    st.since_snapshot = 0;
    if scanned > 0 {
        tracing::info!(
            topic = p.topic(),
            partition = p.index(),
            from,
            batches = scanned,
            producers = st.producers.len(),
            "rebuilt idempotent-producer state from the log"
        );
        st.since_snapshot = SNAPSHOT_EVERY_BATCHES;
        st.snapshot_if_due(engine);
    }
    Ok(())
}

/// How long a replicated partition's new leader may take to commit the tail it inherited.
const SETTLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// On a replicated partition, waits until everything in the log is committed, so the state built from committed
/// reads covers every batch the log holds. A new Raft leader may hold batches of the previous term that commit
/// only with its first entry; a retry of one of them checked before that would be written again. Single-node logs
/// commit what they append, so they never wait here.
pub(super) async fn settle(p: &Partition) -> Result<(), EngineError> {
    if p.commit_policy() != strait_engine::CommitPolicy::External {
        return Ok(());
    }
    let end = p.offsets().log_end;
    match tokio::time::timeout(SETTLE_TIMEOUT, p.wait_committed(end)).await {
        Ok(r) => r,
        // Not committing: this node is most likely not (or no longer) the leader; the client retries.
        Err(_) => Err(EngineError::NotLeader {
            topic: p.topic().to_string(),
            partition: p.index(),
            leader: None,
        }),
    }
}

/// Brings `st` up to the log end after batches were appended by other leaders: the tail after the state's last
/// batch is scanned; if that batch is gone (this node's uncommitted tail was truncated by the new leader), the
/// state is rebuilt from scratch.
pub(super) async fn catch_up(
    engine: &Engine,
    p: &Partition,
    st: &mut PartitionProducers,
) -> Result<(), EngineError> {
    if !anchor_holds(p, st.anchor).await? {
        tracing::info!(
            topic = p.topic(),
            partition = p.index(),
            "the log was truncated below the idempotent-producer state; rebuilding it"
        );
        let partition = st.partition.take();
        *st = PartitionProducers {
            partition,
            ..Default::default()
        };
        return load(engine, p, st).await;
    }
    let from = st.end_offset.max(p.log_start());
    let scanned = scan(p, from, st).await?;
    if scanned > 0 {
        tracing::info!(
            topic = p.topic(),
            partition = p.index(),
            from,
            batches = scanned,
            "idempotent-producer state caught up with batches written under another leader"
        );
    }
    Ok(())
}

/// Whether the log still holds the batch the snapshot ends with.
async fn anchor_holds(p: &Partition, anchor: Option<Anchor>) -> Result<bool, EngineError> {
    let Some(a) = anchor else {
        // An empty snapshot: true only if the log holds nothing that could contradict it.
        return Ok(true);
    };
    match p.read(a.base_offset, 1).await {
        Ok(r) => Ok(BatchHeader::parse(&r.records).is_ok_and(|h| Anchor::of(&h) == a)),
        // Retention already removed it, so nothing of the tail before it can have been lost either.
        Err(EngineError::OffsetOutOfRange { log_start, .. }) => Ok(a.base_offset < log_start),
        Err(e) => Err(e),
    }
}

/// Feeds every batch header from `from` to the high watermark into `st`; returns how many it saw.
async fn scan(p: &Partition, from: i64, st: &mut PartitionProducers) -> Result<usize, EngineError> {
    let mut next = from;
    let mut seen = 0;
    let now = now_ms();
    loop {
        let r = match p.read(next, SCAN_CHUNK).await {
            Ok(r) => r,
            // Retention moved the log start meanwhile: what it removed no longer matters.
            Err(EngineError::OffsetOutOfRange { log_start, .. }) if next < log_start => {
                next = log_start;
                continue;
            }
            Err(EngineError::OffsetOutOfRange { .. }) => break,
            Err(e) => return Err(e),
        };
        let before = next;
        for item in BatchIter::new(&r.records) {
            let (h, _) = item?;
            if h.last_offset() >= next {
                st.scanned(&h, now);
                next = h.last_offset() + 1;
                seen += 1;
            }
        }
        if next == before {
            break;
        }
    }
    Ok(seen)
}
