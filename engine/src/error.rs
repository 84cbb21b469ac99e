//! The engine's error type. Front ends map every variant explicitly onto their protocol's errors.

use std::path::PathBuf;

use crate::batch::BatchError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("metadata store error: {0}")]
    Meta(#[from] redb::Error),
    #[error("metadata record {what} is corrupt: {source}")]
    CorruptMetadata {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("the metadata writer has stopped")]
    MetaClosed,
    #[error("topic '{0}' already exists")]
    TopicExists(String),
    #[error("unknown topic '{0}'")]
    UnknownTopic(String),
    #[error("unknown partition {partition} of topic '{topic}'")]
    UnknownPartition { topic: String, partition: u32 },
    #[error("invalid topic name '{name}': {reason}")]
    InvalidTopicName { name: String, reason: &'static str },
    #[error("invalid partition count {requested}: {reason}")]
    InvalidPartitions { requested: u32, reason: String },
    #[error("invalid value '{value}' for config {key}: {reason}")]
    InvalidConfig {
        key: String,
        value: String,
        reason: String,
    },
    #[error("unknown topic config key '{0}'")]
    UnknownConfig(String),
    #[error("invalid record batch: {0}")]
    InvalidBatch(#[from] BatchError),
    #[error("record batch of {size} bytes exceeds max.message.bytes {max}")]
    MessageTooLarge { size: usize, max: u32 },
    #[error("offset {offset} is out of range [{log_start}, {high_watermark}]")]
    OffsetOutOfRange {
        offset: i64,
        log_start: i64,
        high_watermark: i64,
    },
    #[error("offset {0} is not the last offset of a batch")]
    NotBatchBoundary(i64),
    /// A write or fsync failed, so the partition's on-disk state is unknown until a restart recovers it. The
    /// underlying I/O error was logged where it happened; it is shared by every waiter, hence a string here.
    #[error("partition {partition} of '{topic}' is offline after a storage failure: {reason}")]
    PartitionFailed {
        topic: String,
        partition: u32,
        reason: String,
    },
    /// The partition was sealed (`Partition::seal`, a closed Kinesis shard) and accepts no more writes. Reads
    /// keep working. Retrying the same append can never succeed.
    #[error("partition {partition} of '{topic}' is sealed and accepts no more writes")]
    PartitionSealed { topic: String, partition: u32 },
    /// A replica append (`PartitionLog::append_replica`) whose batches do not continue the log end exactly: the
    /// replica's log diverged from the leader's. Never re-stamped; the owner truncates and retries.
    #[error(
        "replica append to partition {partition} of '{topic}' starts at offset {got}, but the log ends at {expected}"
    )]
    ReplicaOffsetMismatch {
        topic: String,
        partition: u32,
        expected: i64,
        got: i64,
    },
    /// The partition is replicated and this node does not lead it (or lost leadership while the write was in
    /// flight, so its outcome is unknown and a retry must be deduplicated). `leader` is the node it knows leads.
    #[error("this node does not lead partition {partition} of '{topic}' (leader: {leader:?})")]
    NotLeader {
        topic: String,
        partition: u32,
        leader: Option<i32>,
    },
    /// A change to a replicated partition that must go through its Raft group but cannot yet (seal,
    /// DeleteRecords): refused rather than applied on one replica only.
    #[error("{what} on partition {partition} of '{topic}' is not replicated yet on a cluster node")]
    NotReplicated {
        topic: String,
        partition: u32,
        what: String,
    },
    #[error("data directory {0} is in use by another process")]
    DataDirLocked(PathBuf),
    #[error("the engine is shutting down")]
    ShuttingDown,
    /// The partition holds segments in an object store (it was tiered) but this node has no remote store
    /// configured, so those offsets cannot be read.
    #[error("the partition has segments in an object store, but no remote store is configured")]
    NoRemoteStore,
    /// An object-store operation of a remote segment failed (the store's own error, as text: it is shared by
    /// the tiering crate's error type, which the engine does not know).
    #[error("remote segment {key}: {reason}")]
    RemoteStore { key: String, reason: String },
    /// A segment handed to the partition as uploaded does not match the local segment it replaces.
    #[error(
        "remote segment [{base}, {next}) does not match a sealed local segment of the partition"
    )]
    RemoteSegmentMismatch { base: i64, next: i64 },
}

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

/// Attaches a path to an I/O error.
pub(crate) trait IoContext<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|source| EngineError::Io {
            path: path.into(),
            source,
        })
    }
}
