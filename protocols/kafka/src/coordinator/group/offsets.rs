//! Committed offsets in the metadata store: table [`OFFSETS_TABLE`], key `group \0 topic \0 partition` (the
//! partition as 4 big-endian bytes, so a group's offsets scan in topic and partition order), value a JSON
//! record. The store is the only copy: reads go to it, so what a fetch returns is exactly what is durable.
//!
//! Offsets never expire (Kafka's `offsets.retention.minutes` is not implemented); they go away with
//! OffsetDelete, DeleteGroups or deletion of the group.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::error::ResponseError;
use serde::{Deserialize, Serialize};
use strait_engine::{EngineError, MetaOp};

use super::GroupCoordinator;
use super::error::store_error_code;

pub const OFFSETS_TABLE: &str = strait_engine::meta::tables::KAFKA_GROUP_OFFSETS;

/// Up to this many requested partitions, OffsetFetch reads each one; above, it scans the group once.
const POINT_READS: usize = 16;

/// A committed offset as stored and as OffsetFetch returns it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedOffset {
    pub offset: i64,
    /// -1 when the client did not send one (before OffsetCommit v6).
    pub leader_epoch: i32,
    pub metadata: String,
    /// Wall-clock commit time, kept for a future retention policy.
    pub commit_timestamp_ms: i64,
}

/// Raw rows of the offsets table: key and value bytes.
type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// One topic's partitions with their committed offsets (`None`: nothing committed).
pub type TopicOffsets = (String, Vec<(i32, Option<CommittedOffset>)>);

fn group_prefix(group: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(group.len() + 1);
    k.extend_from_slice(group.as_bytes());
    k.push(0);
    k
}

pub fn key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut k = group_prefix(group);
    k.extend_from_slice(topic.as_bytes());
    k.push(0);
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

/// Splits the part of a key after the group prefix into topic and partition.
pub(super) fn split_group_key(rest: &[u8]) -> Option<(String, i32)> {
    split_key(rest)
}

fn split_key(rest: &[u8]) -> Option<(String, i32)> {
    let nul = rest.iter().position(|b| *b == 0)?;
    let topic = std::str::from_utf8(&rest[..nul]).ok()?.to_string();
    let partition: [u8; 4] = rest[nul + 1..].try_into().ok()?;
    Some((topic, i32::from_be_bytes(partition)))
}

fn decode(group: &str, bytes: &[u8]) -> Result<CommittedOffset, ResponseError> {
    serde_json::from_slice(bytes).map_err(|e| {
        tracing::error!(group, error = %e, "corrupt committed offset record");
        ResponseError::UnknownServerError
    })
}

pub(crate) fn put_op(
    group: &str,
    topic: &str,
    partition: i32,
    value: &CommittedOffset,
) -> Result<MetaOp, ResponseError> {
    let value = serde_json::to_vec(value).map_err(|e| {
        tracing::error!(group, error = %e, "could not encode a committed offset");
        ResponseError::UnknownServerError
    })?;
    Ok(MetaOp::Put {
        table: OFFSETS_TABLE.into(),
        key: key(group, topic, partition),
        value,
    })
}

pub(crate) fn delete_op(group: &str, topic: &str, partition: i32) -> MetaOp {
    MetaOp::Delete {
        table: OFFSETS_TABLE.into(),
        key: key(group, topic, partition),
    }
}

pub(crate) fn delete_group_op(group: &str) -> MetaOp {
    MetaOp::DeletePrefix {
        table: OFFSETS_TABLE.into(),
        prefix: group_prefix(group),
    }
}

/// One committed offset with where it belongs, as [`all_committed`] lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupPartitionOffset {
    pub group: String,
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}

/// Every committed offset of every group (Kafka consumer groups and the KCL applications whose checkpoints are
/// stored as group offsets), in one read transaction, for the lag series on `/metrics`. Rows that do not parse
/// are skipped: this is a report, and OffsetFetch reports a corrupt row for the group that owns it.
pub fn all_committed(
    meta: &strait_engine::MetaStore,
) -> Result<Vec<GroupPartitionOffset>, EngineError> {
    let rows = meta.scan_prefix(OFFSETS_TABLE, b"")?;
    let mut out = Vec::with_capacity(rows.len());
    for (k, v) in rows {
        let Some(nul) = k.iter().position(|b| *b == 0) else {
            continue;
        };
        let (Ok(group), Some((topic, partition))) =
            (std::str::from_utf8(&k[..nul]), split_key(&k[nul + 1..]))
        else {
            continue;
        };
        let Ok(c) = serde_json::from_slice::<CommittedOffset>(&v) else {
            continue;
        };
        out.push(GroupPartitionOffset {
            group: group.to_string(),
            topic,
            partition,
            offset: c.offset,
        });
    }
    Ok(out)
}

fn read_error(e: &EngineError) -> ResponseError {
    tracing::warn!(error = %e, "reading committed offsets failed");
    store_error_code(e)
}

impl GroupCoordinator {
    /// The committed offsets of `group` for the given partitions, or for everything it committed when
    /// `topics` is `None`. Unknown topics simply have no offsets, as in Kafka.
    pub fn fetch_offsets(
        &self,
        group: &str,
        topics: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<TopicOffsets>, ResponseError> {
        if !super::valid_group_id(group) {
            return Err(ResponseError::InvalidGroupId);
        }
        let meta = self.inner.engine.meta();
        match topics {
            // A few partitions are point reads; beyond that one scan of the group (a single read
            // transaction) is cheaper than a transaction per partition.
            Some(topics) if topics.iter().map(|(_, ps)| ps.len()).sum::<usize>() > POINT_READS => {
                let mut stored: HashMap<(String, i32), CommittedOffset> = HashMap::new();
                for (k, v) in self.scan_group(group)? {
                    if let Some(tp) = split_key(&k) {
                        stored.insert(tp, decode(group, &v)?);
                    }
                }
                Ok(topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        let partitions = partitions
                            .into_iter()
                            .map(|p| (p, stored.get(&(topic.clone(), p)).cloned()))
                            .collect();
                        (topic, partitions)
                    })
                    .collect())
            }
            Some(topics) => topics
                .into_iter()
                .map(|(topic, partitions)| {
                    let partitions = partitions
                        .into_iter()
                        .map(|p| {
                            let stored = meta
                                .get(OFFSETS_TABLE, &key(group, &topic, p))
                                .map_err(|e| read_error(&e))?;
                            Ok((p, stored.map(|v| decode(group, &v)).transpose()?))
                        })
                        .collect::<Result<Vec<_>, ResponseError>>()?;
                    Ok((topic, partitions))
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<CommittedOffset>)>> =
                    BTreeMap::new();
                for (k, v) in self.scan_group(group)? {
                    let Some((topic, p)) = split_key(&k) else {
                        tracing::error!(group, "malformed committed offset key");
                        return Err(ResponseError::UnknownServerError);
                    };
                    by_topic
                        .entry(topic)
                        .or_default()
                        .push((p, Some(decode(group, &v)?)));
                }
                Ok(by_topic.into_iter().collect())
            }
        }
    }

    /// Raw `(key after the group prefix, value)` pairs of a group's offsets.
    fn scan_group(&self, group: &str) -> Result<Rows, ResponseError> {
        let prefix = group_prefix(group);
        let rows = self
            .inner
            .engine
            .meta()
            .scan_prefix(OFFSETS_TABLE, &prefix)
            .map_err(|e| read_error(&e))?;
        Ok(rows
            .into_iter()
            .map(|(k, v)| (k[prefix.len()..].to_vec(), v))
            .collect())
    }

    /// Whether `group` has any committed offset: such a group exists (Empty) even when not in memory.
    pub(crate) fn has_offsets(&self, group: &str) -> Result<bool, ResponseError> {
        if !super::valid_group_id(group) {
            return Ok(false);
        }
        Ok(!self.scan_group(group)?.is_empty())
    }

    /// Every group id with committed offsets, for ListGroups. This scans the whole table; ListGroups is a
    /// rare administrative call.
    pub(crate) fn groups_with_offsets(&self) -> Result<Vec<String>, ResponseError> {
        let rows = self
            .inner
            .engine
            .meta()
            .scan_prefix(OFFSETS_TABLE, &[])
            .map_err(|e| read_error(&e))?;
        let mut groups: Vec<String> = Vec::new();
        for (k, _) in rows {
            let Some(nul) = k.iter().position(|b| *b == 0) else {
                continue;
            };
            let group = String::from_utf8_lossy(&k[..nul]);
            if groups.last().map(String::as_str) != Some(&*group) {
                groups.push(group.into_owned());
            }
        }
        Ok(groups)
    }

    /// Removes every group's committed offsets of `topic`, for DeleteTopics to call once a topic is gone (as
    /// Kafka does): a topic recreated under the same name must not resume consumers from stale positions.
    /// Returns how many offsets were removed. Scans the whole table; topic deletion is rare.
    pub async fn delete_topic_offsets(&self, topic: &str) -> Result<usize, ResponseError> {
        let rows = self
            .inner
            .engine
            .meta()
            .scan_prefix(OFFSETS_TABLE, &[])
            .map_err(|e| read_error(&e))?;
        let ops: Vec<MetaOp> = rows
            .into_iter()
            .filter(|(k, _)| {
                let rest = k.iter().position(|b| *b == 0).map(|nul| &k[nul + 1..]);
                rest.and_then(split_key).is_some_and(|(t, _)| t == topic)
            })
            .map(|(key, _)| MetaOp::Delete {
                table: OFFSETS_TABLE.into(),
                key,
            })
            .collect();
        let n = ops.len();
        self.write_offsets(ops).await?;
        Ok(n)
    }

    /// Applies offset changes durably, mapping a failure onto the Kafka error every affected partition gets.
    pub(crate) async fn write_offsets(&self, ops: Vec<MetaOp>) -> Result<(), ResponseError> {
        if ops.is_empty() {
            return Ok(());
        }
        self.inner.engine.meta().commit(ops).await.map_err(|e| {
            tracing::warn!(error = %e, "writing committed offsets failed");
            store_error_code(&e)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_back_and_sort_by_partition() {
        let k = key("g", "orders", 258);
        assert_eq!(split_key(&k[2..]), Some(("orders".to_string(), 258)));
        assert!(key("g", "t", 2) < key("g", "t", 10));
        assert!(!key("g2", "t", 0).starts_with(&group_prefix("g")));
    }
}
