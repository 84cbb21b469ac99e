//! Transport configuration.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use rand::Rng;

use crate::NodeId;
use crate::error::ConfigError;
use crate::wire::HEADER_LEN;

/// Configuration of one node's transport. Build it with [`TransportConfig::new`] and adjust the fields.
#[derive(Clone, Debug)]
pub struct TransportConfig {
    /// This node's id, sent in the Hello and passed to the peer's handler as `from`.
    pub node_id: NodeId,
    /// Nodes refuse connections from another cluster id (a misconfigured peer list must not merge clusters).
    pub cluster_id: String,
    /// Address of the inter-node listener (port 0 picks one; see [`crate::Transport::local_addr`]).
    pub listen_addr: SocketAddr,
    /// Source address for outbound connections, so nodes sharing a machine on 127.0.0.1/.2/.3 dial from their
    /// own address.
    pub source_addr: Option<IpAddr>,
    /// Largest frame (header + payload) this node sends or accepts. Default 16 MiB: a Raft append carries whole
    /// producer batches (up to ~1 MiB each, several per request), and a bound keeps a bad length prefix from
    /// allocating gigabytes.
    pub max_frame_bytes: usize,
    /// How long the writer lingers after the first queued frame, waiting for more, before writing. Default 0:
    /// the writer always coalesces what is queued (including what ready tasks queue when it yields once, and
    /// everything that queued during the previous write), and that alone gives the best throughput. A linger
    /// window costs latency on every round trip whose connection is not already busy: tokio's timer has 1 ms
    /// granularity and both sides linger, so on 127.0.0.1 (debug build) 100 µs measured ~2.7 ms per sequential
    /// round trip instead of ~0.2 ms, and 1 ms ~5 ms; with 32 concurrent callers, 0 / 100 µs / 1 ms gave about
    /// 47k / 11k / 6k calls/s. Set it only for traffic that is many independent small frames with no caller
    /// waiting (e.g. per-group heartbeats not batched above the transport).
    pub coalesce_window: Duration,
    /// The writer writes as soon as this many bytes are queued, window or not (default 64 KiB).
    pub flush_threshold: usize,
    /// Bound on TCP connect plus the Hello exchange (default 2 s).
    pub connect_timeout: Duration,
    /// Delay between failed connection attempts to one peer; calls in between fail fast with `Unreachable`.
    pub reconnect_backoff: Backoff,
    /// An idle writer sends a Ping this often (default 1 s); a connection that receives nothing for three
    /// intervals is considered dead and closed, failing its in-flight calls.
    pub keepalive_interval: Duration,
    /// Frames queued per connection before senders wait (default 4096): the back-pressure bound.
    pub queue_depth: usize,
}

impl TransportConfig {
    /// A configuration with the defaults above.
    pub fn new(
        node_id: NodeId,
        cluster_id: impl Into<String>,
        listen_addr: SocketAddr,
    ) -> TransportConfig {
        TransportConfig {
            node_id,
            cluster_id: cluster_id.into(),
            listen_addr,
            source_addr: None,
            max_frame_bytes: 16 << 20,
            coalesce_window: Duration::ZERO,
            flush_threshold: 64 << 10,
            connect_timeout: Duration::from_secs(2),
            reconnect_backoff: Backoff {
                initial: Duration::from_millis(50),
                max: Duration::from_secs(2),
            },
            keepalive_interval: Duration::from_secs(1),
            queue_depth: 4096,
        }
    }

    /// Checks the bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_frame_bytes < MIN_FRAME || self.max_frame_bytes > u32::MAX as usize {
            return Err(ConfigError::MaxFrame {
                value: self.max_frame_bytes,
                min: MIN_FRAME,
            });
        }
        if self.cluster_id.is_empty() || self.cluster_id.len() > 255 {
            return Err(ConfigError::ClusterId);
        }
        if self.flush_threshold == 0 {
            return Err(ConfigError::FlushThreshold);
        }
        if self.queue_depth == 0 {
            return Err(ConfigError::QueueDepth);
        }
        if self.keepalive_interval.is_zero() {
            return Err(ConfigError::Keepalive);
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::ConnectTimeout);
        }
        if self.reconnect_backoff.initial.is_zero()
            || self.reconnect_backoff.initial > self.reconnect_backoff.max
        {
            return Err(ConfigError::Backoff);
        }
        Ok(())
    }
}

/// The smallest allowed frame limit: room for the header and a Hello.
const MIN_FRAME: usize = HEADER_LEN + 1024;

/// Bounded exponential backoff with jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Ceiling.
    pub max: Duration,
}

impl Backoff {
    /// The delay after `failures` consecutive failures (≥ 1): `initial · 2^(failures-1)` capped at `max`, then
    /// drawn uniformly from its upper half so that nodes restarting together do not redial in lockstep.
    pub fn delay(&self, failures: u32) -> Duration {
        let exp = failures.saturating_sub(1).min(20);
        let full = self.initial.saturating_mul(1 << exp).min(self.max);
        let half = full / 2;
        let jitter = rand::rng().random_range(0..=half.as_micros() as u64);
        half + Duration::from_micros(jitter)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_grows() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let d1 = b.delay(1);
            assert!(
                d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100),
                "{d1:?}"
            );
            let d3 = b.delay(3);
            assert!(
                d3 >= Duration::from_millis(200) && d3 <= Duration::from_millis(400),
                "{d3:?}"
            );
            let d = b.delay(u32::MAX);
            assert!(
                d >= Duration::from_millis(500) && d <= Duration::from_secs(1),
                "{d:?}"
            );
        }
    }

    #[test]
    fn defaults_validate_and_bad_values_do_not() {
        let mut c = TransportConfig::new(1, "c", "127.0.0.1:0".parse().unwrap());
        assert_eq!(c.validate(), Ok(()));
        c.max_frame_bytes = 10;
        assert_eq!(
            c.validate(),
            Err(ConfigError::MaxFrame {
                value: 10,
                min: MIN_FRAME
            })
        );
        c.max_frame_bytes = 1 << 20;
        c.cluster_id.clear();
        assert_eq!(c.validate(), Err(ConfigError::ClusterId));
    }
}
