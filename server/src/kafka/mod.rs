//! The Kafka TCP listener. It owns framing and connection lifecycle only; the protocol plugs in as a
//! [`KafkaHandler`].
//!
//! Kafka frames are a 4-byte big-endian length followed by that many bytes of request. Responses go back with the
//! same framing, in request order. Frames above `kafka.max_request_bytes` and connections idle for longer than
//! `kafka.idle_timeout_ms` are closed, as Apache Kafka does.

mod conn;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{Instrument, info, info_span, warn};

use crate::config::KafkaConfig;

/// What handling a request yields: a response now, or one that completes later.
pub enum Reply<L> {
    /// The response, in the chunks to write (a Fetch response's record sets are chunks of their own); `None`
    /// sends nothing (a Produce with `acks=0`).
    Now(Option<strait_kafka::codec::Frame>),
    /// The request's ordered work is done (an acks=-1 Produce is appended) and the response follows when `L`
    /// completes (its batches are durable).
    Later(L),
}

/// Turns one request frame into at most one response frame.
///
/// The connection calls it for one frame at a time, in order: Apache Kafka processes a connection's requests
/// strictly in order, and clients rely on it (a producer's pipelined batches for one partition must be appended
/// in the order sent). A [`Reply::Later`] lets the next requests be handled while it completes, but responses are
/// always written in request order.
pub trait KafkaHandler: Send + Sync + 'static {
    /// Why a frame could not be handled; the connection is closed and the error logged.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Per-connection state (client id, SASL progress), created when a connection is accepted.
    type Session: Send;

    /// A response that completes after its request's ordered work.
    type Later: Future<Output = Result<Option<Bytes>, Self::Error>> + Send + 'static;

    fn open_session(&self, peer: SocketAddr) -> Self::Session;

    /// Handles one request (the frame without its length prefix). Responses are written back with a length
    /// prefix added.
    fn handle(
        &self,
        session: &mut Self::Session,
        frame: Bytes,
    ) -> impl Future<Output = Result<Reply<Self::Later>, Self::Error>> + Send;
}

/// The handler used until the Kafka front end exists: it refuses every request by closing the connection.
#[derive(Debug, Clone, Copy, Default)]
pub struct NotImplementedHandler;

#[derive(Debug, thiserror::Error)]
#[error("Kafka API not implemented yet")]
pub struct NotImplemented;

impl KafkaHandler for NotImplementedHandler {
    type Error = NotImplemented;
    type Session = ();
    type Later = std::future::Ready<Result<Option<Bytes>, NotImplemented>>;

    fn open_session(&self, _peer: SocketAddr) {}

    async fn handle(
        &self,
        _session: &mut (),
        _frame: Bytes,
    ) -> Result<Reply<Self::Later>, NotImplemented> {
        Err(NotImplemented)
    }
}

/// The Kafka front end proper.
impl KafkaHandler for strait_kafka::Broker {
    type Error = strait_kafka::KafkaError;
    type Session = strait_kafka::Session;
    type Later = strait_kafka::api::Deferred;

    fn open_session(&self, peer: SocketAddr) -> strait_kafka::Session {
        strait_kafka::Session {
            peer: Some(peer),
            ..Default::default()
        }
    }

    async fn handle(
        &self,
        session: &mut strait_kafka::Session,
        frame: Bytes,
    ) -> Result<Reply<Self::Later>, strait_kafka::KafkaError> {
        Ok(
            match strait_kafka::Broker::handle_pipelined(self, session, frame).await? {
                strait_kafka::api::Reply::Now(r) => Reply::Now(r),
                strait_kafka::api::Reply::Later(f) => Reply::Later(f),
            },
        )
    }
}

/// Connection limits, from [`KafkaConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    pub idle_timeout: Duration,
}

impl From<&KafkaConfig> for Limits {
    fn from(cfg: &KafkaConfig) -> Self {
        Limits {
            max_request_bytes: cfg.max_request_bytes as usize,
            idle_timeout: Duration::from_millis(cfg.idle_timeout_ms),
        }
    }
}

/// Accepts Kafka connections on `listener` until `shutdown` resolves. Then it stops accepting, lets every
/// connection finish the requests it has already read, and waits up to `grace` before dropping the rest.
pub async fn serve<H: KafkaHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Responses are written whole; Nagle would only delay the last segment of each.
                    let _ = stream.set_nodelay(true);
                    next_id += 1;
                    let span = info_span!("kafka_conn", id = next_id, %peer);
                    let session = handler.open_session(peer);
                    let conn = conn::run(stream, handler.clone(), session, limits, stop_rx.clone());
                    conns.spawn(conn.instrument(span));
                }
                Err(e) => {
                    warn!(error = %e, "Kafka accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            // Reap finished connections so the set does not grow with every connection ever accepted.
            Some(joined) = conns.join_next(), if !conns.is_empty() => log_panic(joined),
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while let Some(joined) = conns.join_next().await {
            log_panic(joined);
        }
    })
    .await;
    match drained {
        Ok(()) => info!("Kafka listener stopped"),
        Err(_) => {
            warn!(
                open = conns.len(),
                ?grace,
                "Kafka connections still busy after the grace period; dropped"
            );
            conns.abort_all();
        }
    }
}

fn log_panic(joined: Result<(), tokio::task::JoinError>) {
    if let Err(e) = joined
        && e.is_panic()
    {
        tracing::error!(error = %e, "a Kafka connection task panicked");
    }
}
