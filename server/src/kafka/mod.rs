//! The Kafka TCP listener. It owns framing and connection lifecycle only; the protocol plugs in as a
//! [`KafkaHandler`].
//!
//! Kafka frames are a 4-byte big-endian length followed by that many bytes of request. Responses go back with the
//! same framing, in request order. Frames above `kafka.max_request_bytes` (before SASL authentication:
//! `kafka.pre_auth_max_request_bytes`) and connections idle for longer than `kafka.idle_timeout_ms` are closed, as
//! Apache Kafka does. At most `kafka.max_connections` are open; frame bytes come from the node's in-flight budget.

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

use crate::auth_throttle::AuthThrottle;
use crate::config::KafkaConfig;
use crate::limits::{self, ConnLimit, MemoryBudget};
use crate::tls::{MaybeTls, ServerTls};

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

    /// The connection presented a TLS client certificate whose principal name (after the mapping rules) is
    /// `name`: the session acts as `User:<name>` unless it authenticates with SASL, as in Kafka.
    fn certificate_principal(&self, _session: &mut Self::Session, _name: String) {}

    /// Handles one request (the frame without its length prefix). Responses are written back with a length
    /// prefix added.
    fn handle(
        &self,
        session: &mut Self::Session,
        frame: Bytes,
    ) -> impl Future<Output = Result<Reply<Self::Later>, Self::Error>> + Send;

    /// Whether `session` may send frames up to `kafka.max_request_bytes`: it has authenticated, or no
    /// authentication is required. Until then frames are limited to `kafka.pre_auth_max_request_bytes`.
    fn authenticated(&self, _session: &Self::Session) -> bool {
        true
    }

    /// Whether `session`'s authentication has failed; the failure's answer is then delayed and counted
    /// (crate::auth_throttle).
    fn auth_failed(&self, _session: &Self::Session) -> bool {
        false
    }
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

    fn certificate_principal(&self, session: &mut strait_kafka::Session, name: String) {
        session.principal =
            strait_access::Principal::user(name, strait_access::AuthMechanism::TlsCertificate);
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

    fn authenticated(&self, session: &strait_kafka::Session) -> bool {
        !self.config().sasl_required() || session.login.is_some()
    }

    fn auth_failed(&self, session: &strait_kafka::Session) -> bool {
        matches!(session.sasl, strait_kafka::api::sasl::SaslState::Failed)
    }
}

/// Connection limits, from [`KafkaConfig`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_request_bytes: usize,
    /// Largest frame before the connection has authenticated (see [`KafkaHandler::authenticated`]).
    pub pre_auth_max_request_bytes: usize,
    pub idle_timeout: Duration,
    pub max_connections: u32,
}

impl From<&KafkaConfig> for Limits {
    fn from(cfg: &KafkaConfig) -> Self {
        Limits {
            max_request_bytes: cfg.max_request_bytes as usize,
            pre_auth_max_request_bytes: cfg.pre_auth_max_request_bytes as usize,
            idle_timeout: Duration::from_millis(cfg.idle_timeout_ms),
            max_connections: cfg.max_connections,
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::from(&KafkaConfig::default())
    }
}

/// What Kafka connections share with the rest of the node.
#[derive(Debug, Clone)]
pub struct Guards {
    /// In-flight request bytes, shared with the other listeners.
    pub budget: MemoryBudget,
    pub throttle: Arc<AuthThrottle>,
    /// TLS (Kafka's `SSL`/`SASL_SSL`), or `None` for plain TCP.
    pub tls: Option<ServerTls>,
}

impl Default for Guards {
    /// The configuration's defaults (in-process tests use these).
    fn default() -> Self {
        let aws = crate::aws::Guards::default();
        Guards {
            budget: aws.budget,
            throttle: aws.throttle,
            tls: None,
        }
    }
}

/// Accepts Kafka connections on `listener` until `shutdown` resolves. Then it stops accepting, lets every
/// connection finish the requests it has already read, and waits up to `grace` before dropping the rest.
pub async fn serve<H: KafkaHandler>(
    listener: TcpListener,
    handler: Arc<H>,
    limits: Limits,
    guards: Guards,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    let cap = ConnLimit::new("kafka", limits.max_connections);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    let mut next_id: u64 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            (stream, peer) = limits::accept(&listener, "kafka") => {
                // Over the cap: dropping the stream closes it at once, and the listener goes on.
                let Some(slot) = cap.admit() else { continue };
                // Responses are written whole; Nagle would only delay the last segment of each.
                let _ = stream.set_nodelay(true);
                next_id += 1;
                let span = info_span!("kafka_conn", id = next_id, %peer);
                let handler = handler.clone();
                let guards = guards.clone();
                let stop = stop_rx.clone();
                conns.spawn(async move {
                    let _slot = slot;
                    let mut session = handler.open_session(peer);
                    let stream = match &guards.tls {
                        None => MaybeTls::Plain(stream),
                        // The handshake runs here, in the connection's task, so a slow or silent client never
                        // holds up the accept loop.
                        Some(tls) => match tls.accept(stream).await {
                            Ok(s) => {
                                match tls.principal_of(&s) {
                                    None => {}
                                    Some(Ok(name)) => handler.certificate_principal(&mut session, name),
                                    // Kafka fails the authentication when no mapping rule applies.
                                    Some(Err(e)) => {
                                        crate::log_limited!(
                                            warn,
                                            "kafka_tls_principal",
                                            error = %e,
                                            "closing Kafka connection: its client certificate maps to no principal"
                                        );
                                        return;
                                    }
                                }
                                MaybeTls::Tls(Box::new(s))
                            }
                            Err(_) => return,
                        },
                    };
                    conn::run(conn::Conn {
                        stream,
                        peer,
                        handler,
                        session,
                        limits,
                        guards,
                        stop,
                    })
                    .await;
                }.instrument(span));
            }
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
