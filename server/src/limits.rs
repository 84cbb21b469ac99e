//! Limits shared by the listeners: a per-listener connection cap, a global budget of in-flight request bytes, and
//! the accept-error backoff. They keep one client (or many) from exhausting file descriptors or memory.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Backoff after a failed accept (out of file descriptors, say): the loop must neither spin nor end, because the
/// condition usually clears when other connections close.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// At most this many connections of one listener are open at once.
#[derive(Debug, Clone)]
pub struct ConnLimit {
    listener: &'static str,
    open: Arc<Semaphore>,
}

/// Held by an open connection; dropping it frees its slot.
#[derive(Debug)]
pub struct ConnSlot {
    _open: OwnedSemaphorePermit,
}

impl ConnLimit {
    pub fn new(listener: &'static str, max: u32) -> ConnLimit {
        ConnLimit {
            listener,
            open: Arc::new(Semaphore::new(max.max(1) as usize)),
        }
    }

    /// A slot for a new connection, or `None` when the listener is at its cap: the caller drops the stream,
    /// which closes it at once (the client sees a reset or EOF, and may retry elsewhere or later).
    pub fn admit(&self) -> Option<ConnSlot> {
        match self.open.clone().try_acquire_owned() {
            Ok(p) => Some(ConnSlot { _open: p }),
            Err(_) => {
                metrics::counter!("strait_connections_refused_total", "listener" => self.listener)
                    .increment(1);
                crate::log_limited!(
                    warn,
                    "connection_refused",
                    listener = self.listener,
                    "connection limit reached; closing a new connection (raise {}.max_connections?)",
                    self.listener
                );
                None
            }
        }
    }
}

/// Accepts the next connection. Errors (EMFILE/ENFILE when out of descriptors, ECONNABORTED, ...) never end the
/// accept loop: they are logged rate-limited, counted, and retried after a short backoff.
pub async fn accept(
    listener: &TcpListener,
    name: &'static str,
) -> (TcpStream, std::net::SocketAddr) {
    loop {
        match listener.accept().await {
            Ok(accepted) => return accepted,
            Err(e) => {
                metrics::counter!("strait_accept_errors_total", "listener" => name).increment(1);
                crate::log_limited!(warn, "accept_failed", listener = name, error = %e, "accept failed; retrying");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Bytes of requests being read or handled, across all listeners (`node.max_inflight_request_bytes`).
#[derive(Debug, Clone)]
pub struct MemoryBudget {
    total: u32,
    bytes: Arc<Semaphore>,
}

/// Bytes taken from the budget; returned when dropped.
#[derive(Debug)]
pub struct Reservation(Option<OwnedSemaphorePermit>);

impl Reservation {
    /// Holds nothing.
    pub fn none() -> Reservation {
        Reservation(None)
    }

    /// Adds `more` to this reservation.
    pub fn merge(&mut self, more: Reservation) {
        match (&mut self.0, more.0) {
            (Some(p), Some(q)) => p.merge(q),
            (slot @ None, q) => *slot = q,
            (Some(_), None) => {}
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.0.as_ref().map_or(0, OwnedSemaphorePermit::num_permits)
    }
}

impl MemoryBudget {
    /// A budget of `total` bytes (at most 4 GiB − 1, the largest a semaphore acquisition can take at once).
    pub fn new(total: u64) -> MemoryBudget {
        let total = u32::try_from(total).unwrap_or(u32::MAX).max(1);
        MemoryBudget {
            total,
            bytes: Arc::new(Semaphore::new(total as usize)),
        }
    }

    /// The whole budget.
    pub fn total(&self) -> usize {
        self.total as usize
    }

    /// Waits until `bytes` are free and takes them. A request larger than the whole budget takes all of it (so it
    /// can still be served, alone). Waiting is the back-pressure: the caller reads nothing meanwhile.
    pub async fn reserve(&self, bytes: usize) -> Reservation {
        let want = u32::try_from(bytes).unwrap_or(u32::MAX).min(self.total);
        if want == 0 {
            return Reservation(None);
        }
        if self.bytes.available_permits() < want as usize {
            metrics::counter!("strait_inflight_budget_waits_total").increment(1);
        }
        // The semaphore is never closed, so acquisition only fails if it were; treat that as "no limit".
        Reservation(self.bytes.clone().acquire_many_owned(want).await.ok())
    }

    /// Like [`reserve`](Self::reserve), but only up to what `held` (already reserved for the same request) leaves
    /// of the whole budget, so one request never waits for bytes it holds itself.
    pub async fn reserve_more(&self, held: &Reservation, bytes: usize) -> Reservation {
        let room = self.total().saturating_sub(held.bytes());
        self.reserve(bytes.min(room)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn connections_past_the_cap_are_refused_and_slots_come_back() {
        let limit = ConnLimit::new("test", 2);
        let a = limit.admit().expect("first");
        let _b = limit.admit().expect("second");
        assert!(limit.admit().is_none(), "third is over the cap");
        drop(a);
        assert!(
            limit.admit().is_some(),
            "a closed connection frees its slot"
        );
    }

    #[tokio::test]
    async fn the_budget_makes_requests_wait_instead_of_allocating() {
        let budget = MemoryBudget::new(1000);
        let first = budget.reserve(600).await;
        assert_eq!(first.bytes(), 600);
        let waiting = tokio::time::timeout(Duration::from_millis(50), budget.reserve(600)).await;
        assert!(
            waiting.is_err(),
            "600 more bytes must wait while 600 of 1000 are held"
        );
        drop(first);
        let second = tokio::time::timeout(Duration::from_secs(1), budget.reserve(600))
            .await
            .expect("freed bytes are available again");
        assert_eq!(second.bytes(), 600);
    }

    #[tokio::test]
    async fn a_request_larger_than_the_budget_takes_all_of_it_and_never_waits_for_itself() {
        let budget = MemoryBudget::new(1000);
        let mut held = budget.reserve(5000).await;
        assert_eq!(held.bytes(), 1000);
        let more =
            tokio::time::timeout(Duration::from_millis(100), budget.reserve_more(&held, 500))
                .await
                .expect("a request never waits for bytes it holds itself");
        held.merge(more);
        assert_eq!(held.bytes(), 1000);
    }
}
