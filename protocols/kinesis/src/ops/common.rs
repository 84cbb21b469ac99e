//! Helpers shared by the operations: finding the stream a request names, AWS's standard messages, and the
//! shapes several responses share.

use std::sync::Arc;

use strait_shard_map::{AwsErrorKind, ShardInfo, ShardMapError};

use crate::arn::{self, Resource};
use crate::error::KinesisError;
use crate::state::Kinesis;
use crate::store::{StreamHandle, StreamRecord, StreamStatus};
use crate::value::Value;

impl Kinesis {
    pub(crate) fn delay_ms(&self) -> i64 {
        self.inner.cfg.status_delay.as_millis() as i64
    }

    pub(crate) fn account(&self) -> &str {
        &self.inner.cfg.account_id
    }

    pub(crate) fn stream_arn(&self, name: &str) -> String {
        arn::stream_arn(&self.inner.cfg, name)
    }

    /// "Stream x under account y not found."
    pub(crate) fn not_found(&self, name: &str) -> KinesisError {
        KinesisError::ResourceNotFound(format!(
            "Stream {name} under account {} not found.",
            self.account()
        ))
    }

    /// The status clients see now.
    pub(crate) fn status(&self, r: &StreamRecord) -> StreamStatus {
        r.status(self.now_ms(), self.delay_ms())
    }

    /// ResourceInUseException unless the stream is ACTIVE (what AWS requires for control-plane changes).
    pub(crate) fn require_active(&self, r: &StreamRecord) -> Result<(), KinesisError> {
        match self.status(r) {
            StreamStatus::Active => Ok(()),
            s => Err(KinesisError::ResourceInUse(format!(
                "Stream {} under account {} not ACTIVE, instead in state {}",
                r.name,
                self.account(),
                s.as_str()
            ))),
        }
    }

    /// Data operations work on ACTIVE and UPDATING streams; a CREATING stream is not found yet, as on AWS.
    pub(crate) fn require_readable(&self, r: &StreamRecord) -> Result<(), KinesisError> {
        match self.status(r) {
            StreamStatus::Active | StreamStatus::Updating => Ok(()),
            StreamStatus::Creating | StreamStatus::Deleting => Err(self.not_found(&r.name)),
        }
    }

    /// The stream name a request addresses, from `StreamName` or `StreamARN` (which must agree when both are
    /// given).
    pub(crate) fn requested_name(&self, req: &Value) -> Result<String, KinesisError> {
        let by_arn = match req.str("StreamARN") {
            Some(a) => Some(self.stream_name_of_arn(a)?),
            None => None,
        };
        match (req.string("StreamName"), by_arn) {
            (Some(n), Some(a)) if n != a => Err(KinesisError::InvalidArgument(format!(
                "StreamARN {} and StreamName {n} do not refer to the same stream.",
                req.str("StreamARN").unwrap_or_default()
            ))),
            (Some(n), _) | (None, Some(n)) => Ok(n),
            (None, None) => Err(KinesisError::InvalidArgument(
                "Either StreamName or StreamARN must be provided.".into(),
            )),
        }
    }

    /// The stream a stream ARN names.
    pub(crate) fn stream_name_of_arn(&self, a: &str) -> Result<String, KinesisError> {
        match arn::parse(&self.inner.cfg, a) {
            Ok(Some(Resource::Stream(name))) => Ok(name),
            Ok(Some(Resource::Consumer { .. })) | Ok(None) => Err(KinesisError::InvalidArgument(
                format!("StreamARN {a} is not a valid stream ARN."),
            )),
            Err(account) => Err(KinesisError::ResourceNotFound(format!(
                "Stream {} under account {account} not found.",
                a.rsplit('/').next().unwrap_or(a)
            ))),
        }
    }

    /// The stream a request names (not a deleted one).
    pub(crate) fn resolve(
        &self,
        req: &Value,
    ) -> Result<(Arc<StreamHandle>, Arc<StreamRecord>), KinesisError> {
        let name = self.requested_name(req)?;
        self.lookup(&name)
    }

    pub(crate) fn lookup(
        &self,
        name: &str,
    ) -> Result<(Arc<StreamHandle>, Arc<StreamRecord>), KinesisError> {
        let h = self
            .inner
            .store
            .get(&self.inner.engine, name)
            .ok_or_else(|| self.not_found(name))?;
        let r = h.record();
        Ok((h, r))
    }

    /// Like [`resolve`](Self::resolve), but a stream being deleted is returned (DELETING) for describe calls.
    pub(crate) fn resolve_for_describe(
        &self,
        req: &Value,
    ) -> Result<Arc<StreamRecord>, KinesisError> {
        let name = self.requested_name(req)?;
        match self.lookup(&name) {
            Ok((_, r)) => Ok(r),
            Err(e) => self
                .inner
                .store
                .tombstone(&name, self.now_ms(), self.delay_ms())
                .ok_or(e),
        }
    }

    /// The index of a shard id in a stream, or AWS's not-found answer (as resharding words it).
    pub(crate) fn shard_index(&self, r: &StreamRecord, id: &str) -> Result<u32, KinesisError> {
        let i = self.shard_ref(&r.name, id)?;
        r.shards
            .shard(i)
            .map_err(|e| self.shard_error(&r.name, &e))?;
        Ok(i)
    }

    /// The index of a shard id for a read (GetShardIterator, SubscribeToShard), with AWS's wording for those.
    pub(crate) fn read_shard_index(&self, r: &StreamRecord, id: &str) -> Result<u32, KinesisError> {
        let i = self.shard_ref(&r.name, id)?;
        r.shards
            .shard(i)
            .map_err(|_| self.missing_read_shard(&r.name, i))?;
        Ok(i)
    }

    /// "Shard shardId-… in stream … does not exist": a read naming a shard (or a stream) that is not there.
    pub(crate) fn missing_read_shard(&self, stream: &str, index: u32) -> KinesisError {
        KinesisError::ResourceNotFound(format!(
            "Shard {} in stream {stream} under account {} does not exist",
            strait_shard_map::shard_id(index),
            self.account()
        ))
    }

    /// The shard a ShardId names ([`shard_ref`]), or AWS's answer for one that names none, which comes before
    /// the stream is looked up.
    pub(crate) fn shard_ref(&self, stream: &str, id: &str) -> Result<u32, KinesisError> {
        shard_ref(id).ok_or_else(|| {
            KinesisError::ResourceNotFound(format!(
                "Could not find shard {id} in stream {stream} under account {}.",
                self.account()
            ))
        })
    }

    /// [`Kinesis::shard_ref`] for the shard id in `member` of a request, before its stream is looked up.
    pub(crate) fn requested_shard(&self, req: &Value, member: &str) -> Result<u32, KinesisError> {
        let stream = self.requested_name(req)?;
        self.shard_ref(&stream, req.str(member).unwrap_or_default())
    }

    /// A shard-map error as AWS words it for this stream; the exception type is the shard map's own
    /// classification ([`ShardMapError::aws_error_kind`]).
    pub(crate) fn shard_error(&self, stream: &str, e: &ShardMapError) -> KinesisError {
        let m = e.aws_message(stream, self.account());
        match e.aws_error_kind() {
            AwsErrorKind::InvalidArgument => KinesisError::InvalidArgument(m),
            AwsErrorKind::ResourceNotFound => KinesisError::ResourceNotFound(m),
            AwsErrorKind::LimitExceeded => KinesisError::LimitExceeded(m),
            AwsErrorKind::InternalFailure => KinesisError::Internal(m),
        }
    }

    /// Open shards of the account's Kinesis streams (DescribeLimits' OpenShardCount, the account shard limit).
    /// Topics created through Kafka and never adopted by a Kinesis control-plane call do not count: the limit
    /// models the Kinesis account, and a node's Kafka topics must not make CreateStream fail (see
    /// docs/compatibility.md).
    pub(crate) fn open_shards_in_account(&self) -> u32 {
        self.inner
            .store
            .kinesis_records()
            .iter()
            .map(|r| r.shards.open_count())
            .sum()
    }
}

/// The `Shard` shape (DescribeStream, ListShards).
pub(crate) fn shard_value(r: &StreamRecord, s: &ShardInfo) -> Value {
    let range = Value::map()
        .with("StartingHashKey", s.hash_range.starting_hash_key())
        .with("EndingHashKey", s.hash_range.ending_hash_key());
    let seq = Value::map()
        .with(
            "StartingSequenceNumber",
            s.starting_sequence_number(r.incarnation),
        )
        .with_opt(
            "EndingSequenceNumber",
            s.ending_sequence_number(r.incarnation),
        );
    Value::map()
        .with("ShardId", s.shard_id())
        .with_opt("ParentShardId", s.parent.map(strait_shard_map::shard_id))
        .with_opt(
            "AdjacentParentShardId",
            s.adjacent_parent.map(strait_shard_map::shard_id),
        )
        .with("HashKeyRange", range)
        .with("SequenceNumberRange", seq)
}

/// `StreamModeDetails`.
pub(crate) fn mode_value(r: &StreamRecord) -> Value {
    Value::map().with("StreamMode", r.mode.as_str())
}

/// `EnhancedMonitoring`: one entry listing the enabled shard-level metrics.
pub(crate) fn monitoring_value(r: &StreamRecord) -> Value {
    Value::List(vec![Value::map().with(
        "ShardLevelMetrics",
        Value::List(r.enhanced_metrics.iter().map(Value::from).collect()),
    )])
}

/// Page size from a request member, or the default.
pub(crate) fn page_size(req: &Value, key: &str, default: usize) -> usize {
    req.int(key).map_or(default, |n| n.max(1) as usize)
}

/// The shard index a ShardId names, as AWS resolves it: the text between the first hyphen and the next (the
/// whole id when it has no hyphen, or nothing after the hyphen) must be decimal digits naming at most
/// 2147483647, so `shardId-000000000001`, `shardId-1`, `shard-1`, `x-1`, `-1` and `1` all name shard 1. This is
/// kinesalite's rule, whose suite passes these spellings to AWS itself; `None` for any other id.
pub(crate) fn shard_ref(id: &str) -> Option<u32> {
    let part = match id.split('-').nth(1) {
        Some(p) if !p.is_empty() => p,
        _ => id,
    };
    if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits = part.trim_start_matches('0');
    if digits.len() > 10 {
        return None;
    }
    let n: u64 = if digits.is_empty() {
        0
    } else {
        digits.parse().ok()?
    };
    u32::try_from(n).ok().filter(|n| *n <= i32::MAX as u32)
}

#[cfg(test)]
mod tests {
    use super::shard_ref;

    #[test]
    fn shard_ids_resolve_as_aws_resolves_them() {
        for (id, want) in [
            ("shardId-000000000000", Some(0)),
            ("shardId-0", Some(0)),
            ("shard-0", Some(0)),
            ("x-0", Some(0)),
            ("5", Some(5)),
            ("-00002147483647", Some(2_147_483_647)),
            ("a-00002147483647", Some(2_147_483_647)),
            ("shardId-002147483647", Some(2_147_483_647)),
            ("shardId-002147483648", None),
            ("2147483648", None),
            ("99999999999999999999999", None),
            ("ABKLFD8", None),
            ("2.14E4", None),
            ("shardId-", None),
            ("shardId-1-x", Some(1)),
            ("a-b-1", None),
            ("", None),
        ] {
            assert_eq!(shard_ref(id), want, "{id}");
        }
    }
}
