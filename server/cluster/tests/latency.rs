//! A measurement, not a check (ignored by default): round-trip latency and calls/s over 127.0.0.1 for a few
//! linger windows, the numbers behind `TransportConfig::coalesce_window`'s default. Run with
//! `cargo test -p strait-cluster --test latency -- --ignored --nocapture`.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use strait_cluster::Transport;
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement; run explicitly"]
async fn round_trips_by_linger_window() {
    for window in [
        Duration::ZERO,
        Duration::from_micros(100),
        Duration::from_millis(1),
    ] {
        let (mut ca, mut cb) = (config(1, "c"), config(2, "c"));
        ca.coalesce_window = window;
        cb.coalesce_window = window;
        let a = Transport::start(ca, basic_handler()).await.unwrap();
        let b = Transport::start(cb, basic_handler()).await.unwrap();
        mesh(&[&a, &b]);
        a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
        let n = 2000u32;
        let started = Instant::now();
        for _ in 0..n {
            a.call(2, 1, ECHO, Bytes::from_static(b"0123456789"), T)
                .await
                .unwrap();
        }
        let rtt = started.elapsed() / n;
        let started = Instant::now();
        let mut set = JoinSet::new();
        for _ in 0..32 {
            let a = a.clone();
            set.spawn(async move {
                for _ in 0..n {
                    a.call(2, 1, ECHO, Bytes::from_static(b"0123456789"), T)
                        .await
                        .unwrap();
                }
            });
        }
        while set.join_next().await.is_some() {}
        let rate = f64::from(32 * n) / started.elapsed().as_secs_f64();
        println!(
            "window {window:?}: sequential round trip {rtt:?}; 32 concurrent callers {rate:.0} calls/s"
        );
        a.shutdown().await;
        b.shutdown().await;
    }
}
