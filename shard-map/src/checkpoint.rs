//! KCL lease checkpoints ↔ Kafka consumer-group committed offsets (see docs/migration.md for the rules as users
//! read them).
//!
//! A lease's checkpoint names the last record the application has processed (a sequence number, plus a
//! sub-sequence number inside a KPL aggregate), or a sentinel. A Kafka committed offset names the next record to
//! read. So a checkpoint at offset `o` is committed offset `o + 1`, unless the record at `o` is an aggregate that
//! the checkpoint covers only in part: then the group must re-read it and the committed offset is `o` (the
//! sub-sequence number travels in the commit's metadata, written by the server). A closed shard's `SHARD_END` is
//! its sealed end offset. `TRIM_HORIZON`, `LATEST` and `AT_TIMESTAMP` mean "nothing processed yet" and commit
//! nothing.

use crate::error::ShardMapError;
use crate::sequence::SequenceNumber;

/// A KCL lease's `checkpoint` (+ `checkpointSubSequenceNumber`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseCheckpoint {
    TrimHorizon,
    Latest,
    AtTimestamp,
    ShardEnd,
    /// The last processed record (and sub-record of an aggregate; 0 for an ordinary record).
    At {
        sequence: SequenceNumber,
        sub: u64,
    },
}

impl LeaseCheckpoint {
    /// Parses the lease attributes as KCL writes them.
    pub fn parse(checkpoint: &str, sub: u64) -> Result<LeaseCheckpoint, ShardMapError> {
        Ok(match checkpoint {
            "TRIM_HORIZON" => LeaseCheckpoint::TrimHorizon,
            "LATEST" => LeaseCheckpoint::Latest,
            "AT_TIMESTAMP" => LeaseCheckpoint::AtTimestamp,
            "SHARD_END" => LeaseCheckpoint::ShardEnd,
            s => LeaseCheckpoint::At {
                sequence: SequenceNumber::decode(s)?,
                sub,
            },
        })
    }

    /// The value of the lease's `checkpoint` attribute.
    pub fn checkpoint_attr(&self) -> String {
        match self {
            LeaseCheckpoint::TrimHorizon => "TRIM_HORIZON".into(),
            LeaseCheckpoint::Latest => "LATEST".into(),
            LeaseCheckpoint::AtTimestamp => "AT_TIMESTAMP".into(),
            LeaseCheckpoint::ShardEnd => "SHARD_END".into(),
            LeaseCheckpoint::At { sequence, .. } => sequence.encode(),
        }
    }

    /// The value of the lease's `checkpointSubSequenceNumber` attribute.
    pub fn sub_sequence(&self) -> u64 {
        match self {
            LeaseCheckpoint::At { sub, .. } => *sub,
            _ => 0,
        }
    }
}

/// A consumer group's position equivalent to a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupOffset {
    /// The committed offset: the next record a Kafka consumer reads.
    pub offset: i64,
    /// Set when `offset` is an aggregate the checkpoint covers up to this sub-record.
    pub sub_sequence: Option<u64>,
}

/// The committed offset for a checkpoint of a shard whose sealed end is `shard_end` (`None` while open).
/// `aggregate_len` is the number of KPL sub-records in the checkpointed record (`None`: an ordinary record).
/// `None` when the checkpoint says nothing has been processed.
pub fn group_offset(
    cp: &LeaseCheckpoint,
    shard_end: Option<i64>,
    aggregate_len: Option<usize>,
) -> Option<GroupOffset> {
    match cp {
        LeaseCheckpoint::TrimHorizon | LeaseCheckpoint::Latest | LeaseCheckpoint::AtTimestamp => {
            None
        }
        LeaseCheckpoint::ShardEnd => shard_end.map(|offset| GroupOffset {
            offset,
            sub_sequence: None,
        }),
        LeaseCheckpoint::At { sequence, sub } => {
            let partial = aggregate_len.is_some_and(|n| sub.saturating_add(1) < n as u64);
            Some(if partial {
                GroupOffset {
                    offset: sequence.offset.max(0),
                    sub_sequence: Some(*sub),
                }
            } else {
                GroupOffset {
                    offset: sequence.offset.saturating_add(1).max(0),
                    sub_sequence: None,
                }
            })
        }
    }
}

/// The checkpoint equivalent to a group's committed offset `committed` on shard `shard` of a stream of
/// `incarnation`. `aggregate_len_before` is the number of KPL sub-records in the record at `committed - 1`
/// (`None`: an ordinary record), so that the checkpoint covers all of it.
pub fn lease_checkpoint(
    incarnation: u32,
    shard: u32,
    committed: i64,
    shard_end: Option<i64>,
    aggregate_len_before: Option<usize>,
) -> LeaseCheckpoint {
    if shard_end.is_some_and(|end| committed >= end) {
        return LeaseCheckpoint::ShardEnd;
    }
    if committed <= 0 {
        return LeaseCheckpoint::TrimHorizon;
    }
    LeaseCheckpoint::At {
        sequence: SequenceNumber {
            incarnation,
            shard,
            offset: committed - 1,
        },
        sub: aggregate_len_before.map_or(0, |n| n.saturating_sub(1) as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(offset: i64, sub: u64) -> LeaseCheckpoint {
        LeaseCheckpoint::At {
            sequence: SequenceNumber {
                incarnation: 7,
                shard: 2,
                offset,
            },
            sub,
        }
    }

    #[test]
    fn sentinels_commit_nothing_and_shard_end_commits_the_sealed_end() {
        for s in ["TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"] {
            let cp = LeaseCheckpoint::parse(s, 0).expect("valid");
            assert_eq!(cp.checkpoint_attr(), s);
            assert_eq!(group_offset(&cp, Some(5), None), None);
        }
        let end = LeaseCheckpoint::parse("SHARD_END", 0).expect("valid");
        assert_eq!(
            group_offset(&end, Some(42), None).expect("valid").offset,
            42
        );
        assert_eq!(group_offset(&end, None, None), None);
        assert_eq!(lease_checkpoint(7, 2, 42, Some(42), None), end);
    }

    #[test]
    fn an_ordinary_record_checkpoint_is_the_next_offset_and_back() {
        let cp = LeaseCheckpoint::parse(&at(9, 0).checkpoint_attr(), 0).expect("valid");
        assert_eq!(cp, at(9, 0));
        let g = group_offset(&cp, None, None).expect("valid");
        assert_eq!((g.offset, g.sub_sequence), (10, None));
        assert_eq!(lease_checkpoint(7, 2, 10, None, None), cp);
    }

    #[test]
    fn aggregates_commit_the_record_until_every_sub_record_is_done() {
        let partial = group_offset(&at(9, 1), None, Some(3)).expect("valid");
        assert_eq!((partial.offset, partial.sub_sequence), (9, Some(1)));
        let full = group_offset(&at(9, 2), None, Some(3)).expect("valid");
        assert_eq!((full.offset, full.sub_sequence), (10, None));
        assert_eq!(lease_checkpoint(7, 2, 10, None, Some(3)), at(9, 2));
    }

    #[test]
    fn nothing_committed_is_trim_horizon() {
        assert_eq!(
            lease_checkpoint(7, 2, 0, None, None),
            LeaseCheckpoint::TrimHorizon
        );
        assert!(LeaseCheckpoint::parse("nonsense", 0).is_err());
    }
}
