//! The in-memory stream map, built only from committed metadata changes (a [`MetaWatcher`] on the Kinesis table).
//!
//! Handlers never edit it: they commit a record and the watcher, which runs before their `commit` returns,
//! publishes it, so a handler reads its own write. A restart (the watcher is fed the table's contents) and a
//! second store fed the same committed changes (a follower, later) build the same map. The one exception is a
//! topic deleted through another protocol: [`StreamCache::forget_topic`] drops its stream at once (the record's
//! removal is committed right after; see `store::lifecycle`).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use strait_engine::meta::FirstCorruptRow;
use strait_engine::{MetaOp, MetaStore, Tables};
use strait_shard_map::schema::record_belongs_to;

use super::record::StreamRecord;
use super::{ACCOUNT_KEY, AccountSettings, STREAM_PREFIX, StreamHandle, TABLE};

/// What the Kinesis front end keeps in memory of its metadata table.
#[derive(Default)]
pub struct StreamCache {
    pub(super) streams: RwLock<BTreeMap<String, Arc<StreamHandle>>>,
    pub(super) account: RwLock<AccountSettings>,
    /// The first record that did not decode, if any: the front end refuses to open over damaged metadata.
    pub(super) corrupt: FirstCorruptRow,
}

impl StreamCache {
    /// A cache following `meta`'s Kinesis table from now on, fed its current contents first.
    pub fn follow(meta: &MetaStore) -> Result<Arc<StreamCache>, strait_engine::EngineError> {
        let cache = Arc::new(StreamCache::default());
        meta.watch(Tables::named([TABLE]), cache.clone())?;
        Ok(cache)
    }

    /// Every cached stream record by name (what tests compare).
    pub fn snapshot(&self) -> BTreeMap<String, StreamRecord> {
        self.streams
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(n, h)| (n.clone(), (*h.record()).clone()))
            .collect()
    }

    /// The cached account settings.
    pub fn account(&self) -> AccountSettings {
        self.account
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Drops the stream of a topic that was just deleted (id `topic_id`), unless its record belongs to a later
    /// topic of the same name. Returns whether a stream was dropped.
    pub(crate) fn forget_topic(&self, name: &str, topic_id: &str) -> bool {
        let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
        let doomed = streams.get(name).is_some_and(|h| {
            let id = h.record().topic_id.map(|u| u.to_string());
            record_belongs_to(id.as_deref(), topic_id)
        });
        if doomed {
            streams.remove(name);
        }
        doomed
    }

    /// Drops a cached stream of `name` whose record names a topic other than `topic_id` (just created).
    pub(crate) fn forget_other_topics(&self, name: &str, topic_id: &str) {
        let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
        if streams.get(name).is_some_and(|h| {
            h.record()
                .topic_id
                .is_some_and(|id| !id.to_string().eq_ignore_ascii_case(topic_id))
        }) {
            streams.remove(name);
        }
    }

    fn put(&self, key: &[u8], value: &[u8]) {
        if key == ACCOUNT_KEY {
            match serde_json::from_slice(value) {
                Ok(a) => *self.account.write().unwrap_or_else(|e| e.into_inner()) = a,
                Err(e) => self.mark_corrupt(key, &e),
            }
            return;
        }
        if !key.starts_with(STREAM_PREFIX.as_bytes()) {
            return;
        }
        let record: StreamRecord = match serde_json::from_slice(value) {
            Ok(r) => r,
            Err(e) => return self.mark_corrupt(key, &e),
        };
        let mut streams = self.streams.write().unwrap_or_else(|e| e.into_inner());
        match streams.get(&record.name) {
            // The same life of the stream: its handle (and the locks held on it) carries on.
            Some(h) if h.record().topic_id == record.topic_id || h.record().topic_id.is_none() => {
                h.publish(record);
            }
            _ => {
                streams.insert(record.name.clone(), StreamHandle::new(record, true));
            }
        }
    }

    fn delete(&self, key: &[u8]) {
        if key == ACCOUNT_KEY {
            *self.account.write().unwrap_or_else(|e| e.into_inner()) = AccountSettings::default();
        } else if let Some(name) = key.strip_prefix(STREAM_PREFIX.as_bytes()) {
            self.streams
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .remove(String::from_utf8_lossy(name).as_ref());
        }
    }

    fn delete_prefix(&self, prefix: &[u8]) {
        if ACCOUNT_KEY.starts_with(prefix) {
            self.delete(ACCOUNT_KEY);
        }
        self.streams
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|name, _| !super::stream_key(name).starts_with(prefix));
    }

    fn mark_corrupt(&self, key: &[u8], e: &serde_json::Error) {
        self.corrupt.record("Kinesis", key, e);
    }
}

impl strait_engine::MetaWatcher for StreamCache {
    fn apply(&self, ops: &[MetaOp]) {
        for op in ops {
            match op {
                MetaOp::Put { key, value, .. } => self.put(key, value),
                MetaOp::Delete { key, .. } => self.delete(key),
                MetaOp::DeletePrefix { prefix, .. } => self.delete_prefix(prefix),
            }
        }
    }
}
