//! The enhanced fan-out consumer registry, and what SubscribeToShard needs from it: consumers are stored in their
//! stream's record; a consumer is CREATING for the status delay after RegisterStreamConsumer, then ACTIVE, and
//! DELETING for the status delay after DeregisterStreamConsumer, then gone.

use std::sync::Arc;

use strait_engine::Partition;
use strait_shard_map::ShardInfo;

use crate::arn::{self, Resource};
use crate::error::KinesisError;
use crate::read::engine_error;
use crate::state::Kinesis;
use crate::store::{ConsumerRecord, StreamRecord};
use crate::value::Value;

/// Registered consumers allowed per stream, as on AWS.
pub const MAX_CONSUMERS_PER_STREAM: usize = 20;

/// A consumer as clients see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerInfo {
    pub stream: String,
    pub stream_incarnation: u32,
    pub name: String,
    pub arn: String,
    /// CREATING, ACTIVE or DELETING.
    pub status: &'static str,
    pub created_ms: i64,
}

/// One shard of a stream, ready to be read (GetRecords, SubscribeToShard).
#[derive(Clone)]
pub struct ShardView {
    pub stream: Arc<StreamRecord>,
    pub shard: ShardInfo,
    pub partition: Arc<Partition>,
}

impl ShardView {
    /// The sealed end offset of a closed shard.
    pub fn end_offset(&self) -> Option<i64> {
        self.shard.closed.map(|c| c.end_offset)
    }

    /// The `ChildShards` of this shard (non-empty only for a closed shard).
    pub fn child_shards(&self) -> Vec<Value> {
        self.stream
            .shards
            .children(self.shard.index)
            .into_iter()
            .map(crate::child_shards::child_shard_value)
            .collect()
    }
}

impl Kinesis {
    pub(crate) fn consumer_info(&self, r: &StreamRecord, c: &ConsumerRecord) -> ConsumerInfo {
        let now = self.now_ms();
        let delay = self.delay_ms();
        let status = match c.deleting_since_ms {
            Some(_) => "DELETING",
            None if now < c.created_ms.saturating_add(delay) => "CREATING",
            None => "ACTIVE",
        };
        ConsumerInfo {
            stream: r.name.clone(),
            stream_incarnation: r.incarnation,
            name: c.name.clone(),
            arn: arn::consumer_arn(&self.inner.cfg, &r.name, &c.name, c.created_ms),
            status,
            created_ms: c.created_ms,
        }
    }

    /// The live consumers of a stream, in registration order.
    pub fn stream_consumers(&self, r: &StreamRecord) -> Vec<ConsumerInfo> {
        r.live_consumers(self.now_ms(), self.delay_ms())
            .map(|c| self.consumer_info(r, c))
            .collect()
    }

    /// The consumer a consumer ARN names, or AWS's ResourceNotFoundException / InvalidArgumentException.
    pub fn consumer_by_arn(&self, consumer_arn: &str) -> Result<ConsumerInfo, KinesisError> {
        let not_found = || {
            KinesisError::ResourceNotFound(format!(
                "Consumer {consumer_arn} under account {} not found.",
                self.account()
            ))
        };
        match arn::parse(&self.inner.cfg, consumer_arn) {
            Ok(Some(Resource::Consumer {
                stream,
                consumer,
                created_secs,
            })) => {
                let (_, r) = self.lookup(&stream).map_err(|_| not_found())?;
                r.live_consumers(self.now_ms(), self.delay_ms())
                    .find(|c| c.name == consumer && c.created_ms.div_euclid(1000) == created_secs)
                    .map(|c| self.consumer_info(&r, c))
                    .ok_or_else(not_found)
            }
            Ok(Some(Resource::Stream(_))) | Ok(None) => Err(KinesisError::InvalidArgument(
                format!("ConsumerARN {consumer_arn} is not a valid consumer ARN."),
            )),
            Err(_) => Err(not_found()),
        }
    }

    /// A shard of a stream ready for reading, with AWS's errors for an unknown stream or shard.
    pub fn shard_view(&self, stream: &str, shard_id: &str) -> Result<ShardView, KinesisError> {
        let (_, r) = self.lookup(stream)?;
        self.require_readable(&r)?;
        let index = self.read_shard_index(&r, shard_id)?;
        let shard = *r
            .shards
            .shard(index)
            .map_err(|e| self.shard_error(&r.name, &e))?;
        let partition = self
            .inner
            .engine
            .partition(&r.name, index)
            .map_err(engine_error)?;
        Ok(ShardView {
            stream: r,
            shard,
            partition,
        })
    }
}
