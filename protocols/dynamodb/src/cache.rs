//! The in-memory tables and items, built only from committed metadata changes: a [`MetaWatcher`] on the
//! `dynamodb` table ([`META_TABLE`]).
//!
//! Handlers never edit it. They commit [`MetaOp`]s and the watcher, which the metadata store runs on its writer
//! thread before their `commit` returns, applies them, so a handler reads its own write. A restart (the watcher is
//! first fed the table's contents) and a second store fed the same committed changes (a follower, later) build the
//! same state. Each committed batch is applied under one write lock, so a reader never sees half a transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};

use strait_engine::meta::FirstCorruptRow;
use strait_engine::{EngineError, MetaOp, MetaStore, MetaWatcher, Tables};

use crate::store::{
    META_TABLE, State, Table, TableMeta, item_key, items_prefix, split_item_key, split_table_key,
    table_key,
};
use crate::value::{Item, item_from_json};

/// Items stored under a table name that has no table record (yet), by store key. The initial feed comes in key
/// order, where every `i/...` row precedes every `t/...` row, so a table's items arrive before its record; they
/// wait here until it does.
type Orphans = HashMap<String, BTreeMap<Vec<u8>, Item>>;

/// What tests compare: every cached table with its items, and any items waiting for their table.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheSnapshot {
    pub tables: BTreeMap<String, Table>,
    pub orphans: BTreeMap<String, BTreeMap<Vec<u8>, Item>>,
}

/// The DynamoDB front end's mirror of its metadata table.
#[derive(Default)]
pub struct TableCache {
    state: RwLock<State>,
    /// Touched only by the watcher (and snapshots), always after `state`'s lock.
    orphans: Mutex<Orphans>,
    /// The first row that did not decode, if any: the front end refuses to open over damaged metadata.
    corrupt: FirstCorruptRow,
}

impl TableCache {
    /// A cache following `meta`'s DynamoDB table from now on, fed its current contents first.
    pub fn follow(meta: &MetaStore) -> Result<Arc<TableCache>, EngineError> {
        let cache = Arc::new(TableCache::default());
        meta.watch(Tables::named([META_TABLE]), cache.clone())?;
        Ok(cache)
    }

    /// The current state, for reading. Never hold it across an `.await`: the watcher needs the write lock to
    /// finish a commit.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A copy of everything cached.
    pub fn snapshot(&self) -> CacheSnapshot {
        let state = self.read();
        let orphans = self.orphans.lock().unwrap_or_else(|e| e.into_inner());
        CacheSnapshot {
            tables: state
                .tables
                .iter()
                .map(|(n, t)| (n.clone(), t.clone()))
                .collect(),
            orphans: orphans
                .iter()
                .filter(|(_, items)| !items.is_empty())
                .map(|(n, items)| (n.clone(), items.clone()))
                .collect(),
        }
    }

    /// The first corrupt row seen, if any.
    pub fn corrupt(&self) -> Option<String> {
        self.corrupt.get()
    }

    fn mark_corrupt(&self, key: &[u8], e: &dyn std::fmt::Display) {
        self.corrupt.record("DynamoDB", key, e);
    }

    fn put(&self, st: &mut State, orphans: &mut Orphans, key: &[u8], value: &[u8]) {
        if let Some(name) = split_table_key(key) {
            match serde_json::from_slice::<TableMeta>(value) {
                Ok(meta) => set_table(st, orphans, name, meta),
                Err(e) => self.mark_corrupt(key, &e),
            }
        } else if let Some((name, _)) = split_item_key(key) {
            let item = serde_json::from_slice(value)
                .map_err(|e| e.to_string())
                .and_then(|j| item_from_json(&j).map_err(|e| e.to_string()));
            match item {
                Ok(item) => put_item(st, orphans, name, key, item),
                Err(e) => self.mark_corrupt(key, &e),
            }
        }
    }
}

/// Stores a table record: a new table adopts its waiting items; a changed key schema re-keys the items.
fn set_table(st: &mut State, orphans: &mut Orphans, name: String, meta: TableMeta) {
    if let Some(t) = st.tables.get_mut(&name)
        && t.meta.hash == meta.hash
        && t.meta.range == meta.range
    {
        t.meta = meta;
        return;
    }
    let waiting = orphans.entry(name.clone()).or_default();
    if let Some(old) = st.tables.remove(&name) {
        for item in old.items.into_values() {
            waiting.insert(item_key(&name, &key_attrs(&old.meta, &item)), item);
        }
    }
    let mut table = Table {
        meta,
        items: BTreeMap::new(),
    };
    waiting.retain(|_, item| match table.pkey(item) {
        Some(k) => {
            table.items.insert(k, item.clone());
            false
        }
        None => true,
    });
    if waiting.is_empty() {
        orphans.remove(&name);
    }
    st.tables.insert(name, table);
}

/// The key attributes of `item` under `meta`'s key schema.
fn key_attrs(meta: &TableMeta, item: &Item) -> Item {
    item.iter()
        .filter(|(k, _)| meta.is_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn put_item(st: &mut State, orphans: &mut Orphans, table: String, key: &[u8], item: Item) {
    if let Some(t) = st.tables.get_mut(&table)
        && let Some(k) = t.pkey(&item)
    {
        t.items.insert(k, item);
        return;
    }
    orphans.entry(table).or_default().insert(key.to_vec(), item);
}

fn delete(st: &mut State, orphans: &mut Orphans, key: &[u8]) {
    if let Some(name) = split_table_key(key) {
        // Items outlive their table record only if something deletes the record alone; they stay mirrored.
        if let Some(old) = st.tables.remove(&name) {
            let waiting = orphans.entry(name.clone()).or_default();
            for item in old.items.into_values() {
                waiting.insert(item_key(&name, &key_attrs(&old.meta, &item)), item);
            }
        }
    } else if let Some((name, key_json)) = split_item_key(key) {
        if let Some(t) = st.tables.get_mut(&name)
            && let Ok(j) = serde_json::from_slice(key_json)
            && let Ok(k) = item_from_json(&j)
            && let Some(pk) = t.pkey(&k)
        {
            t.items.remove(&pk);
        }
        if let Some(waiting) = orphans.get_mut(&name) {
            waiting.remove(key);
        }
    }
}

fn delete_prefix(st: &mut State, orphans: &mut Orphans, prefix: &[u8]) {
    for (name, t) in st.tables.iter_mut() {
        let mine = items_prefix(name);
        if mine.starts_with(prefix) {
            t.items.clear();
        } else if prefix.starts_with(&mine) {
            let meta = &t.meta;
            t.items
                .retain(|_, item| !item_key(name, &key_attrs(meta, item)).starts_with(prefix));
        }
    }
    let doomed: Vec<String> = st
        .tables
        .keys()
        .filter(|n| table_key(n).starts_with(prefix))
        .cloned()
        .collect();
    for name in doomed {
        delete(st, orphans, &table_key(&name));
    }
    for waiting in orphans.values_mut() {
        waiting.retain(|k, _| !k.starts_with(prefix));
    }
    orphans.retain(|_, waiting| !waiting.is_empty());
}

impl MetaWatcher for TableCache {
    fn apply(&self, ops: &[MetaOp]) {
        let mut st = self.state.write().unwrap_or_else(|e| e.into_inner());
        let mut orphans = self.orphans.lock().unwrap_or_else(|e| e.into_inner());
        for op in ops {
            match op {
                MetaOp::Put { key, value, .. } => self.put(&mut st, &mut orphans, key, value),
                MetaOp::Delete { key, .. } => delete(&mut st, &mut orphans, key),
                MetaOp::DeletePrefix { prefix, .. } => delete_prefix(&mut st, &mut orphans, prefix),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::put_table_op;

    fn meta(name: &str, hash: &str) -> TableMeta {
        TableMeta {
            name: name.into(),
            id: format!("id-{name}-{hash}"),
            created_ms: 0,
            busy_status: "CREATING".into(),
            busy_until_ms: 0,
            hash: hash.into(),
            range: None,
            attribute_definitions: vec![(hash.into(), "S".into())],
            billing_mode: "PAY_PER_REQUEST".into(),
            read_capacity: 0,
            write_capacity: 0,
            gsis: Vec::new(),
            pitr: false,
            tags: Vec::new(),
            deletion_protection: false,
        }
    }

    fn put_item(table: &str, item: serde_json::Value, key: serde_json::Value) -> MetaOp {
        let key = item_from_json(&key).expect("key");
        MetaOp::Put {
            table: META_TABLE.into(),
            key: item_key(table, &key),
            value: item.to_string().into_bytes(),
        }
    }

    #[test]
    fn items_fed_before_their_table_are_adopted_by_it() {
        let cache = TableCache::default();
        let k = serde_json::json!({"k": {"S": "a"}});
        // The initial feed's key order: `i/...` before `t/...`.
        cache.apply(&[
            put_item(
                "t1",
                serde_json::json!({"k": {"S": "a"}, "v": {"N": "1"}}),
                k.clone(),
            ),
            put_table_op(&meta("t1", "k")).expect("op"),
        ]);
        let s = cache.snapshot();
        assert!(s.orphans.is_empty());
        assert_eq!(s.tables["t1"].items.len(), 1);
        // A record without its items leaves them mirrored; the items' own deletion removes them.
        cache.apply(&[MetaOp::Delete {
            table: META_TABLE.into(),
            key: table_key("t1"),
        }]);
        assert_eq!(cache.snapshot().orphans["t1"].len(), 1);
        cache.apply(&[MetaOp::DeletePrefix {
            table: META_TABLE.into(),
            prefix: items_prefix("t1"),
        }]);
        assert_eq!(cache.snapshot(), TableCache::default().snapshot());
        assert!(cache.corrupt().is_none());
    }

    #[test]
    fn a_changed_key_schema_rekeys_and_a_bad_row_is_reported() {
        let cache = TableCache::default();
        cache.apply(&[
            put_table_op(&meta("t", "k")).expect("op"),
            put_item(
                "t",
                serde_json::json!({"k": {"S": "a"}}),
                serde_json::json!({"k": {"S": "a"}}),
            ),
        ]);
        cache.apply(&[put_table_op(&meta("t", "other")).expect("op")]);
        let s = cache.snapshot();
        assert!(s.tables["t"].items.is_empty());
        assert_eq!(s.orphans["t"].len(), 1, "not keyable under the new schema");
        cache.apply(&[MetaOp::Put {
            table: META_TABLE.into(),
            key: table_key("bad"),
            value: b"{".to_vec(),
        }]);
        assert!(cache.corrupt().is_some_and(|m| m.contains("t/bad")));
    }
}
