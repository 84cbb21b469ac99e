//! Share sessions (KIP-932): one per (group, member) on this broker. Epoch 0 opens a session (replacing, and
//! releasing the records of, any previous one), -1 closes it, and every other request must carry the epoch the
//! last one left, which then moves on by one (wrapping from `i32::MAX` to 1, as in Kafka).

use std::collections::BTreeSet;

#[derive(Debug, Default)]
pub struct ShareSession {
    /// The epoch the next request must carry.
    pub next_epoch: i32,
    /// (topic id, partition) the session fetches from.
    pub partitions: BTreeSet<(uuid::Uuid, i32)>,
}

/// Why a request does not fit the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SessionError {
    #[error("the share session was not found")]
    NotFound,
    #[error("the share session epoch is invalid")]
    InvalidEpoch,
}

impl ShareSession {
    pub fn new() -> ShareSession {
        ShareSession {
            next_epoch: 1,
            partitions: BTreeSet::new(),
        }
    }

    /// Checks `epoch` (> 0) against the session and moves it on.
    pub fn advance(&mut self, epoch: i32) -> Result<(), SessionError> {
        if epoch != self.next_epoch {
            return Err(SessionError::InvalidEpoch);
        }
        self.next_epoch = if epoch == i32::MAX { 1 } else { epoch + 1 };
        Ok(())
    }
}
