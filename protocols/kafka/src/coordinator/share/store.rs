//! What share groups persist in the engine's meta store: each share-partition's start offset (SPSO), so records
//! acknowledged below it stay acknowledged across restarts, and the group configs set on GROUP resources.
//! In-flight states above the SPSO are not persisted: after a restart those records are delivered again, which
//! KIP-932's at-least-once contract allows.

use std::collections::BTreeMap;

use strait_engine::{MetaOp, MetaStore};

use super::SpKey;

pub const START_OFFSETS: &str = "share_start_offsets";
pub const GROUP_CONFIGS: &str = "group_configs";

/// `group \0 topic-id(16) partition(4, big-endian)`; group ids cannot contain NUL in any client that matters,
/// and the prefix `group \0` selects one group's partitions.
fn key(k: &SpKey) -> Vec<u8> {
    let mut v = group_prefix(&k.0);
    v.extend_from_slice(k.1.as_bytes());
    v.extend_from_slice(&k.2.to_be_bytes());
    v
}

pub fn group_prefix(group: &str) -> Vec<u8> {
    let mut v = group.as_bytes().to_vec();
    v.push(0);
    v
}

pub fn put_start_op(k: &SpKey, start: i64) -> MetaOp {
    MetaOp::Put {
        table: START_OFFSETS.into(),
        key: key(k),
        value: start.to_be_bytes().to_vec(),
    }
}

pub fn delete_start_op(k: &SpKey) -> MetaOp {
    MetaOp::Delete {
        table: START_OFFSETS.into(),
        key: key(k),
    }
}

pub fn delete_group_ops(group: &str) -> Vec<MetaOp> {
    vec![
        MetaOp::DeletePrefix {
            table: START_OFFSETS.into(),
            prefix: group_prefix(group),
        },
        MetaOp::Delete {
            table: GROUP_CONFIGS.into(),
            key: group.as_bytes().to_vec(),
        },
    ]
}

/// The persisted SPSO of a share-partition, if any. A meta-store read error is logged and treated as "none":
/// the partition then starts from `share.auto.offset.reset`, as a new one would.
pub fn load_start(meta: &MetaStore, k: &SpKey) -> Option<i64> {
    match meta.get(START_OFFSETS, &key(k)) {
        Ok(Some(v)) => v.try_into().ok().map(i64::from_be_bytes),
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(group = %k.0, error = %e, "reading a share-partition start offset failed");
            None
        }
    }
}

/// Every persisted (topic id, partition, SPSO) of a group.
pub fn load_group_starts(meta: &MetaStore, group: &str) -> Vec<(uuid::Uuid, i32, i64)> {
    let prefix = group_prefix(group);
    let rows = match meta.scan_prefix(START_OFFSETS, &prefix) {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(group, error = %e, "reading share-partition start offsets failed");
            return Vec::new();
        }
    };
    rows.into_iter()
        .filter_map(|(k, v)| {
            let rest = k.get(prefix.len()..)?;
            let id = uuid::Uuid::from_slice(rest.get(..16)?).ok()?;
            let p = i32::from_be_bytes(rest.get(16..20)?.try_into().ok()?);
            let start = i64::from_be_bytes(v.try_into().ok()?);
            Some((id, p, start))
        })
        .collect()
}

pub fn load_group_configs(meta: &MetaStore, group: &str) -> BTreeMap<String, String> {
    match meta.get(GROUP_CONFIGS, group.as_bytes()) {
        Ok(Some(v)) => serde_json::from_slice(&v).unwrap_or_default(),
        Ok(None) => BTreeMap::new(),
        Err(e) => {
            tracing::warn!(group, error = %e, "reading group configs failed");
            BTreeMap::new()
        }
    }
}

pub fn put_group_configs_op(group: &str, configs: &BTreeMap<String, String>) -> MetaOp {
    MetaOp::Put {
        table: GROUP_CONFIGS.into(),
        key: group.as_bytes().to_vec(),
        value: serde_json::to_vec(configs).unwrap_or_default(),
    }
}
