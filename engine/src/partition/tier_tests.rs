//! The segment set with remote segments: hand-over, reads across the remote/local boundary, restart, a node
//! without a remote store, dropping remote segments, and the crash between recording an upload and deleting the
//! local files. The object store here keeps each segment's bytes in memory and walks batch headers; the real
//! one (S3) belongs to the tiering crate.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;

use crate::batch::{self, BatchBuilder, BatchHeader, RecordInput};
use crate::error::EngineError;
use crate::partition::{
    AppendOptions, LocalLog, PartitionLog, REMOTE_TABLE, SealedSegment, remote_key,
};
use crate::store::{RemoteSegment, RemoteStore, StoreFuture};
use crate::{Engine, EngineConfig, MetaOp};

#[derive(Default)]
struct MemStore {
    objects: Mutex<BTreeMap<String, Vec<u8>>>,
    deleted: Mutex<BTreeSet<String>>,
}

impl MemStore {
    fn object(&self, key: &str) -> Vec<u8> {
        self.objects.lock().expect("lock")[key].clone()
    }
    /// `(header, bytes)` of every batch of an object.
    fn batches(&self, key: &str) -> Vec<(BatchHeader, Vec<u8>)> {
        let bytes = self.object(key);
        let mut out = Vec::new();
        let mut at = 0;
        while at < bytes.len() {
            let (_, len) = batch::peek_offset_and_len(&bytes[at..]).expect("batch");
            let b = bytes[at..at + len].to_vec();
            out.push((BatchHeader::parse(&b).expect("header"), b));
            at += len;
        }
        out
    }
}

fn ready<T: Send + 'static>(v: T) -> StoreFuture<T> {
    Box::pin(async move { Ok(v) })
}

impl RemoteStore for MemStore {
    fn read(
        &self,
        seg: Arc<RemoteSegment>,
        offset: i64,
        max_bytes: usize,
        end: i64,
    ) -> StoreFuture<Option<Vec<u8>>> {
        let mut out = Vec::new();
        for (h, b) in self.batches(&seg.key) {
            let last = h.base_offset + i64::from(h.last_offset_delta);
            if last < offset || h.base_offset >= end {
                continue;
            }
            if !out.is_empty() && out.len() + b.len() > max_bytes {
                break;
            }
            out.extend_from_slice(&b);
        }
        ready((!out.is_empty()).then_some(out))
    }
    fn find_by_time(
        &self,
        seg: Arc<RemoteSegment>,
        ts: i64,
        end: i64,
    ) -> StoreFuture<Option<(BatchHeader, Vec<u8>)>> {
        let hit = self
            .batches(&seg.key)
            .into_iter()
            .find(|(h, _)| h.base_offset < end && h.max_timestamp >= ts);
        ready(hit)
    }
    fn read_batch(&self, seg: Arc<RemoteSegment>, base: i64) -> StoreFuture<Option<Vec<u8>>> {
        let hit = self
            .batches(&seg.key)
            .into_iter()
            .find(|(h, _)| h.base_offset == base);
        ready(hit.map(|(_, b)| b))
    }
    fn delete(&self, seg: Arc<RemoteSegment>) -> StoreFuture<()> {
        self.objects.lock().expect("lock").remove(&seg.key);
        self.deleted.lock().expect("lock").insert(seg.key.clone());
        ready(())
    }
}

/// A batch of three ~100-byte records stamped `ts`.
fn batch_at(ts: i64) -> Bytes {
    let value = vec![b'x'; 100];
    let mut b = BatchBuilder::new();
    for _ in 0..3 {
        b.push(RecordInput {
            key: None,
            value: Some(&value),
            headers: &[],
            timestamp_ms: ts,
        });
    }
    b.finish().freeze()
}

async fn open(dir: &Path, store: Option<Arc<MemStore>>) -> (Engine, Arc<LocalLog>) {
    let e = Engine::open_with_remote(
        EngineConfig {
            data_dir: dir.to_path_buf(),
            ..EngineConfig::default()
        },
        store.map(|s| s as Arc<dyn RemoteStore>),
    )
    .await
    .expect("open");
    if e.topic("t").is_none() {
        let small = BTreeMap::from([("segment.bytes".to_string(), "1024".to_string())]);
        e.create_topic("t", 1, small).await.expect("create");
    }
    let p = e.local_partition("t", 0).expect("partition");
    (e, p)
}

/// Every batch from the log start to the high watermark, as `(base offset, bytes)`.
async fn all(p: &LocalLog) -> Result<Vec<(i64, Vec<u8>)>, EngineError> {
    let mut out = Vec::new();
    let mut at = p.log_start();
    while at < p.high_watermark() {
        let r = p.read(at, 700).await?;
        assert!(!r.records.is_empty(), "no progress at {at}");
        for item in batch::BatchIter::new(&r.records) {
            let (h, range) = item.expect("valid batch");
            at = h.base_offset + i64::from(h.last_offset_delta) + 1;
            out.push((h.base_offset, r.records[range].to_vec()));
        }
    }
    Ok(out)
}

/// Copies a sealed segment's bytes into `store` under `key` and describes the copy.
fn upload(store: &MemStore, s: &SealedSegment, key: String) -> RemoteSegment {
    let bytes = std::fs::read(&s.log_path).expect("segment file");
    store
        .objects
        .lock()
        .expect("lock")
        .insert(key.clone(), bytes);
    RemoteSegment {
        base_offset: s.base_offset,
        next_offset: s.next_offset,
        max_timestamp: s.max_timestamp,
        max_timestamp_offset: s.max_timestamp_offset,
        size_bytes: s.size_bytes,
        key,
        aborted: Vec::new(),
    }
}

/// Uploads the oldest tierable segment's bytes to `store` and hands it over.
async fn tier_one(p: &LocalLog, store: &MemStore) -> RemoteSegment {
    let s = p
        .tierable_segments()
        .into_iter()
        .next()
        .expect("a tierable segment");
    let seg = upload(store, &s, format!("t-0/{:020}.log", s.base_offset));
    p.adopt_remote(seg.clone()).await.expect("adopt");
    assert!(
        !s.log_path.exists(),
        "the local file is deleted after the hand-over"
    );
    seg
}

async fn fill(p: &LocalLog, batches: i64) {
    for i in 0..batches {
        PartitionLog::append(p, batch_at(1_000 + i), AppendOptions::default())
            .await
            .expect("append");
    }
}

#[tokio::test]
async fn reads_cross_the_remote_local_boundary_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(MemStore::default());
    let (e, p) = open(dir.path(), Some(store.clone())).await;
    fill(&p, 24).await;
    let before = all(&p).await.expect("read");
    assert!(p.tierable_segments().len() >= 3, "segments rolled");
    let first = tier_one(&p, &store).await;
    let second = tier_one(&p, &store).await;
    assert_eq!(first.next_offset, second.base_offset);
    assert_eq!(p.remote_segments(), vec![first.clone(), second.clone()]);
    assert_eq!(
        all(&p).await.expect("read"),
        before,
        "same batches, now partly remote"
    );
    // A timestamp inside the first remote segment, and the largest timestamp (in the local tail).
    let (h, _) = p
        .find_by_timestamp(1_001)
        .await
        .expect("find")
        .expect("hit");
    assert_eq!(h.max_timestamp, 1_001);
    assert!(h.base_offset < first.next_offset);
    let (h, _) = p.max_timestamp_batch().await.expect("max").expect("hit");
    assert_eq!(h.max_timestamp, 1_023);
    // Only the oldest local segment can go next, and only as itself.
    let wrong = RemoteSegment {
        base_offset: second.next_offset + 3,
        ..second.clone()
    };
    assert!(matches!(
        p.adopt_remote(wrong).await,
        Err(EngineError::RemoteSegmentMismatch { .. })
    ));

    e.shutdown().await.expect("shutdown");
    drop((e, p));
    let (e, p) = open(dir.path(), Some(store.clone())).await;
    assert_eq!(p.remote_segments(), vec![first.clone(), second]);
    assert_eq!(p.log_start(), 0);
    assert_eq!(all(&p).await.expect("read"), before, "after a restart");
    e.shutdown().await.expect("shutdown");
    drop((e, p));

    // A node without the object store still serves its local segments and says why it cannot serve the rest.
    let (e, p) = open(dir.path(), None).await;
    assert!(matches!(
        p.read(0, 1 << 20).await,
        Err(EngineError::NoRemoteStore)
    ));
    let local_start = p.segments()[0].base_offset;
    let r = p.read(local_start, 1 << 20).await.expect("local read");
    assert!(!r.records.is_empty());
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn delete_records_drops_remote_segments_below_the_new_start_and_their_objects() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(MemStore::default());
    let (e, p) = open(dir.path(), Some(store.clone())).await;
    fill(&p, 24).await;
    let first = tier_one(&p, &store).await;
    let second = tier_one(&p, &store).await;
    let start = p
        .delete_records(first.next_offset + 1)
        .await
        .expect("delete");
    assert_eq!(start, first.next_offset + 1);
    assert_eq!(p.remote_segments(), vec![second.clone()]);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !store.deleted.lock().expect("lock").contains(&first.key) {
        assert!(Instant::now() < deadline, "the object was not deleted");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let key = remote_key("t", 0, first.base_offset);
    assert!(e.meta().get(REMOTE_TABLE, &key).expect("get").is_none());
    let rest = all(&p).await.expect("read");
    assert!(rest[0].0 <= start && rest.iter().all(|(b, _)| *b >= first.next_offset));
    e.shutdown().await.expect("shutdown");
    drop((e, p));
    let (e, p) = open(dir.path(), Some(store)).await;
    assert_eq!(p.remote_segments(), vec![second]);
    assert_eq!(p.log_start(), start);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn a_crash_between_recording_an_upload_and_deleting_the_local_files_is_finished_at_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(MemStore::default());
    let (e, p) = open(dir.path(), Some(store.clone())).await;
    fill(&p, 24).await;
    let before = all(&p).await.expect("read");
    // What `adopt_remote` does up to its crash point: the object and the row, not the local deletion.
    let s = p.tierable_segments().into_iter().next().expect("tierable");
    let seg = upload(&store, &s, "t-0/crashed".to_string());
    e.meta()
        .commit(vec![MetaOp::Put {
            table: REMOTE_TABLE.into(),
            key: remote_key("t", 0, seg.base_offset),
            value: serde_json::to_vec(&seg).expect("json"),
        }])
        .await
        .expect("commit");
    e.abandon().await;
    drop(p);
    assert!(s.log_path.exists());
    let (e, p) = open(dir.path(), Some(store)).await;
    assert!(
        !s.log_path.exists(),
        "the covered local file is removed at open"
    );
    assert_eq!(p.remote_segments(), vec![seg]);
    assert_eq!(all(&p).await.expect("read"), before);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn remote_storage_enable_needs_a_remote_store() {
    let on = BTreeMap::from([("remote.storage.enable".to_string(), "true".to_string())]);
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, _p) = open(dir.path(), None).await;
    assert!(!e.has_remote_store());
    let err = e
        .create_topic("u", 1, on.clone())
        .await
        .expect_err("refused");
    assert!(
        matches!(&err, EngineError::InvalidConfig { key, .. } if key == "remote.storage.enable"),
        "{err}"
    );
    let err = e
        .set_topic_config("t", on.clone())
        .await
        .expect_err("refused");
    assert!(matches!(err, EngineError::InvalidConfig { .. }), "{err}");
    e.shutdown().await.expect("shutdown");
    let dir = tempfile::tempdir().expect("tempdir");
    let (e, _p) = open(dir.path(), Some(Arc::new(MemStore::default()))).await;
    let t = e
        .create_topic("u", 1, on)
        .await
        .expect("accepted with a store");
    assert!(t.config.remote_storage_enable);
    e.shutdown().await.expect("shutdown");
}
