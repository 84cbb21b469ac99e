//! A simulated network and cluster for the replicated metadata store: per node a real engine (holding the
//! controller log) and a real local redb, with a network that drops, delays and partitions both the controller's
//! Raft RPCs and forwarded commits. Adapted from `tests/sim` (which routes to a bare `DataGroup`).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use strait_engine::{
    CommitPolicy, Engine, EngineConfig, MetaOp, MetaStore, Partition, RedbStore, Tables,
};
use strait_raft::{
    BasicNode, CONTROLLER_GROUP, CONTROLLER_TOPIC, GroupId, MetaArgs, MetaForward, MetaRetry,
    Method, RaftMeta, RaftNodeId, RaftRpc, RpcFailure, RpcFuture, Timing,
};

/// A deterministic pseudo-random source (xorshift64*).
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

pub struct Net {
    nodes: Mutex<HashMap<RaftNodeId, RaftMeta>>,
    cut: Mutex<HashSet<(RaftNodeId, RaftNodeId)>>,
    pub rng: Rng,
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

    pub fn isolate(&self, n: RaftNodeId, all: &[RaftNodeId]) {
        let mut c = self.cut.lock().unwrap();
        for &o in all.iter().filter(|&&o| o != n) {
            c.insert((n, o));
            c.insert((o, n));
        }
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

    /// Delivers one call from `from` to `to` (or loses it, or its reply) and runs `serve` on the target.
    async fn deliver<F, Fut>(
        &self,
        from: RaftNodeId,
        to: RaftNodeId,
        serve: F,
    ) -> Result<Bytes, RpcFailure>
    where
        F: FnOnce(RaftMeta) -> Fut,
        Fut: std::future::Future<Output = Result<Bytes, RpcFailure>>,
    {
        self.delay().await;
        if self.blocked(from, to) || self.lost() {
            return Err(RpcFailure::Unreachable(to, "simulated loss".into()));
        }
        let target = self.nodes.lock().unwrap().get(&to).cloned();
        let Some(m) = target else {
            return Err(RpcFailure::Unreachable(to, "node down".into()));
        };
        let answer = serve(m).await;
        self.delay().await;
        if self.blocked(to, from) || self.lost() {
            return Err(RpcFailure::Unreachable(to, "simulated reply loss".into()));
        }
        answer
    }
}

/// One node's end of the network: Raft RPCs and forwarded commits.
struct Link {
    from: RaftNodeId,
    net: Arc<Net>,
}

impl RaftRpc for Link {
    fn call(&self, to: RaftNodeId, group: GroupId, method: Method, body: Bytes) -> RpcFuture {
        let net = self.net.clone();
        let from = self.from;
        Box::pin(async move {
            if group != CONTROLLER_GROUP {
                return Err(RpcFailure::UnknownGroup(group));
            }
            net.deliver(from, to, |m| async move {
                m.group().handle(method, &body).await
            })
            .await
        })
    }
}

impl MetaForward for Link {
    fn forward(&self, to: RaftNodeId, body: Bytes) -> RpcFuture {
        let net = self.net.clone();
        let from = self.from;
        Box::pin(async move {
            net.deliver(from, to, |m| async move { m.serve_forward(&body).await })
                .await
        })
    }
}

/// Every committed batch a node's watcher saw, as rendered op lists.
pub type Seen = Arc<Mutex<Vec<Vec<String>>>>;

pub fn render(op: &MetaOp) -> String {
    match op {
        MetaOp::Put { table, key, value } => format!(
            "put {table} {} {}",
            String::from_utf8_lossy(key),
            String::from_utf8_lossy(value)
        ),
        MetaOp::Delete { table, key } => format!("del {table} {}", String::from_utf8_lossy(key)),
        MetaOp::DeletePrefix { table, prefix } => {
            format!("delprefix {table} {}", String::from_utf8_lossy(prefix))
        }
    }
}

pub struct Node {
    pub id: RaftNodeId,
    pub dir: PathBuf,
    pub engine: Option<Engine>,
    pub meta: Option<RaftMeta>,
    /// Cluster-table batches the node's watcher saw since its last boot (the first ones are the initial contents).
    pub seen: Seen,
    /// How many of `seen` are the initial contents fed at registration (before the replica started applying).
    pub initial: usize,
}

pub fn timing() -> Timing {
    Timing {
        heartbeat_ms: 50,
        election_min_ms: 300,
        election_max_ms: 600,
    }
}

pub struct Cluster {
    pub net: Arc<Net>,
    pub ids: Vec<RaftNodeId>,
    pub nodes: BTreeMap<RaftNodeId, Node>,
    tmp: tempfile::TempDir,
}

/// Opens the node's local store, retrying while the previous instance's last handles are still being dropped.
async fn open_local(path: &std::path::Path) -> RedbStore {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match RedbStore::open(path, 1 << 20) {
            Ok(s) => return s,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "reopen {path:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
}

impl Cluster {
    pub async fn start(ids: &[RaftNodeId], seed: u64) -> Cluster {
        Self::start_some(ids, ids, seed).await
    }

    /// A group whose voters are `ids`, of which only `up` are booted (the others can `boot` later).
    pub async fn start_some(ids: &[RaftNodeId], up: &[RaftNodeId], seed: u64) -> Cluster {
        let tmp = tempfile::tempdir().unwrap();
        let mut c = Cluster {
            net: Net::new(seed),
            ids: ids.to_vec(),
            nodes: BTreeMap::new(),
            tmp,
        };
        for &id in ids {
            let dir = c.tmp.path().join(format!("n{id}"));
            c.nodes.insert(
                id,
                Node {
                    id,
                    dir,
                    engine: None,
                    meta: None,
                    seen: Arc::default(),
                    initial: 0,
                },
            );
            if up.contains(&id) {
                c.boot(id).await;
            }
        }
        let members: BTreeMap<RaftNodeId, BasicNode> = ids
            .iter()
            .map(|&i| (i, BasicNode::new(format!("n{i}"))))
            .collect();
        c.meta(up[0]).initialize(members).await.unwrap();
        c
    }

    /// Opens (or reopens) node `id`: its engine with the controller log, its local store (with a watcher on the
    /// cluster tables registered before the controller replica starts applying) and the replicated store.
    pub async fn boot(&mut self, id: RaftNodeId) {
        let net = self.net.clone();
        let n = self.nodes.get_mut(&id).unwrap();
        let engine = Engine::open(EngineConfig {
            data_dir: n.dir.join("engine"),
            commit: CommitPolicy::External,
            ..EngineConfig::default()
        })
        .await
        .unwrap();
        if engine.local_partition(CONTROLLER_TOPIC, 0).is_err() {
            engine
                .create_reserved_topic(CONTROLLER_TOPIC, 1)
                .await
                .unwrap();
        }
        let log: Arc<Partition> = engine.local_partition(CONTROLLER_TOPIC, 0).unwrap();
        let local = open_local(&n.dir.join("meta.redb")).await;
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        local
            .watch(
                Tables::cluster(),
                Arc::new(move |ops: &[MetaOp]| {
                    s2.lock().unwrap().push(ops.iter().map(render).collect());
                }),
            )
            .unwrap();
        let initial = seen.lock().unwrap().len();
        let link = Arc::new(Link {
            from: id,
            net: net.clone(),
        });
        let meta = RaftMeta::open(MetaArgs {
            node: id,
            log,
            local,
            rpc: link.clone(),
            forward: link,
            timing: timing(),
            retry: MetaRetry {
                no_leader_for: Duration::from_secs(3),
                apply_wait: Duration::from_secs(5),
                ..MetaRetry::default()
            },
        })
        .await
        .unwrap();
        net.nodes.lock().unwrap().insert(id, meta.clone());
        n.engine = Some(engine);
        n.meta = Some(meta);
        n.seen = seen;
        n.initial = initial;
    }

    /// Stops node `id` as a crash looks to the others (its disks keep what they fsynced).
    pub async fn stop(&mut self, id: RaftNodeId) {
        self.net.nodes.lock().unwrap().remove(&id);
        let n = self.nodes.get_mut(&id).unwrap();
        if let Some(m) = n.meta.take() {
            strait_engine::MetaBackend::close(&m).await;
        }
        if let Some(e) = n.engine.take() {
            e.shutdown().await.unwrap();
        }
    }

    pub fn meta(&self, id: RaftNodeId) -> RaftMeta {
        self.nodes[&id].meta.clone().expect("node is up")
    }

    /// The node's store as front ends hold it.
    pub fn store(&self, id: RaftNodeId) -> MetaStore {
        MetaStore::from_backend(Arc::new(self.meta(id)))
    }

    pub fn seen(&self, id: RaftNodeId) -> Vec<Vec<String>> {
        self.nodes[&id].seen.lock().unwrap().clone()
    }

    pub fn up(&self) -> Vec<RaftNodeId> {
        self.nodes
            .values()
            .filter(|n| n.meta.is_some())
            .map(|n| n.id)
            .collect()
    }

    pub async fn leader(&self, timeout: Duration) -> Option<RaftNodeId> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            for id in self.up() {
                if self.meta(id).group().is_leader() {
                    return Some(id);
                }
            }
            if tokio::time::Instant::now() > deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Waits until every live node has applied the same controller-log prefix as the most advanced one.
    pub async fn converge(&self) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        loop {
            let applied: Vec<Option<i64>> =
                self.up().iter().map(|&i| self.meta(i).applied()).collect();
            let ends: Vec<i64> = self
                .up()
                .iter()
                .map(|&i| self.meta(i).group().log().high_watermark())
                .collect();
            let max = applied.iter().max().copied().flatten();
            if max.is_some()
                && applied.iter().all(|a| *a == max)
                && ends.iter().all(|e| *e == ends[0])
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "stores did not converge: applied {applied:?}, committed ends {ends:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn stop_all(&mut self) {
        for id in self.up() {
            self.stop(id).await;
        }
    }
}

pub fn put(table: &str, key: &str, value: &str) -> MetaOp {
    MetaOp::Put {
        table: table.into(),
        key: key.as_bytes().to_vec(),
        value: value.as_bytes().to_vec(),
    }
}

pub fn get(s: &MetaStore, table: &str, key: &str) -> Option<String> {
    s.get(table, key.as_bytes())
        .unwrap()
        .map(|v| String::from_utf8(v).unwrap())
}
