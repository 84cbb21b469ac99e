//! Crash recovery: damaged segment tails and indexes never stop the engine from opening, and acknowledged data
//! before the damage survives.

mod common;

use std::io::Write;

use common::*;
use strait_engine::Engine;

async fn setup(dir: &std::path::Path, batches: usize) -> Vec<(i64, String)> {
    let e = Engine::open(config(dir)).await.expect("open");
    e.create_topic("t", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..batches {
        append(&p, &format!("b{i:03}"), 3, 1000 + i as i64).await;
    }
    let all = read_all(&p).await;
    crash(e).await;
    all
}

async fn reopen_and_read(dir: &std::path::Path) -> (Vec<(i64, String)>, Engine) {
    let e = Engine::open(config(dir))
        .await
        .expect("reopen after damage");
    let p = e.partition("t", 0).expect("p");
    (read_all(&p).await, e)
}

#[tokio::test]
async fn torn_tail_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked = setup(dir.path(), 50).await;
    let active = segment_files(dir.path(), "t", 0, "log")
        .pop()
        .expect("active segment");
    // a half-written batch: a plausible header claiming more bytes than were written
    let torn = batch("torn", 10, 0);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&active)
        .expect("open");
    f.write_all(&torn[..torn.len() / 2]).expect("write");
    drop(f);
    let (after, e) = reopen_and_read(dir.path()).await;
    assert_eq!(after, acked);
    let p = e.partition("t", 0).expect("p");
    assert_eq!(
        append(&p, "new", 1, 0).await.base_offset,
        acked.len() as i64,
        "appends continue after the cut"
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn garbage_and_corrupt_crc_tail_is_cut_off() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked = setup(dir.path(), 30).await;
    let active = segment_files(dir.path(), "t", 0, "log")
        .pop()
        .expect("active segment");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&active)
        .expect("open");
    // a whole batch with a flipped payload byte, then random noise
    let mut bad = batch("bad", 2, 0);
    strait_engine::batch::set_base_offset(&mut bad, acked.len() as i64);
    let n = bad.len();
    bad[n - 3] ^= 0x55;
    f.write_all(&bad).expect("write");
    f.write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
        .expect("write");
    drop(f);
    let (after, e) = reopen_and_read(dir.path()).await;
    assert_eq!(after, acked);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn missing_or_garbage_indexes_are_rebuilt_after_clean_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..60 {
        append(&p, &format!("b{i:03}"), 3, 1000 + i).await;
    }
    let acked = read_all(&p).await;
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    let idx = segment_files(dir.path(), "t", 0, "index");
    assert!(idx.len() > 2);
    std::fs::remove_file(&idx[0]).expect("rm index");
    std::fs::write(&idx[1], b"this is not an index!!!!").expect("garbage");
    std::fs::write(&idx[2], [0u8; 64]).expect("zeros");
    let tidx = segment_files(dir.path(), "t", 0, "timeindex");
    std::fs::write(&tidx[3], [0xffu8; 48]).expect("garbage time index");
    let (after, e) = reopen_and_read(dir.path()).await;
    assert_eq!(after, acked);
    let p = e.partition("t", 0).expect("p");
    let (h, _) = p
        .find_by_timestamp(1030)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!(h.base_offset, 90, "time lookups work on rebuilt indexes");
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn truncated_sealed_segment_keeps_the_valid_prefix() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked = setup(dir.path(), 60).await;
    let logs = segment_files(dir.path(), "t", 0, "log");
    assert!(logs.len() > 3);
    // damage the second segment: everything from its middle on is no longer a valid, gap-free prefix
    let victim = &logs[1];
    let len = std::fs::metadata(victim).expect("meta").len();
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(victim)
        .expect("open");
    f.set_len(len / 2).expect("truncate");
    drop(f);
    // make recovery distrust it, as after a crash with an old recovery point
    for i in segment_files(dir.path(), "t", 0, "index") {
        std::fs::remove_file(i).expect("rm");
    }
    let (after, e) = reopen_and_read(dir.path()).await;
    assert!(!after.is_empty() && after.len() < acked.len());
    assert_eq!(
        after[..],
        acked[..after.len()],
        "what is kept is exactly a prefix"
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn empty_and_zero_filled_active_segment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let acked = setup(dir.path(), 10).await;
    let active = segment_files(dir.path(), "t", 0, "log")
        .pop()
        .expect("active");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&active)
        .expect("open");
    // filesystems can leave zero-filled blocks after a power cut
    f.write_all(&[0u8; 4096]).expect("zeros");
    drop(f);
    let (after, e) = reopen_and_read(dir.path()).await;
    assert_eq!(after, acked);
    e.shutdown().await.expect("shutdown");
}
