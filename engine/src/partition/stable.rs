//! The transaction read side: the last stable offset and aborted ranges READ_COMMITTED readers use.

use std::time::Duration;

use super::LocalLog;
use crate::txn::{AbortedTxn, OpenSet};
use crate::util::lock;

impl LocalLog {
    /// The last stable offset: the first offset of the earliest transaction not yet decided (or whose marker is
    /// not yet below the high watermark), else the high watermark. READ_COMMITTED readers stop here.
    pub fn last_stable_offset(&self) -> i64 {
        let hw = self.high_watermark();
        let log_start = self.log_start();
        let mut t = lock(&self.txn);
        if !t.seen {
            return hw;
        }
        t.last_stable_offset(hw, log_start)
    }

    /// Aborted transactions a READ_COMMITTED read of `[from, to)` must filter out: those whose ABORT marker is
    /// at or after `from` and whose data starts before `to`, in marker order.
    pub fn aborted_transactions(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        let t = lock(&self.txn);
        if !t.seen {
            return Vec::new();
        }
        t.aborted_between(from, to)
    }

    /// The producers with an open transaction here and the first offset of each (for diagnostics and tests).
    pub fn open_transactions(&self) -> OpenSet {
        lock(&self.txn).open.clone()
    }

    /// Like [`wait_for_data`](Self::wait_for_data) for READ_COMMITTED readers: waits until the last stable
    /// offset passes `offset` or `timeout` elapses; returns the last stable offset. The LSO moves only when the
    /// high watermark does (a marker counts once it is below it), so this waits on the high watermark.
    pub async fn wait_for_stable(&self, offset: i64, timeout: Duration) -> i64 {
        let mut rx = self.hw.subscribe();
        let _ = tokio::time::timeout(timeout, async {
            loop {
                rx.borrow_and_update();
                if self.last_stable_offset() > offset {
                    return;
                }
                if rx.changed().await.is_err() {
                    return;
                }
            }
        })
        .await;
        self.last_stable_offset()
    }
}
