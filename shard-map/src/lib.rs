//! The map between the Kinesis and Kafka views of one stream. A stream is a topic and shard `i` is partition `i`.
//! Pure logic, no I/O; serde derives let the Kinesis front end persist a [`ShardMap`] (as JSON in the engine's
//! metadata store).
//!
//! - [`hash`]: the 128-bit hash-key space: [`HashRange`], [`even_ranges`], [`hash_key`] (MD5 of a partition key),
//!   [`parse_explicit_hash_key`].
//! - [`shard_id`](mod@shard_id): `shardId-000000000000` ↔ index.
//! - [`sequence`]: [`SequenceNumber`], 56-digit decimal sequence numbers that encode (stream incarnation, shard,
//!   offset) and decode without any lookup.
//! - [`map`]: [`ShardMap`], a stream's shard lineage, and routing of hash keys to open shards.
//! - [`plan`]: [`ReshardPlan`]s for SplitShard, MergeShards and UpdateShardCount, executed by the front end and
//!   committed with [`ShardMap::apply`].
//! - [`checkpoint`]: KCL lease checkpoints ↔ Kafka consumer-group committed offsets.
//! - [`kpl`]: recognising KPL-aggregated records and counting their sub-records.
//! - [`partition_key`]: the reversible rule between a Kafka record key and the PartitionKey Kinesis readers see.
//! - [`schema`]: the one shared contract about persisted Kinesis state: where a stream's record lives and what
//!   the Kafka front end may read of it (the lineage, for the `strait.kinesis.hash.key.ranges` topic config).
//! - [`error`]: [`ShardMapError`]; [`aws`]: AWS's exception type and message for each case.

pub mod aws;
pub mod checkpoint;
pub mod error;
pub mod hash;
pub mod kpl;
pub mod map;
pub mod partition_key;
pub mod plan;
pub mod schema;
pub mod sequence;
pub mod shard_id;
/// The former name of [`schema`], kept so callers written against it still compile.
pub use schema as stored;

pub use aws::AwsErrorKind;
pub use checkpoint::{GroupOffset, LeaseCheckpoint, group_offset, lease_checkpoint};
pub use error::ShardMapError;
pub use hash::{HashKeyRange, HashRange, even_ranges, hash_key, parse_explicit_hash_key, route};
pub use map::{ClosedInfo, ShardInfo, ShardMap};
pub use partition_key::{decode_partition_key, encode_kafka_key};
pub use plan::ReshardPlan;
pub use sequence::{SEQUENCE_NUMBER_DIGITS, SequenceNumber, incarnation_from_created_ms};
pub use shard_id::{parse_shard_id, shard_id};
