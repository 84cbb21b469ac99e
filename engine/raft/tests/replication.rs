//! Three replicas of a partition over a simulated network (drop, delay, partition, crash and restart), with the
//! properties replication promises: an acknowledged write is never lost or moved, no two leaders share a term,
//! and replicas converge on byte-identical logs.

#![allow(clippy::unwrap_used)]

mod sim;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sim::{Cluster, batch, committed};
use strait_raft::{ProposeError, RaftNodeId};

const IDS: [RaftNodeId; 3] = [1, 2, 3];

/// Waits until every live replica has committed the same log of at least `min_end` offsets.
async fn converge(c: &Cluster, min_end: i64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let hws: Vec<(i64, i64)> = c
            .up()
            .iter()
            .map(|&id| {
                let o = c.group(id).log().offsets();
                (o.high_watermark, o.log_end)
            })
            .collect();
        let (hw0, end0) = hws[0];
        if hw0 >= min_end
            && hws
                .iter()
                .all(|&(hw, end)| hw == hw0 && end == end0 && hw == end)
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "replicas did not converge: (hw, end) per node {hws:?}, want >= {min_end}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_commit_in_order_and_hold_identical_logs() {
    let mut c = Cluster::start(&IDS, 1).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let g = c.group(leader);
    let mut last = -1;
    for i in 0..40 {
        let a = g.propose(batch(&format!("v{i}"))).await.expect("propose");
        assert!(a.base_offset > last, "offsets grow: {a:?} after {last}");
        assert_eq!(a.base_offset, a.last_offset);
        // Acknowledged means readable on the leader.
        assert!(g.log().high_watermark() > a.last_offset);
        last = a.last_offset;
    }
    converge(&c, last + 1).await;
    let (bytes, values) = committed(&g).await;
    assert_eq!(
        values.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(),
        (0..40).map(|i| format!("v{i}")).collect::<Vec<_>>()
    );
    for id in IDS {
        assert_eq!(
            committed(&c.group(id)).await.0,
            bytes,
            "replica {id} differs"
        );
        // Leader epoch = Raft term, so every replica answers OffsetForLeaderEpoch alike.
        let (_, term) = c.group(id).leader();
        assert_eq!(c.group(id).log().latest_epoch(), Some(term as i32));
    }
    // A follower refuses to propose and names the leader.
    let follower = IDS.into_iter().find(|&i| i != leader).unwrap();
    match c.group(follower).propose(batch("x")).await {
        Err(ProposeError::NotLeader { leader: Some(l) }) => assert_eq!(l, leader),
        other => panic!("follower accepted a write: {other:?}"),
    }
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_ends_append_through_the_replicated_log_and_followers_name_the_leader() {
    use strait_engine::{AppendOptions, EngineError, PartitionLog};
    let mut c = Cluster::start(&IDS, 3).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    let logs: BTreeMap<RaftNodeId, Arc<strait_raft::ReplicatedLog>> = IDS
        .iter()
        .map(|&id| {
            let g = c.group(id);
            let l = strait_raft::ReplicatedLog::new(g.log().clone(), None);
            l.attach(g);
            (id, l)
        })
        .collect();
    let p: &dyn PartitionLog = &*logs[&leader];
    let info = p
        .append(batch("front"), AppendOptions::default())
        .await
        .expect("append");
    // Readable at once through the same handle, as a Produce then Fetch expects.
    assert!(p.high_watermark() > info.last_offset);
    let r = p.read(info.base_offset, 1 << 20).await.expect("read");
    assert!(!r.records.is_empty());
    for (&id, l) in &logs {
        if id == leader {
            continue;
        }
        match l.append(batch("nope"), AppendOptions::default()).await {
            Err(EngineError::NotLeader {
                leader: Some(l), ..
            }) => assert_eq!(l as u64, leader),
            other => panic!("follower {id} answered {other:?}"),
        }
        // Changes that are not replicated yet are refused, never applied on one replica.
        assert!(matches!(
            l.seal().await,
            Err(EngineError::NotReplicated { .. })
        ));
    }
    // A log with no group attached refuses writes too.
    let detached = logs[&leader].detach().expect("attached");
    assert!(matches!(
        logs[&leader]
            .append(batch("x"), AppendOptions::default())
            .await,
        Err(EngineError::NotLeader { leader: None, .. })
    ));
    drop(detached);
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_replica_recovers_its_log_and_rejoins() {
    let mut c = Cluster::start(&IDS, 2).await;
    let leader = c.leader(Duration::from_secs(10)).await.expect("a leader");
    for i in 0..10 {
        c.group(leader)
            .propose(batch(&format!("a{i}")))
            .await
            .unwrap();
    }
    // Every node restarts from its files; the group re-forms and keeps its log.
    for id in IDS {
        c.stop(id).await;
    }
    for id in IDS {
        c.boot(id, false).await;
    }
    let leader = c
        .leader(Duration::from_secs(10))
        .await
        .expect("a leader again");
    let a = c.group(leader).propose(batch("after")).await.unwrap();
    converge(&c, a.last_offset + 1).await;
    let (_, values) = committed(&c.group(leader)).await;
    let vs: Vec<_> = values.into_iter().map(|(_, v)| v).collect();
    let mut want: Vec<_> = (0..10).map(|i| format!("a{i}")).collect();
    want.push("after".into());
    assert_eq!(vs, want);
    c.stop_all().await;
}

/// Acknowledged writes and what the writer could not know.
#[derive(Default)]
struct History {
    acked: Vec<(i64, String)>,
    /// Writes whose outcome is unknown (leader changed mid-flight, or the reply was lost).
    maybe: BTreeSet<String>,
}

/// The nemesis run: a writer proposes continuously to whoever leads while faults come and go; then every
/// property is checked. `seed` fixes the fault schedule.
async fn faults_round(seed: u64, faults: usize) {
    let mut c = Cluster::start(&IDS, seed).await;
    c.leader(Duration::from_secs(10)).await.expect("a leader");
    let history = Arc::new(Mutex::new(History::default()));
    let terms: Arc<Mutex<BTreeMap<u64, BTreeSet<RaftNodeId>>>> = Arc::default();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let groups: Arc<Mutex<BTreeMap<RaftNodeId, Arc<strait_raft::DataGroup>>>> =
        Arc::new(Mutex::new(IDS.iter().map(|&i| (i, c.group(i))).collect()));

    // Observer: every replica's view of (term, leader); two leaders in one term is a safety violation.
    let observer = {
        let (terms, stop, groups) = (terms.clone(), stop.clone(), groups.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let gs: Vec<_> = groups.lock().unwrap().values().cloned().collect();
                for g in gs {
                    if let (Some(l), term) = g.leader() {
                        terms.lock().unwrap().entry(term).or_default().insert(l);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };

    // Writer: one value at a time to the current leader, retried elsewhere on failure with a new value.
    let writer = {
        let (history, stop, groups) = (history.clone(), stop.clone(), groups.clone());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let leader = {
                    let gs = groups.lock().unwrap();
                    gs.values().find(|g| g.is_leader()).cloned()
                };
                let Some(g) = leader else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let v = format!("w{n}");
                n += 1;
                let r = tokio::time::timeout(Duration::from_secs(2), g.propose(batch(&v))).await;
                let mut h = history.lock().unwrap();
                match r {
                    Ok(Ok(a)) => h.acked.push((a.base_offset, v)),
                    Ok(Err(ProposeError::NotLeader { .. })) => {}
                    Ok(Err(_)) | Err(_) => {
                        h.maybe.insert(v);
                    }
                }
            }
        })
    };

    let all = IDS.to_vec();
    for f in 0..faults {
        let pick = c.net.rng.below(5);
        let victim = IDS[c.net.rng.below(3) as usize];
        match pick {
            0 => c.net.isolate(victim, &all),
            1 => {
                c.net.drop_per_mille.store(200, Ordering::Relaxed);
                c.net.max_delay_ms.store(30, Ordering::Relaxed);
            }
            2 => {
                let other = IDS[(IDS.iter().position(|&i| i == victim).unwrap() + 1) % 3];
                c.net.cut_one_way(victim, other);
            }
            _ => {
                // Crash the leader (or, with no leader, the victim) and bring it back from its files.
                let target = c.leader(Duration::from_millis(500)).await.unwrap_or(victim);
                groups.lock().unwrap().remove(&target);
                c.stop(target).await;
                // Sometimes back before the others notice, sometimes after they elected someone else.
                tokio::time::sleep(Duration::from_millis(100 + c.net.rng.below(1400))).await;
                c.boot(target, false).await;
                groups.lock().unwrap().insert(target, c.group(target));
            }
        }
        tokio::time::sleep(Duration::from_millis(400 + c.net.rng.below(400))).await;
        c.net.heal();
        tokio::time::sleep(Duration::from_millis(300)).await;
        eprintln!("seed {seed}: fault {f} ({pick}) done");
    }
    c.net.heal();
    // The writer must make progress once the network is whole.
    let before = history.lock().unwrap().acked.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    writer.await.unwrap();
    observer.await.unwrap();
    let h = std::mem::take(&mut *history.lock().unwrap());
    assert!(
        h.acked.len() > before,
        "no write was acknowledged after healing (seed {seed})"
    );

    let leader = c
        .leader(Duration::from_secs(10))
        .await
        .expect("a leader after healing");
    let end = c.group(leader).log().offsets().log_end;
    converge(&c, end).await;

    // No two leaders in one term.
    for (term, leaders) in terms.lock().unwrap().iter() {
        assert!(
            leaders.len() <= 1,
            "term {term} had leaders {leaders:?} (seed {seed})"
        );
    }
    // Replicas converge on identical bytes.
    let (bytes, values) = committed(&c.group(leader)).await;
    for id in IDS {
        assert_eq!(
            committed(&c.group(id)).await.0,
            bytes,
            "replica {id} differs (seed {seed})"
        );
    }
    // Every acknowledged write is there, at its acknowledged offset, in acknowledgement order.
    let at: BTreeMap<i64, String> = values.iter().cloned().collect();
    let mut last = -1;
    for (offset, v) in &h.acked {
        assert_eq!(
            at.get(offset),
            Some(v),
            "acknowledged {v}@{offset} lost or moved (seed {seed})"
        );
        assert!(
            *offset > last,
            "acknowledged writes out of order at {offset} (seed {seed})"
        );
        last = *offset;
    }
    // Nothing appears that nobody wrote, and nothing appears twice.
    let acked: BTreeSet<&String> = h.acked.iter().map(|(_, v)| v).collect();
    let mut seen = BTreeSet::new();
    for (_, v) in &values {
        assert!(seen.insert(v.clone()), "{v} appears twice (seed {seed})");
        assert!(
            acked.contains(v) || h.maybe.contains(v),
            "{v} was never acknowledged nor in doubt"
        );
    }
    eprintln!(
        "seed {seed}: {} acknowledged, {} in doubt, {} records, {} terms",
        h.acked.len(),
        h.maybe.len(),
        values.len(),
        terms.lock().unwrap().len()
    );
    c.stop_all().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_partitions_loss_and_leader_crashes() {
    // CI runs a few seeds; STRAIT_RAFT_SEEDS=N runs N (the long campaign).
    let seeds: u64 = std::env::var("STRAIT_RAFT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    for seed in 1..=seeds {
        faults_round(seed * 7919, 8).await;
    }
}
