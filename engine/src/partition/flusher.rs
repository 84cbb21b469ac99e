//! The per-partition flusher task: group commit under `fsync = always`, periodic flush under `interval`, and
//! recovery after a storage failure.
//!
//! Under `always`, appenders write to the page cache and wake the flusher; while one fsync runs, later appends
//! pile up and the next round makes all of them durable with a single fsync. No timer is involved, so an idle
//! partition costs nothing and a lone producer waits for exactly one fsync.
//!
//! A failed write or fsync fences the partition and wakes the flusher, which then retries
//! `LocalLog::try_recover` with backoff until the partition takes writes again (no restart needed).

use std::sync::Arc;
use std::time::Duration;

use super::LocalLog;
use crate::config::FsyncPolicy;
use crate::meta::{RETRY_MAX, RETRY_MIN};

pub(crate) async fn run(p: Arc<LocalLog>, interval: Duration) {
    match p.policy() {
        FsyncPolicy::Always => loop {
            p.flush_wanted().notified().await;
            if p.is_closed() {
                break;
            }
            // Errors are logged and latched inside flush_once; waiters see them.
            let _ = p.flush_once().await;
            recover(&p).await;
            // Appenders acknowledged by this round usually append again within microseconds. Letting them run
            // before the next round starts puts them under the next fsync instead of the one after it, so
            // closed-loop producers share every fsync rather than alternating between two.
            tokio::task::yield_now().await;
        },
        FsyncPolicy::Interval => {
            let mut tick = tokio::time::interval(interval);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = p.flush_wanted().notified() => {}
                }
                if p.is_closed() {
                    break;
                }
                let _ = p.flush_once().await;
                recover(&p).await;
            }
        }
    }
}

/// While the partition is fenced, retries its recovery with backoff; returns once it takes writes or closes.
async fn recover(p: &Arc<LocalLog>) {
    let mut delay = RETRY_MIN;
    while p.is_failed() {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            // `close` wakes the flusher through this.
            _ = p.flush_wanted().notified() => {}
        }
        if p.is_closed() {
            return;
        }
        match p.try_recover().await {
            Ok(true) => return,
            Ok(false) | Err(_) => delay = (delay * 2).min(RETRY_MAX),
        }
    }
}
