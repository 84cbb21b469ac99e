//! Reads: whole batches up to the high watermark (or the log end), the long poll, and timestamp lookups.
// #[PerformanceCriticalPath]

use std::time::Duration;

use bytes::Bytes;

use super::{Bound, LocalLog, ReadResult};
use crate::batch::BatchHeader;
use crate::error::{EngineError, Result};
use crate::store::{Limit, ReadRange, SegmentRef, SegmentStore};
use crate::util::lock;

impl LocalLog {
    /// Reads whole batches from `offset` (at least one batch, else up to `max_bytes`) below the high watermark.
    pub async fn read(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_bounded(offset, max_bytes, Bound::Committed).await
    }

    /// Like [`read`](Self::read) but up to the log end, including data not yet durable or committed: the
    /// index-range read a Raft leader needs to replicate its log.
    pub async fn read_uncommitted(&self, offset: i64, max_bytes: usize) -> Result<ReadResult> {
        self.read_bounded(offset, max_bytes, Bound::Written).await
    }

    async fn read_bounded(
        &self,
        offset: i64,
        max_bytes: usize,
        bound: Bound,
    ) -> Result<ReadResult> {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let end = match bound {
            Bound::Committed => hw,
            Bound::Written => lock(&self.writer).next_offset,
        };
        if offset < log_start || offset > end {
            return Err(EngineError::OffsetOutOfRange {
                offset,
                log_start,
                high_watermark: hw,
            });
        }
        let empty = ReadResult {
            records: Bytes::new(),
            high_watermark: hw,
            log_start,
        };
        if offset == end {
            return Ok(empty);
        }
        let range = ReadRange {
            offset,
            max_bytes,
            end_offset: end,
            limit: match bound {
                Bound::Committed => Limit::Visible,
                Bound::Written => Limit::Written,
            },
        };
        let records = self.store.read(self.segment_set(), range).await?;
        Ok(ReadResult {
            records: Bytes::from(records),
            ..empty
        })
    }

    /// Waits until the high watermark passes `offset` or `timeout` elapses; returns the high watermark.
    /// This is the long-poll primitive behind Kafka Fetch `max_wait_ms` and Kinesis long-lived reads.
    pub async fn wait_for_data(&self, offset: i64, timeout: Duration) -> i64 {
        let mut rx = self.hw.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            loop {
                if *rx.borrow_and_update() > offset {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        self.high_watermark()
    }

    /// The first committed batch whose max timestamp is >= `ts` (the front end picks the record inside it).
    pub async fn find_by_timestamp(&self, ts: i64) -> Result<Option<(BatchHeader, Bytes)>> {
        let hw = self.high_watermark();
        let found = self.store.find_by_time(self.segment_set(), ts, hw).await?;
        Ok(found.map(|(h, b)| (h, Bytes::from(b))))
    }

    /// The committed batch holding the largest timestamp (Kafka's ListOffsets MAX_TIMESTAMP).
    pub async fn max_timestamp_batch(&self) -> Result<Option<(BatchHeader, Bytes)>> {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let set = self.segment_set();
        let remote = set.remote.iter().map(|s| {
            (
                (s.max_timestamp, s.max_timestamp_offset),
                SegmentRef::Remote(s.clone()),
            )
        });
        let local = set
            .local
            .iter()
            .map(|s| (s.max_timestamp(), SegmentRef::Local(s.clone())));
        // On a tie the later segment wins, as before remote segments existed.
        let mut best: Option<((i64, i64), SegmentRef)> = None;
        for (key @ (ts, off), seg) in remote.chain(local) {
            if off < log_start || off >= hw {
                continue;
            }
            if best.as_ref().is_none_or(|((b, _), _)| ts >= *b) {
                best = Some((key, seg));
            }
        }
        let Some(((_, off), seg)) = best else {
            return Ok(None);
        };
        let bytes = self.store.read_batch(seg, off).await?;
        Ok(bytes.and_then(|b| BatchHeader::parse(&b).ok().map(|h| (h, Bytes::from(b)))))
    }
}
