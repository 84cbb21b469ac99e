//! KCL lease checkpoints are Kafka consumer-group offsets.
//!
//! A KCL application keeps one lease per shard in a DynamoDB table named after the application; its `checkpoint`
//! says how far the application got. This hook (installed on the DynamoDB front end) makes that checkpoint and
//! the committed offset of the Kafka consumer group with the table's name, for the stream's topic and the shard's
//! partition, one position:
//!
//! - **KCL → Kafka.** A lease write whose checkpoint moved commits the equivalent offset
//!   ([`strait_shard_map::group_offset`]) in the same metadata transaction as the lease, tagged in the commit's
//!   metadata with the checkpoint it came from (`strait-kcl checkpoint=… sub=…`, see [`crate::tag`]).
//! - **Kafka → KCL.** When a lease is read and the group's offset was committed by anything else (a Kafka
//!   consumer, `kafka-consumer-groups --reset-offsets`), the lease is shown with the equivalent checkpoint
//!   ([`strait_shard_map::lease_checkpoint`]), and the commit is re-tagged with the lease's stored checkpoint so
//!   that KCL's next lease renewal, which rewrites the old checkpoint, does not undo it. Its next real checkpoint
//!   takes over as usual.
//!
//! Which stream a lease table belongs to is [`crate::binding`]'s business. Offsets are read and committed only
//! through [`GroupOffsets`], so how Kafka stores them is not this crate's concern.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use strait_dynamodb::{HookFuture, ItemHook, ItemWrite};
use strait_engine::{Engine, MetaOp, MetaStore};
use strait_kafka::{CommittedOffset, GroupOffsets};
use strait_kinesis::Kinesis;
use strait_shard_map::{LeaseCheckpoint, group_offset, lease_checkpoint};
use tracing::{debug, warn};

use crate::binding::{Target, aggregate_len, shard_end, target};
use crate::lease::{Lease, lease_of, set_attr};
use crate::tag::{Tag, tag_of};

/// The hook; see the module documentation.
pub struct CheckpointBridge {
    kinesis: Kinesis,
    offsets: GroupOffsets,
    meta: MetaStore,
}

impl CheckpointBridge {
    pub fn new(kinesis: Kinesis, engine: Engine) -> Arc<CheckpointBridge> {
        let meta = engine.meta().clone();
        Arc::new(CheckpointBridge {
            kinesis,
            offsets: GroupOffsets::new(meta.clone()),
            meta,
        })
    }

    /// The offset op for a lease write, if its checkpoint moved.
    async fn on_write(&self, group: &str, item: &Json) -> Option<MetaOp> {
        let lease = lease_of(item)?;
        let target = target(&self.kinesis, &self.offsets, group, &lease)?;
        let stored = self.committed(group, &target);
        if stored
            .as_ref()
            .and_then(|c| tag_of(&c.metadata))
            .is_some_and(|t| t.checkpoint == lease.checkpoint && t.sub == lease.sub)
        {
            // The lease's checkpoint did not move (a renewal, a take): the group's position stands.
            return None;
        }
        let cp = match LeaseCheckpoint::parse(&lease.checkpoint, lease.sub) {
            Ok(cp) => cp,
            Err(e) => {
                debug!(group, checkpoint = %lease.checkpoint, error = %e, "lease checkpoint is not Strait's");
                return None;
            }
        };
        if let LeaseCheckpoint::At { sequence, .. } = cp
            && (sequence.incarnation, sequence.shard) != (target.incarnation, target.shard)
        {
            debug!(group, stream = %target.stream, "lease checkpoint belongs to another stream or shard");
            return None;
        }
        let end = shard_end(&self.kinesis, &target);
        let aggregate = match cp {
            LeaseCheckpoint::At { sequence, .. } => {
                aggregate_len(&self.kinesis, &target, sequence.offset).await
            }
            _ => None,
        };
        let position = group_offset(&cp, end, aggregate)?;
        self.offset_op(
            group,
            &target,
            position.offset,
            Tag::from_lease(&lease, false).render(),
        )
    }

    /// Rewrites a lease about to be returned when the group's position differs from its checkpoint because
    /// something other than KCL committed it. Returns the re-tagging commit to make.
    async fn on_read(&self, group: &str, item: &mut Json) -> Option<MetaOp> {
        let lease = lease_of(item)?;
        let target = target(&self.kinesis, &self.offsets, group, &lease)?;
        let stored = self.committed(group, &target)?;
        let tag = tag_of(&stored.metadata);
        if tag == Some(Tag::from_lease(&lease, false)) {
            // Committed from this very checkpoint: nothing to show differently.
            return None;
        }
        if let Some(shown) = self.checkpoint_at(&target, &lease, stored.offset).await {
            set_attr(item, "checkpoint", "S", shown.checkpoint_attr());
            set_attr(
                item,
                "checkpointSubSequenceNumber",
                "N",
                shown.sub_sequence().to_string(),
            );
        }
        if tag == Some(Tag::from_lease(&lease, true)) {
            return None;
        }
        // Keep the Kafka position, marked as adopted while the lease table stores this checkpoint, so that lease
        // renewals (which rewrite the stored checkpoint) are recognised as "no change" by `on_write`.
        self.offset_op(
            group,
            &target,
            stored.offset,
            Tag::from_lease(&lease, true).render(),
        )
    }

    /// The checkpoint equivalent to committed offset `offset`, or `None` when the lease's own checkpoint already
    /// is (so aggregates' sub-sequence numbers and sentinels are shown as stored).
    async fn checkpoint_at(
        &self,
        t: &Target,
        lease: &Lease,
        offset: i64,
    ) -> Option<LeaseCheckpoint> {
        let end = shard_end(&self.kinesis, t);
        if let Ok(own) = LeaseCheckpoint::parse(&lease.checkpoint, lease.sub) {
            let aggregate = match own {
                LeaseCheckpoint::At { sequence, .. } => {
                    aggregate_len(&self.kinesis, t, sequence.offset).await
                }
                _ => None,
            };
            let same = match group_offset(&own, end, aggregate) {
                Some(p) => p.offset == offset,
                None => offset <= 0,
            };
            if same {
                return None;
            }
        }
        let before = if offset > 0 {
            aggregate_len(&self.kinesis, t, offset - 1).await
        } else {
            None
        };
        Some(lease_checkpoint(
            t.incarnation,
            t.shard,
            offset,
            end,
            before,
        ))
    }

    fn committed(&self, group: &str, t: &Target) -> Option<CommittedOffset> {
        match self.offsets.committed(group, &t.stream, t.partition()?) {
            Ok(c) => c,
            Err(e) => {
                warn!(group, error = %e, "reading a committed offset failed");
                None
            }
        }
    }

    fn offset_op(&self, group: &str, t: &Target, offset: i64, metadata: String) -> Option<MetaOp> {
        let value = CommittedOffset {
            offset,
            leader_epoch: -1,
            metadata,
            commit_timestamp_ms: now_ms(),
        };
        match self
            .offsets
            .commit_op(group, &t.stream, t.partition()?, &value)
        {
            Ok(op) => Some(op),
            Err(e) => {
                warn!(group, error = %e, "encoding a committed offset failed");
                None
            }
        }
    }
}

impl ItemHook for CheckpointBridge {
    fn before_commit<'a>(&'a self, writes: &'a [ItemWrite]) -> HookFuture<'a, Vec<MetaOp>> {
        Box::pin(async move {
            let mut ops = Vec::new();
            for w in writes {
                if let Some(item) = &w.item
                    && let Some(op) = self.on_write(&w.table, item).await
                {
                    ops.push(op);
                }
            }
            ops
        })
    }

    fn before_return<'a>(&'a self, table: &'a str, item: &'a mut Json) -> HookFuture<'a, ()> {
        Box::pin(async move {
            if let Some(op) = self.on_read(table, item).await
                && let Err(e) = self.meta.commit(vec![op]).await
            {
                warn!(group = table, error = %e, "re-tagging a consumer-group offset failed");
            }
        })
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
