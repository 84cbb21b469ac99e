//! One Kafka connection: a reader that frames requests and a writer that answers them in order. The stream is
//! plain TCP or TLS whose handshake the listener has already completed; framing is the same over both.
//!
//! Both halves run in the connection's task. The reader may read one frame ahead while the handler works on the
//! previous one, overlapping network and work; the bound of one keeps a connection's memory to a few
//! `max_request_bytes`, close to Apache Kafka, which holds one request per connection at a time.
//!
//! A frame's bytes are reserved in the node's in-flight budget as they arrive, and stay reserved until it has been
//! handled; while the budget is short the reader waits and reads nothing more from the socket (a frame that waits
//! longer than [`BUDGET_WAIT`] closes its connection). Until the connection has authenticated (when SASL is
//! configured), frames above `kafka.pre_auth_max_request_bytes` close it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use strait_kafka::codec::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::debug;

use super::{Guards, KafkaHandler, Limits, Reply};
use crate::limits::{MemoryBudget, Reservation};
use crate::tls::MaybeTls;
use crate::tls::stream::{ReadHalf, WriteHalf};

/// Read buffer size; also the most memory reserved before a frame's bytes actually arrive, so a client that only
/// announces a large frame cannot make the server allocate it.
const READ_CHUNK: usize = 64 * 1024;

/// How long a partly read frame may wait for in-flight budget before its connection is closed (see read_frame).
const BUDGET_WAIT: Duration = Duration::from_secs(30);

/// Why the reader stopped.
#[derive(Debug)]
enum ReadEnd {
    /// The client closed its side (possibly mid-frame).
    Eof,
    Idle,
    Shutdown,
    /// The announced size is negative or above `max_request_bytes`.
    TooLarge(i32),
    /// The announced size is above `pre_auth_max_request_bytes` and the connection has not authenticated.
    TooLargeBeforeAuth(i32),
    Io(std::io::Error),
    /// The writer stopped first; nothing will answer further frames.
    WriterGone,
    /// A partly read frame waited longer than [`BUDGET_WAIT`] for in-flight budget.
    BudgetExhausted,
}

/// Why the writer stopped early.
#[derive(Debug, thiserror::Error)]
enum WriteEnd<E> {
    #[error(transparent)]
    Handler(E),
    #[error("response of {0} bytes does not fit a Kafka frame")]
    ResponseTooLarge(usize),
    #[error("write failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("a deferred response failed: {0}")]
    Panicked(tokio::task::JoinError),
}

/// One accepted connection and what it needs.
pub(super) struct Conn<H: KafkaHandler> {
    pub(super) stream: MaybeTls,
    pub(super) peer: SocketAddr,
    pub(super) handler: Arc<H>,
    pub(super) session: H::Session,
    pub(super) limits: Limits,
    pub(super) guards: Guards,
    pub(super) stop: watch::Receiver<bool>,
}

/// A frame and its bytes' reservation in the in-flight budget.
type Framed = (Bytes, Reservation);

pub(super) async fn run<H: KafkaHandler>(c: Conn<H>) {
    let Conn {
        stream,
        peer,
        handler,
        session,
        limits,
        guards,
        stop,
    } = c;
    metrics::counter!("strait_kafka_connections_total").increment(1);
    let active = metrics::gauge!("strait_kafka_connections_active");
    active.increment(1.0);
    debug!("Kafka connection opened");
    let (rd, wr) = stream.into_split();
    let (tx, rx) = mpsc::channel(1);
    // Set by the writer once the session has authenticated, read by the reader to pick the frame limit.
    let authed = Arc::new(AtomicBool::new(handler.authenticated(&session)));
    let reader = read_frames(rd, tx, limits, guards.budget.clone(), authed.clone(), stop);
    let writer = write_responses(
        rx,
        wr,
        handler.as_ref(),
        session,
        Auth {
            authed,
            peer,
            guards: &guards,
        },
    );
    tokio::pin!(reader, writer);
    let written = tokio::select! {
        end = &mut reader => {
            match &end {
                ReadEnd::Eof | ReadEnd::WriterGone => debug!("client closed the connection"),
                ReadEnd::Shutdown => debug!("closing Kafka connection for shutdown"),
                ReadEnd::Idle => crate::log_limited!(
                    info,
                    "kafka_conn_idle",
                    idle = ?limits.idle_timeout,
                    "closing idle Kafka connection"
                ),
                ReadEnd::TooLarge(size) => crate::log_limited!(
                    warn,
                    "kafka_frame_too_large",
                    size,
                    max = limits.max_request_bytes,
                    "closing Kafka connection: request frame exceeds kafka.max_request_bytes"
                ),
                ReadEnd::TooLargeBeforeAuth(size) => crate::log_limited!(
                    warn,
                    "kafka_frame_too_large_before_auth",
                    size,
                    max = limits.pre_auth_max_request_bytes,
                    "closing Kafka connection: frame before SASL authentication exceeds \
                     kafka.pre_auth_max_request_bytes"
                ),
                ReadEnd::Io(e) => debug!(error = %e, "Kafka read failed"),
                ReadEnd::BudgetExhausted => crate::log_limited!(
                    warn,
                    "kafka_budget_exhausted",
                    wait = ?BUDGET_WAIT,
                    "closing Kafka connection: its request waited too long for node.max_inflight_request_bytes"
                ),
            }
            if matches!(end, ReadEnd::TooLarge(_) | ReadEnd::TooLargeBeforeAuth(_)) {
                metrics::counter!("strait_kafka_frames_rejected_total").increment(1);
            }
            // Frames already read are in flight from the client's point of view: answer them before closing.
            (&mut writer).await
        }
        written = &mut writer => written,
    };
    match written {
        Ok(()) => {}
        // A malformed or unauthenticated request: anyone can send those, so the log line is rate-limited.
        Err(WriteEnd::Handler(e)) => {
            crate::log_limited!(info, "kafka_conn_error", error = %e, "closing Kafka connection")
        }
        Err(e) => debug!(error = %e, "closing Kafka connection"),
    }
    active.decrement(1.0);
}

async fn read_frames(
    rd: ReadHalf,
    tx: mpsc::Sender<Framed>,
    limits: Limits,
    budget: MemoryBudget,
    authed: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) -> ReadEnd {
    let mut rd = BufReader::with_capacity(READ_CHUNK, rd);
    loop {
        let frame = tokio::select! {
            read = tokio::time::timeout(limits.idle_timeout, read_frame(&mut rd, &limits, &authed, &budget)) => {
                match read {
                    Err(_elapsed) => return ReadEnd::Idle,
                    Ok(Err(end)) => return end,
                    Ok(Ok(frame)) => frame,
                }
            }
            // A dropped sender also means the listener is gone, so it counts as shutdown too.
            _ = stop.wait_for(|stopping| *stopping) => return ReadEnd::Shutdown,
        };
        metrics::counter!("strait_kafka_frames_total").increment(1);
        if tx.send(frame).await.is_err() {
            return ReadEnd::WriterGone;
        }
    }
}

async fn read_frame(
    rd: &mut BufReader<ReadHalf>,
    limits: &Limits,
    authed: &AtomicBool,
    budget: &MemoryBudget,
) -> Result<Framed, ReadEnd> {
    let mut len = [0u8; 4];
    rd.read_exact(&mut len).await.map_err(eof_or_io)?;
    let announced = i32::from_be_bytes(len);
    let size = usize::try_from(announced).map_err(|_| ReadEnd::TooLarge(announced))?;
    if size > limits.max_request_bytes {
        return Err(ReadEnd::TooLarge(announced));
    }
    // Checked once the size has arrived, not before waiting for it: the writer sets the flag before answering
    // SaslAuthenticate, so it is set by the time a client that waited for that answer sends a larger frame.
    if size > limits.pre_auth_max_request_bytes && !authed.load(Ordering::Acquire) {
        return Err(ReadEnd::TooLargeBeforeAuth(announced));
    }
    // Bytes are reserved as they arrive, chunk by chunk, not for the announced size: announcing costs a client
    // nothing, so an announcement must not take budget (or memory) that others need.
    let mut buf = Vec::with_capacity(size.min(READ_CHUNK));
    let mut held = Reservation::none();
    while buf.len() < size {
        let want = (size - buf.len()).min(READ_CHUNK);
        let need = (buf.len() + want).saturating_sub(held.bytes());
        if need > 0 {
            // Frames that each hold part of an exhausted budget could wait for each other forever; one that
            // waits too long gives up its connection, and its bytes, so the others complete.
            let more = tokio::time::timeout(BUDGET_WAIT, budget.reserve_more(&held, need))
                .await
                .map_err(|_| ReadEnd::BudgetExhausted)?;
            held.merge(more);
        }
        let n = (&mut *rd)
            .take(want as u64)
            .read_to_end(&mut buf)
            .await
            .map_err(eof_or_io)?;
        if n < want {
            return Err(ReadEnd::Eof);
        }
    }
    Ok((Bytes::from(buf), held))
}

fn eof_or_io(e: std::io::Error) -> ReadEnd {
    if e.kind() == std::io::ErrorKind::UnexpectedEof {
        ReadEnd::Eof
    } else {
        ReadEnd::Io(e)
    }
}

/// Deferred responses (acks=-1 Produce waiting for its fsync) a connection may have in flight. Clients keep at most
/// 5 requests in flight by default; beyond this bound the connection stops reading until the oldest completes.
const MAX_DEFERRED: usize = 16;

enum Next<T> {
    Done(T),
    Frame(Option<Framed>),
}

/// The oldest deferred response, without removing it (the caller pops it once it is ready).
async fn oldest<T>(deferred: &mut VecDeque<JoinHandle<T>>) -> Result<T, tokio::task::JoinError> {
    match deferred.front_mut() {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

/// The writer's side of authentication: it tells the reader when the session has authenticated, and delays the
/// answer to a failed attempt.
struct Auth<'a> {
    authed: Arc<AtomicBool>,
    peer: SocketAddr,
    guards: &'a Guards,
}

impl Auth<'_> {
    /// `authenticated` and `failed` describe the session after the request; `failed_before`, before it.
    async fn after_request(&self, authenticated: bool, failed: bool, failed_before: bool) {
        if authenticated {
            self.authed.store(true, Ordering::Release);
        } else if failed && !failed_before {
            self.guards
                .throttle
                .failed("kafka", self.peer.ip(), "SASL authentication failed")
                .await;
        }
    }
}

async fn write_responses<H: KafkaHandler>(
    mut rx: mpsc::Receiver<Framed>,
    wr: WriteHalf,
    handler: &H,
    mut session: H::Session,
    auth: Auth<'_>,
) -> Result<(), WriteEnd<H::Error>> {
    let mut wr = BufWriter::new(wr);
    // Requests are handled one at a time, in order; an acks=-1 Produce returns once appended and its response
    // (waiting for durability) queues here, so the next Produce can be appended under the same fsync.
    let mut deferred: VecDeque<JoinHandle<Result<Option<Bytes>, H::Error>>> = VecDeque::new();
    loop {
        let next = tokio::select! {
            biased;
            done = oldest(&mut deferred), if !deferred.is_empty() => Next::Done(done),
            frame = rx.recv(), if deferred.len() < MAX_DEFERRED => Next::Frame(frame),
        };
        match next {
            Next::Done(done) => {
                deferred.pop_front();
                write_one(&mut wr, joined(done)?).await?;
            }
            Next::Frame(None) => break,
            Next::Frame(Some((frame, reserved))) => {
                let failed_before = handler.auth_failed(&session);
                let reply = handler
                    .handle(&mut session, frame)
                    .await
                    .map_err(WriteEnd::Handler)?;
                drop(reserved);
                let (authenticated, failed) = (
                    handler.authenticated(&session),
                    handler.auth_failed(&session),
                );
                auth.after_request(authenticated, failed, failed_before)
                    .await;
                match reply {
                    Reply::Later(f) => deferred.push_back(tokio::spawn(f)),
                    Reply::Now(response) => {
                        // Responses leave in request order: everything deferred before this one goes first.
                        while let Some(h) = deferred.pop_front() {
                            write_one(&mut wr, joined(h.await)?).await?;
                        }
                        write_one(&mut wr, response).await?;
                    }
                }
            }
        }
    }
    while let Some(h) = deferred.pop_front() {
        write_one(&mut wr, joined(h.await)?).await?;
    }
    wr.shutdown().await?;
    Ok(())
}

fn joined<E>(
    done: Result<Result<Option<Bytes>, E>, tokio::task::JoinError>,
) -> Result<Option<Frame>, WriteEnd<E>> {
    Ok(done
        .map_err(WriteEnd::Panicked)?
        .map_err(WriteEnd::Handler)?
        .map(Frame::from))
}

async fn write_one<E>(
    wr: &mut BufWriter<WriteHalf>,
    response: Option<Frame>,
) -> Result<(), WriteEnd<E>> {
    let Some(response) = response else {
        return Ok(());
    };
    let len =
        i32::try_from(response.len()).map_err(|_| WriteEnd::ResponseTooLarge(response.len()))?;
    wr.write_all(&len.to_be_bytes()).await?;
    // Small chunks gather in the BufWriter; a chunk larger than its buffer (a record set) goes to the socket
    // straight from where the engine read it.
    for chunk in response.chunks() {
        wr.write_all(chunk).await?;
    }
    wr.flush().await?;
    Ok(())
}
