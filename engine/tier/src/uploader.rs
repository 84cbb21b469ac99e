//! The uploader: a background task that, for every partition of every tiered topic, uploads sealed segments
//! (eagerly, as soon as they are tierable) and hands the oldest over to the object store (`adopt_remote`,
//! which deletes the local files) once the topic's local retention lets the local copy go.
//!
//! Uploaded-but-not-yet-adopted segments are remembered in memory only: after a restart they are uploaded again
//! under new keys and the first copies are orphans. A collector lists each tiered partition's prefix now and then
//! and deletes objects that no recorded or pending segment owns once they are older than a minimum age. A failing
//! store never blocks produce: the pass fails, is logged and counted, and the next one waits longer (doubling up
//! to [`MAX_BACKOFF`]); local segments simply stay until the store is back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use strait_engine::{Engine, LocalLog, RemoteSegment, TopicInfo};
use tokio::sync::watch;

use crate::error::Result;
use crate::store::S3Store;

/// Longest wait between passes while the store keeps failing.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Decides whether a topic tiers besides `remote.storage.enable` (the server uses it for Kinesis streams).
pub type TierPredicate = Arc<dyn Fn(&Engine, &TopicInfo) -> bool + Send + Sync>;

type PendingKey = (uuid::Uuid, u32, i64);

pub struct Uploader {
    engine: Engine,
    store: S3Store,
    interval: Duration,
    also_tier: TierPredicate,
    /// Uploaded copies of local segments not yet handed over, by (topic id, partition, base offset).
    pending: HashMap<PendingKey, RemoteSegment>,
    /// Unowned objects older than this are deleted (`None`: never).
    orphan_min_age: Option<Duration>,
    last_collection: Option<std::time::Instant>,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassStats {
    pub uploaded: usize,
    pub adopted: usize,
    /// Bytes of tierable local segments not uploaded yet at the end of the pass.
    pub lag_bytes: u64,
    pub errors: usize,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl Uploader {
    pub fn new(
        engine: Engine,
        store: S3Store,
        interval: Duration,
        also_tier: TierPredicate,
    ) -> Self {
        Uploader {
            engine,
            store,
            interval,
            also_tier,
            pending: HashMap::new(),
            orphan_min_age: None,
            last_collection: None,
        }
    }

    /// Turns on orphan collection: objects of a tiered partition that no segment owns are deleted once older than
    /// `min_age` (checked every quarter of it, at most hourly and at least one pass apart).
    pub fn collect_orphans_after(mut self, min_age: Duration) -> Self {
        self.orphan_min_age = Some(min_age);
        self
    }

    /// Whether this pass should collect orphans (and notes that it does).
    fn collection_due(&mut self) -> Option<i64> {
        let age = self.orphan_min_age?;
        let every = (age / 4).clamp(self.interval, Duration::from_secs(3600));
        if self.last_collection.is_some_and(|t| t.elapsed() < every) {
            return None;
        }
        self.last_collection = Some(std::time::Instant::now());
        Some(age.as_millis() as i64)
    }

    async fn collect(&self, t: &TopicInfo, log: &LocalLog, min_age_ms: i64) -> Result<usize> {
        let mut owned: std::collections::HashSet<String> =
            log.remote_segments().into_iter().map(|s| s.key).collect();
        owned.extend(
            self.pending
                .iter()
                .filter(|(k, _)| k.0 == t.id && k.1 == log.index())
                .map(|(_, s)| s.key.clone()),
        );
        let prefix = self.store.partition_prefix(&t.name, t.id, log.index());
        self.store
            .collect_orphans(&prefix, &owned, now_ms(), min_age_ms)
            .await
    }

    /// Runs passes until `stop` turns true.
    pub fn spawn(mut self, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut wait = self.interval;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stop.wait_for(|s| *s) => return,
                }
                let stats = self.pass().await;
                wait = if stats.errors > 0 {
                    let next = (wait * 2).clamp(self.interval, MAX_BACKOFF);
                    tracing::warn!(errors = stats.errors, lag_bytes = stats.lag_bytes, retry_in = ?next,
                        "tiering: uploads failing; local segments are kept until the object store is back");
                    next
                } else {
                    self.interval
                };
            }
        })
    }

    fn tiers(&self, t: &TopicInfo) -> bool {
        t.config.remote_storage_enable || (self.also_tier)(&self.engine, t)
    }

    /// One pass over every tiered partition.
    pub async fn pass(&mut self) -> PassStats {
        let mut stats = PassStats::default();
        let mut seen: Vec<PendingKey> = Vec::new();
        let mut collect = self.collection_due();
        for t in self.engine.list_topics() {
            if !self.tiers(&t) {
                continue;
            }
            for p in 0..t.partitions {
                let Ok(log) = self.engine.local_partition(&t.name, p) else {
                    continue;
                };
                if let Err(e) = self.partition(&t, &log, &mut stats, &mut seen).await {
                    stats.errors += 1;
                    metrics::counter!("strait_tier_upload_errors_total").increment(1);
                    tracing::warn!(topic = %t.name, partition = p, error = %e, "tiering pass failed");
                    continue;
                }
                if let Some(min_age_ms) = collect {
                    match self.collect(&t, &log, min_age_ms).await {
                        Ok(n) => metrics::counter!("strait_tier_orphans_deleted_total")
                            .increment(n as u64),
                        Err(e) => {
                            // Most likely the store is down: the rest waits for the next collection.
                            collect = None;
                            tracing::warn!(topic = %t.name, partition = p, error = %e,
                                "collecting orphaned tiering objects failed");
                        }
                    }
                }
            }
        }
        // Uploaded copies of segments that retention, truncation or topic deletion removed meanwhile.
        let stale: Vec<PendingKey> = self
            .pending
            .keys()
            .filter(|k| !seen.contains(k))
            .copied()
            .collect();
        for k in stale {
            if let Some(seg) = self.pending.remove(&k)
                && let Err(e) = self.store.delete_key(&seg.key).await
            {
                tracing::warn!(key = %seg.key, error = %e, "deleting an unused upload failed; it is an orphan");
            }
        }
        metrics::gauge!("strait_tier_upload_lag_bytes").set(stats.lag_bytes as f64);
        stats
    }

    async fn partition(
        &mut self,
        t: &TopicInfo,
        log: &Arc<LocalLog>,
        stats: &mut PassStats,
        seen: &mut Vec<PendingKey>,
    ) -> Result<()> {
        let segs = log.tierable_segments();
        let key = |base: i64| (t.id, log.index(), base);
        seen.extend(segs.iter().map(|s| key(s.base_offset)));
        let mut failed = None;
        for s in &segs {
            if self.pending.contains_key(&key(s.base_offset)) {
                continue;
            }
            if failed.is_some() {
                stats.lag_bytes += s.size_bytes;
                continue;
            }
            match self.store.upload(&t.name, t.id, log.index(), s).await {
                Ok(r) => {
                    stats.uploaded += 1;
                    metrics::counter!("strait_tier_uploaded_segments_total").increment(1);
                    metrics::counter!("strait_tier_uploaded_bytes_total").increment(s.size_bytes);
                    self.pending.insert(key(s.base_offset), r);
                }
                Err(e) => {
                    stats.lag_bytes += s.size_bytes;
                    failed = Some(e);
                }
            }
        }
        // Hand over from the front while local retention lets the local copy go (Kafka's local.retention.*).
        let cfg = log.config();
        let (keep_ms, keep_bytes) = cfg.effective_local_retention();
        let now = now_ms();
        let mut local = log.size_bytes();
        for s in &segs {
            let by_time = keep_ms >= 0 && s.max_timestamp >= 0 && s.max_timestamp < now - keep_ms;
            let by_size = keep_bytes >= 0 && local >= keep_bytes as u64 + s.size_bytes;
            if !(by_time || by_size) {
                break;
            }
            let Some(r) = self.pending.remove(&key(s.base_offset)) else {
                break;
            };
            let object = r.key.clone();
            if let Err(e) = log.adopt_remote(r).await {
                // Nothing references the copy: drop it (the next pass uploads again if the segment is still
                // there).
                if let Err(d) = self.store.delete_key(&object).await {
                    tracing::warn!(key = %object, error = %d, "deleting an unadopted upload failed");
                }
                return Err(e.into());
            }
            stats.adopted += 1;
            local = local.saturating_sub(s.size_bytes);
        }
        match failed {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}
