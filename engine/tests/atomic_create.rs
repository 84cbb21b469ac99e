//! Topic creation and partition additions are atomic: a creation that fails leaves no topic behind, neither
//! now nor after a restart, and no partition directories.

mod common;

use common::*;
use strait_engine::Engine;

/// Blocks partition `p` of `topic` by putting a plain file where its directory goes.
fn block_partition(dir: &std::path::Path, topic: &str, p: u32) -> std::path::PathBuf {
    let path = dir.join("logs").join(format!("{topic}-{p}"));
    std::fs::write(&path, b"in the way").expect("write blocker");
    path
}

fn partition_dirs(dir: &std::path::Path, topic: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("logs"))
        .expect("logs")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{topic}-")))
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn a_failed_create_leaves_no_topic_before_or_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    let blocker = block_partition(dir.path(), "ghost", 5);
    e.create_topic("ghost", 8, overrides(&[]))
        .await
        .expect_err("partition 5 cannot be created");
    assert!(e.topic("ghost").is_none());
    assert!(partition_dirs(dir.path(), "ghost").is_empty());
    e.shutdown().await.expect("shutdown");
    drop(e);

    std::fs::remove_file(&blocker).expect("remove blocker");
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    assert!(
        e.topic("ghost").is_none(),
        "the failed topic appeared after a restart"
    );
    // The name is free: the same creation now succeeds.
    e.create_topic("ghost", 8, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("ghost", 7).expect("partition");
    append(&p, "x", 1, 1000).await;
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_failed_partition_addition_keeps_the_old_count_before_and_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 2, overrides(&[]))
        .await
        .expect("create");
    append(&e.partition("t", 1).expect("p"), "kept", 2, 1000).await;
    let blocker = block_partition(dir.path(), "t", 3);
    e.create_partitions("t", 4)
        .await
        .expect_err("partition 3 cannot be created");
    assert_eq!(e.topic("t").expect("topic").partitions, 2);
    assert_eq!(partition_dirs(dir.path(), "t"), ["t-0", "t-1"]);
    e.shutdown().await.expect("shutdown");
    drop(e);

    std::fs::remove_file(&blocker).expect("remove blocker");
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    assert_eq!(e.topic("t").expect("topic").partitions, 2);
    let p = e.partition("t", 1).expect("p");
    assert_eq!(read_all(&p).await.len(), 2);
    e.create_partitions("t", 4).await.expect("grow");
    e.shutdown().await.expect("shutdown");
}
