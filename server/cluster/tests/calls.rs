//! Request/response behaviour between two real transports on 127.0.0.1.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::*;
use strait_cluster::wire::{HEADER_LEN, codes};
use strait_cluster::{CallError, Lane, Method, RemoteError, Transport};
use tokio::task::JoinSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn round_trip_both_ways() {
    let (a, b) = (start(1, "c").await, start(2, "c").await);
    mesh(&[&a, &b]);
    let got = a
        .call(2, 7, ECHO, Bytes::from_static(b"ping"), T)
        .await
        .unwrap();
    assert_eq!(&got[..], b"ping");
    let got = b
        .call_ordered(1, 0, ECHO, Bytes::from_static(b"pong"), T)
        .await
        .unwrap();
    assert_eq!(&got[..], b"pong");
    let empty = a.call(2, 7, ECHO, Bytes::new(), T).await.unwrap();
    assert!(empty.is_empty());
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_pipelined_calls_on_one_connection() {
    let (a, b) = (start(1, "c").await, start(2, "c").await);
    mesh(&[&a, &b]);
    let mut set = JoinSet::new();
    for i in 0u32..1000 {
        let a = a.clone();
        set.spawn(async move {
            let payload = Bytes::from(format!("request {i} {}", "x".repeat((i % 50) as usize)));
            let got = a
                .call(2, u64::from(i % 7), ECHO, payload.clone(), T)
                .await
                .unwrap();
            assert_eq!(got, payload, "call {i} got another call's answer");
            i
        });
    }
    let mut seen = vec![false; 1000];
    while let Some(r) = set.join_next().await {
        seen[r.unwrap() as usize] = true;
    }
    assert!(seen.iter().all(|s| *s));
    assert_eq!(a.in_flight(), 0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn handler_errors_and_panics_travel_back() {
    let (a, b) = (start(1, "c").await, start(2, "c").await);
    mesh(&[&a, &b]);
    let err = a
        .call(2, 1, FAIL, Bytes::from_static(b"no such partition"), T)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CallError::Remote(RemoteError {
            code: 42,
            message: "no such partition".into()
        })
    );
    // A panicking handler costs one request (on either lane), not the connection or the lane.
    for lane in [Lane::Concurrent, Lane::Ordered] {
        match a.call_on(2, 1, PANIC, Bytes::new(), lane, T).await {
            Err(CallError::Remote(e)) => assert_eq!(e.code, codes::HANDLER_PANICKED),
            other => panic!("expected a remote panic error, got {other:?}"),
        }
        assert_eq!(
            &a.call_on(2, 1, ECHO, Bytes::from_static(b"ok"), lane, T)
                .await
                .unwrap()[..],
            b"ok"
        );
    }
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_removes_the_slot_and_the_late_answer_is_dropped() {
    let (a, b) = (start(1, "c").await, start(2, "c").await);
    mesh(&[&a, &b]);
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    let started = Instant::now();
    let err = a
        .call(2, 1, SLEEP, sleep_ms(1000), Duration::from_millis(50))
        .await
        .unwrap_err();
    assert_eq!(err, CallError::Timeout);
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "did not wait for the handler"
    );
    assert_eq!(a.in_flight(), 0, "the timed-out call's slot is gone");
    assert_eq!(a.stats().calls_timed_out, 1);
    // The late answer arrives, finds no slot, and is dropped; the connection keeps working.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(a.in_flight(), 0);
    assert_eq!(
        &a.call(2, 1, ECHO, Bytes::from_static(b"after"), T)
            .await
            .unwrap()[..],
        b"after"
    );
    // Dropping a pending call (the caller gave up) also frees its slot.
    let pending = a
        .send(2, 1, SLEEP, sleep_ms(200), Lane::Concurrent)
        .await
        .unwrap();
    assert_eq!(a.in_flight(), 1);
    drop(pending);
    assert_eq!(a.in_flight(), 0);
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_frames_are_refused_on_the_sender_side() {
    let mut ca = config(1, "c");
    ca.max_frame_bytes = 64 << 10;
    let a = Transport::start(ca, basic_handler()).await.unwrap();
    let mut cb = config(2, "c");
    cb.max_frame_bytes = 32 << 10;
    let b = Transport::start(cb, basic_handler()).await.unwrap();
    mesh(&[&a, &b]);
    // Over this node's own limit: refused before any connection exists.
    let err = a
        .call(2, 1, ECHO, Bytes::from(vec![0u8; 100 << 10]), T)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CallError::FrameTooLarge {
            size: HEADER_LEN + (100 << 10),
            max: 64 << 10
        }
    );
    // Over the peer's (smaller) limit, learnt from its Hello.
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    assert_eq!(a.peer_max_frame(2), Some(32 << 10));
    let err = a
        .call(2, 1, ECHO, Bytes::from(vec![0u8; 40 << 10]), T)
        .await
        .unwrap_err();
    assert_eq!(
        err,
        CallError::FrameTooLarge {
            size: HEADER_LEN + (40 << 10),
            max: 32 << 10
        }
    );
    // A response over the limit comes back as an error, not a closed connection.
    match a
        .call(2, 1, DOUBLE, Bytes::from(vec![0u8; 20 << 10]), T)
        .await
    {
        Err(CallError::Remote(e)) => assert_eq!(e.code, codes::RESPONSE_TOO_LARGE),
        other => panic!("expected a response-too-large error, got {other:?}"),
    }
    assert_eq!(
        &a.call(2, 1, ECHO, Bytes::from_static(b"still up"), T)
            .await
            .unwrap()[..],
        b"still up"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_map_changes_and_shutdown_fail_calls_promptly() {
    let (a, b) = (start(1, "c").await, start(2, "c").await);
    mesh(&[&a, &b]);
    assert_eq!(
        a.call(3, 1, ECHO, Bytes::new(), T).await.unwrap_err(),
        CallError::UnknownPeer(3)
    );
    // Removing a peer fails its in-flight calls at once.
    let pending = a
        .send(2, 1, SLEEP, sleep_ms(3000), Lane::Concurrent)
        .await
        .unwrap();
    a.set_peers(HashMap::new());
    let started = Instant::now();
    assert_eq!(
        pending.response(T).await.unwrap_err(),
        CallError::Unreachable(2)
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "did not wait for the handler"
    );
    assert_eq!(
        a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap_err(),
        CallError::UnknownPeer(2)
    );
    // Shutting down fails in-flight calls with Shutdown, and later calls too.
    mesh(&[&a, &b]);
    let pending = a
        .send(2, 1, SLEEP, sleep_ms(3000), Lane::Concurrent)
        .await
        .unwrap();
    let shutdown = tokio::time::timeout(T, a.shutdown());
    let (r, done) = tokio::join!(pending.response(T), shutdown);
    assert!(done.is_ok(), "shutdown must not hang");
    assert_eq!(r.unwrap_err(), CallError::Shutdown);
    assert_eq!(
        a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap_err(),
        CallError::Shutdown
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn methods_and_groups_reach_the_handler() {
    let b = Transport::start(
        config(2, "c"),
        strait_cluster::handler_fn(|from, group, method: Method, payload| async move {
            Ok(Bytes::from(format!(
                "{from}/{group}/{}/{}",
                method.0,
                payload.len()
            )))
        }),
    )
    .await
    .unwrap();
    let a = start(1, "c").await;
    mesh(&[&a, &b]);
    let got = a
        .call(2, u64::MAX, Method(65535), Bytes::from_static(b"abc"), T)
        .await
        .unwrap();
    assert_eq!(&got[..], format!("1/{}/65535/3", u64::MAX).as_bytes());
    a.shutdown().await;
    b.shutdown().await;
}
