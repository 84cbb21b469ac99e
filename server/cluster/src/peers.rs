//! Outbound side: the peer map, one connection per peer, dialled on demand and redialled after a drop, with
//! backoff after failed attempts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use tokio::time::Instant;

use crate::NodeId;
use crate::conn::Conn;
use crate::error::CallError;

/// One known peer.
pub(crate) struct Peer {
    pub(crate) id: NodeId,
    pub(crate) addr: SocketAddr,
    current: Mutex<Option<Arc<Conn>>>,
    /// Held while dialling, so concurrent callers wait for one attempt instead of racing several.
    pub(crate) dial: tokio::sync::Mutex<DialState>,
}

/// Failed-attempt bookkeeping.
#[derive(Default)]
pub(crate) struct DialState {
    pub(crate) failures: u32,
    /// No new attempt before this instant: calls fail fast with `Unreachable` meanwhile.
    pub(crate) retry_at: Option<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No user code runs under these locks; recover from poisoning rather than propagate a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Peer {
    fn new(id: NodeId, addr: SocketAddr) -> Peer {
        Peer {
            id,
            addr,
            current: Mutex::new(None),
            dial: tokio::sync::Mutex::new(DialState::default()),
        }
    }

    /// The connection, if it is still open.
    pub(crate) fn live(&self) -> Option<Arc<Conn>> {
        lock(&self.current)
            .as_ref()
            .filter(|c| !c.is_closed())
            .cloned()
    }

    pub(crate) fn set(&self, conn: Arc<Conn>) {
        if let Some(old) = lock(&self.current).replace(conn) {
            old.close(CallError::Unreachable(self.id));
        }
    }

    fn close(&self, err: CallError) {
        if let Some(c) = lock(&self.current).take() {
            c.close(err);
        }
    }

    fn in_flight(&self) -> usize {
        lock(&self.current).as_ref().map_or(0, |c| c.in_flight())
    }
}

/// The peer map.
#[derive(Default)]
pub(crate) struct Peers {
    map: Mutex<HashMap<NodeId, Arc<Peer>>>,
}

impl Peers {
    pub(crate) fn get(&self, id: NodeId) -> Option<Arc<Peer>> {
        lock(&self.map).get(&id).cloned()
    }

    /// Replaces the map. Peers that are gone or moved have their connection closed (their in-flight calls fail
    /// with `Unreachable`); unchanged peers keep theirs.
    pub(crate) fn set(&self, peers: HashMap<NodeId, SocketAddr>) {
        let mut map = lock(&self.map);
        let mut next = HashMap::with_capacity(peers.len());
        for (id, addr) in peers {
            let peer = match map.remove(&id) {
                Some(p) if p.addr == addr => p,
                _ => Arc::new(Peer::new(id, addr)),
            };
            next.insert(id, peer);
        }
        let gone = std::mem::replace(&mut *map, next);
        drop(map);
        for p in gone.into_values() {
            p.close(CallError::Unreachable(p.id));
        }
    }

    /// Whether `peer` is still the entry for its id (it may have been replaced while dialling).
    pub(crate) fn is_current(&self, peer: &Arc<Peer>) -> bool {
        lock(&self.map)
            .get(&peer.id)
            .is_some_and(|p| Arc::ptr_eq(p, peer))
    }

    pub(crate) fn close_all(&self) {
        let all: Vec<_> = lock(&self.map).values().cloned().collect();
        for p in all {
            p.close(CallError::Shutdown);
        }
    }

    pub(crate) fn in_flight(&self) -> usize {
        let all: Vec<_> = lock(&self.map).values().cloned().collect();
        all.iter().map(|p| p.in_flight()).sum()
    }

    pub(crate) fn status(&self) -> Vec<PeerStatus> {
        let all: Vec<_> = lock(&self.map).values().cloned().collect();
        let mut out: Vec<_> = all
            .iter()
            .map(|p| PeerStatus {
                node: p.id,
                addr: p.addr,
                connected: p.live().is_some(),
                // A dial in progress holds the lock; it has not failed (yet).
                failed_attempts: p.dial.try_lock().map_or(0, |d| d.failures),
                in_flight: p.in_flight(),
            })
            .collect();
        out.sort_by_key(|s| s.node);
        out
    }
}

/// What this node knows about one peer's outbound connection (for health reporting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerStatus {
    /// The peer.
    pub node: NodeId,
    /// Its inter-node address.
    pub addr: SocketAddr,
    /// Whether an outbound connection is open.
    pub connected: bool,
    /// Consecutive failed connection attempts (0 once connected).
    pub failed_attempts: u32,
    /// This node's calls to it awaiting a response.
    pub in_flight: usize,
}
