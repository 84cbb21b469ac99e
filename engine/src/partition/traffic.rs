//! What a partition took in from producers and handed out to consumers, for the per-partition series on
//! `/metrics` (`strait_partition_*_total`).
//!
//! Plain atomics on the partition rather than labelled `metrics` counters: the scrape walks the engine's live
//! partitions, so a deleted topic's series disappear with it instead of staying in the exporter forever, and the
//! hot paths pay one relaxed add instead of a registry lookup keyed by two labels.
//!
//! "In" is counted once per accepted append, where the client's write is acknowledged: by the single-node log's
//! [`PartitionLog::append`](super::PartitionLog::append), or by a replicated partition's leader once Raft commits
//! it (never again on followers, so a sum over a cluster's nodes counts each record once). "Out" is counted by
//! the front ends for what they deliver to consumers (Kafka Fetch and ShareFetch, Kinesis GetRecords and
//! SubscribeToShard), not for the engine's internal reads (recovery scans, timestamp lookups, replication).

use std::sync::atomic::{AtomicU64, Ordering};

use crate::batch::BatchHeader;

/// Byte and record totals of one partition since it was opened on this node.
#[derive(Debug, Default)]
pub struct Traffic {
    bytes_in: AtomicU64,
    records_in: AtomicU64,
    bytes_out: AtomicU64,
    records_out: AtomicU64,
}

/// A copy of [`Traffic`]'s totals.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrafficTotals {
    pub bytes_in: u64,
    pub records_in: u64,
    pub bytes_out: u64,
    pub records_out: u64,
}

impl Traffic {
    /// An acknowledged append of `bytes` bytes of batches holding `records` records.
    pub fn accepted(&self, bytes: u64, records: u64) {
        self.bytes_in.fetch_add(bytes, Ordering::Relaxed);
        self.records_in.fetch_add(records, Ordering::Relaxed);
    }

    /// Records handed to a consumer, counted by the front end in whatever unit it delivers them.
    pub fn delivered(&self, bytes: u64, records: u64) {
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
        self.records_out.fetch_add(records, Ordering::Relaxed);
    }

    /// Whole stored batches handed to a consumer as they are (a Kafka Fetch): their bytes, and the records their
    /// headers count. Control batches (transaction markers) are bytes on the wire but no records.
    pub fn delivered_batches(&self, batches: &[u8]) {
        let mut records = 0u64;
        let mut rest = batches;
        while let Ok(h) = BatchHeader::parse(rest) {
            // A batch cut short (a size-limited read) delivers bytes but no whole records.
            let Some(next) = rest.get(h.total_len()..) else {
                break;
            };
            if !h.is_control() {
                records += u64::try_from(h.record_count).unwrap_or(0);
            }
            rest = next;
        }
        self.delivered(batches.len() as u64, records);
    }

    pub fn totals(&self) -> TrafficTotals {
        TrafficTotals {
            bytes_in: self.bytes_in.load(Ordering::Relaxed),
            records_in: self.records_in.load(Ordering::Relaxed),
            bytes_out: self.bytes_out.load(Ordering::Relaxed),
            records_out: self.records_out.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batch::{BatchBuilder, RecordInput};

    #[test]
    fn delivered_batches_counts_the_records_of_each_whole_batch() {
        let mut builder = BatchBuilder::new();
        for v in [b"a".as_slice(), b"bb", b"ccc"] {
            builder.push(RecordInput {
                key: None,
                value: Some(v),
                headers: &[],
                timestamp_ms: 0,
            });
        }
        let one = builder.finish().to_vec();
        let mut two = one.clone();
        two.extend_from_slice(&one);
        let t = Traffic::default();
        t.delivered_batches(&two);
        // A torn tail (a read cut inside a batch) is bytes without records.
        t.delivered_batches(&one[..one.len() - 1]);
        let got = t.totals();
        assert_eq!(got.records_out, 6);
        assert_eq!(got.bytes_out, (two.len() + one.len() - 1) as u64);
        t.accepted(10, 2);
        assert_eq!((t.totals().bytes_in, t.totals().records_in), (10, 2));
    }
}
