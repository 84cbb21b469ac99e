//! KCL lease checkpoints are Kafka consumer-group offsets.
//!
//! A KCL application keeps one lease per shard in a DynamoDB table named after the application; its `checkpoint`
//! says how far the application got. This hook (installed on the DynamoDB front end) makes that checkpoint and
//! the committed offset of the Kafka consumer group with the table's name, for the stream's topic and the shard's
//! partition, one position:
//!
//! - **KCL → Kafka.** A lease write whose checkpoint moved commits the equivalent offset
//!   ([`strait_shard_map::group_offset`]) in the same metadata transaction as the lease, tagged in the commit's
//!   metadata with the checkpoint it came from (`strait-kcl checkpoint=… sub=…`).
//! - **Kafka → KCL.** When a lease is read and the group's offset was committed by anything else (a Kafka
//!   consumer, `kafka-consumer-groups --reset-offsets`), the lease is shown with the equivalent checkpoint
//!   ([`strait_shard_map::lease_checkpoint`]), and the commit is re-tagged with the lease's stored checkpoint so
//!   that KCL's next lease renewal, which rewrites the old checkpoint, does not undo it. Its next real checkpoint
//!   takes over as usual.
//!
//! Which stream a lease table belongs to: in multi-stream mode the lease says (`streamName`); in single-stream
//! mode it is, in order, the one stream with an enhanced fan-out consumer named after the application (KCL's
//! default), the one stream the group already has offsets on, or the one stream that has the lease's shard with
//! the lease's hash-key range. With none or several the lease is left alone (logged at debug). The rules as users
//! read them are in docs/migration.md.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value as Json;
use strait_dynamodb::{HookFuture, ItemHook, ItemWrite};
use strait_engine::{Engine, MetaOp};
use strait_kafka::group::offsets::{CommittedOffset, OFFSETS_TABLE, key};
use strait_kinesis::Kinesis;
use strait_kinesis::read::read_shard;
use strait_shard_map::kpl::aggregated_record_count;
use strait_shard_map::{LeaseCheckpoint, group_offset, lease_checkpoint, parse_shard_id};
use tracing::{debug, warn};

/// Prefix of the metadata of offsets this bridge commits.
const TAG: &str = "strait-kcl";

/// The hook; see the module documentation.
pub struct CheckpointBridge {
    kinesis: Kinesis,
    engine: Engine,
}

/// A lease item's fields that matter here.
struct Lease {
    /// The lease's `checkpoint` and `checkpointSubSequenceNumber` as stored.
    checkpoint: String,
    sub: u64,
    stream: Option<String>,
    shard_id: String,
    hash_range: Option<(String, String)>,
}

/// Where a lease's shard lives.
struct Target {
    stream: String,
    incarnation: u32,
    shard: u32,
}

impl CheckpointBridge {
    pub fn new(kinesis: Kinesis, engine: Engine) -> Arc<CheckpointBridge> {
        Arc::new(CheckpointBridge { kinesis, engine })
    }

    /// The offset op for a lease write, if its checkpoint moved.
    async fn on_write(&self, group: &str, item: &Json) -> Option<MetaOp> {
        let lease = lease_of(item)?;
        let target = self.target(group, &lease)?;
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
        let (end, aggregate) = match cp {
            LeaseCheckpoint::At { sequence, .. } => (
                self.shard_end(&target),
                self.aggregate_len(&target, sequence.offset).await,
            ),
            _ => (self.shard_end(&target), None),
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
        let target = self.target(group, &lease)?;
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
        let end = self.shard_end(t);
        if let Ok(own) = LeaseCheckpoint::parse(&lease.checkpoint, lease.sub) {
            let aggregate = match own {
                LeaseCheckpoint::At { sequence, .. } => {
                    self.aggregate_len(t, sequence.offset).await
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
            self.aggregate_len(t, offset - 1).await
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

    /// Resolves the lease's stream and shard (see the module documentation for the order of the rules).
    fn target(&self, group: &str, lease: &Lease) -> Option<Target> {
        let shard = parse_shard_id(&lease.shard_id).ok()?;
        let stream = match &lease.stream {
            Some(s) => s.clone(),
            None => self.bind(group, shard, lease)?,
        };
        let record = self.kinesis.stream(&stream)?;
        record.shards.shard(shard).ok()?;
        Some(Target {
            stream,
            incarnation: record.incarnation,
            shard,
        })
    }

    fn bind(&self, group: &str, shard: u32, lease: &Lease) -> Option<String> {
        let streams: Vec<_> = self
            .kinesis
            .stream_names()
            .into_iter()
            .filter_map(|n| self.kinesis.stream(&n))
            .filter(|r| r.shards.shard(shard).is_ok())
            .collect();
        let one = |v: Vec<String>| {
            if v.len() == 1 {
                v.into_iter().next()
            } else {
                None
            }
        };
        let by_consumer = streams
            .iter()
            .filter(|r| self.kinesis.has_consumer(r, group))
            .map(|r| r.name.clone())
            .collect();
        if let Some(s) = one(by_consumer) {
            return Some(s);
        }
        let with_offsets = self.topics_with_offsets(group);
        let by_offsets = streams
            .iter()
            .filter(|r| with_offsets.contains(&r.name))
            .map(|r| r.name.clone())
            .collect();
        if let Some(s) = one(by_offsets) {
            return Some(s);
        }
        let by_range = streams
            .iter()
            .filter(|r| {
                lease.hash_range.as_ref().is_none_or(|(start, end)| {
                    r.shards.shard(shard).is_ok_and(|s| {
                        s.hash_range.start.to_string() == *start
                            && s.hash_range.end.to_string() == *end
                    })
                })
            })
            .map(|r| r.name.clone())
            .collect();
        let found = one(by_range);
        if found.is_none() {
            debug!(group, shard = %lease.shard_id, "cannot tell which stream this lease table reads");
        }
        found
    }

    fn topics_with_offsets(&self, group: &str) -> Vec<String> {
        let mut prefix = group.as_bytes().to_vec();
        prefix.push(0);
        let rows = match self.engine.meta().scan_prefix(OFFSETS_TABLE, &prefix) {
            Ok(rows) => rows,
            Err(e) => {
                warn!(group, error = %e, "reading committed offsets failed");
                return Vec::new();
            }
        };
        let mut topics: Vec<String> = rows
            .iter()
            .filter_map(|(k, _)| {
                let rest = &k[prefix.len()..];
                let nul = rest.iter().position(|b| *b == 0)?;
                String::from_utf8(rest[..nul].to_vec()).ok()
            })
            .collect();
        topics.dedup();
        topics
    }

    fn committed(&self, group: &str, t: &Target) -> Option<CommittedOffset> {
        let shard = i32::try_from(t.shard).ok()?;
        match self
            .engine
            .meta()
            .get(OFFSETS_TABLE, &key(group, &t.stream, shard))
        {
            Ok(v) => v.and_then(|v| serde_json::from_slice(&v).ok()),
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
        Some(MetaOp::Put {
            table: OFFSETS_TABLE.into(),
            key: key(group, &t.stream, i32::try_from(t.shard).ok()?),
            value: serde_json::to_vec(&value).ok()?,
        })
    }

    fn shard_end(&self, t: &Target) -> Option<i64> {
        let r = self.kinesis.stream(&t.stream)?;
        r.shards.shard(t.shard).ok()?.closed.map(|c| c.end_offset)
    }

    /// The number of KPL sub-records in the record at `offset`, `None` for an ordinary (or unreadable) record.
    async fn aggregate_len(&self, t: &Target, offset: i64) -> Option<usize> {
        if offset < 0 {
            return None;
        }
        let view = self
            .kinesis
            .shard_view(&t.stream, &strait_shard_map::shard_id(t.shard))
            .ok()?;
        let read = read_shard(
            &view.partition,
            t.incarnation,
            t.shard,
            offset,
            view.end_offset(),
            1,
        )
        .await
        .ok()?;
        let record = read.records.first().filter(|r| r.offset == offset)?;
        aggregated_record_count(&record.data)
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
                && let Err(e) = self.engine.meta().commit(vec![op]).await
            {
                warn!(group = table, error = %e, "re-tagging a consumer-group offset failed");
            }
        })
    }
}

/// The fields of a KCL lease item, or `None` for any other item.
fn lease_of(item: &Json) -> Option<Lease> {
    let s = |name: &str| item.pointer(&format!("/{name}/S")).and_then(Json::as_str);
    let lease_key = s("leaseKey")?;
    item.get("leaseCounter")?;
    let checkpoint = s("checkpoint")?.to_string();
    let sub = item
        .pointer("/checkpointSubSequenceNumber/N")
        .and_then(Json::as_str)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    // Multi-stream leases carry the stream identifier (`account:stream:creationEpoch`) and the shard id.
    let (stream, shard_id) = match (s("streamName"), s("shardId")) {
        (Some(id), Some(shard)) => {
            let parts: Vec<&str> = id.split(':').collect();
            let name = if parts.len() == 3 { parts[1] } else { id };
            (Some(name.to_string()), shard.to_string())
        }
        _ => (None, lease_key.to_string()),
    };
    let hash_range = s("startingHashKey").zip(s("endingHashKey"));
    Some(Lease {
        checkpoint,
        sub,
        stream,
        shard_id,
        hash_range: hash_range.map(|(a, b)| (a.to_string(), b.to_string())),
    })
}

/// What a bridge commit's metadata records: the lease checkpoint stored when the offset was committed, and
/// whether the offset was adopted from another committer rather than derived from that checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Tag {
    checkpoint: String,
    sub: u64,
    adopted: bool,
}

impl Tag {
    fn from_lease(lease: &Lease, adopted: bool) -> Tag {
        Tag {
            checkpoint: lease.checkpoint.clone(),
            sub: lease.sub,
            adopted,
        }
    }

    fn render(&self) -> String {
        let adopted = if self.adopted { " adopted" } else { "" };
        format!(
            "{TAG} checkpoint={} sub={}{adopted}",
            self.checkpoint, self.sub
        )
    }
}

fn tag_of(metadata: &str) -> Option<Tag> {
    let rest = metadata.strip_prefix(TAG)?.strip_prefix(" checkpoint=")?;
    let (checkpoint, rest) = rest.split_once(" sub=")?;
    let (sub, adopted) = match rest.strip_suffix(" adopted") {
        Some(sub) => (sub, true),
        None => (rest, false),
    };
    Some(Tag {
        checkpoint: checkpoint.to_string(),
        sub: sub.parse().ok()?,
        adopted,
    })
}

fn set_attr(item: &mut Json, name: &str, ty: &str, value: String) {
    if let Some(obj) = item.as_object_mut() {
        obj.insert(name.to_string(), serde_json::json!({ ty: value }));
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_round_trip_and_foreign_metadata_is_not_a_tag() {
        for adopted in [false, true] {
            let t = Tag {
                checkpoint: "49000000000000000000000000000000000000000000000000000000".into(),
                sub: 3,
                adopted,
            };
            assert_eq!(tag_of(&t.render()), Some(t));
        }
        assert_eq!(tag_of(""), None);
        assert_eq!(tag_of("strait-kcl checkpoint=x sub=notanumber"), None);
    }

    #[test]
    fn lease_items_are_recognised_by_their_attributes() {
        let item = serde_json::json!({
            "leaseKey": {"S": "shardId-000000000001"}, "leaseCounter": {"N": "4"},
            "checkpoint": {"S": "SHARD_END"}, "checkpointSubSequenceNumber": {"N": "2"},
            "startingHashKey": {"S": "0"}, "endingHashKey": {"S": "9"}
        });
        let l = lease_of(&item).expect("a lease");
        assert_eq!(
            (l.shard_id.as_str(), l.checkpoint.as_str(), l.sub),
            ("shardId-000000000001", "SHARD_END", 2)
        );
        assert_eq!(l.stream, None);
        assert_eq!(l.hash_range, Some(("0".into(), "9".into())));
        let multi = serde_json::json!({
            "leaseKey": {"S": "123:orders:1700000000:shardId-000000000000"}, "leaseCounter": {"N": "0"},
            "checkpoint": {"S": "TRIM_HORIZON"}, "streamName": {"S": "123:orders:1700000000"},
            "shardId": {"S": "shardId-000000000000"}
        });
        assert_eq!(
            lease_of(&multi).expect("a lease").stream.as_deref(),
            Some("orders")
        );
        // Coordinator-state and worker-metrics items are not leases.
        assert!(
            lease_of(&serde_json::json!({"key": {"S": "Leader"}, "leaseCounter": {"N": "1"}}))
                .is_none()
        );
    }
}
