//! Transaction read state (KIP-98): last stable offset and aborted ranges derived from appended batches, across
//! restarts, crashes with cut tails, lost `.txnindex` files, truncation and retention.

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::*;
use strait_engine::batch::{BatchBuilder, RecordInput};
use strait_engine::{AbortedTxn, AppendOptions, Engine, Partition};

fn txn_batch(pid: i64, tag: &str, n: usize) -> BytesMut {
    records_into(
        BatchBuilder::new().producer(pid, 0, 0).transactional(false),
        tag,
        n,
        1000,
    )
}

fn marker(pid: i64, commit: bool) -> BytesMut {
    let mut b = BatchBuilder::new().producer(pid, 0, -1).transactional(true);
    b.push(RecordInput {
        key: Some(&[0, 0, 0, commit as u8]),
        value: Some(&[0, 0, 0, 0, 0, 0]),
        headers: &[],
        timestamp_ms: 1000,
    });
    b.finish()
}

async fn put(p: &Partition, b: BytesMut) -> i64 {
    p.append(b.into(), AppendOptions::default())
        .await
        .expect("append")
        .base_offset
}

async fn open(dir: &std::path::Path, seg_bytes: &str) -> (Engine, std::sync::Arc<Partition>) {
    let e = Engine::open(config(dir)).await.expect("open");
    if e.topic("t").is_none() {
        e.create_topic("t", 1, overrides(&[("segment.bytes", seg_bytes)]))
            .await
            .expect("create");
    }
    let p = e.partition("t", 0).expect("p");
    (e, p)
}

fn aborted(pid: i64, first: i64, last: i64) -> AbortedTxn {
    AbortedTxn {
        producer_id: pid,
        first_offset: first,
        last_offset: last,
    }
}

#[tokio::test]
async fn lso_and_aborted_ranges_follow_markers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1048576").await;
    append(&p, "plain", 2, 1000).await; // 0..2
    assert_eq!(p.last_stable_offset(), 2);
    let a1 = put(&p, txn_batch(7, "a", 2)).await; // 2..4
    append(&p, "plain", 1, 1000).await; // 4
    let b1 = put(&p, txn_batch(9, "b", 1)).await; // 5
    put(&p, txn_batch(7, "a", 1)).await; // 6
    assert_eq!((a1, b1), (2, 5));
    assert_eq!(p.high_watermark(), 7);
    assert_eq!(p.last_stable_offset(), 2);
    let m7 = put(&p, marker(7, false)).await; // 7
    assert_eq!(p.last_stable_offset(), 5);
    let m9 = put(&p, marker(9, true)).await; // 8
    assert_eq!(p.last_stable_offset(), 9);
    assert_eq!(p.aborted_transactions(0, 9), vec![aborted(7, 2, m7)]);
    assert_eq!(p.aborted_transactions(8, 9), vec![]);
    assert_eq!(p.aborted_transactions(0, 2), vec![]);
    assert_eq!(m9, 8);
    assert!(p.open_transactions().is_empty());
    drop(p);
    close(e).await;
}

/// The state after a mix of transactions over many small segments.
async fn write_mix(p: &Partition) -> (i64, Vec<AbortedTxn>) {
    let mut expect = Vec::new();
    for round in 0..20i64 {
        let first = put(p, txn_batch(1, "x", 3)).await;
        append(p, "plain", 3, 1000).await;
        put(p, txn_batch(1, "x", 3)).await;
        let m = put(p, marker(1, round % 2 == 0)).await;
        if round % 2 != 0 {
            expect.push(aborted(1, first, m));
        }
    }
    // Producer 2 stays open across the end.
    let open_first = put(p, txn_batch(2, "y", 2)).await;
    append(p, "plain", 2, 1000).await;
    (open_first, expect)
}

#[tokio::test]
async fn state_survives_clean_restart_and_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1024").await;
    let (open_first, expect) = write_mix(&p).await;
    assert_eq!(p.last_stable_offset(), open_first);
    assert_eq!(p.aborted_transactions(0, i64::MAX), expect);
    let segments = segment_files(dir.path(), "t", 0, "log").len();
    assert!(segments > 5, "want several segments, got {segments}");
    drop(p);
    close(e).await;
    assert_eq!(
        segment_files(dir.path(), "t", 0, "txnindex").len(),
        segments,
        "every segment (the active one on clean shutdown) has a .txnindex"
    );

    let (e, p) = open(dir.path(), "1024").await;
    assert_eq!(p.last_stable_offset(), open_first);
    assert_eq!(p.aborted_transactions(0, i64::MAX), expect);
    assert_eq!(p.open_transactions().get(&2), Some(&open_first));
    // Ends producer 2's transaction, then kill -9.
    let m = put(&p, marker(2, false)).await;
    drop(p);
    crash(e).await;

    let (e, p) = open(dir.path(), "1024").await;
    let mut expect2 = expect.clone();
    expect2.push(aborted(2, open_first, m));
    assert_eq!(p.last_stable_offset(), p.high_watermark());
    assert_eq!(p.aborted_transactions(0, i64::MAX), expect2);
    drop(p);
    close(e).await;
}

#[tokio::test]
async fn lost_or_garbage_txnindex_files_are_rebuilt_by_scanning() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1024").await;
    let (open_first, expect) = write_mix(&p).await;
    drop(p);
    close(e).await;
    let files = segment_files(dir.path(), "t", 0, "txnindex");
    for (i, f) in files.iter().enumerate() {
        if i % 2 == 0 {
            std::fs::remove_file(f).expect("rm");
        } else {
            std::fs::write(f, b"{not json").expect("garble");
        }
    }
    let (e, p) = open(dir.path(), "1024").await;
    assert_eq!(p.last_stable_offset(), open_first);
    assert_eq!(p.aborted_transactions(0, i64::MAX), expect);
    drop(p);
    close(e).await;
}

#[tokio::test]
async fn a_cut_tail_reopens_the_transaction_its_marker_closed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1048576").await;
    let first = put(&p, txn_batch(5, "t", 2)).await;
    let m = marker(5, false);
    let marker_len = m.len() as u64;
    put(&p, m).await;
    assert!(p.open_transactions().is_empty());
    drop(p);
    close(e).await;
    // The marker was the last batch: a torn write loses it (the clean-shutdown .txnindex no longer matches).
    let log = segment_files(dir.path(), "t", 0, "log").pop().expect("log");
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&log)
        .expect("open log");
    let len = f.metadata().expect("meta").len();
    f.set_len(len - marker_len / 2).expect("cut");
    drop(f);
    let (e, p) = open(dir.path(), "1048576").await;
    assert_eq!(p.high_watermark(), first + 2);
    assert_eq!(p.last_stable_offset(), first);
    assert_eq!(p.aborted_transactions(0, i64::MAX), vec![]);
    assert_eq!(p.open_transactions().get(&5), Some(&first));
    drop(p);
    close(e).await;
}

#[tokio::test]
async fn truncate_after_rolls_the_state_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1024").await;
    let (open_first, expect) = write_mix(&p).await;
    let last_abort = *expect.last().expect("some aborts");
    // Cut just before the last ABORT marker: that transaction is open again and not aborted.
    p.truncate_after(last_abort.last_offset - 1)
        .await
        .expect("truncate");
    assert_eq!(p.last_stable_offset(), last_abort.first_offset);
    assert_eq!(
        p.aborted_transactions(0, i64::MAX),
        expect[..expect.len() - 1].to_vec()
    );
    assert_eq!(
        p.open_transactions().into_iter().collect::<Vec<_>>(),
        vec![(1, last_abort.first_offset)]
    );
    assert!(open_first > last_abort.last_offset);
    // Cut before its first batch: nothing is open.
    p.truncate_after(last_abort.first_offset - 1)
        .await
        .expect("truncate");
    assert!(p.open_transactions().is_empty());
    assert_eq!(p.last_stable_offset(), p.high_watermark());
    drop(p);
    close(e).await;
    let (e, p) = open(dir.path(), "1024").await;
    assert!(p.open_transactions().is_empty());
    assert_eq!(
        p.aborted_transactions(0, i64::MAX),
        expect[..expect.len() - 1].to_vec()
    );
    drop(p);
    close(e).await;
}

#[tokio::test]
async fn delete_records_prunes_aborts_and_bounds_the_lso() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1024").await;
    let (open_first, expect) = write_mix(&p).await;
    let cut = expect[3].last_offset + 1;
    p.delete_records(cut).await.expect("delete");
    assert_eq!(p.aborted_transactions(0, i64::MAX), expect[4..].to_vec());
    assert_eq!(p.last_stable_offset(), open_first);
    // Past the open transaction's start: the LSO cannot be below the log start.
    p.delete_records(open_first + 1).await.expect("delete");
    assert_eq!(p.last_stable_offset(), open_first + 1);
    assert!(p.aborted_transactions(0, i64::MAX).is_empty());
    drop(p);
    close(e).await;
    let (e, p) = open(dir.path(), "1024").await;
    assert_eq!(p.open_transactions().get(&2), Some(&open_first));
    assert_eq!(p.last_stable_offset(), p.log_start().max(open_first));
    drop(p);
    close(e).await;
}

#[tokio::test]
async fn a_reader_at_the_lso_waits_for_the_marker() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = open(dir.path(), "1048576").await;
    let first = put(&p, txn_batch(3, "w", 2)).await;
    append(&p, "plain", 1, 1000).await;
    let lso = p.wait_for_stable(first, Duration::from_millis(100)).await;
    assert_eq!(
        lso, first,
        "no marker yet: the LSO stays and the wait times out"
    );
    let p2 = p.clone();
    let waiter =
        tokio::spawn(async move { p2.wait_for_stable(first, Duration::from_secs(10)).await });
    tokio::time::sleep(Duration::from_millis(50)).await;
    put(&p, marker(3, true)).await;
    let lso = waiter.await.expect("join");
    assert_eq!(lso, p.high_watermark());
    drop(p);
    close(e).await;
}

async fn close(e: Engine) {
    e.shutdown().await.expect("shutdown");
    drop(e);
}
