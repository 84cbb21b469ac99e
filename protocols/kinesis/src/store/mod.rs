//! Stream metadata: JSON records in the engine's metadata store (table `kinesis`), and the in-memory cache that
//! follows them ([`cache`]: built from committed changes only, never edited by handlers).
//!
//! The table's layout is this crate's own, except the part the Kafka front end reads (the table name, the stream
//! keys, and a record's `shards` and `topic_id` members), which is the shared contract in
//! `strait_shard_map::schema`. A record belongs to one topic (`topic_id`): one left behind by a deleted topic is
//! treated as absent and removed ([`lifecycle`]).
//!
//! Each stream has a handle with two locks: `admin` serialises control-plane changes of one stream (read the
//! record, change it, persist it, publish it), and `io` is held shared by writers and exclusively by resharding,
//! so no append can land in a partition between the moment resharding seals it and the moment the new shard map
//! routes around it.

pub mod cache;
mod lifecycle;
mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use strait_engine::{Engine, MetaOp, MetaStore};
use strait_shard_map::ShardMap;

pub use cache::StreamCache;
pub(crate) use lifecycle::watch_topic_events;
pub use record::{ConsumerRecord, StreamMode, StreamRecord, StreamStatus};

use crate::error::KinesisError;

/// The metadata-store table holding Kinesis state. Its name and the stream keys are shared with the Kafka front
/// end (which reads stream records for `strait.kinesis.hash.key.ranges`), hence defined in the shared schema.
pub const TABLE: &str = strait_shard_map::schema::META_TABLE;
pub(crate) const STREAM_PREFIX: &str = strait_shard_map::schema::STREAM_KEY_PREFIX;
const ITERATOR_KEY: &[u8] = b"iterator-key";
pub(crate) const ACCOUNT_KEY: &[u8] = b"account";

/// One stream's state and locks.
pub struct StreamHandle {
    record: RwLock<Arc<StreamRecord>>,
    pub(crate) admin: tokio::sync::Mutex<()>,
    pub(crate) io: tokio::sync::RwLock<()>,
    /// False for a topic created through Kafka that has no Kinesis record yet (a synthesized view).
    persisted: bool,
}

impl StreamHandle {
    fn new(record: StreamRecord, persisted: bool) -> Arc<StreamHandle> {
        Arc::new(StreamHandle {
            record: RwLock::new(Arc::new(record)),
            admin: tokio::sync::Mutex::new(()),
            io: tokio::sync::RwLock::new(()),
            persisted,
        })
    }

    /// The current record.
    pub fn record(&self) -> Arc<StreamRecord> {
        self.record
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Whether the stream has a Kinesis record: created through Kinesis, or a Kafka topic adopted by a Kinesis
    /// control-plane change. Only these count against the account's shard and on-demand limits.
    pub(crate) fn is_kinesis_stream(&self) -> bool {
        self.persisted
    }

    fn publish(&self, r: StreamRecord) {
        *self.record.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(r);
    }
}

/// Account-wide settings (DescribeAccountSettings / UpdateAccountSettings).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AccountSettings {
    pub commitment_enabled: bool,
    pub commitment_started_ms: Option<i64>,
    pub commitment_ended_ms: Option<i64>,
}

pub(crate) struct Store {
    meta: MetaStore,
    cache: Arc<StreamCache>,
    /// Deleted streams, kept visible as DELETING until the status delay passes: (deleted at, last record).
    tombstones: RwLock<BTreeMap<String, (i64, Arc<StreamRecord>)>>,
    /// Serialises stream creation and deletion (names are unique).
    pub(crate) lifecycle: tokio::sync::Mutex<()>,
    /// HMAC key of shard iterators and pagination tokens, persisted so they survive restarts.
    secret: Vec<u8>,
}

fn internal(e: impl std::fmt::Display) -> KinesisError {
    KinesisError::Internal(e.to_string())
}

pub(crate) fn stream_key(name: &str) -> Vec<u8> {
    strait_shard_map::schema::stream_key(name)
}

impl Store {
    pub(crate) async fn open(engine: &Engine) -> Result<Store, KinesisError> {
        let meta = engine.meta().clone();
        let cache = StreamCache::follow(&meta).map_err(internal)?;
        if let Some(what) = cache.corrupt.get() {
            return Err(KinesisError::Internal(what));
        }
        let secret = match meta.get(TABLE, ITERATOR_KEY).map_err(internal)? {
            Some(k) if k.len() >= 32 => k,
            _ => {
                // Two v4 UUIDs: 244 random bits from the OS generator, without another dependency.
                let mut k = uuid::Uuid::new_v4().as_bytes().to_vec();
                k.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
                meta.put(TABLE, ITERATOR_KEY, k.clone())
                    .await
                    .map_err(internal)?;
                k
            }
        };
        let store = Store {
            meta,
            cache,
            tombstones: RwLock::new(BTreeMap::new()),
            lifecycle: tokio::sync::Mutex::new(()),
            secret,
        };
        store.reconcile(engine).await?;
        Ok(store)
    }

    /// The cache (tests compare it with one rebuilt elsewhere).
    pub(crate) fn cache(&self) -> &Arc<StreamCache> {
        &self.cache
    }

    fn streams(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Arc<StreamHandle>>> {
        self.cache.streams.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The stream named `name`: a Kinesis stream, or a view of a topic created through Kafka.
    pub(crate) fn get(&self, engine: &Engine, name: &str) -> Option<Arc<StreamHandle>> {
        if let Some(h) = self.streams().get(name) {
            return Some(h.clone());
        }
        synthesize(engine, name).map(|r| StreamHandle::new(r, false))
    }

    /// Every stream name, Kinesis streams and Kafka topics alike, sorted. A set, not a search of a list per
    /// topic: with thousands of Kafka topics that quadratic search was most of a ListStreams call.
    pub(crate) fn names(&self, engine: &Engine) -> Vec<String> {
        let mut names: BTreeSet<String> = self.streams().keys().cloned().collect();
        names.extend(
            engine
                .list_topics()
                .into_iter()
                .map(|t| t.name)
                .filter(|n| visible_topic(n)),
        );
        names.extend(
            self.tombstones
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .keys()
                .cloned(),
        );
        names.into_iter().collect()
    }

    /// The records of the Kinesis streams ([`StreamHandle::is_kinesis_stream`]), without synthesizing a view of
    /// every Kafka topic: what the account limits count.
    pub(crate) fn kinesis_records(&self) -> Vec<Arc<StreamRecord>> {
        self.streams().values().map(|h| h.record()).collect()
    }

    /// A deleted stream still shown as DELETING at `now_ms`, if any.
    pub(crate) fn tombstone(
        &self,
        name: &str,
        now_ms: i64,
        delay_ms: i64,
    ) -> Option<Arc<StreamRecord>> {
        let mut t = self.tombstones.write().unwrap_or_else(|e| e.into_inner());
        match t.get(name) {
            Some((since, r)) if now_ms < since.saturating_add(delay_ms) => Some(r.clone()),
            Some(_) => {
                t.remove(name);
                None
            }
            None => None,
        }
    }

    /// The metadata change that persists `r`, for a caller that commits it together with other changes (a new
    /// stream's record goes in the same transaction as its topic); the cache follows the commit.
    pub(crate) fn record_op(&self, r: &StreamRecord) -> Result<MetaOp, KinesisError> {
        Ok(MetaOp::Put {
            table: TABLE.into(),
            key: stream_key(&r.name),
            value: serde_json::to_vec(r).map_err(internal)?,
        })
    }

    /// Persists `r` (the cache follows the commit).
    pub(crate) async fn persist(&self, r: &StreamRecord) -> Result<(), KinesisError> {
        self.meta
            .commit(vec![self.record_op(r)?])
            .await
            .map_err(internal)
    }

    /// Changes a stream's record under its admin lock: `f` edits a copy, which is persisted then published.
    /// Returns what `f` returns. A synthesized (Kafka-created) stream becomes a persisted Kinesis stream here.
    pub(crate) async fn update<T>(
        &self,
        h: &Arc<StreamHandle>,
        f: impl FnOnce(&mut StreamRecord) -> Result<T, KinesisError>,
    ) -> Result<T, KinesisError> {
        let _admin = h.admin.lock().await;
        self.update_locked(h, f).await
    }

    /// [`update`](Self::update) for callers already holding `h.admin`.
    pub(crate) async fn update_locked<T>(
        &self,
        h: &Arc<StreamHandle>,
        f: impl FnOnce(&mut StreamRecord) -> Result<T, KinesisError>,
    ) -> Result<T, KinesisError> {
        // Adopting a Kafka topic writes its first record: serialised with creation, deletion and the cleanup of
        // records left behind by deleted topics, so that cleanup never removes the record written here.
        let _adopting = match h.persisted {
            true => None,
            false => Some(self.lifecycle.lock().await),
        };
        let mut r = (*h.record()).clone();
        let out = f(&mut r)?;
        self.persist(&r).await?;
        if !h.persisted {
            // The caller's synthesized handle is not the cache's: it sees the change too, since a later step of the
            // same operation reads it back.
            h.publish(r);
        }
        Ok(out)
    }

    /// Removes stream `r` (already resolved by the caller), leaving a DELETING tombstone from `now_ms`: what
    /// DeleteStream shows for the status delay. The tombstone is presentation, not state: it is not persisted and
    /// a restart forgets it, as before.
    pub(crate) async fn remove(&self, r: &StreamRecord, now_ms: i64) -> Result<(), KinesisError> {
        self.meta
            .commit(vec![MetaOp::Delete {
                table: TABLE.into(),
                key: stream_key(&r.name),
            }])
            .await
            .map_err(internal)?;
        let mut r = r.clone();
        r.status = StreamStatus::Deleting;
        r.status_since_ms = now_ms;
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(r.name.clone(), (now_ms, Arc::new(r)));
        Ok(())
    }

    pub(crate) fn account(&self) -> AccountSettings {
        self.cache.account()
    }

    pub(crate) async fn set_account(&self, a: AccountSettings) -> Result<(), KinesisError> {
        let value = serde_json::to_vec(&a).map_err(internal)?;
        self.meta
            .put(TABLE, ACCOUNT_KEY, value)
            .await
            .map_err(internal)
    }
}

/// Kafka's internal topics (`__consumer_offsets` and the like) are not streams.
fn visible_topic(name: &str) -> bool {
    !name.starts_with("__")
}

/// The Kinesis view of a topic created through Kafka: ACTIVE, one shard per partition with even hash ranges,
/// retention from `retention.ms`.
fn synthesize(engine: &Engine, name: &str) -> Option<StreamRecord> {
    if !visible_topic(name) {
        return None;
    }
    let t = engine.topic(name)?;
    let shards = ShardMap::new(t.partitions, t.created_ms).ok()?;
    let mut r = StreamRecord::new(name, t.created_ms, StreamMode::Provisioned, shards);
    r.topic_id = Some(t.id);
    r.status = StreamStatus::Active;
    let hours = if t.config.retention_ms < 0 {
        8760
    } else {
        (t.config.retention_ms / 3_600_000).clamp(24, 8760)
    };
    r.retention_hours = hours as u32;
    Some(r)
}
