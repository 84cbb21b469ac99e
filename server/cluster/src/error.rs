//! The crate's error types.

use std::io;
use std::net::SocketAddr;

use crate::NodeId;

/// An error produced by the remote node's handler (or by the remote transport on its behalf, with a code from
/// [`crate::wire::codes`]); it travels back to the caller unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("remote error {code}: {message}")]
pub struct RemoteError {
    /// Application-defined code (handlers should stay below `0xFF00`, the transport's own range).
    pub code: u16,
    /// Human-readable message.
    pub message: String,
}

/// Starting the transport failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The configuration is invalid.
    #[error("invalid transport configuration: {0}")]
    Config(#[from] ConfigError),
    /// The inter-node listener could not be bound.
    #[error("cannot bind the inter-node listener on {addr}: {source}")]
    Bind {
        /// The configured listen address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The bound listener's address could not be read.
    #[error("cannot read the inter-node listener's address: {0}")]
    LocalAddr(#[source] io::Error),
}

/// A call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No response within the call's timeout; the request may or may not have been handled.
    #[error("call timed out")]
    Timeout,
    /// The peer could not be reached, or the connection dropped before the response arrived (the request may or
    /// may not have been handled). The next call reconnects (after the backoff if connecting failed).
    #[error("node {0} is unreachable")]
    Unreachable(NodeId),
    /// The node is not in the peer map given to [`crate::Transport::set_peers`].
    #[error("node {0} is not a known peer")]
    UnknownPeer(NodeId),
    /// The peer answered the Hello exchange with a refusal, or with an identity it should not have (another
    /// cluster id, another node id).
    #[error("node {peer} refused the connection: {reason}")]
    Refused {
        /// The node dialled.
        peer: NodeId,
        /// Why.
        reason: String,
    },
    /// The remote handler returned an error.
    #[error(transparent)]
    Remote(#[from] RemoteError),
    /// The request frame exceeds the frame limit of this node or of the peer; nothing was sent.
    #[error("request frame of {size} bytes exceeds the limit of {max} bytes")]
    FrameTooLarge {
        /// Frame size (header + payload).
        size: usize,
        /// The smaller of the two nodes' limits.
        max: usize,
    },
    /// The transport was shut down.
    #[error("the transport is shut down")]
    Shutdown,
}

/// Invalid configuration values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// `max_frame_bytes` out of range.
    #[error("max_frame_bytes {value} is outside {min}..=4294967295")]
    MaxFrame {
        /// The configured value.
        value: usize,
        /// The smallest allowed value (room for the header and a Hello).
        min: usize,
    },
    /// `cluster_id` empty or too long.
    #[error("cluster_id must be 1 to 255 bytes")]
    ClusterId,
    /// `flush_threshold` is zero.
    #[error("flush_threshold must be positive")]
    FlushThreshold,
    /// `queue_depth` is zero.
    #[error("queue_depth must be positive")]
    QueueDepth,
    /// `keepalive_interval` is zero.
    #[error("keepalive_interval must be positive")]
    Keepalive,
    /// `connect_timeout` is zero.
    #[error("connect_timeout must be positive")]
    ConnectTimeout,
    /// Backoff bounds inconsistent.
    #[error("reconnect_backoff needs 0 < initial <= max")]
    Backoff,
}
