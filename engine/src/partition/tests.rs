use std::io::Write;
use std::time::Instant;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::batch;
use crate::batch::{BatchBuilder, RecordInput};
use crate::config::FsyncPolicy;
use crate::error::EngineError;
use crate::util::lock;
use crate::{Engine, EngineConfig};

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

/// Every record value below the high watermark.
async fn values(p: &LocalLog) -> Vec<String> {
    let r = p.read(p.log_start(), 1 << 20).await.expect("read");
    let mut out = Vec::new();
    for item in batch::BatchIter::new(&r.records) {
        let (_, range) = item.expect("valid batch");
        let (_, recs) = batch::decode_records(&r.records[range]).expect("decode");
        out.extend(
            recs.iter()
                .map(|r| String::from_utf8_lossy(r.value.unwrap_or_default()).into_owned()),
        );
    }
    out
}

/// Fences the partition the way a failed write does, after leaving `garbage` past the accounted size.
fn fail_write(p: &LocalLog, garbage: &[u8]) {
    let path = p.active().path.clone();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .expect("open segment");
    f.write_all(garbage).expect("write garbage");
    let e = EngineError::Io {
        path,
        source: std::io::Error::from_raw_os_error(28),
    };
    p.fence(&mut lock(&p.writer), &e);
}

async fn wait_online(p: &LocalLog) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.failure().is_some() {
        assert!(Instant::now() < deadline, "partition stayed offline");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn engine(dir: &Path, fsync: FsyncPolicy) -> (Engine, Arc<LocalLog>) {
    let e = Engine::open(EngineConfig {
        data_dir: dir.to_path_buf(),
        fsync,
        // Nothing becomes durable on its own under `interval` in these tests.
        flush_interval_ms: 3_600_000,
        ..EngineConfig::default()
    })
    .await
    .expect("open");
    e.create_topic("t", 1, Default::default())
        .await
        .expect("create");
    let p = e.local_partition("t", 0).expect("partition");
    (e, p)
}

#[tokio::test]
async fn a_fenced_partition_cuts_the_partial_write_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, p) = engine(dir.path(), FsyncPolicy::Always).await;
    for i in 0..3 {
        p.append(batch(&format!("a{i}")), AppendOptions::default())
            .await
            .expect("append");
    }
    fail_write(&p, &[0xAB; 100]);
    let err = p
        .append(batch("refused"), AppendOptions::default())
        .await
        .expect_err("fenced");
    assert!(
        matches!(err, EngineError::PartitionFailed { .. }),
        "{err:?}"
    );
    let health = e.storage_health();
    assert_eq!(health.offline_partitions.len(), 1, "{health:?}");
    assert!(health.offline_partitions[0].reason.contains("os error 28"));

    wait_online(&p).await;
    assert!(e.storage_health().is_healthy());
    p.append(batch("after"), AppendOptions::default())
        .await
        .expect("append after recovery");
    assert_eq!(values(&p).await, ["a0", "a1", "a2", "after"]);
    // The garbage is gone from the file, so no reader or restart can see it.
    let active = p.active();
    assert_eq!(
        std::fs::metadata(&active.path).expect("stat").len(),
        active.size()
    );
    e.shutdown().await.expect("shutdown");
    drop((e, p));
    let (e, p) = engine_reopen(dir.path()).await;
    assert_eq!(values(&p).await, ["a0", "a1", "a2", "after"]);
    e.shutdown().await.expect("shutdown");
}

async fn engine_reopen(dir: &Path) -> (Engine, Arc<LocalLog>) {
    let e = Engine::open(EngineConfig {
        data_dir: dir.to_path_buf(),
        ..EngineConfig::default()
    })
    .await
    .expect("reopen");
    let p = e.local_partition("t", 0).expect("partition");
    (e, p)
}

#[tokio::test]
async fn a_tail_that_does_not_read_back_is_cut_before_resuming() {
    use std::os::unix::fs::FileExt;
    let dir = tempfile::tempdir().expect("tempdir");
    // Under `interval` with an hour's interval nothing here becomes durable: the whole tail is re-checked.
    let (e, p) = engine(dir.path(), FsyncPolicy::Interval).await;
    p.append(batch("kept"), AppendOptions::default())
        .await
        .expect("append");
    let second = p
        .append(batch("damaged"), AppendOptions::default())
        .await
        .expect("append");
    // What a failed fsync can leave: the page cache no longer holds what was written.
    let active = p.active();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&active.path)
        .expect("open")
        .write_all_at(&[0xFF; 4], active.size() - 6)
        .expect("damage");
    fail_write(&p, &[]);
    wait_online(&p).await;
    assert_eq!(values(&p).await, ["kept"]);
    assert_eq!(p.offsets().log_end, second.base_offset);
    p.append(batch("after"), AppendOptions::default())
        .await
        .expect("append after recovery");
    assert_eq!(values(&p).await, ["kept", "after"]);
    e.shutdown().await.expect("shutdown");
}
