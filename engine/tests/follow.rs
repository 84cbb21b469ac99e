//! The engine follows topic records committed by other nodes: node B's registry converges on every committed
//! `topics` row, whether B made the change or "node A" did.
//!
//! Stand-in for the replicated metadata log: a relay watches A's store for committed cluster-table batches and
//! commits each, in commit order, to B's store, so B's watchers fire for changes B's engine never made, exactly
//! as they will when a replicated backend applies another node's entries. Node-local tables (recovery points,
//! seals) are not relayed, as they will not be replicated.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use strait_engine::{Engine, EngineError, MetaOp, Tables, TopicEvent};

const WAIT: Duration = Duration::from_secs(10);

/// Commits every cluster-table batch committed on `from` to `to`'s store, in order.
fn relay(from: &Engine, to: &Engine) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Vec<MetaOp>>();
    from.meta()
        .watch(
            Tables::cluster(),
            Arc::new(move |ops: &[MetaOp]| {
                let _ = tx.send(ops.to_vec());
            }),
        )
        .expect("tap");
    let to = to.meta().clone();
    tokio::spawn(async move {
        while let Some(ops) = rx.recv().await {
            if to.commit(ops).await.is_err() {
                break;
            }
        }
    })
}

type Events = Arc<Mutex<Vec<TopicEvent>>>;

fn record_events(e: &Engine) -> Events {
    let events: Events = Arc::default();
    let sink = events.clone();
    e.on_topic_event(Arc::new(move |ev: &TopicEvent| {
        sink.lock().expect("lock").push(ev.clone())
    }));
    events
}

/// Short names of the events: `c`reated, `g`rown, `r`econfigured, `d`eleted, with the topic.
fn kinds(events: &Events) -> Vec<String> {
    events
        .lock()
        .expect("lock")
        .iter()
        .map(|e| {
            let k = match e {
                TopicEvent::Created(_) => "c",
                TopicEvent::Grown(_) => "g",
                TopicEvent::Reconfigured(_) => "r",
                TopicEvent::Deleted { .. } => "d",
            };
            format!("{k}:{}", e.topic())
        })
        .collect()
}

struct Pair {
    _dirs: (tempfile::TempDir, tempfile::TempDir),
    a: Engine,
    b: Engine,
    /// Topic events on B.
    events: Events,
    relay: tokio::task::JoinHandle<()>,
}

async fn pair() -> Pair {
    let (da, db) = (
        tempfile::tempdir().expect("tempdir"),
        tempfile::tempdir().expect("tempdir"),
    );
    let a = Engine::open(config(da.path())).await.expect("open");
    let b = Engine::open(config(db.path())).await.expect("open");
    let events = record_events(&b);
    let relay = relay(&a, &b);
    Pair {
        _dirs: (da, db),
        a,
        b,
        events,
        relay,
    }
}

impl Pair {
    fn b_dir(&self) -> &std::path::Path {
        self._dirs.1.path()
    }

    /// Waits until B's store has A's topic rows, then lets B apply them (its follow task would, a moment later).
    async fn sync(&self) {
        let rows = |e: &Engine| e.meta().scan_prefix("topics", b"").expect("scan prefix");
        let deadline = tokio::time::Instant::now() + WAIT;
        while rows(&self.a) != rows(&self.b) {
            assert!(tokio::time::Instant::now() < deadline, "relay stalled");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        self.b.apply_followed_topics().await;
    }

    async fn close(self) {
        self.a.shutdown().await.expect("shutdown");
        self.b.shutdown().await.expect("shutdown");
        self.relay.abort();
    }
}

/// Directory names under `dir/logs` of partitions of `topic` (including ones being deleted).
fn dirs_of(dir: &std::path::Path, topic: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("logs"))
        .expect("read logs dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("{topic}-")))
        .collect();
    v.sort();
    v
}

async fn wait_for_dirs(dir: &std::path::Path, topic: &str, want: &[&str]) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while dirs_of(dir, topic) != want {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{topic}: dirs {:?}, want {want:?}",
            dirs_of(dir, topic)
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_topic_created_elsewhere_opens_here_and_takes_appends_and_reads() {
    let n = pair().await;
    let created =
        n.a.create_topic("t", 3, overrides(&[]))
            .await
            .expect("create topic");
    // No explicit catch-up: B's follow task opens the partitions by itself.
    let deadline = tokio::time::Instant::now() + WAIT;
    let p2 = loop {
        match n.b.partition("t", 2) {
            Ok(p) => break p,
            Err(EngineError::UnknownTopic(_)) => {}
            Err(e) => panic!("a half-built topic was visible: {e}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "never opened");
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let info = n.b.topic("t").expect("topic");
    assert_eq!((info.id, info.partitions), (created.id, 3));
    append(&p2, "x", 4, 1000).await;
    append(&n.b.partition("t", 0).expect("partition"), "y", 2, 1000).await;
    let got = read_all(&p2).await;
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], (3, "x-3".to_string()));
    assert_eq!(dirs_of(n.b_dir(), "t"), ["t-0", "t-1", "t-2"]);
    assert_eq!(kinds(&n.events), ["c:t"]);
    n.close().await;
}

#[tokio::test]
async fn partitions_and_config_changed_elsewhere_apply_here() {
    let n = pair().await;
    n.a.create_topic("t", 2, overrides(&[]))
        .await
        .expect("create topic");
    n.sync().await;
    let p0 = n.b.local_partition("t", 0).expect("local partition");
    append(&n.b.partition("t", 0).expect("partition"), "a", 3, 1000).await;

    n.a.create_partitions("t", 5)
        .await
        .expect("create partitions");
    n.sync().await;
    assert_eq!(n.b.topic("t").expect("topic").partitions, 5);
    assert!(
        Arc::ptr_eq(&p0, &n.b.local_partition("t", 0).expect("local partition")),
        "an open partition was reopened"
    );
    assert_eq!(
        read_all(&n.b.partition("t", 0).expect("partition"))
            .await
            .len(),
        3
    );
    append(&n.b.partition("t", 4).expect("partition"), "new", 1, 1000).await;
    assert_eq!(dirs_of(n.b_dir(), "t").len(), 5);

    n.a.set_topic_config("t", overrides(&[("retention.ms", "1234")]))
        .await
        .expect("set topic config");
    n.sync().await;
    let info = n.b.topic("t").expect("topic");
    assert_eq!(info.overrides, overrides(&[("retention.ms", "1234")]));
    assert_eq!(info.config.retention_ms, 1234);
    for p in 0..5 {
        assert_eq!(
            n.b.local_partition("t", p)
                .expect("local partition")
                .config()
                .retention_ms,
            1234
        );
    }
    assert_eq!(kinds(&n.events), ["c:t", "g:t", "r:t"]);
    n.close().await;
}

#[tokio::test]
async fn a_topic_deleted_elsewhere_is_closed_and_its_files_removed_here() {
    let n = pair().await;
    let created =
        n.a.create_topic("t", 2, overrides(&[]))
            .await
            .expect("create topic");
    n.sync().await;
    append(&n.b.partition("t", 1).expect("partition"), "a", 3, 1000).await;
    n.a.delete_topic("t").await.expect("delete topic");
    n.sync().await;
    assert!(n.b.topic("t").is_none());
    assert!(matches!(
        n.b.partition("t", 0),
        Err(EngineError::UnknownTopic(_))
    ));
    wait_for_dirs(n.b_dir(), "t", &[]).await;
    // B's own rows of the partitions (not replicated) go too.
    assert!(
        n.b.meta()
            .scan_prefix("partitions", b"t\0")
            .expect("scan prefix")
            .is_empty()
    );
    assert_eq!(kinds(&n.events), ["c:t", "d:t"]);
    match &n.events.lock().expect("lock")[1] {
        TopicEvent::Deleted { id, .. } => assert_eq!(*id, created.id),
        other => panic!("{other:?}"),
    }
    n.close().await;
}

#[tokio::test]
async fn the_nodes_own_changes_are_applied_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    let events = record_events(&e);
    e.create_topic("t", 2, overrides(&[]))
        .await
        .expect("create topic");
    let p0 = e.local_partition("t", 0).expect("local partition");
    append(&e.partition("t", 0).expect("partition"), "a", 2, 1000).await;
    e.apply_followed_topics().await;
    e.create_partitions("t", 3)
        .await
        .expect("create partitions");
    e.apply_followed_topics().await;
    e.set_topic_config("t", overrides(&[("retention.ms", "99")]))
        .await
        .expect("set topic config");
    e.apply_followed_topics().await;
    // Let the follow task run too.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Arc::ptr_eq(
        &p0,
        &e.local_partition("t", 0).expect("local partition")
    ));
    assert_eq!(
        read_all(&e.partition("t", 0).expect("partition"))
            .await
            .len(),
        2
    );
    assert_eq!(e.topic("t").expect("topic").config.retention_ms, 99);
    e.delete_topic("t").await.expect("delete topic");
    e.apply_followed_topics().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(e.topic("t").is_none());
    assert_eq!(kinds(&events), ["c:t", "g:t", "r:t", "d:t"]);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn quick_create_delete_create_converges_on_the_last_record() {
    let n = pair().await;
    // Elsewhere, B having held data under the name: the new topic of the same name starts empty here.
    n.a.create_topic("x", 1, overrides(&[]))
        .await
        .expect("create topic");
    n.sync().await;
    append(&n.b.partition("x", 0).expect("partition"), "old", 5, 1000).await;
    n.a.delete_topic("x").await.expect("delete topic");
    n.a.create_topic("x", 2, overrides(&[]))
        .await
        .expect("create topic");
    n.a.delete_topic("x").await.expect("delete topic");
    let last =
        n.a.create_topic("x", 3, overrides(&[("retention.ms", "5000")]))
            .await
            .expect("create topic");
    n.sync().await;
    let info = n.b.topic("x").expect("topic");
    assert_eq!((info.id, info.partitions), (last.id, 3));
    assert_eq!(info.config.retention_ms, 5000);
    let p0 = n.b.partition("x", 0).expect("partition");
    assert_eq!((p0.log_start(), p0.high_watermark()), (0, 0));
    assert!(read_all(&p0).await.is_empty());
    wait_for_dirs(n.b_dir(), "x", &["x-0", "x-1", "x-2"]).await;
    // However B saw the burst, the last event leaves the front ends with the last topic.
    match n.events.lock().expect("lock").last().expect("last") {
        TopicEvent::Created(t) => assert_eq!(t.id, last.id),
        other => panic!("{other:?}"),
    }

    // Here, in quick succession: each local call's event once, nothing redone by the follower.
    n.b.create_topic("y", 1, overrides(&[]))
        .await
        .expect("create topic");
    n.b.delete_topic("y").await.expect("delete topic");
    n.b.create_topic("y", 2, overrides(&[]))
        .await
        .expect("create topic");
    let y = n.b.local_partition("y", 1).expect("local partition");
    n.b.apply_followed_topics().await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(Arc::ptr_eq(
        &y,
        &n.b.local_partition("y", 1).expect("local partition")
    ));
    let ys: Vec<String> = kinds(&n.events)
        .into_iter()
        .filter(|k| k.ends_with(":y"))
        .collect();
    assert_eq!(ys, ["c:y", "d:y", "c:y"]);
    n.close().await;
}

#[tokio::test]
async fn a_topic_created_elsewhere_reopens_from_the_table_after_a_restart() {
    let n = pair().await;
    let created =
        n.a.create_topic("t", 2, overrides(&[]))
            .await
            .expect("create topic");
    n.sync().await;
    append(&n.b.partition("t", 1).expect("partition"), "kept", 5, 1000).await;
    let Pair {
        _dirs,
        a,
        b,
        relay: first,
        ..
    } = n;
    first.abort();
    b.shutdown().await.expect("shutdown");
    drop(b);
    let b = Engine::open(config(_dirs.1.path())).await.expect("open");
    let info = b.topic("t").expect("topic");
    assert_eq!((info.id, info.partitions), (created.id, 2));
    let got = read_all(&b.partition("t", 1).expect("partition")).await;
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].1, "kept-4");
    // Following resumes after the restart (the relay feeds A's table again first, as a catching-up replica
    // would be fed it).
    let again = relay(&a, &b);
    a.create_partitions("t", 3)
        .await
        .expect("create partitions");
    let deadline = tokio::time::Instant::now() + WAIT;
    while b.partition("t", 2).is_err() {
        assert!(tokio::time::Instant::now() < deadline, "never grew");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    again.abort();
    a.shutdown().await.expect("shutdown");
    b.shutdown().await.expect("shutdown");
}
