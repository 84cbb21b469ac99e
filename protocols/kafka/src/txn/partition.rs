//! Per data partition: which producers have an open transaction in it (and from which offset), and which
//! transactions were aborted there. This is what the last stable offset (LSO) and READ_COMMITTED fetches need
//! (Kafka keeps it in the partition's `ProducerStateManager` and the aborted-transaction index).
//!
//! Both sets are durable in meta tables keyed by topic id and partition, so a topic re-created under the same name
//! starts clean:
//! - [`ONGOING`]: `topic id (16) | partition (4, BE) | producer id (8, BE)` → first offset (8, BE);
//! - [`ABORTED`]: `topic id | partition | abort marker offset (8, BE) | producer id (8, BE)` → first offset.
//!
//! The first offset of an open transaction is recorded *before* its first batch is appended, as the log end at that
//! moment (under the partition's producer lock, so no batch of that producer can come in between). It is therefore
//! a lower bound of the real first offset. That is safe: the LSO is at most a few batches lower than it could be
//! until the transaction ends, and an aborted range that starts early cannot hide other producers' records, since
//! clients filter aborted ranges by producer id.

use std::collections::BTreeMap;

use strait_engine::MetaOp;

pub const ONGOING: &str = "kafka_txn_ongoing";
pub const ABORTED: &str = "kafka_txn_aborted";

/// An aborted transaction as Fetch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aborted {
    pub producer_id: i64,
    pub first_offset: i64,
    /// Offset of the ABORT marker.
    pub last_offset: i64,
}

#[derive(Debug, Default)]
pub struct PartitionTxns {
    /// Producer id → first offset of its open transaction.
    pub ongoing: BTreeMap<i64, i64>,
    /// Sorted by marker offset.
    pub aborted: Vec<Aborted>,
}

pub fn prefix(topic_id: uuid::Uuid, partition: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(36);
    k.extend_from_slice(topic_id.as_bytes());
    k.extend_from_slice(&partition.to_be_bytes());
    k
}

fn be_i64(b: &[u8]) -> Option<i64> {
    Some(i64::from_be_bytes(b.get(..8)?.try_into().ok()?))
}

impl PartitionTxns {
    /// Rebuilds the state from the two tables' rows under `prefix` (rows that do not parse are skipped: they can
    /// only come from a foreign writer).
    pub fn from_rows(
        prefix_len: usize,
        ongoing: Vec<(Vec<u8>, Vec<u8>)>,
        aborted: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> PartitionTxns {
        let mut s = PartitionTxns::default();
        for (k, v) in ongoing {
            if let (Some(pid), Some(first)) = (be_i64(&k[prefix_len.min(k.len())..]), be_i64(&v)) {
                s.ongoing.insert(pid, first);
            }
        }
        for (k, v) in aborted {
            let rest = &k[prefix_len.min(k.len())..];
            if let (Some(last), Some(pid), Some(first)) =
                (be_i64(rest), rest.get(8..).and_then(be_i64), be_i64(&v))
            {
                s.aborted.push(Aborted {
                    producer_id: pid,
                    first_offset: first,
                    last_offset: last,
                });
            }
        }
        s.aborted.sort_by_key(|a| a.last_offset);
        s
    }

    /// The first offset of the earliest open transaction, if any.
    pub fn first_unstable(&self) -> Option<i64> {
        self.ongoing.values().min().copied()
    }

    /// Aborted transactions a fetch from `from` up to (not including) `to` must report: Kafka's rule, those whose
    /// marker is at or after `from` and whose data starts before `to`.
    pub fn aborted_between(&self, from: i64, to: i64) -> Vec<Aborted> {
        let start = self.aborted.partition_point(|a| a.last_offset < from);
        self.aborted[start..]
            .iter()
            .filter(|a| a.first_offset < to)
            .copied()
            .collect()
    }
}

pub fn ongoing_op(prefix: &[u8], producer_id: i64, first_offset: Option<i64>) -> MetaOp {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&producer_id.to_be_bytes());
    match first_offset {
        Some(f) => MetaOp::Put {
            table: ONGOING.into(),
            key,
            value: f.to_be_bytes().to_vec(),
        },
        None => MetaOp::Delete {
            table: ONGOING.into(),
            key,
        },
    }
}

pub fn aborted_op(prefix: &[u8], a: &Aborted) -> MetaOp {
    let mut key = prefix.to_vec();
    key.extend_from_slice(&a.last_offset.to_be_bytes());
    key.extend_from_slice(&a.producer_id.to_be_bytes());
    MetaOp::Put {
        table: ABORTED.into(),
        key,
        value: a.first_offset.to_be_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aborted_ranges_and_lso() {
        let mut s = PartitionTxns::default();
        assert_eq!(s.first_unstable(), None);
        s.ongoing.insert(7, 40);
        s.ongoing.insert(3, 12);
        assert_eq!(s.first_unstable(), Some(12));
        s.aborted = vec![
            Aborted {
                producer_id: 1,
                first_offset: 0,
                last_offset: 5,
            },
            Aborted {
                producer_id: 2,
                first_offset: 6,
                last_offset: 20,
            },
            Aborted {
                producer_id: 1,
                first_offset: 21,
                last_offset: 30,
            },
        ];
        let pids = |v: Vec<Aborted>| v.iter().map(|a| a.last_offset).collect::<Vec<_>>();
        assert_eq!(pids(s.aborted_between(0, 100)), vec![5, 20, 30]);
        assert_eq!(pids(s.aborted_between(6, 100)), vec![20, 30]);
        assert_eq!(pids(s.aborted_between(6, 21)), vec![20]);
        assert_eq!(pids(s.aborted_between(31, 100)), Vec::<i64>::new());
    }

    #[test]
    fn rows_round_trip() {
        let p = prefix(uuid::Uuid::from_u128(9), 3);
        let row = |op: MetaOp| match op {
            MetaOp::Put { key, value, .. } => (key, value),
            other => panic!("unexpected {other:?}"),
        };
        let a = Aborted {
            producer_id: 4,
            first_offset: 10,
            last_offset: 15,
        };
        let s = PartitionTxns::from_rows(
            p.len(),
            vec![row(ongoing_op(&p, 8, Some(99)))],
            vec![row(aborted_op(&p, &a))],
        );
        assert_eq!(s.ongoing.get(&8), Some(&99));
        assert_eq!(s.aborted, vec![a]);
    }
}
