//! Lanes: ordered requests of one (sender, group) are handled one at a time in send order; other groups and the
//! concurrent lane are not held up by them.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use common::*;
use rand::Rng;
use strait_cluster::{Lane, Method, RemoteError, Transport, handler_fn};
use tokio::sync::{Barrier, Notify};

const RECORD: Method = Method(10);
/// Group 1's first request blocks in this method until group 2's handler has run.
const WAIT_FOR_OTHER_GROUP: Method = Method(11);
const SIGNAL: Method = Method(12);
const BARRIER: Method = Method(13);

#[derive(Default)]
struct State {
    seen: Mutex<Vec<u32>>,
    active: AtomicUsize,
    max_active: AtomicUsize,
    other_group_ran: Notify,
    barrier: Option<Barrier>,
}

fn handler(state: Arc<State>) -> Arc<dyn strait_cluster::Handler> {
    handler_fn(move |_from, group, method, payload: Bytes| {
        let state = Arc::clone(&state);
        async move {
            match method {
                RECORD | WAIT_FOR_OTHER_GROUP if group == 1 => {
                    let now = state.active.fetch_add(1, Ordering::SeqCst) + 1;
                    state.max_active.fetch_max(now, Ordering::SeqCst);
                    if method == WAIT_FOR_OTHER_GROUP {
                        state.other_group_ran.notified().await;
                    }
                    let seq = u32::from_be_bytes(payload[..4].try_into().unwrap());
                    state.seen.lock().unwrap().push(seq);
                    // Random sleeps: handling time must not change the order.
                    let ms = rand::rng().random_range(0..3);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                    state.active.fetch_sub(1, Ordering::SeqCst);
                    Ok(payload)
                }
                SIGNAL => {
                    state.other_group_ran.notify_one();
                    Ok(Bytes::new())
                }
                BARRIER => {
                    state.barrier.as_ref().unwrap().wait().await;
                    Ok(Bytes::new())
                }
                other => Err(RemoteError {
                    code: 1,
                    message: format!("unexpected {other:?} in group {group}"),
                }),
            }
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_lane_keeps_send_order_while_other_groups_proceed() {
    let state = Arc::new(State::default());
    let b = Transport::start(config(2, "c"), handler(Arc::clone(&state)))
        .await
        .unwrap();
    let a = start(1, "c").await;
    mesh(&[&a, &b]);
    const N: u32 = 300;
    let mut pending = Vec::new();
    // Request 0 of group 1 blocks until group 2's request has been handled: if group 2 waited behind group 1's
    // lane, this would never finish (the whole test is bounded below).
    let first = Bytes::copy_from_slice(&0u32.to_be_bytes());
    pending.push(
        a.send(2, 1, WAIT_FOR_OTHER_GROUP, first, Lane::Ordered)
            .await
            .unwrap(),
    );
    for seq in 1..N {
        let p = Bytes::copy_from_slice(&seq.to_be_bytes());
        pending.push(a.send(2, 1, RECORD, p, Lane::Ordered).await.unwrap());
    }
    let other = a.call_ordered(2, 2, SIGNAL, Bytes::new(), T);
    let all = async {
        let mut out = Vec::new();
        for p in pending {
            out.push(p.response(T).await.unwrap());
        }
        out
    };
    let (other, answers) =
        tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(other, all) })
            .await
            .expect("group 2 must not wait behind group 1's lane");
    other.unwrap();
    assert_eq!(answers.len(), N as usize);
    assert_eq!(
        *state.seen.lock().unwrap(),
        (0..N).collect::<Vec<_>>(),
        "handled in send order"
    );
    assert_eq!(
        state.max_active.load(Ordering::SeqCst),
        1,
        "one at a time on the ordered lane"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_lane_runs_requests_of_one_group_together() {
    // Both requests must be inside the handler at once for the barrier to open.
    let state = Arc::new(State {
        barrier: Some(Barrier::new(2)),
        ..State::default()
    });
    let b = Transport::start(config(2, "c"), handler(Arc::clone(&state)))
        .await
        .unwrap();
    let a = start(1, "c").await;
    mesh(&[&a, &b]);
    let (x, y) = tokio::join!(
        a.call(2, 5, BARRIER, Bytes::new(), T),
        a.call(2, 5, BARRIER, Bytes::new(), T)
    );
    x.unwrap();
    y.unwrap();
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ordered_lanes_of_different_senders_are_independent() {
    // Node 1's group-1 lane is blocked; node 3's group-1 lane must still be served (lanes are per sender).
    let state = Arc::new(State::default());
    let b = Transport::start(config(2, "c"), handler(Arc::clone(&state)))
        .await
        .unwrap();
    let (a, c) = (start(1, "c").await, start(3, "c").await);
    mesh(&[&a, &b, &c]);
    let blocked = a.send(
        2,
        1,
        WAIT_FOR_OTHER_GROUP,
        Bytes::copy_from_slice(&0u32.to_be_bytes()),
        Lane::Ordered,
    );
    let blocked = blocked.await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let from_c = c
        .call_ordered(2, 1, RECORD, Bytes::copy_from_slice(&1u32.to_be_bytes()), T)
        .await;
    from_c.unwrap();
    a.call_ordered(2, 9, SIGNAL, Bytes::new(), T).await.unwrap();
    blocked.response(T).await.unwrap();
    assert_eq!(*state.seen.lock().unwrap(), vec![1, 0]);
    for t in [a, b, c] {
        t.shutdown().await;
    }
}
