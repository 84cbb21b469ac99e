//! The segment-store seam: how a partition's segments are read. A partition's segments form a [`SegmentSet`]:
//! the oldest may be remote (uploaded to an object store by tiering and gone from the local disk), the rest are
//! local files, the last one active. Partitions reach segment bytes only through a [`SegmentStore`], whose read
//! path is async; [`TieredStore`] serves local segments from files (a blocking-pool task doing positional reads
//! through the engine's bounded fd cache) and remote ones through a [`RemoteStore`] when one is configured.
// #[PerformanceCriticalPath]

mod local;
mod remote;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

pub use remote::{RemoteSegment, RemoteStore};

use crate::batch::BatchHeader;
use crate::error::{EngineError, Result};
use crate::segment::Segment;

/// The future [`SegmentStore`] and [`RemoteStore`] methods return (owning its inputs, so it can run on another
/// thread).
pub type StoreFuture<T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'static>>;

/// Which bytes of each local segment a read may see (remote segments hold only committed data).
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

/// A snapshot of a partition's segments in offset order: remote ones (all below the first local one), then local.
#[derive(Clone, Default)]
pub(crate) struct SegmentSet {
    pub(crate) remote: Arc<Vec<Arc<RemoteSegment>>>,
    pub(crate) local: Arc<Vec<Arc<Segment>>>,
}

impl SegmentSet {
    /// Whether `offset` lies below the first local segment (so only a remote segment can hold it).
    fn is_remote(&self, offset: i64) -> bool {
        !self.remote.is_empty() && self.local.first().is_none_or(|s| offset < s.base_offset)
    }
}

/// Reads of a partition's segment set.
pub(crate) trait SegmentStore: Send + Sync {
    /// Whole batches for `range` from the first segment that has any (empty when none does).
    fn read(&self, set: SegmentSet, range: ReadRange) -> StoreFuture<Vec<u8>>;
    /// The first batch below `end_offset` whose max timestamp is >= `ts`.
    fn find_by_time(
        &self,
        set: SegmentSet,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>>;
    /// The visible batch of `seg` whose base offset is `base`.
    fn read_batch(&self, seg: SegmentRef, base: i64) -> StoreFuture<Option<Vec<u8>>>;
}

/// One segment of a set, wherever it is.
#[derive(Clone)]
pub(crate) enum SegmentRef {
    Local(Arc<Segment>),
    Remote(Arc<RemoteSegment>),
}

/// Local files, plus an object store for remote segments when tiering is configured.
#[derive(Default)]
pub(crate) struct TieredStore {
    remote: Option<Arc<dyn RemoteStore>>,
}

impl TieredStore {
    pub(crate) fn new(remote: Option<Arc<dyn RemoteStore>>) -> TieredStore {
        TieredStore { remote }
    }

    /// The object store, or the error a partition holding remote segments without one gets (a data directory
    /// tiered by a node whose tiering is now switched off).
    pub(crate) fn remote(&self) -> Result<Arc<dyn RemoteStore>> {
        self.remote.clone().ok_or(EngineError::NoRemoteStore)
    }
}

impl SegmentStore for TieredStore {
    fn read(&self, set: SegmentSet, r: ReadRange) -> StoreFuture<Vec<u8>> {
        if !set.is_remote(r.offset) {
            return local::read(set.local, r);
        }
        let remote = self.remote();
        Box::pin(async move {
            let remote = remote?;
            let first = set.remote.partition_point(|s| s.next_offset <= r.offset);
            for s in &set.remote[first..] {
                if let Some(v) = remote
                    .read(s.clone(), r.offset, r.max_bytes, r.end_offset)
                    .await?
                    && !v.is_empty()
                {
                    return Ok(v);
                }
            }
            // The offset is past every remote segment (a gap a crash cannot leave, but reads stay total).
            local::read(set.local, r).await
        })
    }

    fn find_by_time(
        &self,
        set: SegmentSet,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>> {
        if !set.remote.iter().any(|s| s.max_timestamp >= ts) {
            return local::find_by_time(set.local, ts, end_offset);
        }
        let remote = self.remote();
        Box::pin(async move {
            let remote = remote?;
            for s in set.remote.iter().filter(|s| s.max_timestamp >= ts) {
                if let Some(hit) = remote.find_by_time(s.clone(), ts, end_offset).await? {
                    return Ok(Some(hit));
                }
            }
            local::find_by_time(set.local, ts, end_offset).await
        })
    }

    fn read_batch(&self, seg: SegmentRef, base: i64) -> StoreFuture<Option<Vec<u8>>> {
        match seg {
            SegmentRef::Local(seg) => local::read_batch(seg, base),
            SegmentRef::Remote(seg) => match self.remote() {
                Ok(remote) => remote.read_batch(seg, base),
                Err(e) => Box::pin(async move { Err(e) }),
            },
        }
    }
}
