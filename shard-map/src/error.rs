//! The crate's error type. Every variant carries the values AWS puts in its message, so the Kinesis front end can
//! answer with AWS's exception type and text (`aws_error_type` and `aws_message`, in [`crate::aws`]).

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShardMapError {
    /// A hash key (ExplicitHashKey, NewStartingHashKey) that is not a decimal in `0..=2^128-1`.
    #[error("invalid hash key '{value}': {reason}")]
    InvalidHashKey { value: String, reason: &'static str },
    /// A string that is not a shard id of the form `shardId-` + 12 digits.
    #[error("invalid shard id '{0}'")]
    InvalidShardId(String),
    /// A sequence number that Strait did not issue (wrong shape, or reserved digits set).
    #[error("invalid sequence number '{value}': {reason}")]
    InvalidSequenceNumber { value: String, reason: &'static str },
    /// A shard index beyond the stream's lineage.
    #[error("shard {shard} does not exist")]
    ShardNotFound { shard: u32 },
    /// SplitShard/MergeShards on a shard that is already closed.
    #[error("shard {shard} has already been merged or split")]
    ShardClosed { shard: u32 },
    /// SplitShard with a NewStartingHashKey outside `(start + 1, end)` of the shard (AWS's bounds, exclusive).
    #[error(
        "hash key {key} is not both greater than one plus {start} and less than {end} of shard {shard}"
    )]
    InvalidSplitHashKey {
        shard: u32,
        key: u128,
        start: u128,
        end: u128,
    },
    /// MergeShards on two shards whose ranges do not touch (or on one shard twice).
    #[error("shards {shard} and {adjacent} are not an adjacent pair")]
    NotAdjacent { shard: u32, adjacent: u32 },
    /// UpdateShardCount or a new map with zero shards.
    #[error("shard count {requested} is not allowed: at least 1 shard is required")]
    InvalidShardCount { requested: u32 },
    /// UpdateShardCount above twice the open shard count.
    #[error("cannot scale up over double the open shard count {open} (target {target})")]
    ScaleUpTooFar { open: u32, target: u32 },
    /// UpdateShardCount below half the open shard count.
    #[error("cannot scale down below half the open shard count {open} (target {target})")]
    ScaleDownTooFar { open: u32, target: u32 },
    /// UpdateShardCount beyond the configured per-stream shard limit.
    #[error("target shard count {target} or open shard count {open} exceeds the limit {limit}")]
    ShardLimitExceeded { limit: u32, open: u32, target: u32 },
    /// `apply` of a plan made against a different version of the map.
    #[error("the plan was made when the next shard index was {planned}, but it is now {actual}")]
    StalePlan { planned: u32, actual: u32 },
    /// `apply` without the sealed end offset of a shard the plan closes.
    #[error("no sealed end offset was given for shard {shard}")]
    MissingEndOffset { shard: u32 },
    /// A persisted map that violates the lineage invariants.
    #[error("corrupt shard map: {0}")]
    CorruptMap(String),
    /// A PartitionKey that starts with the escape prefix of the Kafka-key rule but is not an escaped key
    /// ([`crate::partition_key::decode_partition_key`]).
    #[error("'{value}' is not an escaped Kafka key: {reason}")]
    InvalidEscapedPartitionKey { value: String, reason: &'static str },
}
