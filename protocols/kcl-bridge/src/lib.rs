//! The KCL bridge: cross-protocol glue that needs the Kafka, Kinesis and DynamoDB front ends at once, so it lives
//! in none of them. The server constructs it (it is the composition root) and nothing else depends on it.
//!
//! - [`CheckpointBridge`] ([`bridge`]): a DynamoDB item hook that makes a KCL lease checkpoint and the committed
//!   offset of the Kafka consumer group with the lease table's name one position, both ways. It reads and commits
//!   offsets only through [`strait_kafka::GroupOffsets`], never Kafka's table layout.
//! - [`binding`]: which stream and shard a lease belongs to.
//! - [`lease`], [`tag`]: the fields of a KCL lease item, and the marker a bridge commit carries in its metadata.
//! - [`lifecycle`]: what a topic's deletion does to group offsets, whichever protocol deleted it.

pub mod binding;
pub mod bridge;
pub mod lease;
pub mod lifecycle;
pub mod tag;

pub use bridge::CheckpointBridge;
pub use lifecycle::drop_offsets_of_deleted_topics;
