//! Committed group offsets for other front ends (the KCL bridge), without their knowing how Kafka stores them.
//!
//! The bridge reads a group's offsets and commits new ones in the same metadata transaction as the DynamoDB lease
//! they mirror; [`GroupOffsets::commit_op`] hands it the change to add to that transaction.

use strait_engine::{EngineError, MetaOp, MetaStore};

pub use super::offsets::CommittedOffset;
use super::offsets::{OFFSETS_TABLE, key, split_group_key};

/// Read access to committed offsets and the changes that commit them; cheap to clone.
#[derive(Clone)]
pub struct GroupOffsets {
    meta: MetaStore,
}

impl GroupOffsets {
    pub fn new(meta: MetaStore) -> GroupOffsets {
        GroupOffsets { meta }
    }

    /// The offset `group` committed for `topic`/`partition`, if any. A corrupt record reads as none (logged).
    pub fn committed(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
    ) -> Result<Option<CommittedOffset>, EngineError> {
        let Some(bytes) = self
            .meta
            .get(OFFSETS_TABLE, &key(group, topic, partition))?
        else {
            return Ok(None);
        };
        Ok(decode(group, &bytes))
    }

    /// Every offset `group` committed, in topic and partition order.
    pub fn committed_in_group(
        &self,
        group: &str,
    ) -> Result<Vec<(String, i32, CommittedOffset)>, EngineError> {
        let prefix = key_prefix(group);
        let rows = self.meta.scan_prefix(OFFSETS_TABLE, &prefix)?;
        Ok(rows
            .into_iter()
            .filter_map(|(k, v)| {
                let (topic, partition) = split_group_key(&k[prefix.len()..])?;
                Some((topic, partition, decode(group, &v)?))
            })
            .collect())
    }

    /// The change that commits `offset` for `group`/`topic`/`partition`, to be committed by the caller (with
    /// whatever else must become durable at the same moment).
    pub fn commit_op(
        &self,
        group: &str,
        topic: &str,
        partition: i32,
        offset: &CommittedOffset,
    ) -> Result<MetaOp, serde_json::Error> {
        Ok(MetaOp::Put {
            table: OFFSETS_TABLE.into(),
            key: key(group, topic, partition),
            value: serde_json::to_vec(offset)?,
        })
    }
}

impl GroupOffsets {
    /// The changes that remove every group's committed offsets of `topic`: what Kafka does when a topic is deleted,
    /// so a topic re-created under the name does not resume consumers from stale positions. For front ends that
    /// delete topics without going through Kafka's DeleteTopics (Kinesis DeleteStream, through the KCL bridge).
    pub fn topic_delete_ops(&self, topic: &str) -> Result<Vec<MetaOp>, EngineError> {
        let rows = self.meta.scan_prefix(OFFSETS_TABLE, &[])?;
        Ok(rows
            .into_iter()
            .filter(|(k, _)| {
                let rest = k.iter().position(|b| *b == 0).map(|nul| &k[nul + 1..]);
                rest.and_then(split_group_key)
                    .is_some_and(|(t, _)| t == topic)
            })
            .map(|(key, _)| MetaOp::Delete {
                table: OFFSETS_TABLE.into(),
                key,
            })
            .collect())
    }
}

fn key_prefix(group: &str) -> Vec<u8> {
    let mut k = group.as_bytes().to_vec();
    k.push(0);
    k
}

fn decode(group: &str, bytes: &[u8]) -> Option<CommittedOffset> {
    match serde_json::from_slice(bytes) {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::warn!(group, error = %e, "corrupt committed offset record");
            None
        }
    }
}
