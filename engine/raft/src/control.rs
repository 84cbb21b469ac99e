//! Raft's own entries as Kafka control batches, so the partition log stays a plain Kafka log.
//!
//! A blank entry (every new leader's first) is a `LEADER_CHANGE` control record (type 2) and a membership entry a
//! `KRAFT_VOTERS` one (type 6), the types KRaft uses in its own log. They occupy one offset each, as KRaft's do;
//! consumers skip control batches, and clients ignore control types they do not know (librdkafka logs and skips
//! them, but only when the key is exactly 4 bytes, which it always is here).
//!
//! Both are built fully stamped (base offset, epoch, timestamp -1) from the entry alone, so every replica writes
//! byte-identical batches whether it built the batch itself or received it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strait_engine::batch::{self, BatchBuilder, BatchHeader, RecordInput};

use crate::types::Membership;

/// Kafka's `ControlRecordType.LEADER_CHANGE`.
pub const LEADER_CHANGE: i16 = 2;
/// Kafka's `ControlRecordType.KRAFT_VOTERS`.
pub const KRAFT_VOTERS: i16 = 6;

/// What a control batch of ours holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Control {
    /// A new leader's first entry.
    LeaderChange,
    Membership(Membership),
}

#[derive(Serialize, Deserialize)]
struct LeaderChangeValue {
    version: u8,
}

/// Builds the stored form of a control entry at `offset` in `term`.
pub(crate) fn encode(c: &Control, offset: i64, epoch: i32) -> Result<Bytes, ControlError> {
    let (kind, value) = match c {
        Control::LeaderChange => (
            LEADER_CHANGE,
            serde_json::to_vec(&LeaderChangeValue { version: 0 })?,
        ),
        Control::Membership(m) => (KRAFT_VOTERS, serde_json::to_vec(m)?),
    };
    let mut key = [0u8; 4];
    key[2..].copy_from_slice(&kind.to_be_bytes());
    let mut b = BatchBuilder::new().control();
    b.push(RecordInput {
        key: Some(&key),
        value: Some(&value),
        headers: &[],
        // No timestamp: a control entry must not move time lookups, and must be the same on every replica.
        timestamp_ms: -1,
    });
    let mut out = b.try_finish()?;
    batch::set_base_offset(&mut out, offset);
    batch::set_leader_epoch(&mut out, epoch);
    Ok(out.freeze())
}

/// Reads a stored batch back as one of our control entries; `None` for every other batch (data, and
/// transaction markers, which are data to Raft).
pub(crate) fn decode(h: &BatchHeader, raw: &[u8]) -> Result<Option<Control>, ControlError> {
    if !h.is_control() || h.is_transactional() {
        return Ok(None);
    }
    let (_, records) = batch::decode_records(raw)?;
    let Some(r) = records.first() else {
        return Ok(None);
    };
    let kind = match r.key.and_then(|k| k.get(2..4)) {
        Some(&[a, b]) => i16::from_be_bytes([a, b]),
        _ => return Ok(None),
    };
    match kind {
        LEADER_CHANGE => Ok(Some(Control::LeaderChange)),
        KRAFT_VOTERS => {
            let m: Membership = serde_json::from_slice(r.value.unwrap_or_default())?;
            Ok(Some(Control::Membership(m)))
        }
        _ => Ok(None),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control entry value: {0}")]
    Json(#[from] serde_json::Error),
    #[error("control batch: {0}")]
    Batch(#[from] batch::BatchError),
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    #[test]
    fn control_entries_round_trip_and_are_deterministic() {
        let nodes: BTreeMap<u64, openraft::BasicNode> = [
            (1, openraft::BasicNode::new("a")),
            (2, openraft::BasicNode::new("b")),
        ]
        .into();
        let m = Membership::new(vec![BTreeSet::from([1, 2])], nodes).expect("membership");
        for c in [Control::LeaderChange, Control::Membership(m)] {
            let a = encode(&c, 42, 7).expect("encode");
            assert_eq!(
                a,
                encode(&c, 42, 7).expect("encode"),
                "same bytes on every replica"
            );
            let h = batch::validate(&a).expect("a valid batch");
            assert_eq!((h.base_offset, h.partition_leader_epoch), (42, 7));
            assert!(h.is_control() && !h.is_transactional());
            assert_eq!(decode(&h, &a).expect("decode"), Some(c));
        }
    }

    #[test]
    fn data_batches_and_transaction_markers_are_not_ours() {
        let mut b = BatchBuilder::new();
        b.push(RecordInput {
            key: None,
            value: Some(b"v"),
            headers: &[],
            timestamp_ms: 1,
        });
        let data = b.finish().freeze();
        let h = batch::validate(&data).expect("valid");
        assert_eq!(decode(&h, &data).expect("decode"), None);
        let mut m = BatchBuilder::new().transactional(true).producer(5, 0, -1);
        m.push(RecordInput {
            key: Some(&[0, 0, 0, 1]),
            value: Some(b""),
            headers: &[],
            timestamp_ms: 1,
        });
        let marker = m.finish().freeze();
        let h = batch::validate(&marker).expect("valid");
        assert_eq!(decode(&h, &marker).expect("decode"), None);
    }
}
