//! The inter-node transport of a Strait cluster.
//!
//! Nodes talk over one multiplexed TCP connection per peer. Raft (a group per partition plus the controller
//! group) and request forwarding ride on it; this crate knows neither: it moves opaque payloads tagged with a
//! [`GroupId`] and a [`Method`], correlates responses to requests, and hands incoming requests to a [`Handler`].
//! The wire format is in [`wire`] and the crate README.
//!
//! ```
//! use std::time::Duration;
//! use bytes::Bytes;
//! use strait_cluster::{Method, Transport, TransportConfig, handler_fn};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let echo = handler_fn(|_from, _group, _method, payload: Bytes| async move { Ok(payload) });
//! let local = "127.0.0.1:0".parse()?;
//! let a = Transport::start(TransportConfig::new(1, "demo", local), echo.clone()).await?;
//! let b = Transport::start(TransportConfig::new(2, "demo", local), echo).await?;
//! a.set_peers([(2, b.local_addr())].into());
//! let answer = a.call(2, 0, Method(1), Bytes::from_static(b"hi"), Duration::from_secs(5)).await?;
//! assert_eq!(&answer[..], b"hi");
//! a.shutdown().await;
//! b.shutdown().await;
//! # Ok(())
//! # }
//! # tokio::runtime::Runtime::new().unwrap().block_on(demo()).unwrap();
//! ```
//!
//! Module map, bottom up:
//! - [`wire`]: the frame codec (pure, no I/O), Hello and Error payloads.
//! - [`config`], [`error`]: [`TransportConfig`], the error enums.
//! - [`io`]: the connector/acceptor seam (TCP today, mTLS later).
//! - `writer`: the per-connection coalescing writer task.
//! - [`handler`] and `dispatch`: the receiving side, ordered lanes and concurrent requests.
//! - `handshake`: the Hello exchange; `conn`: one connection's reader, writer and in-flight calls.
//! - [`stats`]: counters ([`TransportStats`]) for the server to export as metrics.
//! - `peers`: the peer map and redialling, [`PeerStatus`]; [`transport`]: the [`Transport`] tying it together.

pub mod config;
mod conn;
mod dispatch;
pub mod error;
pub mod handler;
mod handshake;
pub mod io;
mod peers;
pub mod stats;
pub mod transport;
pub mod wire;
mod writer;

/// A node's id (the same numbering as the engine's cluster view; this crate does not depend on the engine).
pub type NodeId = i32;
/// A replication group: 0 is the controller group, the others are assigned by the controller.
pub type GroupId = u64;

/// A method number, opaque to the transport (the layer above defines what each means).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Method(pub u16);

pub use config::{Backoff, TransportConfig};
pub use conn::PendingCall;
pub use error::{CallError, ConfigError, RemoteError, TransportError};
pub use handler::{Handler, HandlerFuture, handler_fn};
pub use peers::PeerStatus;
pub use stats::TransportStats;
pub use transport::{Lane, Transport};
