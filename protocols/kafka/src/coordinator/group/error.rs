//! How failures of the offset store reach group clients.

use kafka_protocol::error::ResponseError;
use strait_engine::EngineError;

/// The Kafka error for a failed read or write of group offsets in the metadata store. Store unavailability
/// maps to COORDINATOR_NOT_AVAILABLE, which clients retry after rediscovering the coordinator (Kafka maps a
/// failed append to its offsets topic the same way); KAFKA_STORAGE_ERROR would be fatal to a consumer's
/// commit. Every variant is listed so a new engine error gets a deliberate answer.
pub fn store_error_code(e: &EngineError) -> ResponseError {
    match e {
        EngineError::Io { .. }
        | EngineError::Meta(_)
        | EngineError::MetaClosed
        | EngineError::ShuttingDown
        | EngineError::DataDirLocked(_)
        | EngineError::PartitionFailed { .. } => ResponseError::CoordinatorNotAvailable,
        // A stored record that does not decode will not get better with retries.
        EngineError::CorruptMetadata { .. } => ResponseError::UnknownServerError,
        // Topic and log errors: the offset store never produces them.
        EngineError::NoRemoteStore
        | EngineError::RemoteStore { .. }
        | EngineError::RemoteSegmentMismatch { .. }
        | EngineError::TopicExists(_)
        | EngineError::UnknownTopic(_)
        | EngineError::UnknownPartition { .. }
        | EngineError::InvalidTopicName { .. }
        | EngineError::InvalidPartitions { .. }
        | EngineError::InvalidConfig { .. }
        | EngineError::UnknownConfig(_)
        | EngineError::InvalidBatch(_)
        | EngineError::MessageTooLarge { .. }
        | EngineError::OffsetOutOfRange { .. }
        | EngineError::NotBatchBoundary(_)
        | EngineError::ReplicaOffsetMismatch { .. }
        | EngineError::NotReplicated { .. }
        | EngineError::PartitionSealed { .. } => ResponseError::UnknownServerError,
        // The coordinator's state lives on a replicated partition this node no longer leads.
        EngineError::NotLeader { .. } => ResponseError::NotCoordinator,
    }
}
