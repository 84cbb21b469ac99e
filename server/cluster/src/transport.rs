//! The [`Transport`]: one per node, owning the inter-node listener, the peer map and every connection.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::config::TransportConfig;
use crate::conn::{Conn, ConnCtx, Established, PendingCall};
use crate::dispatch::Dispatcher;
use crate::error::{CallError, TransportError};
use crate::handler::Handler;
use crate::handshake::{self, HandshakeError};
use crate::io::{Acceptor, BoxStream, Connector, TcpAcceptor, TcpConnector};
use crate::peers::{Peer, PeerStatus, Peers};
use crate::stats::{Counters, TransportStats, add};
use crate::wire::{HEADER_LEN, Hello, PROTOCOL_VERSION};
use crate::writer::WriterConfig;
use crate::{GroupId, Method, NodeId};

/// How the receiver schedules a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lane {
    /// Handled after every earlier ordered request this node sent for the same group, one at a time (Raft
    /// replication traffic).
    Ordered,
    /// Handled concurrently with everything else (forwarded client requests, votes, reads).
    Concurrent,
}

/// One node's inter-node transport: a listener plus one outbound connection per peer. Cheap to clone; every
/// clone is the same transport. Dropping the last clone stops it (as [`Transport::shutdown`] does, without
/// waiting).
#[derive(Clone)]
pub struct Transport {
    inner: Arc<Inner>,
}

struct Inner {
    cfg: TransportConfig,
    local_addr: SocketAddr,
    hello: Hello,
    peers: Peers,
    dispatcher: Arc<Dispatcher>,
    ctx: Arc<ConnCtx>,
    connector: Arc<dyn Connector>,
    shutdown: CancellationToken,
    /// Cloned into every task the transport starts; `None` once shutting down.
    alive: Mutex<Option<mpsc::Sender<()>>>,
    /// Yields `None` once every task holding an `alive` clone has ended.
    done: tokio::sync::Mutex<mpsc::Receiver<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown.cancel();
        self.dispatcher.close();
    }
}

impl Transport {
    /// Binds the listener on `cfg.listen_addr` and starts serving with plain TCP.
    pub async fn start(
        cfg: TransportConfig,
        handler: Arc<dyn Handler>,
    ) -> Result<Transport, TransportError> {
        let connector = Arc::new(TcpConnector::new(cfg.source_addr));
        Transport::start_with(cfg, handler, connector, Arc::new(TcpAcceptor)).await
    }

    /// Like [`Transport::start`], with the stream seam supplied (TLS, or test wrappers).
    pub async fn start_with(
        cfg: TransportConfig,
        handler: Arc<dyn Handler>,
        connector: Arc<dyn Connector>,
        acceptor: Arc<dyn Acceptor>,
    ) -> Result<Transport, TransportError> {
        cfg.validate()?;
        let listener =
            TcpListener::bind(cfg.listen_addr)
                .await
                .map_err(|source| TransportError::Bind {
                    addr: cfg.listen_addr,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(TransportError::LocalAddr)?;
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            node: cfg.node_id,
            // `validate` bounds it by u32::MAX.
            max_frame: u32::try_from(cfg.max_frame_bytes).unwrap_or(u32::MAX),
            cluster_id: cfg.cluster_id.clone(),
        };
        let dispatcher = Dispatcher::new(handler);
        let ctx = Arc::new(ConnCtx {
            dispatcher: Arc::clone(&dispatcher),
            writer: WriterConfig {
                window: cfg.coalesce_window,
                threshold: cfg.flush_threshold,
                keepalive: cfg.keepalive_interval,
            },
            max_frame: cfg.max_frame_bytes,
            queue_depth: cfg.queue_depth,
            counters: Arc::new(Counters::default()),
        });
        let shutdown = CancellationToken::new();
        let (alive, done) = mpsc::channel(1);
        let accept = AcceptLoop {
            listener,
            acceptor,
            hello: hello.clone(),
            ctx: Arc::clone(&ctx),
            shutdown: shutdown.clone(),
            alive: alive.clone(),
            timeout: cfg.connect_timeout,
        };
        tokio::spawn(accept.run());
        info!(node = cfg.node_id, %local_addr, cluster = %cfg.cluster_id, "inter-node transport listening");
        let inner = Inner {
            cfg,
            local_addr,
            hello,
            peers: Peers::default(),
            dispatcher,
            ctx,
            connector,
            shutdown,
            alive: Mutex::new(Some(alive)),
            done: tokio::sync::Mutex::new(done),
        };
        Ok(Transport {
            inner: Arc::new(inner),
        })
    }

    /// The listener's bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// This node's id.
    pub fn node_id(&self) -> NodeId {
        self.inner.cfg.node_id
    }

    /// Replaces the peer map (node join, removal, address change). Connections to peers that left or moved are
    /// closed and their in-flight calls fail with `Unreachable`; the others are kept.
    pub fn set_peers(&self, peers: HashMap<NodeId, SocketAddr>) {
        self.inner.peers.set(peers);
    }

    /// A request on the concurrent lane, waiting at most `timeout` (connecting included) for the answer.
    pub async fn call(
        &self,
        to: NodeId,
        group: GroupId,
        method: Method,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        self.call_on(to, group, method, payload, Lane::Concurrent, timeout)
            .await
    }

    /// A request on the ordered lane of `group`, waiting at most `timeout` for the answer. To keep several
    /// ordered requests in flight, use [`Transport::send`].
    pub async fn call_ordered(
        &self,
        to: NodeId,
        group: GroupId,
        method: Method,
        payload: Bytes,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        self.call_on(to, group, method, payload, Lane::Ordered, timeout)
            .await
    }

    /// A request on `lane`, waiting at most `timeout` for the answer.
    pub async fn call_on(
        &self,
        to: NodeId,
        group: GroupId,
        method: Method,
        payload: Bytes,
        lane: Lane,
        timeout: Duration,
    ) -> Result<Bytes, CallError> {
        let call = async {
            self.send(to, group, method, payload, lane)
                .await?
                .wait()
                .await
        };
        tokio::time::timeout(timeout, call)
            .await
            .unwrap_or_else(|_| {
                add(&self.inner.ctx.counters.calls_timed_out, 1);
                Err(CallError::Timeout)
            })
    }

    /// Queues a request and returns once it is queued on the peer's connection (dialling first if needed,
    /// bounded by the connect timeout). Requests queued one after another leave, and on the ordered lane are
    /// handled, in that order; await each [`PendingCall`] for its answer. This is how a Raft replication stream
    /// pipelines appends.
    pub async fn send(
        &self,
        to: NodeId,
        group: GroupId,
        method: Method,
        payload: Bytes,
        lane: Lane,
    ) -> Result<PendingCall, CallError> {
        if self.inner.shutdown.is_cancelled() {
            return Err(CallError::Shutdown);
        }
        let size = HEADER_LEN + payload.len();
        let max = self.inner.cfg.max_frame_bytes;
        if size > max {
            return Err(CallError::FrameTooLarge { size, max });
        }
        let conn = self.connection(to).await?;
        conn.send(group, method, payload, lane == Lane::Ordered)
            .await
    }

    /// Calls of this node waiting for a response, over all peers (for tests and metrics).
    pub fn in_flight(&self) -> usize {
        self.inner.peers.in_flight()
    }

    /// Counters since start (writes, frames, bytes, connections, failures), for the server to export.
    pub fn stats(&self) -> TransportStats {
        self.inner.ctx.counters.snapshot()
    }

    /// Every peer's outbound connection state, by node id (for `/healthz` and logs).
    pub fn peer_status(&self) -> Vec<PeerStatus> {
        self.inner.peers.status()
    }

    /// The frame limit agreed with `to` if connected (the smaller of both nodes' limits).
    pub fn peer_max_frame(&self, to: NodeId) -> Option<usize> {
        self.inner
            .peers
            .get(to)
            .and_then(|p| p.live())
            .map(|c| c.max_frame())
    }

    /// Stops the listener, closes every connection (in-flight calls fail with `Shutdown`), stops the ordered
    /// lanes, and waits until the connection tasks have ended. Handlers already running finish on their own.
    pub async fn shutdown(&self) {
        let inner = &self.inner;
        inner.peers.close_all();
        inner.shutdown.cancel();
        inner.dispatcher.close();
        drop(
            inner
                .alive
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let mut done = inner.done.lock().await;
        while done.recv().await.is_some() {}
        debug!(node = inner.cfg.node_id, "inter-node transport stopped");
    }

    /// The open connection to `to`, dialling if there is none.
    async fn connection(&self, to: NodeId) -> Result<Arc<Conn>, CallError> {
        let inner = &self.inner;
        let peer = inner.peers.get(to).ok_or(CallError::UnknownPeer(to))?;
        if let Some(c) = peer.live() {
            return Ok(c);
        }
        let mut dial = peer.dial.lock().await;
        if let Some(c) = peer.live() {
            return Ok(c);
        }
        if dial.retry_at.is_some_and(|at| Instant::now() < at) {
            return Err(CallError::Unreachable(to));
        }
        let alive = inner
            .alive
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or(CallError::Shutdown)?;
        let attempt = tokio::time::timeout(inner.cfg.connect_timeout, self.dial(&peer));
        let result = tokio::select! {
            _ = inner.shutdown.cancelled() => return Err(CallError::Shutdown),
            r = attempt => r,
        };
        let err = match result {
            Ok(Ok((stream, hello))) => {
                dial.failures = 0;
                dial.retry_at = None;
                add(&inner.ctx.counters.connections_dialled, 1);
                let est = Established {
                    stream,
                    peer: to,
                    peer_max_frame: hello.max_frame as usize,
                    parent: inner.shutdown.clone(),
                    alive,
                };
                let conn = Conn::spawn(est, &inner.ctx);
                peer.set(Arc::clone(&conn));
                // Checked after publishing: `set_peers` closes a removed peer's connection after swapping the
                // map, so either it saw this connection or this check sees the swap; none stays open unowned.
                if !inner.peers.is_current(&peer) {
                    conn.close(CallError::Unreachable(to));
                    return Err(CallError::Unreachable(to));
                }
                debug!(peer = to, addr = %peer.addr, "inter-node connection established");
                return Ok(conn);
            }
            Ok(Err(e)) => e,
            Err(_elapsed) => HandshakeError::Io(std::io::ErrorKind::TimedOut.into()),
        };
        dial.failures = dial.failures.saturating_add(1);
        add(&inner.ctx.counters.dial_failures, 1);
        let delay = inner.cfg.reconnect_backoff.delay(dial.failures);
        dial.retry_at = Some(Instant::now() + delay);
        if dial.failures == 1 {
            warn!(peer = to, addr = %peer.addr, error = %err, ?delay, "cannot connect to peer");
        } else {
            debug!(peer = to, addr = %peer.addr, error = %err, failures = dial.failures, ?delay, "cannot connect to peer");
        }
        if err.is_refusal() {
            Err(CallError::Refused {
                peer: to,
                reason: err.to_string(),
            })
        } else {
            Err(CallError::Unreachable(to))
        }
    }

    async fn dial(&self, peer: &Peer) -> Result<(BoxStream, Hello), HandshakeError> {
        let mut stream = self.inner.connector.connect(peer.addr).await?;
        let hello = handshake::dial(&mut stream, &self.inner.hello, peer.id).await?;
        Ok((stream, hello))
    }
}

/// The listener task.
struct AcceptLoop {
    listener: TcpListener,
    acceptor: Arc<dyn Acceptor>,
    hello: Hello,
    ctx: Arc<ConnCtx>,
    shutdown: CancellationToken,
    alive: mpsc::Sender<()>,
    timeout: Duration,
}

impl AcceptLoop {
    async fn run(self) {
        loop {
            let accepted = tokio::select! {
                _ = self.shutdown.cancelled() => return,
                r = self.listener.accept() => r,
            };
            match accepted {
                Ok((tcp, addr)) => self.serve(tcp, addr),
                Err(e) => {
                    // Typically EMFILE: back off briefly instead of spinning.
                    warn!(error = %e, "inter-node accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn serve(&self, tcp: tokio::net::TcpStream, addr: SocketAddr) {
        let acceptor = Arc::clone(&self.acceptor);
        let hello = self.hello.clone();
        let ctx = Arc::clone(&self.ctx);
        let parent = self.shutdown.clone();
        let alive = self.alive.clone();
        let timeout = self.timeout;
        tokio::spawn(async move {
            let handshake = async {
                let mut stream = acceptor.accept(tcp, addr).await?;
                let theirs = handshake::accept(&mut stream, &hello).await?;
                Ok::<_, HandshakeError>((stream, theirs))
            };
            let result = tokio::select! {
                _ = parent.cancelled() => return,
                r = tokio::time::timeout(timeout, handshake) => r,
            };
            match result {
                Ok(Ok((stream, theirs))) => {
                    debug!(peer = theirs.node, %addr, "inter-node connection accepted");
                    add(&ctx.counters.connections_accepted, 1);
                    let est = Established {
                        stream,
                        peer: theirs.node,
                        peer_max_frame: theirs.max_frame as usize,
                        parent,
                        alive,
                    };
                    Conn::spawn(est, &ctx);
                }
                Ok(Err(e)) => {
                    add(&ctx.counters.handshakes_refused, 1);
                    warn!(%addr, error = %e, "refused inbound inter-node connection");
                }
                Err(_elapsed) => {
                    add(&ctx.counters.handshakes_refused, 1);
                    warn!(%addr, ?timeout, "refused inbound inter-node connection: no hello in time");
                }
            }
        });
    }
}
