//! Stream metadata: an in-memory cache over JSON records in the engine's metadata store (table `kinesis`).
//!
//! Each stream has a handle with two locks: `admin` serialises control-plane changes of one stream (read the
//! record, change it, persist it, publish it), and `io` is held shared by writers and exclusively by resharding,
//! so no append can land in a partition between the moment resharding seals it and the moment the new shard map
//! routes around it.

mod record;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, RwLock};

use strait_engine::{Engine, MetaOp, MetaStore};
use strait_shard_map::ShardMap;

pub use record::{ConsumerRecord, StreamMode, StreamRecord, StreamStatus};

use crate::error::KinesisError;

/// The metadata-store table holding Kinesis state. Its name and the stream keys are shared with the Kafka front
/// end (which reads stream records for `strait.kinesis.hash.key.ranges`), hence defined in the shard map.
pub const TABLE: &str = strait_shard_map::stored::META_TABLE;
const STREAM_PREFIX: &str = strait_shard_map::stored::STREAM_KEY_PREFIX;
const ITERATOR_KEY: &[u8] = b"iterator-key";
const ACCOUNT_KEY: &[u8] = b"account";

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
    streams: RwLock<BTreeMap<String, Arc<StreamHandle>>>,
    /// Deleted streams, kept visible as DELETING until the status delay passes: (deleted at, last record).
    tombstones: RwLock<BTreeMap<String, (i64, Arc<StreamRecord>)>>,
    /// Serialises stream creation and deletion (names are unique).
    pub(crate) lifecycle: tokio::sync::Mutex<()>,
    /// HMAC key of shard iterators and pagination tokens, persisted so they survive restarts.
    secret: Vec<u8>,
    account: RwLock<AccountSettings>,
}

fn internal(e: impl std::fmt::Display) -> KinesisError {
    KinesisError::Internal(e.to_string())
}

fn stream_key(name: &str) -> Vec<u8> {
    strait_shard_map::stored::stream_key(name)
}

impl Store {
    pub(crate) async fn open(engine: &Engine) -> Result<Store, KinesisError> {
        let meta = engine.meta().clone();
        let mut streams = BTreeMap::new();
        for (key, value) in meta
            .scan_prefix(TABLE, STREAM_PREFIX.as_bytes())
            .map_err(internal)?
        {
            let record: StreamRecord = serde_json::from_slice(&value).map_err(|e| {
                KinesisError::Internal(format!(
                    "Kinesis metadata {} is corrupt: {e}",
                    String::from_utf8_lossy(&key)
                ))
            })?;
            streams.insert(record.name.clone(), StreamHandle::new(record, true));
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
        let account = match meta.get(TABLE, ACCOUNT_KEY).map_err(internal)? {
            Some(v) => serde_json::from_slice(&v).map_err(internal)?,
            None => AccountSettings::default(),
        };
        Ok(Store {
            meta,
            streams: RwLock::new(streams),
            tombstones: RwLock::new(BTreeMap::new()),
            lifecycle: tokio::sync::Mutex::new(()),
            secret,
            account: RwLock::new(account),
        })
    }

    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The stream named `name`: a Kinesis stream, or a view of a topic created through Kafka.
    pub(crate) fn get(&self, engine: &Engine, name: &str) -> Option<Arc<StreamHandle>> {
        if let Some(h) = self
            .streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
        {
            return Some(h.clone());
        }
        synthesize(engine, name).map(|r| StreamHandle::new(r, false))
    }

    /// Every stream name, Kinesis streams and Kafka topics alike, sorted. A set, not a search of a list per
    /// topic: with thousands of Kafka topics that quadratic search was most of a ListStreams call.
    pub(crate) fn names(&self, engine: &Engine) -> Vec<String> {
        let mut names: BTreeSet<String> = self
            .streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
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
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .map(|h| h.record())
            .collect()
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
    /// stream's record goes in the same transaction as its topic); [`publish`](Self::publish) follows the commit.
    pub(crate) fn record_op(&self, r: &StreamRecord) -> Result<MetaOp, KinesisError> {
        Ok(MetaOp::Put {
            table: TABLE.into(),
            key: stream_key(&r.name),
            value: serde_json::to_vec(r).map_err(internal)?,
        })
    }

    /// Makes a persisted record visible (after its [`record_op`](Self::record_op) is committed).
    pub(crate) fn publish(&self, record: StreamRecord) -> Arc<StreamHandle> {
        let name = record.name.clone();
        let h = StreamHandle::new(record, true);
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.clone(), h.clone());
        self.tombstones
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&name);
        h
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
        let mut r = (*h.record()).clone();
        let out = f(&mut r)?;
        self.persist(&r).await?;
        // The caller's handle sees the change either way (a later step of the same operation reads it back).
        h.publish(r.clone());
        if !h.persisted {
            let name = r.name.clone();
            let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
            streams
                .entry(name)
                .or_insert_with(|| StreamHandle::new(r.clone(), true))
                .publish(r);
        }
        Ok(out)
    }

    /// Forgets a stream, leaving a DELETING tombstone from `now_ms`.
    pub(crate) async fn remove(&self, name: &str, now_ms: i64) -> Result<(), KinesisError> {
        self.meta
            .commit(vec![MetaOp::Delete {
                table: TABLE.into(),
                key: stream_key(name),
            }])
            .await
            .map_err(internal)?;
        let old = self
            .streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        if let Some(h) = old {
            let mut r = (*h.record()).clone();
            r.status = StreamStatus::Deleting;
            r.status_since_ms = now_ms;
            self.tombstones
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .insert(name.to_string(), (now_ms, Arc::new(r)));
        }
        Ok(())
    }

    async fn persist(&self, r: &StreamRecord) -> Result<(), KinesisError> {
        let value = serde_json::to_vec(r).map_err(internal)?;
        self.meta
            .put(TABLE, &stream_key(&r.name), value)
            .await
            .map_err(internal)
    }

    pub(crate) fn account(&self) -> AccountSettings {
        self.account
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) async fn set_account(&self, a: AccountSettings) -> Result<(), KinesisError> {
        let value = serde_json::to_vec(&a).map_err(internal)?;
        self.meta
            .put(TABLE, ACCOUNT_KEY, value)
            .await
            .map_err(internal)?;
        *self.account.write().unwrap_or_else(|e| e.into_inner()) = a;
        Ok(())
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
    r.status = StreamStatus::Active;
    let hours = if t.config.retention_ms < 0 {
        8760
    } else {
        (t.config.retention_ms / 3_600_000).clamp(24, 8760)
    };
    r.retention_hours = hours as u32;
    Some(r)
}
