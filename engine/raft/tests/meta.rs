//! The replicated metadata store (`RaftMeta`) on three nodes over a simulated network, with real engines and
//! real redb files: commits from any node reach every node's local store and watchers in one order, node-scope
//! ops stay on their origin, acknowledged commits survive leader crashes and isolation, a restarted node replays
//! without applying anything twice, and a node with an empty store catches up from the controller log.

#![allow(clippy::unwrap_used)]

mod meta_sim;

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use meta_sim::{Cluster, get, put};
use strait_engine::EngineError;
use strait_engine::MetaOp;
use strait_engine::meta::tables::{DYNAMODB, KAFKA_GROUP_OFFSETS, KINESIS, PARTITIONS, TOPICS};
use strait_raft::RaftNodeId;

const IDS: [RaftNodeId; 3] = [1, 2, 3];

fn others(of: RaftNodeId) -> Vec<RaftNodeId> {
    IDS.into_iter().filter(|&i| i != of).collect()
}

/// What a node's watcher saw after its initial contents.
fn applied_batches(c: &Cluster, id: RaftNodeId) -> Vec<Vec<String>> {
    c.seen(id)[c.nodes[&id].initial..].to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_from_any_node_reach_every_node_in_one_order() {
    let mut c = Cluster::start(&IDS, 11).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let [f1, f2] = others(leader)[..] else {
        unreachable!()
    };

    c.store(leader)
        .commit(vec![put(TOPICS, "a", "1")])
        .await
        .expect("commit on the leader");
    // Read-your-writes on the node that committed.
    assert_eq!(get(&c.store(leader), TOPICS, "a").as_deref(), Some("1"));

    c.store(f1)
        .commit(vec![put(KINESIS, "b", "2")])
        .await
        .expect("commit on a follower");
    assert_eq!(get(&c.store(f1), KINESIS, "b").as_deref(), Some("2"));

    // A mixed batch: the cluster op everywhere, the node op on its origin only, both visible on return.
    c.store(f1)
        .commit(vec![put(TOPICS, "m", "3"), put(PARTITIONS, "local", "4")])
        .await
        .expect("mixed commit");
    assert_eq!(get(&c.store(f1), TOPICS, "m").as_deref(), Some("3"));
    assert_eq!(get(&c.store(f1), PARTITIONS, "local").as_deref(), Some("4"));

    // Node-scope only: straight to the local store.
    c.store(f2)
        .commit(vec![put(PARTITIONS, "only", "5")])
        .await
        .expect("node-local commit");
    c.store(f2)
        .commit(vec![MetaOp::Delete {
            table: TOPICS.into(),
            key: b"a".to_vec(),
        }])
        .await
        .expect("delete from a follower");

    c.converge().await;
    let want = vec![
        vec!["put topics a 1".to_string()],
        vec!["put kinesis b 2".to_string()],
        vec!["put topics m 3".to_string()],
        vec!["del topics a".to_string()],
    ];
    for id in IDS {
        let s = c.store(id);
        assert_eq!(get(&s, TOPICS, "a"), None, "node {id}");
        assert_eq!(get(&s, KINESIS, "b").as_deref(), Some("2"), "node {id}");
        assert_eq!(get(&s, TOPICS, "m").as_deref(), Some("3"), "node {id}");
        assert_eq!(
            get(&s, PARTITIONS, "local").is_some(),
            id == f1,
            "node-scope op of {f1} on node {id}"
        );
        assert_eq!(
            get(&s, PARTITIONS, "only").is_some(),
            id == f2,
            "node-local commit of {f2} on node {id}"
        );
        assert_eq!(applied_batches(&c, id), want, "watcher of node {id}");
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kcl_lease_and_its_group_offset_apply_together_everywhere() {
    let mut c = Cluster::start(&IDS, 12).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let follower = others(leader)[0];
    // The lease table is named after the group; the lease row and the offset it mirrors commit as one batch.
    c.store(follower)
        .commit(vec![
            put(DYNAMODB, "orders-app\0shardId-000", "checkpoint=42"),
            put(KAFKA_GROUP_OFFSETS, "orders-app\0orders\x00000", "42"),
        ])
        .await
        .expect("commit");
    c.converge().await;
    for id in IDS {
        // One watcher batch holding both rows: no node ever shows one without the other.
        assert_eq!(
            applied_batches(&c, id),
            vec![vec![
                "put dynamodb orders-app\0shardId-000 checkpoint=42".to_string(),
                "put kafka_group_offsets orders-app\0orders\x00000 42".to_string(),
            ]],
            "node {id}"
        );
    }
    c.stop_all().await;
}

/// Acknowledged keys and values per writer, and unexpected errors.
#[derive(Default)]
struct Log {
    acked: Vec<(String, String)>,
    /// Commits that failed with a retriable error (no leader reachable in time, or the outcome unknown).
    retriable: usize,
    unexpected: Vec<String>,
}

/// Commits `w{node}-{i}` from `id` until `stop`; a failure must be one a front end retries.
fn writer(
    c: &Cluster,
    id: RaftNodeId,
    stop: Arc<AtomicBool>,
    log: Arc<Mutex<Log>>,
) -> tokio::task::JoinHandle<()> {
    let store = c.store(id);
    tokio::spawn(async move {
        let mut i = 0;
        while !stop.load(Ordering::Relaxed) {
            let (k, v) = (format!("w{id}-{i:05}"), format!("{i}"));
            match store.commit(vec![put(KINESIS, &k, &v)]).await {
                Ok(()) => log.lock().unwrap().acked.push((k, v)),
                Err(EngineError::NotLeader { .. } | EngineError::MetaClosed) => {
                    log.lock().unwrap().retriable += 1;
                }
                Err(e) => log.lock().unwrap().unexpected.push(e.to_string()),
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// The leader once exactly one node claims to lead (a leader isolated earlier names itself until it hears a
/// higher term).
async fn sole_leader(c: &Cluster) -> RaftNodeId {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let leaders: Vec<RaftNodeId> = c
            .up()
            .into_iter()
            .filter(|&id| c.meta(id).group().is_leader())
            .collect();
        if let [one] = leaders[..] {
            return one;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no single leader in 10 s: {leaders:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_acknowledged_commit_is_lost_across_a_leader_crash_and_an_isolation() {
    let mut c = Cluster::start(&IDS, 21).await;
    let first = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Log::default()));
    // Writers on the two nodes that survive the crash; one of them is isolated later.
    let writers: Vec<_> = others(first)
        .into_iter()
        .map(|id| writer(&c, id, stop.clone(), log.clone()))
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;

    c.stop(first).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.boot(first).await;

    // A lossy, slow network: forwarded commits and their answers get lost, so retries reuse request ids.
    c.net.drop_per_mille.store(100, Ordering::Relaxed);
    c.net.max_delay_ms.store(20, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.net.heal();

    let second = c
        .leader(Duration::from_secs(10))
        .await
        .expect("a new leader");
    c.net.isolate(second, &IDS);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    c.net.heal();

    // A writer's node cut off for longer than a commit retries (`no_leader_for`, 3 s): a commit there fails,
    // retriably (the writers' own commits may instead be waiting to apply one the leader took just before the
    // cut, so the probe is made here). A follower's, so the commit is forwarded and times out: an isolated
    // leader would hold its own proposals until the isolation ends and then commit them.
    let leader = sole_leader(&c).await;
    let cut = others(first)
        .into_iter()
        .find(|&id| id != leader)
        .expect("two writer nodes, at most one leads");
    c.net.isolate(cut, &IDS);
    let started = tokio::time::Instant::now();
    let probe = tokio::time::timeout(
        Duration::from_secs(10),
        c.store(cut)
            .commit(vec![put(KINESIS, "probe-isolated", "1")]),
    )
    .await;
    assert!(
        matches!(probe, Ok(Err(EngineError::NotLeader { .. }))),
        "a commit on an isolated follower must fail with NotLeader: {probe:?}"
    );
    tokio::time::sleep(Duration::from_millis(4000).saturating_sub(started.elapsed())).await;
    c.net.heal();
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await.unwrap();
    }
    c.converge().await;

    let log = std::mem::take(&mut *log.lock().unwrap());
    eprintln!(
        "acknowledged {}, failed retriably {}",
        log.acked.len(),
        log.retriable
    );
    assert!(log.unexpected.is_empty(), "{:?}", log.unexpected);
    assert!(
        log.acked.len() > 20,
        "too few commits acknowledged: {}",
        log.acked.len()
    );
    for id in IDS {
        let s = c.store(id);
        for (k, v) in &log.acked {
            assert_eq!(get(&s, KINESIS, k).as_ref(), Some(v), "node {id} lost {k}");
        }
    }
    // The restarted node applied each entry once: nothing it held at restart came back through its watcher.
    let held: BTreeSet<String> = c.seen(first)[..c.nodes[&first].initial]
        .iter()
        .flatten()
        .cloned()
        .collect();
    let again: Vec<_> = applied_batches(&c, first)
        .into_iter()
        .flatten()
        .filter(|op| held.contains(op))
        .collect();
    assert!(again.is_empty(), "re-applied after restart: {again:?}");
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_replays_without_double_apply_and_an_empty_node_catches_up() {
    let mut c = Cluster::start(&IDS, 31).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let s = c.store(leader);
    s.commit(vec![put(TOPICS, "x1", "1")]).await.unwrap();
    s.commit(vec![put(TOPICS, "x2", "1")]).await.unwrap();
    s.commit(vec![MetaOp::DeletePrefix {
        table: TOPICS.into(),
        prefix: b"x".to_vec(),
    }])
    .await
    .unwrap();
    s.commit(vec![put(TOPICS, "y", "2")]).await.unwrap();
    c.converge().await;

    // Restart a follower at once (its Raft applied point is saved lazily, so openraft re-applies a suffix).
    let f = others(leader)[0];
    c.stop(f).await;
    c.boot(f).await;
    c.converge().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        c.seen(f),
        vec![vec!["put topics y 2".to_string()]],
        "initial contents only: replayed entries must not be applied again"
    );
    assert_eq!(get(&c.store(f), TOPICS, "x1"), None);
    c.store(f)
        .commit(vec![put(TOPICS, "z", "3")])
        .await
        .unwrap();
    assert_eq!(
        applied_batches(&c, f),
        vec![vec!["put topics z 3".to_string()]]
    );

    // A node whose local store is empty (lost or deleted; its controller log survived) replays the whole log.
    // (Losing the log too would need openraft's `allow_log_reversion`; a new node joins empty, see below.)
    c.stop(f).await;
    std::fs::remove_file(c.nodes[&f].dir.join("meta.redb")).unwrap();
    c.boot(f).await;
    c.converge().await;
    let replayed = applied_batches(&c, f);
    assert_eq!(
        replayed,
        vec![
            vec!["put topics x1 1".to_string()],
            vec!["put topics x2 1".to_string()],
            vec!["delprefix topics x".to_string()],
            vec!["put topics y 2".to_string()],
            vec!["put topics z 3".to_string()],
        ]
    );
    for id in IDS {
        let st = c.store(id);
        assert_eq!(
            st.scan_prefix(TOPICS, b"").unwrap(),
            vec![
                (b"y".to_vec(), b"2".to_vec()),
                (b"z".to_vec(), b"3".to_vec())
            ],
            "node {id}"
        );
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_starts_late_with_empty_disks_catches_up() {
    // Four voters, three up: the group has a quorum without node 4, which first boots after the writes.
    let mut c = Cluster::start_some(&[1, 2, 3, 4], &IDS, 41).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let s = c.store(leader);
    s.commit(vec![put(TOPICS, "p", "1")]).await.unwrap();
    s.commit(vec![put(KINESIS, "q", "2"), put(PARTITIONS, "mine", "3")])
        .await
        .unwrap();
    c.boot(4).await;
    c.converge().await;
    let late = c.store(4);
    assert_eq!(get(&late, TOPICS, "p").as_deref(), Some("1"));
    assert_eq!(get(&late, KINESIS, "q").as_deref(), Some("2"));
    assert_eq!(
        get(&late, PARTITIONS, "mine"),
        None,
        "node-scope op of {leader}"
    );
    assert_eq!(applied_batches(&c, 4), applied_batches(&c, leader));
    // And it writes like any member.
    late.commit(vec![put(TOPICS, "r", "4")]).await.unwrap();
    c.converge().await;
    for id in [1, 2, 3, 4] {
        assert_eq!(
            get(&c.store(id), TOPICS, "r").as_deref(),
            Some("4"),
            "node {id}"
        );
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_commits_keep_their_order_and_precede_later_commits() {
    let mut c = Cluster::start(&IDS, 51).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let follower = others(leader)[0];
    let s = c.store(follower);
    for i in 0..20 {
        s.commit_in_background(vec![put(TOPICS, "bg", &format!("{i}"))]);
    }
    // A commit issued after them lands after them (as with the local store's single writer queue).
    s.commit(vec![put(TOPICS, "fg", "done")]).await.unwrap();
    assert_eq!(get(&s, TOPICS, "bg").as_deref(), Some("19"));
    c.converge().await;
    for id in IDS {
        let seen: Vec<String> = applied_batches(&c, id).into_iter().flatten().collect();
        let bg: Vec<_> = seen.iter().filter(|op| op.contains(" bg ")).collect();
        assert_eq!(
            bg.last().map(|s| s.as_str()),
            Some("put topics bg 19"),
            "node {id}"
        );
        assert_eq!(
            seen.last().map(String::as_str),
            Some("put topics fg done"),
            "node {id}"
        );
        let order: Vec<i32> = bg
            .iter()
            .map(|op| op.rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] < w[1]),
            "node {id}: {order:?}"
        );
    }
    c.stop_all().await;
}
