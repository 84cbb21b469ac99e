//! Enhanced fan-out reads: SubscribeToShard, served as an `application/vnd.amazon.eventstream` response.
//!
//! The server routes a SubscribeToShard request here instead of to [`Kinesis::handle`]: [`FanOut::subscribe`]
//! validates the request and answers either with an error (rendered like any other, before the response starts)
//! or with a [`Subscription`], whose [`Subscription::next_message`] yields the framed messages of the response
//! body one at a time:
//!
//! 1. `initial-response` (payload `{}`), which the Java and Go SDKs wait for before anything else;
//! 2. `SubscribeToShardEvent`s as records arrive (long-polling the partition, no busy loop), each with
//!    `ContinuationSequenceNumber` (the last record delivered, or the position reached) and `MillisBehindLatest`,
//!    and at least one every [`EfoConfig::heartbeat`] even without records;
//! 3. at the end of a closed shard, a last event with `ChildShards` (each naming its parents) and no
//!    continuation, then the end of the body (KCL checks exactly this pairing);
//! 4. the body also ends after [`EfoConfig::lifetime`] (AWS: 5 minutes), when [`FanOut::shutdown`] is called,
//!    or with an `exception` message (ResourceInUseException when a newer subscription took over,
//!    ResourceNotFoundException when the stream, shard or consumer went away, InternalFailureException).
//!
//! Event payloads use the request's own format: JSON for `application/x-amz-json-1.1` clients, CBOR for the
//! Java SDKs' `application/x-amz-cbor-1.1` (their event unmarshaller parses with the client's protocol parser).
//! Dropping a [`Subscription`] (client gone) releases everything it holds; nothing runs in the background.

mod frame;
mod lease;
mod start;
mod subscription;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

pub use frame::{event, exception, message};
pub use subscription::Subscription;

use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::state::Kinesis;
use lease::Leases;

/// `Content-Type` of a SubscribeToShard response that started streaming.
pub const EVENT_STREAM_CONTENT_TYPE: &str = "application/vnd.amazon.eventstream";

/// Timing of subscriptions. The defaults are AWS's; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EfoConfig {
    /// How long one subscription lasts before its body ends (AWS: 5 minutes).
    pub lifetime: Duration,
    /// Longest time between two events (AWS sends one at least every 5 s; a margin keeps scheduling delays
    /// from ever stretching a gap past 5 s).
    pub heartbeat: Duration,
    /// A second subscription of the same consumer and shard within this time of the first is refused; later
    /// it takes over (AWS: 5 s).
    pub takeover_window: Duration,
    /// How often an idle subscription re-reads the shard map, to notice that its shard was closed by a reshard
    /// (data arriving wakes it at once; this only bounds how late the end-of-shard event can be).
    pub close_check: Duration,
    /// Record bytes (data + partition key) per event, at least one record per event. AWS delivers up to
    /// 2 MiB/s per consumer and shard; keeping events near 1 MiB keeps any one frame far below the SDK
    /// decoders' 16 MiB message limit, even with JSON's base64.
    pub max_event_bytes: usize,
}

impl Default for EfoConfig {
    fn default() -> Self {
        EfoConfig {
            lifetime: Duration::from_secs(300),
            heartbeat: Duration::from_secs(4),
            takeover_window: Duration::from_secs(5),
            close_check: Duration::from_millis(500),
            max_event_bytes: 1024 * 1024,
        }
    }
}

/// The SubscribeToShard service over one [`Kinesis`]: its settings, the live subscriptions (the takeover rule)
/// and the shutdown signal they all watch. Cheap to clone.
#[derive(Clone)]
pub struct FanOut {
    pub(crate) kinesis: Kinesis,
    pub(crate) cfg: Arc<EfoConfig>,
    pub(crate) leases: Leases,
    shutdown: Arc<watch::Sender<bool>>,
}

impl FanOut {
    pub fn new(kinesis: Kinesis, cfg: EfoConfig) -> FanOut {
        FanOut {
            kinesis,
            cfg: Arc::new(cfg),
            leases: Leases::default(),
            shutdown: Arc::new(watch::channel(false).0),
        }
    }

    /// Validates a SubscribeToShard request and starts a subscription, or says which error to answer with
    /// (rendered by [`KinesisError::to_response`] in `format`, like every other operation's errors).
    pub async fn subscribe(
        &self,
        format: WireFormat,
        body: &[u8],
    ) -> Result<Subscription, KinesisError> {
        start::subscribe(self, format, body, self.shutdown.subscribe()).await
    }

    /// Ends every live subscription (their bodies finish after the message in flight) and refuses nothing else:
    /// the server calls this when it starts shutting down, so open streams do not hold the grace period.
    pub fn shutdown(&self) {
        self.shutdown.send_replace(true);
    }

    /// Subscriptions currently live (holding their consumer and shard).
    pub fn live_subscriptions(&self) -> usize {
        self.leases.len()
    }
}

#[cfg(test)]
mod tests;
