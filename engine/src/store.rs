//! The segment-store seam: how a partition's segments are read. Partitions reach segment bytes only through a
//! [`SegmentStore`], whose read path is async; [`LocalStore`] implements it over local files (a blocking-pool
//! task doing positional reads through the engine's bounded fd cache, as before). The tiering work adds an
//! object-store implementation for segments uploaded and dropped locally, chosen per segment by the partition's
//! segment list.
// #[PerformanceCriticalPath]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::batch::BatchHeader;
use crate::error::{EngineError, Result};
use crate::segment::Segment;

/// The future [`SegmentStore`] methods return (owning its inputs, so it can run on another thread).
pub(crate) type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

/// Which bytes of each segment a read may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Limit {
    /// Up to the segment's published size (what the committed point covers).
    Visible,
    /// Up to everything written.
    Written,
}

impl Limit {
    fn of(self, s: &Segment) -> u64 {
        match self {
            Limit::Visible => s.visible(),
            Limit::Written => s.size(),
        }
    }
}

/// A read of whole batches starting with the one holding `offset`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ReadRange {
    pub(crate) offset: i64,
    /// Soft cap: at least one whole batch is returned.
    pub(crate) max_bytes: usize,
    /// No batch at or past this offset.
    pub(crate) end_offset: i64,
    pub(crate) limit: Limit,
}

/// Reads of a partition's segments. `segs` is the partition's segment list in offset order.
pub(crate) trait SegmentStore: Send + Sync {
    /// Whole batches for `range` from the first segment that has any (empty when none does).
    fn read(&self, segs: Arc<Vec<Arc<Segment>>>, range: ReadRange) -> StoreFuture<Vec<u8>>;
    /// The first batch below `end_offset` whose max timestamp is >= `ts`.
    fn find_by_time(
        &self,
        segs: Arc<Vec<Arc<Segment>>>,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>>;
    /// The visible batch of `seg` whose base offset is `base`.
    fn read_batch(&self, seg: Arc<Segment>, base: i64) -> StoreFuture<Option<Vec<u8>>>;
}

/// Segments in local files.
#[derive(Debug, Default)]
pub(crate) struct LocalStore;

/// Runs a blocking file read on the blocking pool; the task only fails to join when the runtime shuts down.
fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> StoreFuture<T> {
    Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or(Err(EngineError::ShuttingDown))
    })
}

impl SegmentStore for LocalStore {
    fn read(&self, segs: Arc<Vec<Arc<Segment>>>, r: ReadRange) -> StoreFuture<Vec<u8>> {
        blocking(move || {
            let first = segs
                .partition_point(|s| s.base_offset <= r.offset)
                .saturating_sub(1);
            for s in &segs[first..] {
                if let Some(v) = s.read(r.offset, r.max_bytes, r.limit.of(s), r.end_offset)? {
                    return Ok(v);
                }
            }
            Ok(Vec::new())
        })
    }

    fn find_by_time(
        &self,
        segs: Arc<Vec<Arc<Segment>>>,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>> {
        blocking(move || {
            for s in segs.iter() {
                if s.max_timestamp().0 < ts {
                    continue;
                }
                if let Some(hit) = s.find_by_time(ts, s.visible(), end_offset)? {
                    return Ok(Some(hit));
                }
            }
            Ok(None)
        })
    }

    fn read_batch(&self, seg: Arc<Segment>, base: i64) -> StoreFuture<Option<Vec<u8>>> {
        blocking(move || seg.read_batch(base, seg.visible()))
    }
}
