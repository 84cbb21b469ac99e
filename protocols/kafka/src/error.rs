//! Errors of the Kafka front end, and the exhaustive mapping of engine errors onto Kafka error codes.

use kafka_protocol::error::ResponseError;
use strait_engine::EngineError;

/// Why a request could not be answered at all; the connection is closed (Kafka's own behaviour for frames it
/// cannot parse or APIs it does not know).
#[derive(Debug, thiserror::Error)]
pub enum KafkaError {
    #[error("malformed request: {0}")]
    Codec(#[from] anyhow::Error),
    #[error("frame of {0} bytes is too short for a request header")]
    ShortFrame(usize),
    #[error("unknown API key {0}")]
    UnknownApiKey(i16),
    #[error("API {api} version {version} is not supported")]
    UnsupportedVersion { api: i16, version: i16 },
    #[error("SASL authentication is required before API key {0}")]
    NotAuthenticated(i16),
    /// KIP-368: the session's lifetime ended without a re-authentication; Kafka closes the connection.
    #[error("SASL session expired before API key {0}; the client did not re-authenticate in time")]
    SessionExpired(i16),
    /// Kafka closes the connection when a Produce with acks=0 fails: the producer gets no response, and a broken
    /// connection is the only signal that makes it refresh its metadata.
    #[error("{failed} partition(s) of a produce request with acks=0 failed: {first_error}")]
    AcksZeroProduceFailed { failed: usize, first_error: String },
    /// A ShareFetch/ShareAcknowledge body that `share::wire` could not decode.
    #[error("malformed share request: {0}")]
    ShareWire(WireError),
}

/// Why a share request body could not be decoded (`codec::share_wire`).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WireError {
    #[error("share request truncated while reading {0}")]
    Truncated(&'static str),
    #[error("share request has an invalid {0}")]
    Invalid(&'static str),
}

/// The Kafka error code for an engine error, used in per-topic/partition error fields. Every variant is mapped
/// explicitly so that a new engine error cannot silently become UNKNOWN_SERVER_ERROR.
pub fn engine_error_code(e: &EngineError) -> ResponseError {
    match e {
        EngineError::Io { .. } | EngineError::PartitionFailed { .. } => {
            ResponseError::KafkaStorageError
        }
        EngineError::Meta(_) | EngineError::CorruptMetadata { .. } => {
            ResponseError::KafkaStorageError
        }
        EngineError::MetaClosed | EngineError::ShuttingDown => ResponseError::NotLeaderOrFollower,
        EngineError::DataDirLocked(_) => ResponseError::KafkaStorageError,
        // Remote (tiered) segments that cannot be read: Kafka answers a failed remote read the same way.
        EngineError::NoRemoteStore | EngineError::RemoteStore { .. } => {
            ResponseError::KafkaStorageError
        }
        // Only the tiering uploader hands segments over; a client request never does.
        EngineError::RemoteSegmentMismatch { .. } => ResponseError::UnknownServerError,
        EngineError::TopicExists(_) => ResponseError::TopicAlreadyExists,
        EngineError::UnknownTopic(_) | EngineError::UnknownPartition { .. } => {
            ResponseError::UnknownTopicOrPartition
        }
        EngineError::InvalidTopicName { .. } => ResponseError::InvalidTopicException,
        EngineError::InvalidPartitions { .. } => ResponseError::InvalidPartitions,
        EngineError::InvalidConfig { .. } | EngineError::UnknownConfig(_) => {
            ResponseError::InvalidConfig
        }
        // Records that break the format's rules are Kafka's InvalidRecordException (not retried by clients);
        // damaged bytes (CRC, truncation, an undecodable compressed stream) are CORRUPT_MESSAGE.
        EngineError::InvalidBatch(b) if b.is_invalid_record() => ResponseError::InvalidRecord,
        EngineError::InvalidBatch(_) => ResponseError::CorruptMessage,
        EngineError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        EngineError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        EngineError::NotBatchBoundary(_) => ResponseError::OffsetOutOfRange,
        // Only replication's replica appends produce it; no Kafka request reaches that path.
        EngineError::ReplicaOffsetMismatch { .. } => ResponseError::UnknownServerError,
        // Retriable: clients refresh metadata and go to the leader (idempotent producers deduplicate a retry of
        // a write whose outcome was unknown).
        EngineError::NotLeader { .. } => ResponseError::NotLeaderOrFollower,
        // Not retriable: the message says which operation a cluster node cannot do yet.
        EngineError::NotReplicated { .. } => ResponseError::UnknownServerError,
        // A sealed partition (a closed Kinesis shard) never accepts writes again, so the error must be one that
        // producers do not retry: a retriable code (e.g. NOT_LEADER_OR_FOLLOWER) would make them retry until
        // delivery.timeout.ms. POLICY_VIOLATION is not retriable (the Java client's PolicyViolationException is
        // no RetriableException) and says the broker refused by rule, not that the request was malformed
        // (INVALID_REQUEST); the error message names the sealed partition.
        EngineError::PartitionSealed { .. } => ResponseError::PolicyViolation,
    }
}

/// Error code and message for a response field.
pub fn code_and_message(e: &EngineError) -> (i16, Option<String>) {
    (engine_error_code(e).code(), Some(e.to_string()))
}

/// A per-resource failure of an admin API (one topic, partition or config resource): the code and the text for
/// the response's `error_message`. Kafka clients print that message, so it should say what to change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ResponseError,
    pub message: String,
}

impl ApiError {
    pub fn new(code: ResponseError, message: impl Into<String>) -> ApiError {
        ApiError {
            code,
            message: message.into(),
        }
    }
}

impl From<&EngineError> for ApiError {
    fn from(e: &EngineError) -> ApiError {
        ApiError::new(engine_error_code(e), e.to_string())
    }
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> ApiError {
        ApiError::from(&e)
    }
}
