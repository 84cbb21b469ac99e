//! AWS's rendering of [`ShardMapError`]: the exception name and message text Kinesis answers with. Kept apart
//! from the error type so the error does not depend on the modules whose errors it describes.

use crate::error::ShardMapError;
use crate::shard_id::shard_id;

/// The AWS exception a [`ShardMapError`] is answered with; front ends map it to their own error type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsErrorKind {
    InvalidArgument,
    ResourceNotFound,
    LimitExceeded,
    InternalFailure,
}

impl AwsErrorKind {
    /// The exception name (`__type`).
    pub fn type_name(self) -> &'static str {
        match self {
            AwsErrorKind::InvalidArgument => "InvalidArgumentException",
            AwsErrorKind::ResourceNotFound => "ResourceNotFoundException",
            AwsErrorKind::LimitExceeded => "LimitExceededException",
            AwsErrorKind::InternalFailure => "InternalFailure",
        }
    }
}

impl ShardMapError {
    /// The AWS exception Kinesis answers with for this error: the one classification of shard-map errors.
    ///
    /// Client-side validation errors are `InvalidArgumentException`; scaling limits are `LimitExceededException`;
    /// an unknown shard is `ResourceNotFoundException`. `StalePlan`, `MissingEndOffset` and `CorruptMap` are
    /// Strait bugs or storage damage, hence `InternalFailure`.
    pub fn aws_error_kind(&self) -> AwsErrorKind {
        match self {
            ShardMapError::InvalidHashKey { .. }
            | ShardMapError::InvalidShardId(_)
            | ShardMapError::InvalidSequenceNumber { .. }
            | ShardMapError::ShardClosed { .. }
            | ShardMapError::InvalidSplitHashKey { .. }
            | ShardMapError::NotAdjacent { .. }
            | ShardMapError::InvalidShardCount { .. }
            | ShardMapError::InvalidEscapedPartitionKey { .. } => AwsErrorKind::InvalidArgument,
            ShardMapError::ShardNotFound { .. } => AwsErrorKind::ResourceNotFound,
            ShardMapError::ScaleUpTooFar { .. }
            | ShardMapError::ScaleDownTooFar { .. }
            | ShardMapError::ShardLimitExceeded { .. } => AwsErrorKind::LimitExceeded,
            ShardMapError::StalePlan { .. }
            | ShardMapError::MissingEndOffset { .. }
            | ShardMapError::CorruptMap(_) => AwsErrorKind::InternalFailure,
        }
    }

    /// The AWS exception name (`__type`) Kinesis answers with for this error.
    pub fn aws_error_type(&self) -> &'static str {
        self.aws_error_kind().type_name()
    }

    /// AWS's message text for this error in `stream` of `account` (texts as AWS returns them, per kinesalite's
    /// suite, which is checked against AWS). Hash-key and sequence-number parse errors have no single AWS text
    /// (AWS reports them per parameter); the front end usually words those itself and this returns the Display.
    pub fn aws_message(&self, stream: &str, account: &str) -> String {
        match self {
            ShardMapError::ShardNotFound { shard } => format!(
                "Could not find shard {} in stream {stream} under account {account}.",
                shard_id(*shard)
            ),
            ShardMapError::ShardClosed { shard } => format!(
                "Shard {} in stream {stream} under account {account} has already been merged or split, and thus \
                 is not eligible for merging or splitting.",
                shard_id(*shard)
            ),
            ShardMapError::InvalidSplitHashKey {
                shard,
                key,
                start,
                end,
            } => format!(
                "NewStartingHashKey {key} used in SplitShard() on shard {} in stream {stream} under account \
                 {account} is not both greater than one plus the shard's StartingHashKey {start} and less than the \
                 shard's EndingHashKey {end}.",
                shard_id(*shard)
            ),
            ShardMapError::NotAdjacent { shard, adjacent } => format!(
                "Shards {} and {} in stream {stream} under account {account} are not an adjacent pair of shards \
                 eligible for merging",
                shard_id(*shard),
                shard_id(*adjacent)
            ),
            ShardMapError::ScaleUpTooFar { open, target } => format!(
                "UpdateShardCount cannot scale up over double your current open shard count. Current open shard \
                 count: {open}, Target shard count: {target}"
            ),
            ShardMapError::ScaleDownTooFar { open, target } => format!(
                "UpdateShardCount cannot scale down below half your current open shard count. Current open shard \
                 count: {open}, Target shard count: {target}"
            ),
            ShardMapError::ShardLimitExceeded {
                limit,
                open,
                target,
            } => format!(
                "Target shard count or number of open shards cannot be greater than {limit}. Current open shard \
                 count: {open}, Target shard count: {target}"
            ),
            ShardMapError::InvalidHashKey { .. }
            | ShardMapError::InvalidShardId(_)
            | ShardMapError::InvalidSequenceNumber { .. }
            | ShardMapError::InvalidShardCount { .. }
            | ShardMapError::InvalidEscapedPartitionKey { .. }
            | ShardMapError::StalePlan { .. }
            | ShardMapError::MissingEndOffset { .. }
            | ShardMapError::CorruptMap(_) => self.to_string(),
        }
    }
}
