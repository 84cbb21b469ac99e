//! File handles and file modes: many partitions stay within the segment-file budget, reads reopen evicted files,
//! retention racing readers, and everything the engine creates is owner-only.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use common::*;
use strait_engine::{Engine, EngineConfig, EngineError};

/// Descriptors of this process that point into `dir` (other tests run in the same process).
fn open_fds_under(dir: &Path) -> usize {
    let dir = std::fs::canonicalize(dir).expect("canonical");
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.starts_with(&dir))
        .count()
}

fn budget_config(dir: &Path, budget: usize) -> EngineConfig {
    EngineConfig {
        max_open_files: budget,
        ..config(dir)
    }
}

#[tokio::test]
async fn many_partitions_stay_within_the_file_budget() {
    const BUDGET: usize = 16;
    const TOPICS: usize = 30;
    const PARTS: u32 = 5;
    let dir = tempfile::tempdir().expect("tempdir");
    // The data dir proper, the lock file and the metadata database are held open besides segments.
    let fixed = 2;
    let e = Engine::open(budget_config(dir.path(), BUDGET))
        .await
        .expect("open");
    for t in 0..TOPICS {
        e.create_topic(&format!("t{t}"), PARTS, overrides(&[]))
            .await
            .expect("create");
    }
    for t in 0..TOPICS {
        for p in 0..PARTS {
            let part = e.partition(&format!("t{t}"), p).expect("partition");
            append(&part, &format!("t{t}p{p}"), 2, 1000).await;
        }
    }
    let n = open_fds_under(dir.path());
    assert!(
        n <= BUDGET + fixed,
        "{n} files open after writing 150 partitions"
    );
    e.shutdown().await.expect("shutdown");
    drop(e);

    let e = Engine::open(budget_config(dir.path(), BUDGET))
        .await
        .expect("reopen");
    let n = open_fds_under(dir.path());
    assert!(
        n <= BUDGET + fixed,
        "{n} files open after opening 150 partitions"
    );
    assert_eq!(e.list_topics().len(), TOPICS);
    // Every partition reads back its records, reopening files the cache closed.
    for t in 0..TOPICS {
        for p in 0..PARTS {
            let part = e.partition(&format!("t{t}"), p).expect("partition");
            let all = read_all(&part).await;
            assert_eq!(all.len(), 2, "t{t}-{p}");
            assert_eq!(all[1].1, format!("t{t}p{p}-1"));
        }
    }
    let n = open_fds_under(dir.path());
    assert!(
        n <= BUDGET + fixed,
        "{n} files open after reading 150 partitions"
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn readers_racing_retention_see_data_or_out_of_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(budget_config(dir.path(), 2))
        .await
        .expect("open");
    // Tiny segments: every batch rolls a new one, so DeleteRecords deletes files while readers read them.
    e.create_topic("r", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("r", 0).expect("partition");
    // Batches of 30 records (~600 bytes): a segment holds one or two of them.
    for i in 0..60 {
        append(&p, &format!("b{i}"), 30, 1000 + i).await;
    }
    let reader = {
        let p = p.clone();
        tokio::spawn(async move {
            let (mut ok, mut out_of_range) = (0, 0);
            for i in 0..400i64 {
                match p.read(p.log_start() + i % 45, 1024).await {
                    Ok(_) => ok += 1,
                    Err(EngineError::OffsetOutOfRange { .. }) => out_of_range += 1,
                    Err(other) => panic!("read failed with {other}"),
                }
            }
            (ok, out_of_range)
        })
    };
    for cut in (1..=19).map(|k| k * 90) {
        p.delete_records(cut).await.expect("delete records");
        tokio::task::yield_now().await;
    }
    let (ok, _) = reader.await.expect("reader");
    assert!(ok > 0);
    assert_eq!(p.log_start(), 1710);
    let rest = read_all(&p).await;
    assert_eq!(rest.first().map(|r| r.0), Some(1710));
    assert_eq!(rest.len(), 90);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn everything_the_engine_creates_is_owner_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let e = Engine::open(config(&data)).await.expect("open");
    e.create_topic("m", 2, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("m", 1).expect("partition");
    for i in 0..5 {
        append(&p, &format!("x{i}"), 40, 1000).await;
    }
    e.shutdown().await.expect("shutdown");
    let mut seen = 0;
    let mut stack = vec![data.clone()];
    while let Some(d) = stack.pop() {
        let mode = std::fs::metadata(&d).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "{} is {mode:o}", d.display());
        for entry in std::fs::read_dir(&d).expect("dir") {
            let path = entry.expect("entry").path();
            let meta = std::fs::metadata(&path).expect("meta");
            if meta.is_dir() {
                stack.push(path);
            } else {
                let mode = meta.permissions().mode() & 0o777;
                assert_eq!(mode & 0o077, 0, "{} is {mode:o}", path.display());
                seen += 1;
            }
        }
    }
    // meta.redb, .lock, .clean-shutdown, and the logs with their indexes.
    assert!(seen > 10, "only {seen} files");
}

/// Modification times of every file under the partition directories.
fn log_mtimes(dir: &Path) -> Vec<(std::path::PathBuf, std::time::SystemTime)> {
    let mut out = Vec::new();
    for part in std::fs::read_dir(dir.join("logs")).expect("logs") {
        for f in std::fs::read_dir(part.expect("entry").path()).expect("partition") {
            let path = f.expect("entry").path();
            let m = std::fs::metadata(&path)
                .expect("meta")
                .modified()
                .expect("mtime");
            out.push((path, m));
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn shutdown_writes_nothing_for_unchanged_partitions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("quiet", 40, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("quiet", 3).expect("partition");
    append(&p, "w", 5, 1000).await;
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    // The written partition got its index files; the 39 empty ones need none.
    assert_eq!(segment_files(dir.path(), "quiet", 3, "index").len(), 1);
    assert!(segment_files(dir.path(), "quiet", 4, "index").is_empty());
    let before = log_mtimes(dir.path());

    // A start and a clean stop that change nothing rewrite (and fsync) nothing.
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    assert_eq!(
        read_all(&e.partition("quiet", 3).expect("p")).await.len(),
        5
    );
    e.shutdown().await.expect("shutdown");
    drop(e);
    assert_eq!(log_mtimes(dir.path()), before);
}
