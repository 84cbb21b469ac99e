//! A live subscription: the loop that turns a shard's records into SubscribeToShard events.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strait_shard_map::{SequenceNumber, shard_id};
use tokio::sync::watch;
use tokio::time::Instant;

use super::lease::Lease;
use super::{EfoConfig, FanOut, frame};
use crate::codec;
use crate::consumers::ShardView;
use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::read::{KinesisRecord, read_shard};
use crate::state::Kinesis;
use crate::store::StreamRecord;
use crate::value::Value;

/// AWS's read throughput per consumer and shard, applied when the service enforces AWS's limits.
const READ_BYTES_PER_SEC: usize = 2 * 1024 * 1024;
const SECOND: Duration = Duration::from_secs(1);

/// Records asked of one read (GetRecords' largest Limit); events are further bounded by bytes.
const MAX_RECORDS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Initial,
    Streaming,
    Done,
}

/// What one step of the loop produced.
enum Step {
    Event(Bytes),
    /// The shard-end event: nothing follows it.
    Last(Bytes),
    /// The body ends without another message (lifetime over, server shutting down).
    End,
}

/// One SubscribeToShard response body, message by message. Holds its consumer and shard (the takeover rule)
/// until dropped.
pub struct Subscription {
    k: Kinesis,
    cfg: Arc<EfoConfig>,
    format: WireFormat,
    consumer_arn: String,
    stream: String,
    incarnation: u32,
    shard: u32,
    /// The next partition offset to deliver.
    pos: i64,
    /// Records read but not sent yet (an event holds at most `max_event_bytes`), and the offset after them: sent
    /// before the partition is read again, so a backlog is read once.
    pending: Vec<KinesisRecord>,
    pending_next: i64,
    /// The sequence number of the last record delivered (`None` until one is).
    last_delivered: Option<String>,
    deadline: Instant,
    next_heartbeat: Instant,
    /// Start of the current one-second window and the record bytes sent in it (throughput limit).
    window_start: Instant,
    window_bytes: usize,
    phase: Phase,
    lease: Lease,
    shutdown: watch::Receiver<bool>,
}

impl Subscription {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        fo: &FanOut,
        format: WireFormat,
        consumer_arn: String,
        r: Arc<StreamRecord>,
        shard: u32,
        pos: i64,
        lease: Lease,
        shutdown: watch::Receiver<bool>,
    ) -> Subscription {
        let now = Instant::now();
        Subscription {
            k: fo.kinesis.clone(),
            cfg: fo.cfg.clone(),
            format,
            consumer_arn,
            stream: r.name.clone(),
            incarnation: r.incarnation,
            shard,
            pos,
            pending: Vec::new(),
            pending_next: pos,
            last_delivered: None,
            deadline: now + fo.cfg.lifetime,
            // The first event goes out right after the initial response (records or not), as AWS does.
            next_heartbeat: now,
            window_start: now,
            window_bytes: 0,
            phase: Phase::Initial,
            lease,
            shutdown,
        }
    }

    /// `:content-type` of the event payloads.
    fn payload_content_type(&self) -> &'static str {
        match self.format {
            WireFormat::Json => "application/json",
            WireFormat::Cbor => WireFormat::Cbor.content_type(),
        }
    }

    /// The next framed message of the body, or `None` when the body ends.
    pub async fn next_message(&mut self) -> Option<Bytes> {
        match self.phase {
            Phase::Done => return None,
            Phase::Initial => {
                self.phase = Phase::Streaming;
                let payload = codec::encode(self.format, &Value::map());
                return Some(frame::event(
                    "initial-response",
                    self.payload_content_type(),
                    &payload,
                ));
            }
            Phase::Streaming => {}
        }
        match self.step().await {
            Ok(Step::Event(b)) => Some(b),
            Ok(Step::Last(b)) => {
                self.phase = Phase::Done;
                Some(b)
            }
            Ok(Step::End) => {
                self.phase = Phase::Done;
                None
            }
            Err(e) => {
                self.phase = Phase::Done;
                if let KinesisError::Internal(m) = &e {
                    tracing::warn!(stream = %self.stream, shard = self.shard, error = %m, "SubscribeToShard failed");
                }
                Some(self.exception(&e))
            }
        }
    }

    fn exception(&self, e: &KinesisError) -> Bytes {
        // The exceptions of the SubscribeToShardEventStream union; anything else is an internal failure.
        let kind = match e {
            KinesisError::ResourceNotFound(_) => "ResourceNotFoundException",
            KinesisError::ResourceInUse(_) => "ResourceInUseException",
            KinesisError::AccessDenied
            | KinesisError::NotAuthorized(_)
            | KinesisError::UnknownOperation { .. }
            | KinesisError::NotImplemented(_)
            | KinesisError::UnsupportedContentType
            | KinesisError::DeprecatedJsonProtocol
            | KinesisError::MissingAuthenticationToken
            | KinesisError::RequestTooLarge
            | KinesisError::Serialization(_)
            | KinesisError::EmptyBody
            | KinesisError::UnreadableBody(_)
            | KinesisError::Validation(_)
            | KinesisError::InvalidArgument(_)
            | KinesisError::LimitExceeded(_)
            | KinesisError::ExpiredIterator(_)
            | KinesisError::ExpiredNextToken(_)
            | KinesisError::ProvisionedThroughputExceeded(_)
            | KinesisError::IncompleteSignature(_)
            | KinesisError::InvalidSignature(_)
            | KinesisError::UnrecognizedClient
            | KinesisError::Internal(_)
            | KinesisError::StorageUnavailable(_) => "InternalFailureException",
        };
        let payload = codec::encode(self.format, &Value::map().with("message", e.to_string()));
        frame::exception(kind, self.payload_content_type(), &payload)
    }

    /// The shard as it is now (a reshard may have closed it), checking that stream and consumer still exist.
    fn view(&self) -> Result<ShardView, KinesisError> {
        let c = self.k.consumer_by_arn(&self.consumer_arn)?;
        if c.status == "DELETING" || c.stream_incarnation != self.incarnation {
            return Err(KinesisError::ResourceNotFound(format!(
                "Consumer {} under account {} not found.",
                self.consumer_arn,
                self.k.account()
            )));
        }
        let view = self.k.shard_view(&self.stream, &shard_id(self.shard))?;
        if view.stream.incarnation != self.incarnation {
            return Err(self.k.not_found(&self.stream));
        }
        Ok(view)
    }

    async fn step(&mut self) -> Result<Step, KinesisError> {
        loop {
            if self.lease.is_revoked() {
                return Err(self.taken_over());
            }
            let now = Instant::now();
            if *self.shutdown.borrow() || now >= self.deadline {
                return Ok(Step::End);
            }
            if self.k.config().enforce_limits {
                if now >= self.window_start + SECOND {
                    self.window_start = now;
                    self.window_bytes = 0;
                } else if self.window_bytes >= READ_BYTES_PER_SEC {
                    // Over AWS's 2 MiB/s: the next event waits for the next window.
                    self.wait(None, (self.window_start + SECOND).min(self.deadline))
                        .await?;
                    continue;
                }
            }
            let view = self.view()?;
            let end = view.end_offset();
            let (batch, batch_next, high_watermark) = if self.pending.is_empty() {
                let read = read_shard(
                    &view.partition,
                    self.incarnation,
                    self.shard,
                    self.pos,
                    end,
                    MAX_RECORDS,
                )
                .await?;
                (read.records, read.next_offset, read.high_watermark)
            } else {
                let hw = view.partition.last_stable_offset();
                (std::mem::take(&mut self.pending), self.pending_next, hw)
            };
            let (records, next) = self.bound(batch, batch_next);
            crate::read::count_delivered(&view.partition, &records);
            let at_end = end.is_some_and(|e| next >= e);
            if records.is_empty() && !at_end && now < self.next_heartbeat {
                let until = self
                    .next_heartbeat
                    .min(self.deadline)
                    .min(now + self.cfg.close_check);
                self.wait(Some(&view), until).await?;
                continue;
            }
            self.window_bytes += records
                .iter()
                .map(|r| r.data.len() + r.partition_key.len())
                .sum::<usize>();
            let behind = match records.last() {
                _ if next >= high_watermark => 0,
                Some(last) => (self.k.now_ms() - last.arrival_ms).max(0),
                None => 0,
            };
            self.pos = next;
            if let Some(last) = records.last() {
                self.last_delivered = Some(last.sequence_number.clone());
            }
            self.next_heartbeat = now + self.cfg.heartbeat;
            let kms = view.stream.kms_key_id.is_some();
            let list: Vec<Value> = records.into_iter().map(|x| record_value(x, kms)).collect();
            let mut ev = Value::map().with("Records", Value::List(list));
            if at_end {
                // KCL's check: at shard end no continuation, and ChildShards non-empty with parents named.
                ev = ev
                    .with("MillisBehindLatest", 0i64)
                    .with("ChildShards", Value::List(view.child_shards()));
            } else {
                ev = ev
                    .with("ContinuationSequenceNumber", self.continuation())
                    .with("MillisBehindLatest", behind);
            }
            let payload = codec::encode(self.format, &ev);
            let msg = frame::event(
                "SubscribeToShardEvent",
                self.payload_content_type(),
                &payload,
            );
            return Ok(if at_end {
                Step::Last(msg)
            } else {
                Step::Event(msg)
            });
        }
    }

    /// Keeps at most `max_event_bytes` of records (at least one) for this event and the rest for the next ones;
    /// returns the records to send and the position after them.
    fn bound(&mut self, mut records: Vec<KinesisRecord>, next: i64) -> (Vec<KinesisRecord>, i64) {
        let mut bytes = 0usize;
        let keep = records
            .iter()
            .position(|r| {
                bytes += r.data.len() + r.partition_key.len();
                bytes > self.cfg.max_event_bytes
            })
            .map_or(records.len(), |i| i.max(1));
        if keep < records.len() {
            self.pending = records.split_off(keep);
            self.pending_next = next;
            let resume = self.pending[0].offset;
            return (records, resume);
        }
        (records, next)
    }

    /// ContinuationSequenceNumber: resuming with AFTER_SEQUENCE_NUMBER and it continues exactly here. That is
    /// the last record delivered, or the record just before the position reached. At offset 0 with nothing
    /// delivered that is offset -1, the shard's StartingSequenceNumber, which sorts below its first record (KCL
    /// resubscribes with AFTER_SEQUENCE_NUMBER and the last continuation).
    fn continuation(&self) -> String {
        if let Some(s) = &self.last_delivered {
            return s.clone();
        }
        SequenceNumber {
            incarnation: self.incarnation,
            shard: self.shard,
            offset: self.pos.max(0) - 1,
        }
        .encode()
    }

    /// Sleeps until `until`, or until data arrives past the position (with a `view` to watch), a newer
    /// subscription takes over, or the server shuts down.
    async fn wait(&mut self, view: Option<&ShardView>, until: Instant) -> Result<(), KinesisError> {
        let timeout = until.saturating_duration_since(Instant::now());
        let data = async {
            match view {
                Some(v) => {
                    // Up to the last stable offset: a reader at an open Kafka transaction waits for its end.
                    v.partition.wait_for_stable(self.pos, timeout).await;
                }
                None => tokio::time::sleep(timeout).await,
            }
        };
        tokio::select! {
            () = data => Ok(()),
            r = self.lease.revoked.changed() => match r {
                // The registry dropped our holder: only a takeover does that while we hold the lease.
                Ok(()) | Err(_) => Err(self.taken_over()),
            },
            r = self.shutdown.changed() => {
                if r.is_err() {
                    // The FanOut is gone, so nobody can signal shutdown any more: end as if it had.
                    self.shutdown = watch::channel(true).1;
                }
                Ok(())
            }
        }
    }

    fn taken_over(&self) -> KinesisError {
        KinesisError::ResourceInUse(format!(
            "Another subscription for consumer {} on shard {} of stream {} under account {} took over this one.",
            self.consumer_arn,
            shard_id(self.shard),
            self.stream,
            self.k.account()
        ))
    }
}

/// The `Record` shape, as GetRecords returns it.
fn record_value(x: KinesisRecord, kms: bool) -> Value {
    let v = Value::map()
        .with("SequenceNumber", x.sequence_number)
        .with(
            "ApproximateArrivalTimestamp",
            Value::Timestamp(x.arrival_ms),
        )
        .with("Data", Value::Blob(x.data.to_vec()))
        .with("PartitionKey", x.partition_key);
    if kms {
        v.with("EncryptionType", "KMS")
    } else {
        v
    }
}
