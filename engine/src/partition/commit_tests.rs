//! The commit policies (who moves the high watermark), replica appends and the durable callback.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::{AppendOptions, CommitPolicy, LocalLog, OpenArgs, PartitionLog, PartitionState};
use crate::batch::{BatchBuilder, RecordInput};
use crate::config::{FsyncPolicy, TopicConfig};
use crate::error::EngineError;
use crate::fdcache::FdCache;
use crate::meta::MetaStore;

fn batch(tag: &str) -> Bytes {
    let mut b = BatchBuilder::new();
    b.push(RecordInput {
        key: None,
        value: Some(tag.as_bytes()),
        headers: &[],
        timestamp_ms: 1000,
    });
    b.finish().freeze()
}

fn open(dir: &Path, meta: &MetaStore, commit: CommitPolicy) -> Arc<LocalLog> {
    LocalLog::open(OpenArgs {
        topic: "t",
        index: 0,
        dir: dir.join("t-0"),
        state: PartitionState::default(),
        clean: false,
        policy: FsyncPolicy::Always,
        flush_interval: Duration::from_millis(10),
        index_interval: 4096,
        max_inflated: 1 << 20,
        config: TopicConfig::default(),
        meta: meta.clone(),
        sealed: None,
        files: FdCache::new(64),
        commit,
        remote_segments: Vec::new(),
        remote_store: None,
    })
    .expect("open")
}

fn store(dir: &Path) -> MetaStore {
    MetaStore::open(&dir.join("meta.redb"), 1 << 20).expect("meta")
}

#[tokio::test]
async fn local_policy_moves_the_high_watermark_with_durability() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = store(dir.path());
    let log = open(dir.path(), &meta, CommitPolicy::Local);
    let p: &dyn PartitionLog = &*log;
    let info = p
        .append(batch("a"), AppendOptions::default())
        .await
        .expect("append");
    assert_eq!(p.high_watermark(), info.last_offset + 1);
    assert_eq!(p.durable_offset(), info.last_offset + 1);
    // The owner cannot move a local log's committed point.
    assert_eq!(p.set_high_watermark(0), 1);
    assert_eq!(p.read(0, 1 << 20).await.expect("read").high_watermark, 1);
    log.close().await.expect("close");
}

#[tokio::test]
async fn external_policy_moves_the_high_watermark_only_when_set() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = store(dir.path());
    let log = open(dir.path(), &meta, CommitPolicy::External);
    let p: Arc<dyn PartitionLog> = log.clone();
    for tag in ["a", "b", "c"] {
        p.append(batch(tag), AppendOptions::default())
            .await
            .expect("append");
    }
    // Durable (acks waited for the fsync) but not committed: readers see nothing yet.
    assert_eq!(p.durable_offset(), 3);
    assert_eq!(p.high_watermark(), 0);
    assert!(p.read(0, 1 << 20).await.expect("read").records.is_empty());
    assert_eq!(
        p.read_uncommitted(0, 1 << 20)
            .await
            .expect("read")
            .records
            .len(),
        3 * batch("a").len()
    );
    assert_eq!(p.wait_for_data(0, Duration::from_millis(20)).await, 0);

    // An acks-style wait resolves when the owner commits, and reads stop exactly at the committed point.
    let waiter = {
        let p = p.clone();
        tokio::spawn(async move { p.wait_committed(2).await })
    };
    let poll = {
        let p = p.clone();
        tokio::spawn(async move { p.wait_for_data(0, Duration::from_secs(10)).await })
    };
    tokio::task::yield_now().await;
    assert!(!waiter.is_finished());
    assert_eq!(p.set_high_watermark(2), 2);
    waiter.await.expect("join").expect("committed");
    assert_eq!(poll.await.expect("join"), 2);
    let r = p.read(0, 1 << 20).await.expect("read");
    assert_eq!(r.high_watermark, 2);
    assert_eq!(r.records.len(), 2 * batch("a").len());
    assert_eq!(p.last_stable_offset(), 2);
    // Never past the log end, never backwards.
    assert_eq!(p.set_high_watermark(100), 3);
    assert_eq!(p.set_high_watermark(1), 3);
    log.close().await.expect("close");

    // Reopened, nothing is committed until the owner says so again.
    let log = open(dir.path(), &meta, CommitPolicy::External);
    assert_eq!(log.high_watermark(), 0);
    assert_eq!(log.offsets().log_end, 3);
    log.close().await.expect("close");
}

#[tokio::test]
async fn replica_appends_keep_the_leaders_offsets_and_refuse_a_gap() {
    let dir = tempfile::tempdir().expect("tempdir");
    let meta = store(dir.path());
    let leader = open(&dir.path().join("leader"), &meta, CommitPolicy::Local);
    for (i, tag) in ["a", "b", "c"].into_iter().enumerate() {
        leader
            .append(
                batch(tag),
                AppendOptions {
                    leader_epoch: i as i32 + 1,
                    wait_durable: true,
                    forward: false,
                },
            )
            .await
            .expect("append");
    }
    let stamped = leader.read(0, 1 << 20).await.expect("read").records;
    let one = batch("a").len();

    let replica = open(&dir.path().join("replica"), &meta, CommitPolicy::External);
    let p: &dyn PartitionLog = &*replica;
    // Starting past the log end is a divergence, reported and never re-stamped.
    let err = p
        .append_replica(stamped.slice(one..))
        .await
        .expect_err("gap");
    assert!(
        matches!(
            err,
            EngineError::ReplicaOffsetMismatch {
                expected: 0,
                got: 1,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(p.offsets().log_end, 0);
    let info = p
        .append_replica(stamped.clone())
        .await
        .expect("replica append");
    assert_eq!((info.base_offset, info.last_offset), (0, 2));
    // The durable callback fires once the flusher has synced the tail.
    let (tx, rx) = tokio::sync::oneshot::channel();
    p.on_durable(
        3,
        Box::new(move |r| {
            let _ = tx.send(r.is_ok());
        }),
    );
    assert!(rx.await.expect("callback"));
    p.set_high_watermark(3);
    // Byte for byte what the leader stored, epochs included.
    assert_eq!(p.read(0, 1 << 20).await.expect("read").records, stamped);
    assert_eq!(p.latest_epoch(), Some(3));
    assert_eq!(p.end_offset_for_epoch(2), Some((2, 2)));
    // A repeat of the same range no longer continues the log.
    assert!(p.append_replica(stamped).await.is_err());
    leader.close().await.expect("close");
    replica.close().await.expect("close");
}
