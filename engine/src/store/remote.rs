//! Segments that live in an object store: what the partition keeps about each ([`RemoteSegment`], persisted in
//! its metadata row) and how their bytes are read ([`RemoteStore`], implemented by the tiering crate over S3).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::StoreFuture;
use crate::batch::BatchHeader;
use crate::txn::AbortedTxn;

/// A sealed segment whose bytes are in an object store and no longer in a local file. Covers the offsets
/// `[base_offset, next_offset)`; everything in it was committed before it was uploaded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteSegment {
    pub base_offset: i64,
    /// One past the last offset it holds.
    pub next_offset: i64,
    /// The largest record timestamp in it and the offset of that record (`-1, -1` when it has none).
    pub max_timestamp: i64,
    pub max_timestamp_offset: i64,
    /// Size of the segment's log bytes.
    pub size_bytes: u64,
    /// Where the store keeps it (opaque to the engine: an object key, an id).
    pub key: String,
    /// Transactions aborted inside it, so READ_COMMITTED reads of it stay right after a restart (the local
    /// `.txnindex` went with the local file).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aborted: Vec<AbortedTxn>,
}

/// Reads of remote segments. Each call gets the segment's descriptor; the implementation maps it to its objects
/// (the log bytes, an offset index, a time index) however it stored them. The futures own their inputs.
pub trait RemoteStore: Send + Sync {
    /// Whole batches starting with the one containing `offset`, up to `max_bytes` (at least one whole batch), none
    /// at or past `end_offset`; `None` when the segment has no batch at or after `offset` below `end_offset`.
    fn read(
        &self,
        seg: Arc<RemoteSegment>,
        offset: i64,
        max_bytes: usize,
        end_offset: i64,
    ) -> StoreFuture<Option<Vec<u8>>>;
    /// The first batch below `end_offset` whose max timestamp is >= `ts`, with its bytes.
    fn find_by_time(
        &self,
        seg: Arc<RemoteSegment>,
        ts: i64,
        end_offset: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>>;
    /// The batch whose base offset is `base`.
    fn read_batch(&self, seg: Arc<RemoteSegment>, base: i64) -> StoreFuture<Option<Vec<u8>>>;
    /// Deletes the segment's objects, once retention or DeleteRecords moved the log start past it (the start is
    /// durable before this is called, so a failure here leaves an orphan, never a hole).
    fn delete(&self, seg: Arc<RemoteSegment>) -> StoreFuture<()>;
}
