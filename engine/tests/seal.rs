//! Sealed partitions (closed Kinesis shards): appends are refused atomically with respect to concurrent appends,
//! durably across restarts, while reads keep working.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::*;
use strait_engine::{AppendOptions, Engine, EngineConfig, EngineError, FsyncPolicy};

fn is_sealed_error(e: &EngineError) -> bool {
    matches!(e, EngineError::PartitionSealed { topic, partition: 0 } if topic == "t")
}

#[tokio::test]
async fn seal_then_append_fails_and_reads_work() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..3 {
        append(&p, &format!("b{i}"), 2, 1000).await;
    }
    assert!(!p.is_sealed());
    let end = p.seal().await.expect("seal");
    assert_eq!(end, 6);
    assert!(p.is_sealed());
    assert_eq!(p.sealed_end_offset(), Some(6));
    let err = p
        .append(batch("late", 1, 1000).into(), AppendOptions::default())
        .await
        .expect_err("sealed");
    assert!(is_sealed_error(&err), "{err}");
    assert_eq!(p.offsets().log_end, 6);
    assert_eq!(read_all(&p).await.len(), 6);
    // Idempotent.
    assert_eq!(p.seal().await.expect("seal again"), 6);
    // Truncating below the sealed end would take back records readers were promised.
    assert!(is_sealed_error(
        &p.truncate_after(2).await.expect_err("truncate")
    ));
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn seal_under_interval_fsync_does_not_wait_for_the_timer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = EngineConfig {
        fsync: FsyncPolicy::Interval,
        flush_interval_ms: 3_600_000,
        ..config(dir.path())
    };
    let e = Engine::open(cfg.clone()).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    append(&p, "a", 4, 1000).await;
    // The hour-long flush interval would time this out: seal must ask the flusher for an fsync itself.
    let end = tokio::time::timeout(std::time::Duration::from_secs(10), p.seal())
        .await
        .expect("seal finished without waiting for the flush timer")
        .expect("seal");
    assert_eq!(end, 4);
    crash(e).await;
    drop(p);
    let e = Engine::open(cfg).await.expect("reopen");
    let p = e.partition("t", 0).expect("p");
    assert_eq!(p.sealed_end_offset(), Some(4));
    assert_eq!(
        read_all(&p).await.len(),
        4,
        "records below the seal are durable"
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn empty_partition_seals_at_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 2, overrides(&[]))
        .await
        .expect("create");
    let p0 = e.partition("t", 0).expect("p0");
    assert_eq!(p0.seal().await.expect("seal"), 0);
    // Other partitions of the topic are unaffected.
    let p1 = e.partition("t", 1).expect("p1");
    assert!(!p1.is_sealed());
    append(&p1, "x", 1, 1000).await;
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn seal_survives_clean_restart_and_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let e = Engine::open(config(dir.path())).await.expect("open");
        e.create_topic("t", 2, overrides(&[]))
            .await
            .expect("create");
        let p = e.partition("t", 0).expect("p");
        append(&p, "a", 5, 1000).await;
        assert_eq!(p.seal().await.expect("seal"), 5);
        // Crash right after the seal returned: it must already be durable.
        crash(e).await;
    }
    for round in 0..2 {
        let e = Engine::open(config(dir.path())).await.expect("reopen");
        let p = e.partition("t", 0).expect("p");
        assert!(p.is_sealed(), "round {round}");
        assert_eq!(p.sealed_end_offset(), Some(5));
        assert_eq!(p.seal().await.expect("seal after restart"), 5);
        assert_eq!(read_all(&p).await.len(), 5);
        let err = p
            .append(batch("late", 1, 1000).into(), AppendOptions::default())
            .await
            .expect_err("still sealed");
        assert!(is_sealed_error(&err), "{err}");
        assert!(!e.partition("t", 1).expect("p1").is_sealed());
        e.shutdown().await.expect("clean shutdown");
    }
}

#[tokio::test]
async fn deleting_the_topic_forgets_the_seal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    e.partition("t", 0).expect("p").seal().await.expect("seal");
    e.delete_topic("t").await.expect("delete");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("recreate");
    let p = e.partition("t", 0).expect("p");
    assert!(!p.is_sealed());
    append(&p, "fresh", 1, 1000).await;
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let p = e.partition("t", 0).expect("p");
    assert!(
        !p.is_sealed(),
        "the old seal must not come back after a restart"
    );
    append(&p, "fresh", 1, 1000).await;
    e.shutdown().await.expect("shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_appends_racing_a_seal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    let sealed = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..8 {
        let p = p.clone();
        let sealed = sealed.clone();
        tasks.push(tokio::spawn(async move {
            // (base, last) of every acknowledged append, and whether an append started after seal() returned
            // was acknowledged (it must not be).
            let mut acked = Vec::new();
            let mut acked_after_seal = false;
            for i in 0.. {
                let after = sealed.load(Ordering::Acquire);
                match p
                    .append(
                        batch(&format!("w{w}-{i}"), 3, 1000).into(),
                        AppendOptions::default(),
                    )
                    .await
                {
                    Ok(info) => {
                        acked.push((info.base_offset, info.last_offset));
                        acked_after_seal |= after;
                    }
                    Err(err) => {
                        assert!(is_sealed_error(&err), "{err}");
                        // Once refused, always refused.
                        let again = p
                            .append(batch("again", 1, 1000).into(), AppendOptions::default())
                            .await;
                        assert!(again.is_err());
                        break;
                    }
                }
            }
            (acked, acked_after_seal)
        }));
    }
    // Let the writers get going, then seal in the middle of the traffic.
    while p.offsets().log_end < 300 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let end = p.seal().await.expect("seal");
    sealed.store(true, Ordering::Release);
    let mut all = Vec::new();
    for t in tasks {
        let (acked, acked_after_seal) = t.await.expect("join");
        assert!(
            !acked_after_seal,
            "an append that started after seal() returned was acknowledged"
        );
        all.extend(acked);
    }
    all.sort();
    // Every acknowledged append lies below the end, and together they fill it exactly: nothing was written
    // at or above the seal, and nothing below it was lost.
    assert!(all.iter().all(|&(_, last)| last < end), "end {end}");
    let mut next = 0;
    for (base, last) in &all {
        assert_eq!(*base, next);
        next = last + 1;
    }
    assert_eq!(next, end);
    assert_eq!(read_all(&p).await.len() as i64, end);
    e.shutdown().await.expect("shutdown");
}
