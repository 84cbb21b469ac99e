//! Transport counters: cheap atomics bumped on the hot path, read as a [`TransportStats`] snapshot. The server
//! exports them (as `strait_cluster_*` metrics through the metric catalogue); this crate registers no metrics
//! itself, so it stays free of the catalogue.

use std::sync::atomic::{AtomicU64, Ordering};

/// The live counters, shared by every connection of a transport.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) writes: AtomicU64,
    pub(crate) frames_sent: AtomicU64,
    pub(crate) bytes_sent: AtomicU64,
    pub(crate) frames_received: AtomicU64,
    pub(crate) bytes_received: AtomicU64,
    pub(crate) connections_dialled: AtomicU64,
    pub(crate) dial_failures: AtomicU64,
    pub(crate) connections_accepted: AtomicU64,
    pub(crate) handshakes_refused: AtomicU64,
    pub(crate) malformed_closes: AtomicU64,
    pub(crate) calls_timed_out: AtomicU64,
}

/// Adds `n` to a counter.
pub(crate) fn add(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

/// Totals since the transport started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// Vectored writes (each followed by a flush) on all connections.
    pub writes: u64,
    /// Frames written (requests, responses, errors, pings, pongs; not the Hello).
    pub frames_sent: u64,
    /// Bytes written, frame headers included.
    pub bytes_sent: u64,
    /// Frames decoded.
    pub frames_received: u64,
    /// Bytes read after the Hello exchange.
    pub bytes_received: u64,
    /// Outbound connections established.
    pub connections_dialled: u64,
    /// Outbound attempts that failed (connect, Hello, refusal, timeout).
    pub dial_failures: u64,
    /// Inbound connections that completed the Hello exchange.
    pub connections_accepted: u64,
    /// Inbound connections closed during the Hello exchange (bad magic, other cluster, timeout, ...).
    pub handshakes_refused: u64,
    /// Connections closed because of a malformed frame.
    pub malformed_closes: u64,
    /// Calls that ended with `CallError::Timeout`.
    pub calls_timed_out: u64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> TransportStats {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        TransportStats {
            writes: r(&self.writes),
            frames_sent: r(&self.frames_sent),
            bytes_sent: r(&self.bytes_sent),
            frames_received: r(&self.frames_received),
            bytes_received: r(&self.bytes_received),
            connections_dialled: r(&self.connections_dialled),
            dial_failures: r(&self.dial_failures),
            connections_accepted: r(&self.connections_accepted),
            handshakes_refused: r(&self.handshakes_refused),
            malformed_closes: r(&self.malformed_closes),
            calls_timed_out: r(&self.calls_timed_out),
        }
    }
}
