//! Strait's storage engine. It knows nothing of Kafka or Kinesis wire protocols: front ends translate their
//! requests into calls on [`Engine`] and [`Partition`].
//!
//! Module map:
//! - [`batch`]: the stored record format (Kafka v2 record batches), validation and a builder.
//! - `segment` / `index`: one log file and its sparse offset and time indexes; crash recovery of a file.
//! - `fdcache`: the bounded cache of open segment files (`engine.max_open_files`).
//! - [`partition`]: segments of one partition, appends, reads, retention, truncation; `flush` runs its group commit.
//! - `epoch`: the leader-epoch cache (epoch → first offset), for OffsetForLeaderEpoch and Raft log matching.
//! - [`meta`]: the redb metadata store behind one batching writer thread.
//! - [`engine`]: topics and their lifecycle; [`events`]: the hooks front ends follow it with.
//! - [`config`]: engine and topic configuration with documented defaults.

pub mod batch;
pub mod cluster;
pub mod config;
pub mod engine;
mod epoch;
pub mod error;
pub mod events;
mod fdcache;
mod flush;
mod index;
pub mod meta;
pub mod partition;
mod segment;
mod topic;
mod txn;
mod util;

pub use cluster::{ClusterView, SharedClusterView, SingleNode};
pub use config::{CleanupPolicy, EngineConfig, FsyncPolicy, TimestampType, TopicConfig};
pub use engine::{
    Engine, EngineStats, OfflinePartition, StorageHealth, TopicInfo, validate_topic_name,
};
pub use error::{EngineError, Result};
pub use events::{TopicEvent, TopicHook};
pub use meta::{MetaOp, MetaStore, MetaWatcher, Tables};
pub use partition::{AppendInfo, AppendOptions, LogOffsets, Partition, ReadResult};
pub use txn::AbortedTxn;
