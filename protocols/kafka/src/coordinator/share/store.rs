//! What share groups persist in the engine's meta store: each share-partition's start offset (SPSO), so records
//! acknowledged below it stay acknowledged across restarts, and the group configs set on GROUP resources.
//! In-flight states above the SPSO are not persisted: after a restart those records are delivered again, which
//! KIP-932's at-least-once contract allows. The coordinator reads these rows through [`super::view`], which
//! follows committed changes; this module only encodes them.

use std::collections::BTreeMap;

use strait_engine::{MetaOp, MetaStore};

use super::SpKey;

// Names from the engine's table registry (legacy spellings, kept on disk).
pub const START_OFFSETS: &str = strait_engine::meta::tables::SHARE_START_OFFSETS;
pub const GROUP_CONFIGS: &str = strait_engine::meta::tables::GROUP_CONFIGS;

/// `group \0 topic-id(16) partition(4, big-endian)`; group ids cannot contain NUL in any client that matters,
/// and the prefix `group \0` selects one group's partitions.
pub fn start_key(k: &SpKey) -> Vec<u8> {
    let mut v = group_prefix(&k.0);
    v.extend_from_slice(k.1.as_bytes());
    v.extend_from_slice(&k.2.to_be_bytes());
    v
}

/// The share-partition of a [`START_OFFSETS`] key. Split from the end (the topic id and partition have fixed
/// widths), so the group id is taken whole.
pub fn decode_start_key(key: &[u8]) -> Option<SpKey> {
    let split = key.len().checked_sub(21)?;
    let (group, rest) = key.split_at(split);
    let (nul, rest) = rest.split_first()?;
    if *nul != 0 {
        return None;
    }
    let id = uuid::Uuid::from_slice(&rest[..16]).ok()?;
    let p = i32::from_be_bytes(rest[16..20].try_into().ok()?);
    Some((std::str::from_utf8(group).ok()?.to_string(), id, p))
}

pub fn group_prefix(group: &str) -> Vec<u8> {
    let mut v = group.as_bytes().to_vec();
    v.push(0);
    v
}

pub fn put_start_op(k: &SpKey, start: i64) -> MetaOp {
    MetaOp::Put {
        table: START_OFFSETS.into(),
        key: start_key(k),
        value: start.to_be_bytes().to_vec(),
    }
}

pub fn delete_start_op(k: &SpKey) -> MetaOp {
    MetaOp::Delete {
        table: START_OFFSETS.into(),
        key: start_key(k),
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

pub fn put_group_configs_op(group: &str, configs: &BTreeMap<String, String>) -> MetaOp {
    MetaOp::Put {
        table: GROUP_CONFIGS.into(),
        key: group.as_bytes().to_vec(),
        value: serde_json::to_vec(configs).unwrap_or_default(),
    }
}
