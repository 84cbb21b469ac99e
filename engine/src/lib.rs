//! Strait's storage engine. It knows nothing of Kafka or Kinesis wire protocols: front ends translate their
//! requests into calls on [`Engine`] and [`PartitionLog`].
//!
//! Module map:
//! - [`batch`]: the stored record format (Kafka v2 record batches), validation and a builder.
//! - `segment` / `index`: one log file and its sparse offset and time indexes; crash recovery of a file.
//! - `store`: the segment-store seam: a partition's `SegmentSet` (remote segments, then local files) read through
//!   `TieredStore`, which reads local files on the blocking pool and remote ones through a [`RemoteStore`].
//! - `fdcache`: the bounded cache of open segment files (`engine.max_open_files`).
//! - [`partition`]: the [`PartitionLog`] seam and [`LocalLog`], its local implementation (recovery, appends,
//!   group commit, reads, retention, truncation, seal), opened with a [`CommitPolicy`].
//! - `epoch`: the leader-epoch cache (epoch → first offset), for OffsetForLeaderEpoch and Raft log matching.
//! - [`meta`]: the metadata store handle over a `MetaBackend` (redb today), the table registry
//!   ([`meta::tables`]: names, owners, node-local vs cluster scope) and watches of committed changes.
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
mod index;
pub mod meta;
pub mod partition;
mod segment;
mod store;
mod topic;
mod txn;
mod util;

pub use cluster::{ClusterView, SharedClusterView, SingleNode};
pub use config::{CleanupPolicy, EngineConfig, FsyncPolicy, TimestampType, TopicConfig};
pub use engine::{
    Engine, EngineStats, LogWrapper, OfflinePartition, RESERVED_TOPIC_PREFIX, StorageHealth,
    TopicInfo, is_reserved_topic, validate_topic_name,
};
pub use error::{EngineError, Result};
pub use events::{TopicEvent, TopicHook};
pub use meta::{
    Absent, MetaBackend, MetaFuture, MetaOp, MetaStore, MetaWatcher, RedbStore, Tables,
};
pub use partition::{
    AppendInfo, AppendOptions, CommitPolicy, DurableCallback, LocalLog, LogFuture, LogOffsets,
    Partition, PartitionLog, ReadResult, Traffic, TrafficTotals,
};
pub use store::{RemoteSegment, RemoteStore, StoreFuture};
pub use txn::AbortedTxn;
