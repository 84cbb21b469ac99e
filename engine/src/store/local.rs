//! Reads of local segment files: a blocking-pool task doing positional reads through the fd cache.
// #[PerformanceCriticalPath]

use std::sync::Arc;

use super::{ReadRange, StoreFuture};
use crate::batch::BatchHeader;
use crate::error::{EngineError, Result};
use crate::segment::Segment;

/// Runs a blocking file read on the blocking pool; the task only fails to join when the runtime shuts down.
fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> StoreFuture<T> {
    Box::pin(async move {
        tokio::task::spawn_blocking(f)
            .await
            .unwrap_or(Err(EngineError::ShuttingDown))
    })
}

pub(super) fn read(segs: Arc<Vec<Arc<Segment>>>, r: ReadRange) -> StoreFuture<Vec<u8>> {
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

pub(super) fn find_by_time(
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

pub(super) fn read_batch(seg: Arc<Segment>, base: i64) -> StoreFuture<Option<Vec<u8>>> {
    blocking(move || seg.read_batch(base, seg.visible()))
}
