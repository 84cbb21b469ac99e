//! What the share coordinator knows of its two tables (see [`super::store`]): every persisted share-partition
//! start offset and every group's config overrides, maintained only by a [`MetaWatcher`] on the tables.
//!
//! Handlers commit rows and never edit this view; a share-partition created after a restart starts from the
//! view's offset, and a group config set by IncrementalAlterConfigs is read back from it. The live delivery
//! state of share-partitions (in-flight records, the SPSO as it moves) is the coordinator's own and is not here:
//! the view holds what was committed of it.

use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use strait_engine::{MetaOp, MetaWatcher};

use super::SpKey;
use super::store::{GROUP_CONFIGS, START_OFFSETS, decode_start_key, start_key};

/// The tables the view follows.
pub(super) const TABLES: &[&str] = &[START_OFFSETS, GROUP_CONFIGS];

/// A comparable copy of the view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShareSnapshot {
    /// Persisted start offset (SPSO) by (group, topic id, partition).
    pub starts: BTreeMap<SpKey, i64>,
    /// Config overrides by group.
    pub configs: BTreeMap<String, BTreeMap<String, String>>,
}

/// The committed share-group rows (see the module docs).
#[derive(Default)]
pub struct ShareView {
    rows: RwLock<ShareSnapshot>,
}

impl ShareView {
    fn read(&self) -> RwLockReadGuard<'_, ShareSnapshot> {
        self.rows.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn snapshot(&self) -> ShareSnapshot {
        self.read().clone()
    }

    /// The persisted SPSO of a share-partition, if any.
    pub fn start(&self, k: &SpKey) -> Option<i64> {
        self.read().starts.get(k).copied()
    }

    /// Whether `group` has any persisted start offset.
    pub fn has_starts(&self, group: &str) -> bool {
        self.read().starts.keys().any(|(g, _, _)| g == group)
    }

    /// A group's config overrides (empty when none are set).
    pub fn configs(&self, group: &str) -> BTreeMap<String, String> {
        self.read().configs.get(group).cloned().unwrap_or_default()
    }
}

impl MetaWatcher for ShareView {
    fn apply(&self, ops: &[MetaOp]) {
        let mut rows = self.rows.write().unwrap_or_else(PoisonError::into_inner);
        for op in ops {
            match op {
                MetaOp::Put { table, key, value } if table == START_OFFSETS => {
                    let start = <[u8; 8]>::try_from(value.as_slice()).map(i64::from_be_bytes);
                    match (decode_start_key(key), start) {
                        (Some(k), Ok(start)) => {
                            rows.starts.insert(k, start);
                        }
                        // Unreadable rows were ignored by the reads this view replaces; they still are.
                        _ => tracing::warn!(key = %String::from_utf8_lossy(key),
                            "unreadable share-partition start offset ignored"),
                    }
                }
                // The other table the view follows: GROUP_CONFIGS.
                MetaOp::Put { key, value, .. } => {
                    let group = String::from_utf8_lossy(key).into_owned();
                    // An unreadable row counts as "no overrides", as reading it always did.
                    let configs = serde_json::from_slice(value).unwrap_or_else(|e| {
                        tracing::warn!(%group, error = %e, "unreadable group configs ignored");
                        BTreeMap::new()
                    });
                    rows.configs.insert(group, configs);
                }
                MetaOp::Delete { table, key } if table == START_OFFSETS => {
                    if let Some(k) = decode_start_key(key) {
                        rows.starts.remove(&k);
                    }
                }
                MetaOp::Delete { key, .. } => {
                    rows.configs.remove(String::from_utf8_lossy(key).as_ref());
                }
                MetaOp::DeletePrefix { table, prefix } if table == START_OFFSETS => {
                    rows.starts.retain(|k, _| !start_key(k).starts_with(prefix))
                }
                MetaOp::DeletePrefix { prefix, .. } => rows
                    .configs
                    .retain(|g, _| !g.as_bytes().starts_with(prefix)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::share::store::{
        delete_group_ops, group_prefix, put_group_configs_op, put_start_op,
    };

    #[test]
    fn rows_put_and_deleted_are_followed() {
        let v = ShareView::default();
        let id = uuid::Uuid::from_u128(7);
        let a: SpKey = ("g".into(), id, 3);
        let b: SpKey = ("g2".into(), id, 0);
        let configs = BTreeMap::from([("share.auto.offset.reset".to_string(), "earliest".into())]);
        v.apply(&[
            put_start_op(&a, 42),
            put_start_op(&b, 7),
            put_group_configs_op("g", &configs),
        ]);
        assert_eq!(v.start(&a), Some(42));
        assert!(v.has_starts("g") && v.has_starts("g2") && !v.has_starts("g3"));
        assert_eq!(v.configs("g"), configs);
        assert!(start_key(&a).starts_with(&group_prefix("g")));
        v.apply(&delete_group_ops("g"));
        assert_eq!(v.start(&a), None);
        assert_eq!(v.start(&b), Some(7), "another group's prefix is untouched");
        assert!(v.configs("g").is_empty());
    }
}
