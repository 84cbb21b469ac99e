//! RedbStore's tests: commits, guarded commits, creation after a crash, recovery after I/O errors.

use super::*;

#[tokio::test]
async fn put_get_scan_delete_and_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.redb");
    {
        let m = RedbStore::open(&path, 1 << 20).expect("open");
        let mut handles = Vec::new();
        for i in 0..50u32 {
            let m = m.clone();
            handles.push(tokio::spawn(async move {
                m.put("t", format!("a/{i:03}").as_bytes(), vec![i as u8])
                    .await
            }));
        }
        for h in handles {
            h.await.expect("join").expect("put");
        }
        m.put("t", b"b/1", b"x".to_vec()).await.expect("put");
        assert_eq!(m.get("t", b"a/007").expect("get"), Some(vec![7]));
        assert_eq!(m.scan_prefix("t", b"a/").expect("scan").len(), 50);
        m.commit(vec![MetaOp::DeletePrefix {
            table: "t".into(),
            prefix: b"a/".to_vec(),
        }])
        .await
        .expect("del");
        assert!(m.scan_prefix("t", b"a/").expect("scan").is_empty());
        assert_eq!(m.get("missing-table", b"k").expect("get"), None);
        m.close().await;
    }
    let m = RedbStore::open(&path, 1 << 20).expect("reopen");
    assert_eq!(m.get("t", b"b/1").expect("get"), Some(b"x".to_vec()));
}

/// Of two guarded commits of one key, concurrent enough to share a transaction, exactly one applies; the other
/// changes nothing (its other ops included) and watchers see only the winner.
#[tokio::test]
async fn a_guarded_commit_applies_only_while_its_key_is_absent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let m = RedbStore::open(&dir.path().join("meta.redb"), 1 << 20).expect("open");
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let s2 = seen.clone();
    m.watch(
        Tables::Named(vec!["t".into(), "side".into()]),
        Arc::new(move |ops: &[MetaOp]| {
            let mut v = s2.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            v.extend(ops.iter().map(|o| format!("{o:?}")));
        }),
    )
    .expect("watch");
    let guarded = |value: &str| {
        let m = m.clone();
        let value = value.as_bytes().to_vec();
        tokio::spawn(async move {
            let absent = vec![Absent {
                table: "t".into(),
                key: b"k".to_vec(),
            }];
            let ops = vec![
                MetaOp::Put {
                    table: "t".into(),
                    key: b"k".to_vec(),
                    value: value.clone(),
                },
                MetaOp::Put {
                    table: "side".into(),
                    key: value.clone(),
                    value,
                },
            ];
            m.commit_if_absent(absent, ops).await
        })
    };
    let (a, b) = (guarded("a"), guarded("b"));
    let (a, b) = (
        a.await.expect("join").expect("a"),
        b.await.expect("join").expect("b"),
    );
    assert!(a != b, "exactly one of the two applies: a={a} b={b}");
    let winner = if a { b"a".to_vec() } else { b"b".to_vec() };
    let loser = if a { b"b".to_vec() } else { b"a".to_vec() };
    assert_eq!(m.get("t", b"k").expect("get"), Some(winner.clone()));
    assert_eq!(m.get("side", &winner).expect("get"), Some(winner));
    assert_eq!(m.get("side", &loser).expect("get"), None);
    assert_eq!(seen.lock().expect("lock").len(), 2);
    // Absent again after a delete: a guarded commit applies.
    m.commit(vec![MetaOp::Delete {
        table: "t".into(),
        key: b"k".to_vec(),
    }])
    .await
    .expect("delete");
    let absent = vec![Absent {
        table: "t".into(),
        key: b"k".to_vec(),
    }];
    let again = m.commit_if_absent(absent, vec![]).await.expect("commit");
    assert!(again);
}

/// The database file behind a switch that makes it behave like a full disk: overwriting allocated bytes
/// works, growing the file fails with ENOSPC.
#[derive(Debug)]
struct FullDisk {
    inner: redb::backends::FileBackend,
    full: Arc<std::sync::atomic::AtomicBool>,
}

impl FullDisk {
    fn check(&self, end: u64) -> std::io::Result<()> {
        if self.full.load(std::sync::atomic::Ordering::Acquire)
            && end > redb::StorageBackend::len(&self.inner)?
        {
            Err(std::io::Error::from_raw_os_error(28))
        } else {
            Ok(())
        }
    }
}

type Bound = std::ops::Bound<u64>;

impl redb::StorageBackend for FullDisk {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check(len)?;
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> std::io::Result<()> {
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check(offset + data.len() as u64)?;
        self.inner.write(offset, data)
    }
    fn close(&self) -> std::io::Result<()> {
        self.inner.close()
    }
    fn try_lock_range(&self, s: Bound, e: Bound) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(s, e)
    }
    fn try_lock_shared_range(&self, s: Bound, e: Bound) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(s, e)
    }
    fn lock_range(&self, s: Bound, e: Bound) -> Result<(), redb::BackendError> {
        self.inner.lock_range(s, e)
    }
    fn lock_shared_range(&self, s: Bound, e: Bound) -> Result<(), redb::BackendError> {
        self.inner.lock_shared_range(s, e)
    }
    fn unlock_range(&self, s: Bound, e: Bound) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(s, e)
    }
    fn query_lock_range(&self, s: Bound, e: Bound) -> Result<bool, redb::BackendError> {
        self.inner.query_lock_range(s, e)
    }
}

#[tokio::test]
async fn a_creation_cut_short_by_a_crash_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.redb");
    // What a kill during the first start leaves: a scratch file without a redb header.
    std::fs::write(dir.path().join("meta.redb.creating"), b"\0\0partial").expect("write");
    let m = RedbStore::open(&path, 1 << 20).expect("open");
    m.put("t", b"k", b"v".to_vec()).await.expect("put");
    assert!(path.exists());
    assert!(!dir.path().join("meta.redb.creating").exists());
    assert_eq!(m.get("t", b"k").expect("get"), Some(b"v".to_vec()));
}

#[tokio::test]
async fn a_file_whose_header_was_never_written_is_replaced() {
    let dir = tempfile::tempdir().expect("tempdir");
    for leftover in [&[][..], &[0u8; 4096][..]] {
        let path = dir.path().join(format!("meta-{}.redb", leftover.len()));
        std::fs::write(&path, leftover).expect("write");
        let m = RedbStore::open(&path, 1 << 20).expect("open");
        m.put("t", b"k", b"v".to_vec()).await.expect("put");
    }
    // A file with anything else in it is not silently replaced.
    let path = dir.path().join("garbage.redb");
    std::fs::write(&path, b"not a database at all").expect("write");
    assert!(RedbStore::open(&path, 1 << 20).is_err());
    assert_eq!(
        std::fs::read(&path).expect("read"),
        b"not a database at all"
    );
}

#[tokio::test]
async fn recovers_by_itself_after_a_failed_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("meta.redb");
    let full = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let (p, f) = (path.clone(), full.clone());
    let opener: Opener = Box::new(move || {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&p)
            .map_err(redb::StorageError::from)?;
        Database::builder().create_with_backend(FullDisk {
            inner: redb::backends::FileBackend::new(file)?,
            full: f.clone(),
        })
    });
    let m = RedbStore::open_with(&path, opener).expect("open");
    m.put("t", b"before", b"1".to_vec()).await.expect("put");
    assert_eq!(m.fault(), None);

    full.store(true, std::sync::atomic::Ordering::Release);
    // Big enough that the file must grow.
    let err = m
        .put("t", b"lost", vec![7u8; 8 << 20])
        .await
        .expect_err("disk is full");
    assert!(err.to_string().contains("os error 28"), "{err}");
    assert!(
        m.fault().is_some(),
        "a failed commit marks the store faulty"
    );
    // Refused while faulty (with the reason), or failing again after a re-open while the disk is full.
    let err = m
        .put("t", b"lost", vec![7u8; 8 << 20])
        .await
        .expect_err("still full");
    assert!(
        err.to_string().contains("unavailable") || err.to_string().contains("os error 28"),
        "{err}"
    );
    // The re-opened instance serves reads while writes are refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(v) = m.get("t", b"before") {
            assert_eq!(v, Some(b"1".to_vec()));
            break;
        }
        assert!(Instant::now() < deadline, "reads never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    full.store(false, std::sync::atomic::Ordering::Release);
    let deadline = Instant::now() + Duration::from_secs(5);
    while m.fault().is_some() {
        assert!(Instant::now() < deadline, "the store did not recover");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    m.put("t", b"after", b"3".to_vec())
        .await
        .expect("put after recovery");
    assert_eq!(m.get("t", b"before").expect("get"), Some(b"1".to_vec()));
    assert_eq!(m.get("t", b"lost").expect("get"), None);
    assert_eq!(m.get("t", b"after").expect("get"), Some(b"3".to_vec()));
}
