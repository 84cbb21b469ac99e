//! Termination signals.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// SIGTERM and SIGINT, registered when created.
///
/// Registering up front (rather than when first awaited) matters: a signal that arrives while the engine is
/// still recovering must start a graceful shutdown instead of killing the process with the default action.
pub struct Termination {
    term: Signal,
    int: Signal,
}

impl Termination {
    /// Registers the handlers; must be called inside a tokio runtime.
    pub fn register() -> std::io::Result<Termination> {
        Ok(Termination {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT and returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
