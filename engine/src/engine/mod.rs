//! The engine: topics, their partitions, the metadata store and the background retention task.

use std::collections::{BTreeMap, HashMap};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

mod follow;
mod open;
mod reconcile;
use follow::TopicFollower;
use open::{Shared, close_all, open_partition, remove_orphans, warn_if_shared};

use crate::config::{EngineConfig, TopicConfig};
use crate::error::{EngineError, IoContext, Result};
use crate::events::{TopicEvent, TopicHook};
use crate::fdcache::FdCache;
use crate::meta::{Absent, MetaOp, MetaStore, RedbStore};
use crate::partition::{LocalLog, Partition, REMOTE_TABLE};
use crate::store::RemoteStore;
pub use crate::topic::TopicInfo;
use crate::util::{
    FILE_MODE, create_dir_private, lock, now_ms, read, sync_dir, write, write_private,
};

const TOPICS_TABLE: &str = crate::meta::tables::TOPICS;
const CLEAN_MARKER: &str = ".clean-shutdown";
const LOCK_FILE: &str = ".lock";
/// Partitions closed at once on shutdown: each may fsync its active segment and write two index files.
const SHUTDOWN_PARALLELISM: usize = 32;
/// Kafka allows 249 characters; the partition directory adds a suffix, which must stay under 255.
const MAX_TOPIC_NAME: usize = 249;

/// A topic as the metadata store records it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct TopicRecord {
    id: uuid::Uuid,
    name: String,
    partitions: u32,
    overrides: BTreeMap<String, String>,
    created_ms: i64,
}

/// A partition that refuses writes after a storage failure (it recovers by itself once the disk takes writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflinePartition {
    pub topic: String,
    pub partition: u32,
    pub reason: String,
}

/// What is wrong with the node's storage right now; the default (nothing) is healthy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StorageHealth {
    pub offline_partitions: Vec<OfflinePartition>,
    /// Why the metadata store refuses writes, if it does.
    pub metadata_fault: Option<String>,
}

impl StorageHealth {
    pub fn is_healthy(&self) -> bool {
        self.offline_partitions.is_empty() && self.metadata_fault.is_none()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    pub topics: usize,
    pub partitions: usize,
    pub log_bytes: u64,
}

struct Topic {
    record: TopicRecord,
    config: TopicConfig,
    partitions: Vec<Arc<LocalLog>>,
}

/// What front ends see a local log through on a cluster node (see [`Engine::set_log_wrapper`]).
pub type LogWrapper = Arc<dyn Fn(Arc<LocalLog>) -> Arc<Partition> + Send + Sync>;

/// Wrapped partitions by (topic, index), with the log each wraps.
type Fronts = HashMap<(String, u32), (Arc<LocalLog>, Arc<Partition>)>;

struct Inner {
    cfg: EngineConfig,
    /// The node's own metadata file, under whatever backend `meta` has now.
    redb: RedbStore,
    wrapper: RwLock<Option<LogWrapper>>,
    fronts: Mutex<Fronts>,
    meta: MetaStore,
    topics: RwLock<BTreeMap<String, Arc<Topic>>>,
    /// Serialises topic creation, deletion and reconfiguration (rare; keeps metadata and directories in step).
    admin: tokio::sync::Mutex<()>,
    closed: AtomicBool,
    retention: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The `topics` table's watcher and the task applying what it saw (see `follow`).
    follower: Arc<TopicFollower>,
    follow_task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    files: Arc<FdCache>,
    /// The object store of remote (tiered) segments, when tiering is configured.
    remote: Option<Arc<dyn RemoteStore>>,
    /// Front ends following topic lifecycle (see [`crate::events`]).
    topic_hooks: RwLock<Vec<TopicHook>>,
    _lock: std::fs::File,
}

/// Handle to the storage engine; cheap to clone.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

/// Checks a topic name with Kafka's rules (which also suit Kinesis stream names and directory names).
/// Topics whose names start with this are Strait's own logs (a cluster's controller log): front ends can neither
/// see, create, write, read nor delete them, so no client request can reach the cluster's metadata log.
pub const RESERVED_TOPIC_PREFIX: &str = "__strait_";

/// Whether `name` is reserved for Strait's own logs (see [`RESERVED_TOPIC_PREFIX`]).
pub fn is_reserved_topic(name: &str) -> bool {
    name.starts_with(RESERVED_TOPIC_PREFIX)
}

/// Checks a topic name a client chose: Kafka's rules, and not one of Strait's reserved names.
pub fn validate_topic_name(name: &str) -> Result<()> {
    validate_name_rules(name)?;
    if is_reserved_topic(name) {
        return Err(EngineError::InvalidTopicName {
            name: name.to_string(),
            reason: "names starting with '__strait_' are reserved for Strait's own logs",
        });
    }
    Ok(())
}

fn validate_name_rules(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(EngineError::InvalidTopicName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name == "." || name == ".." {
        return bad("'.' and '..' are not allowed");
    }
    if name.len() > MAX_TOPIC_NAME {
        return bad("longer than 249 characters");
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-')
    {
        return bad("only ASCII letters, digits, '.', '_' and '-' are allowed");
    }
    Ok(())
}

fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

fn partition_dir(data_dir: &Path, topic: &str, p: u32) -> PathBuf {
    logs_dir(data_dir).join(format!("{topic}-{p}"))
}

fn decode<T: for<'de> Deserialize<'de>>(what: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|source| EngineError::CorruptMetadata {
        what: what.to_string(),
        source,
    })
}

fn encode<T: Serialize>(what: &str, v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(|source| EngineError::CorruptMetadata {
        what: what.to_string(),
        source,
    })
}

impl Engine {
    /// Opens the data directory, recovering every partition, and starts background tasks.
    pub async fn open(cfg: EngineConfig) -> Result<Engine> {
        Self::open_with_remote(cfg, None).await
    }

    /// Like [`open`](Self::open), with an object store for segments handed over to it
    /// ([`Partition::adopt_remote`](crate::partition::LocalLog::adopt_remote)); the tiering crate passes one.
    pub async fn open_with_remote(
        cfg: EngineConfig,
        remote: Option<Arc<dyn RemoteStore>>,
    ) -> Result<Engine> {
        let data_dir = cfg.data_dir.clone();
        create_dir_private(&logs_dir(&data_dir))?;
        warn_if_shared(&data_dir);
        let lock_path = data_dir.join(LOCK_FILE);
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(FILE_MODE)
            .open(&lock_path)
            .at(&lock_path)?;
        if lock_file.try_lock().is_err() {
            return Err(EngineError::DataDirLocked(data_dir));
        }
        let marker = data_dir.join(CLEAN_MARKER);
        let clean = marker.exists();
        let meta_path = data_dir.join("meta.redb");
        if clean {
            std::fs::remove_file(&marker).at(&marker)?;
            sync_dir(&data_dir)?;
        } else if meta_path.exists() {
            tracing::info!(dir = %data_dir.display(), "no clean-shutdown marker: recovering segment tails");
        } else {
            // No metadata store yet: a first start, with nothing to recover.
            tracing::info!(dir = %data_dir.display(), "initialising a new data directory");
        }
        let redb = RedbStore::open(&meta_path, cfg.metadata_cache_bytes)?;
        let meta = MetaStore::from_backend(Arc::new(redb.clone()));
        let nofile = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
        let files = FdCache::new(cfg.open_files_budget(nofile));
        tracing::info!(
            max_open_files = files.budget(),
            nofile_limit = nofile,
            "segment file budget"
        );
        let started = std::time::Instant::now();
        let mut topics = BTreeMap::new();
        for (_, v) in meta.scan_prefix(TOPICS_TABLE, b"")? {
            let record: TopicRecord = decode("topic", &v)?;
            let config = cfg.topic_defaults.with_overrides(&record.overrides)?;
            let mut parts = Vec::with_capacity(record.partitions as usize);
            for p in 0..record.partitions {
                parts.push(open_partition(
                    Shared {
                        cfg: &cfg,
                        meta: &meta,
                        files: &files,
                        remote: &remote,
                    },
                    &record.name,
                    p,
                    config,
                    clean,
                )?);
            }
            topics.insert(
                record.name.clone(),
                Arc::new(Topic {
                    record,
                    config,
                    partitions: parts,
                }),
            );
        }
        remove_orphans(&data_dir, &topics)?;
        tracing::info!(
            topics = topics.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            open_segment_files = files.open_count(),
            clean,
            "engine opened"
        );
        let engine = Engine {
            inner: Arc::new(Inner {
                cfg,
                meta,
                topics: RwLock::new(topics),
                admin: tokio::sync::Mutex::new(()),
                topic_hooks: RwLock::new(Vec::new()),
                closed: AtomicBool::new(false),
                retention: Mutex::new(None),
                follower: Arc::new(TopicFollower::default()),
                follow_task: Mutex::new(None),
                files,
                remote,
                redb,
                wrapper: RwLock::new(None),
                fronts: Mutex::new(HashMap::new()),
                _lock: lock_file,
            }),
        };
        let weak = Arc::downgrade(&engine.inner);
        let every = Duration::from_millis(engine.inner.cfg.retention_check_interval_ms.max(10));
        *lock(&engine.inner.retention) = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                let Some(inner) = weak.upgrade() else { break };
                Engine { inner }.run_retention();
            }
        }));
        // The registry is the table as read above; from here on it follows every committed change, its own
        // and (on a cluster node) other nodes'. The initial feed repeats the rows just read: nothing to do.
        engine.inner.meta.watch(
            crate::meta::Tables::named([TOPICS_TABLE]),
            engine.inner.follower.clone(),
        )?;
        *lock(&engine.inner.follow_task) = Some(follow::spawn(
            Arc::downgrade(&engine.inner),
            engine.inner.follower.clone(),
        ));
        Ok(engine)
    }

    pub fn config(&self) -> &EngineConfig {
        &self.inner.cfg
    }

    /// Whether this node has an object store for tiered segments (`open_with_remote` with a store).
    pub fn has_remote_store(&self) -> bool {
        self.inner.remote.is_some()
    }

    /// `remote.storage.enable=true` needs an object store to upload to: without one the topic would silently
    /// keep everything locally, so it is refused (Kafka refuses it when the broker's remote storage is off).
    fn check_tiering(&self, config: &TopicConfig) -> Result<()> {
        if config.remote_storage_enable && !self.has_remote_store() {
            return Err(EngineError::InvalidConfig {
                key: "remote.storage.enable".into(),
                value: "true".into(),
                reason: "this node has no object store for tiered storage (configure [tiering])"
                    .into(),
            });
        }
        Ok(())
    }

    /// The metadata store, for front ends that keep their own state (group offsets, producer ids, streams).
    pub fn meta(&self) -> &MetaStore {
        &self.inner.meta
    }

    fn check_open(&self) -> Result<()> {
        if self.inner.closed.load(Ordering::Acquire) {
            Err(EngineError::ShuttingDown)
        } else {
            Ok(())
        }
    }

    fn info(t: &Topic) -> TopicInfo {
        TopicInfo {
            name: t.record.name.clone(),
            id: t.record.id,
            partitions: t.partitions.len() as u32,
            config: t.config,
            overrides: t.record.overrides.clone(),
            created_ms: t.record.created_ms,
        }
    }

    /// Every topic but Strait's reserved ones.
    pub fn list_topics(&self) -> Vec<TopicInfo> {
        read(&self.inner.topics)
            .values()
            .filter(|t| !is_reserved_topic(&t.record.name))
            .map(|t| Self::info(t))
            .collect()
    }

    /// A topic by name; `None` for a reserved one (see [`RESERVED_TOPIC_PREFIX`]).
    pub fn topic(&self, name: &str) -> Option<TopicInfo> {
        if is_reserved_topic(name) {
            return None;
        }
        read(&self.inner.topics).get(name).map(|t| Self::info(t))
    }

    /// The partition's log, as front ends use it: the local log itself, or on a cluster node what the
    /// [`LogWrapper`] made of it (the replicated log, whose appends go through Raft).
    pub fn partition(&self, topic: &str, p: u32) -> Result<Arc<Partition>> {
        if is_reserved_topic(topic) {
            return Err(EngineError::UnknownTopic(topic.to_string()));
        }
        self.local_partition(topic, p).map(|l| self.front(l))
    }

    /// Every partition of `topic`, in index order.
    pub fn partitions(&self, topic: &str) -> Result<Vec<Arc<Partition>>> {
        if is_reserved_topic(topic) {
            return Err(EngineError::UnknownTopic(topic.to_string()));
        }
        let logs: Vec<Arc<LocalLog>> = {
            let topics = read(&self.inner.topics);
            let t = topics
                .get(topic)
                .ok_or_else(|| EngineError::UnknownTopic(topic.to_string()))?;
            t.partitions.clone()
        };
        Ok(logs.into_iter().map(|l| self.front(l)).collect())
    }

    /// The node's local metadata store (its redb file): what a cluster node's replicated store applies to and
    /// keeps node-scope tables in.
    pub fn local_meta(&self) -> RedbStore {
        self.inner.redb.clone()
    }

    /// Installs the wrapper front ends see partitions through (once, before front ends start). Wrappers are made
    /// on first use and kept while their log lives (a deleted and recreated topic gets new ones).
    pub fn set_log_wrapper(&self, w: LogWrapper) {
        *write(&self.inner.wrapper) = Some(w);
    }

    fn front(&self, log: Arc<LocalLog>) -> Arc<Partition> {
        let Some(wrap) = read(&self.inner.wrapper).clone() else {
            return log;
        };
        let key = (log.topic().to_string(), log.index());
        let mut fronts = lock(&self.inner.fronts);
        if let Some((l, f)) = fronts.get(&key)
            && Arc::ptr_eq(l, &log)
        {
            return f.clone();
        }
        let f = wrap(log.clone());
        fronts.insert(key, (log, f.clone()));
        f
    }

    /// The local log itself, for this node's subsystems that work on its files (the tiering uploader, the
    /// controller replica over a reserved topic).
    pub fn local_partition(&self, topic: &str, p: u32) -> Result<Arc<LocalLog>> {
        let topics = read(&self.inner.topics);
        let t = topics
            .get(topic)
            .ok_or_else(|| EngineError::UnknownTopic(topic.to_string()))?;
        t.partitions
            .get(p as usize)
            .cloned()
            .ok_or_else(|| EngineError::UnknownPartition {
                topic: topic.to_string(),
                partition: p,
            })
    }

    /// Creates a topic with `partitions` partitions and the given config overrides (Kafka key names).
    pub async fn create_topic(
        &self,
        name: &str,
        partitions: u32,
        overrides: BTreeMap<String, String>,
    ) -> Result<TopicInfo> {
        self.create_topic_with(name, partitions, overrides, Vec::new())
            .await
    }

    /// [`create_topic`](Self::create_topic) that also commits `extra` metadata changes in the same transaction as
    /// the topic record: a front end's own record of the topic (a Kinesis stream) exists exactly when the topic
    /// does.
    pub async fn create_topic_with(
        &self,
        name: &str,
        partitions: u32,
        overrides: BTreeMap<String, String>,
        extra: Vec<MetaOp>,
    ) -> Result<TopicInfo> {
        validate_topic_name(name)?;
        self.create_any_topic(name, partitions, overrides, extra)
            .await
    }

    /// Creates one of Strait's own reserved topics (see [`RESERVED_TOPIC_PREFIX`]), with default settings. Only
    /// the node's own subsystems call this; no front end reaches it.
    pub async fn create_reserved_topic(&self, name: &str, partitions: u32) -> Result<TopicInfo> {
        if !is_reserved_topic(name) {
            return Err(EngineError::InvalidTopicName {
                name: name.to_string(),
                reason: "a reserved topic's name starts with '__strait_'",
            });
        }
        self.create_any_topic(name, partitions, BTreeMap::new(), Vec::new())
            .await
    }

    async fn create_any_topic(
        &self,
        name: &str,
        partitions: u32,
        overrides: BTreeMap<String, String>,
        extra: Vec<MetaOp>,
    ) -> Result<TopicInfo> {
        self.check_open()?;
        validate_name_rules(name)?;
        if partitions == 0 {
            return Err(EngineError::InvalidPartitions {
                requested: 0,
                reason: "must be at least 1".into(),
            });
        }
        let config = self.inner.cfg.topic_defaults.with_overrides(&overrides)?;
        self.check_tiering(&config)?;
        let _admin = self.inner.admin.lock().await;
        if read(&self.inner.topics).contains_key(name) {
            return Err(EngineError::TopicExists(name.to_string()));
        }
        let record = TopicRecord {
            id: uuid::Uuid::new_v4(),
            name: name.to_string(),
            partitions,
            overrides,
            created_ms: now_ms(),
        };
        // Files first, metadata last: a creation that fails leaves nothing behind, now or after a restart (a
        // crash in between leaves only directories, which the next open removes as orphans).
        let parts = self.open_partitions(&record, 0..partitions, config).await?;
        if let Err(e) = self.persist_new_topic(&record, extra).await {
            self.discard_partitions(&parts).await;
            return Err(e);
        }
        tracing::info!(topic = name, partitions, "created topic");
        Ok(self.install(
            Topic {
                record,
                config,
                partitions: parts,
            },
            TopicEvent::Created,
        ))
    }

    /// Commits a new topic's record (with `extra`). Guarded, not a plain put: on a cluster another node may have
    /// created the topic in the controller log a moment ago without this node having applied it yet (the
    /// registry check passed); a plain put would replace that topic, and every node would then drop the
    /// partitions it had opened for it.
    async fn persist_new_topic(&self, record: &TopicRecord, extra: Vec<MetaOp>) -> Result<()> {
        let mut ops = vec![topic_put(record)?];
        ops.extend(extra);
        let absent = vec![Absent {
            table: TOPICS_TABLE.into(),
            key: record.name.as_bytes().to_vec(),
        }];
        if self.inner.meta.commit_if_absent(absent, ops).await? {
            Ok(())
        } else {
            Err(EngineError::TopicExists(record.name.clone()))
        }
    }

    /// Commits a changed record of an existing topic (grown, reconfigured).
    async fn persist_topic(&self, record: &TopicRecord) -> Result<()> {
        self.inner.meta.commit(vec![topic_put(record)?]).await
    }

    fn topic_entry(&self, name: &str) -> Result<Arc<Topic>> {
        if is_reserved_topic(name) {
            return Err(EngineError::UnknownTopic(name.to_string()));
        }
        read(&self.inner.topics)
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::UnknownTopic(name.to_string()))
    }

    /// Deletes a topic: metadata first (so a crash cannot resurrect it), then its partitions' files.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        self.check_open()?;
        let _admin = self.inner.admin.lock().await;
        let topic = self.topic_entry(name)?;
        let mut prefix = name.as_bytes().to_vec();
        prefix.push(0);
        let mut ops = vec![
            MetaOp::Delete {
                table: TOPICS_TABLE.into(),
                key: name.as_bytes().to_vec(),
            },
            MetaOp::DeletePrefix {
                table: REMOTE_TABLE.into(),
                prefix,
            },
        ];
        ops.extend(reconcile::node_rows_deletion(name));
        self.inner.meta.commit(ops).await?;
        self.retire(&topic).await?;
        tracing::info!(topic = name, "deleted topic");
        Ok(())
    }

    /// Grows a topic to `total` partitions (Kafka CreatePartitions).
    pub async fn create_partitions(&self, name: &str, total: u32) -> Result<TopicInfo> {
        self.check_open()?;
        let _admin = self.inner.admin.lock().await;
        let topic = self.topic_entry(name)?;
        let current = topic.partitions.len() as u32;
        if total <= current {
            return Err(EngineError::InvalidPartitions {
                requested: total,
                reason: format!(
                    "topic currently has {current} partitions; the count can only grow"
                ),
            });
        }
        let mut record = topic.record.clone();
        record.partitions = total;
        // As in create_topic: new partitions' files first, the grown record last, undone on failure.
        let added = self
            .open_partitions(&record, current..total, topic.config)
            .await?;
        if let Err(e) = self.persist_topic(&record).await {
            self.discard_partitions(&added).await;
            return Err(e);
        }
        let mut parts = topic.partitions.clone();
        parts.extend(added);
        Ok(self.install(
            Topic {
                record,
                config: topic.config,
                partitions: parts,
            },
            TopicEvent::Grown,
        ))
    }

    /// Replaces a topic's overrides (Kafka AlterConfigs semantics; incremental callers merge first).
    pub async fn set_topic_config(
        &self,
        name: &str,
        overrides: BTreeMap<String, String>,
    ) -> Result<TopicInfo> {
        self.check_open()?;
        let config = self.inner.cfg.topic_defaults.with_overrides(&overrides)?;
        self.check_tiering(&config)?;
        let _admin = self.inner.admin.lock().await;
        let topic = self.topic_entry(name)?;
        let mut record = topic.record.clone();
        record.overrides = overrides;
        self.persist_topic(&record).await?;
        Ok(self.reconfigure(&topic, record, config))
    }

    /// Registers a hook called after every topic creation, growth, reconfiguration and deletion (see
    /// [`crate::events`]).
    pub fn on_topic_event(&self, hook: TopicHook) {
        write(&self.inner.topic_hooks).push(hook);
    }

    fn emit(&self, event: TopicEvent) {
        let hooks = read(&self.inner.topic_hooks).clone();
        for hook in hooks {
            hook(&event);
        }
    }

    /// Partitions that refuse writes after a storage failure, and the metadata store's fault, if any.
    pub fn storage_health(&self) -> StorageHealth {
        let parts: Vec<Arc<LocalLog>> = read(&self.inner.topics)
            .values()
            .flat_map(|t| t.partitions.clone())
            .collect();
        StorageHealth {
            offline_partitions: parts
                .iter()
                .filter_map(|p| {
                    p.failure().map(|reason| OfflinePartition {
                        topic: p.topic().to_string(),
                        partition: p.index(),
                        reason,
                    })
                })
                .collect(),
            metadata_fault: self.inner.meta.fault(),
        }
    }

    pub fn stats(&self) -> EngineStats {
        let topics = read(&self.inner.topics);
        let mut s = EngineStats {
            topics: topics.len(),
            ..Default::default()
        };
        for t in topics.values() {
            s.partitions += t.partitions.len();
            s.log_bytes += t.partitions.iter().map(|p| p.size_bytes()).sum::<u64>();
        }
        s
    }

    /// Runs retention once over every partition (the background task calls this periodically).
    pub fn run_retention(&self) {
        let now = now_ms();
        let parts: Vec<Arc<LocalLog>> = read(&self.inner.topics)
            .values()
            .flat_map(|t| t.partitions.clone())
            .collect();
        for p in parts {
            if let Err(e) = p.apply_retention(now) {
                tracing::warn!(topic = p.topic(), partition = p.index(), error = %e, "retention failed");
            }
        }
    }

    /// Stops like a crash would: no final flush, no index files, no clean-shutdown marker; the next open runs
    /// recovery. Acknowledged (durable) data is unaffected. For crash tests and tools.
    pub async fn abandon(self) {
        self.inner.closed.store(true, Ordering::Release);
        if let Some(h) = lock(&self.inner.retention).take() {
            h.abort();
        }
        if let Some(h) = lock(&self.inner.follow_task).take() {
            h.abort();
        }
        let topics = std::mem::take(&mut *write(&self.inner.topics));
        for p in topics.values().flat_map(|t| t.partitions.iter()) {
            p.halt().await;
        }
        self.inner.meta.close().await;
    }

    /// Flushes every partition, writes index files, stops background tasks and marks the shutdown clean.
    pub async fn shutdown(&self) -> Result<()> {
        if self.inner.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let _admin = self.inner.admin.lock().await;
        if let Some(h) = lock(&self.inner.retention).take() {
            h.abort();
        }
        // Holding the admin lock, the task is not in the middle of a change.
        if let Some(h) = lock(&self.inner.follow_task).take() {
            h.abort();
        }
        let parts: Vec<Arc<LocalLog>> = read(&self.inner.topics)
            .values()
            .flat_map(|t| t.partitions.clone())
            .collect();
        let started = std::time::Instant::now();
        let first_err = close_all(&parts).await;
        tracing::info!(
            partitions = parts.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "partitions flushed"
        );
        let mut ops = Vec::with_capacity(parts.len());
        for p in &parts {
            ops.push(p.state_op()?);
        }
        self.inner.meta.commit(ops).await?;
        self.inner.meta.close().await;
        if let Some(e) = first_err {
            return Err(e);
        }
        let dir = &self.inner.cfg.data_dir;
        let marker = dir.join(CLEAN_MARKER);
        write_private(&marker, b"")?;
        sync_dir(dir)?;
        tracing::info!("engine shut down cleanly");
        Ok(())
    }
}

fn topic_put(record: &TopicRecord) -> Result<MetaOp> {
    Ok(MetaOp::Put {
        table: TOPICS_TABLE.into(),
        key: record.name.as_bytes().to_vec(),
        value: encode("topic", record)?,
    })
}
