//! The node's readiness, shared between the startup/shutdown sequence and `/healthz`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

/// Where the node is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Listeners are bound but the engine is still opening (recovery can take a while after a crash).
    Starting,
    /// All listeners serve requests.
    Ready,
    /// A termination signal arrived; in-flight requests are draining.
    ShuttingDown,
}

/// Cheaply cloneable handle to the current [`Phase`].
#[derive(Debug, Clone)]
pub struct Health(Arc<AtomicU8>);

impl Default for Health {
    fn default() -> Self {
        Health(Arc::new(AtomicU8::new(Phase::Starting as u8)))
    }
}

impl Health {
    pub fn set(&self, phase: Phase) {
        self.0.store(phase as u8, Ordering::Release);
        metrics::gauge!("strait_node_ready").set(if phase == Phase::Ready { 1.0 } else { 0.0 });
    }

    pub fn phase(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            x if x == Phase::Ready as u8 => Phase::Ready,
            x if x == Phase::ShuttingDown as u8 => Phase::ShuttingDown,
            _ => Phase::Starting,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phases_round_trip() {
        let h = Health::default();
        assert_eq!(h.phase(), Phase::Starting);
        for p in [Phase::Ready, Phase::ShuttingDown, Phase::Starting] {
            h.clone().set(p);
            assert_eq!(h.phase(), p);
        }
    }
}
