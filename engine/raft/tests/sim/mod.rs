//! A simulated network and cluster for in-process replication tests: real engines on real files, one per node,
//! and a network that drops, delays (so reorders) and partitions RPCs on a seeded schedule.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use strait_engine::batch::{BatchBuilder, BatchIter, RecordInput, decode_records};
use strait_engine::{CommitPolicy, Engine, EngineConfig};
use strait_raft::{
    BasicNode, DataGroup, GroupArgs, GroupId, Method, RaftNodeId, RaftRpc, RpcFailure, RpcFuture,
    Timing,
};

pub const GROUP: GroupId = 7;

/// A deterministic pseudo-random source (xorshift64*), so a failing schedule replays from its seed.
pub struct Rng(AtomicU64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(AtomicU64::new(seed.max(1)))
    }
    pub fn next(&self) -> u64 {
        let mut x = self.0.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The network: which nodes are up, which directed links are cut, how lossy and slow it is.
pub struct Net {
    nodes: Mutex<HashMap<RaftNodeId, Arc<DataGroup>>>,
    cut: Mutex<HashSet<(RaftNodeId, RaftNodeId)>>,
    pub rng: Rng,
    /// Per mille of requests (and, separately, of replies) lost.
    pub drop_per_mille: AtomicU32,
    pub max_delay_ms: AtomicU32,
}

impl Net {
    pub fn new(seed: u64) -> Arc<Net> {
        Arc::new(Net {
            nodes: Mutex::new(HashMap::new()),
            cut: Mutex::new(HashSet::new()),
            rng: Rng::new(seed),
            drop_per_mille: AtomicU32::new(0),
            max_delay_ms: AtomicU32::new(0),
        })
    }

    pub fn link(self: &Arc<Net>, from: RaftNodeId) -> Arc<dyn RaftRpc> {
        Arc::new(Link {
            from,
            net: self.clone(),
        })
    }

    /// Cuts `n` off from every other node, both ways.
    pub fn isolate(&self, n: RaftNodeId, all: &[RaftNodeId]) {
        let mut c = self.cut.lock().unwrap();
        for &o in all.iter().filter(|&&o| o != n) {
            c.insert((n, o));
            c.insert((o, n));
        }
    }

    /// Cuts one direction only.
    pub fn cut_one_way(&self, from: RaftNodeId, to: RaftNodeId) {
        self.cut.lock().unwrap().insert((from, to));
    }

    pub fn heal(&self) {
        self.cut.lock().unwrap().clear();
        self.drop_per_mille.store(0, Ordering::Relaxed);
        self.max_delay_ms.store(0, Ordering::Relaxed);
    }

    fn blocked(&self, from: RaftNodeId, to: RaftNodeId) -> bool {
        self.cut.lock().unwrap().contains(&(from, to))
    }

    fn lost(&self) -> bool {
        let p = u64::from(self.drop_per_mille.load(Ordering::Relaxed));
        p > 0 && self.rng.below(1000) < p
    }

    async fn delay(&self) {
        let max = u64::from(self.max_delay_ms.load(Ordering::Relaxed));
        if max > 0 {
            tokio::time::sleep(Duration::from_millis(self.rng.below(max + 1))).await;
        }
    }
}

struct Link {
    from: RaftNodeId,
    net: Arc<Net>,
}

impl RaftRpc for Link {
    fn call(&self, to: RaftNodeId, group: GroupId, method: Method, body: Bytes) -> RpcFuture {
        let net = self.net.clone();
        let from = self.from;
        Box::pin(async move {
            net.delay().await;
            if net.blocked(from, to) || net.lost() {
                return Err(RpcFailure::Unreachable(to, "simulated loss".into()));
            }
            let target = net.nodes.lock().unwrap().get(&to).cloned();
            let Some(g) = target else {
                return Err(RpcFailure::Unreachable(to, "node down".into()));
            };
            if g.group() != group {
                return Err(RpcFailure::UnknownGroup(group));
            }
            let answer = g.handle(method, &body).await;
            net.delay().await;
            // The request took effect; its reply may still be lost on the way back.
            if net.blocked(to, from) || net.lost() {
                return Err(RpcFailure::Unreachable(to, "simulated reply loss".into()));
            }
            answer
        })
    }
}

/// One node: an engine on its own directory and the partition's replica.
pub struct Node {
    pub id: RaftNodeId,
    pub dir: PathBuf,
    pub engine: Option<Engine>,
    pub group: Option<Arc<DataGroup>>,
}

pub fn timing() -> Timing {
    Timing {
        heartbeat_ms: 50,
        election_min_ms: 300,
        election_max_ms: 600,
    }
}

/// A cluster of replicas of topic `t` partition 0.
pub struct Cluster {
    pub net: Arc<Net>,
    pub nodes: BTreeMap<RaftNodeId, Node>,
    _tmp: tempfile::TempDir,
}

impl Cluster {
    pub async fn start(ids: &[RaftNodeId], seed: u64) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let net = Net::new(seed);
        let mut c = Cluster {
            net,
            nodes: BTreeMap::new(),
            _tmp: tmp,
        };
        for &id in ids {
            let dir = c._tmp.path().join(format!("n{id}"));
            c.nodes.insert(
                id,
                Node {
                    id,
                    dir,
                    engine: None,
                    group: None,
                },
            );
            c.boot(id, true).await;
        }
        let members: BTreeMap<RaftNodeId, BasicNode> = ids
            .iter()
            .map(|&i| (i, BasicNode::new(format!("n{i}"))))
            .collect();
        c.group(ids[0]).initialize(members).await.unwrap();
        c
    }

    /// Opens (or reopens) node `id`'s engine and replica.
    pub async fn boot(&mut self, id: RaftNodeId, create: bool) {
        let net = self.net.clone();
        let n = self.nodes.get_mut(&id).unwrap();
        let engine = Engine::open(EngineConfig {
            data_dir: n.dir.clone(),
            commit: CommitPolicy::External,
            ..EngineConfig::default()
        })
        .await
        .unwrap();
        if create {
            engine.create_topic("t", 1, BTreeMap::new()).await.unwrap();
        }
        let log = engine.partition("t", 0).unwrap();
        let group = Arc::new(
            DataGroup::open(GroupArgs {
                node: id,
                group: GROUP,
                key: "t/0".into(),
                log,
                meta: engine.meta().clone(),
                rpc: net.link(id),
                timing: timing(),
                hook: None,
            })
            .await
            .unwrap(),
        );
        net.nodes.lock().unwrap().insert(id, group.clone());
        n.engine = Some(engine);
        n.group = Some(group);
    }

    /// Stops node `id` the way a crash would look to the others (its disk keeps what it fsynced).
    pub async fn stop(&mut self, id: RaftNodeId) {
        self.net.nodes.lock().unwrap().remove(&id);
        let n = self.nodes.get_mut(&id).unwrap();
        if let Some(g) = n.group.take() {
            g.shutdown().await.unwrap();
        }
        if let Some(e) = n.engine.take() {
            e.shutdown().await.unwrap();
        }
    }

    pub fn group(&self, id: RaftNodeId) -> Arc<DataGroup> {
        self.nodes[&id].group.clone().expect("node is up")
    }

    pub fn up(&self) -> Vec<RaftNodeId> {
        self.nodes
            .values()
            .filter(|n| n.group.is_some())
            .map(|n| n.id)
            .collect()
    }

    /// The node every live replica agrees leads, once one does.
    pub async fn leader(&self, timeout: Duration) -> Option<RaftNodeId> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            for id in self.up() {
                let g = self.group(id);
                if g.is_leader() {
                    return Some(id);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    pub async fn stop_all(&mut self) {
        let ids: Vec<_> = self.nodes.keys().copied().collect();
        for id in ids {
            self.stop(id).await;
        }
    }
}

/// A one-record batch whose value is `v`.
pub fn batch(v: &str) -> Bytes {
    let mut b = BatchBuilder::new();
    b.push(RecordInput {
        key: None,
        value: Some(v.as_bytes()),
        headers: &[],
        timestamp_ms: 1_000,
    });
    b.finish().freeze()
}

/// Everything a replica lets consumers see: its committed bytes, and (offset, value) of each data record.
pub async fn committed(g: &DataGroup) -> (Bytes, Vec<(i64, String)>) {
    let log = g.log();
    let mut bytes = Vec::new();
    let mut at = log.log_start();
    loop {
        let r = log.read(at, 1 << 20).await.unwrap();
        if r.records.is_empty() {
            break;
        }
        bytes.extend_from_slice(&r.records);
        for b in BatchIter::new(&r.records) {
            let (h, _) = b.unwrap();
            at = h.last_offset() + 1;
        }
    }
    let bytes = Bytes::from(bytes);
    let mut values = Vec::new();
    for b in BatchIter::new(&bytes) {
        let (h, range) = b.unwrap();
        if h.is_control() {
            continue;
        }
        let (_, recs) = decode_records(&bytes[range]).unwrap();
        for r in recs {
            values.push((
                r.offset,
                String::from_utf8(r.value.unwrap().to_vec()).unwrap(),
            ));
        }
    }
    (bytes, values)
}
