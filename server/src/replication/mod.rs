//! A cluster node's replication: the inter-node transport, one Raft group per partition replica this node
//! hosts (the partition log is the Raft log), the replicated logs front ends write through, and the cluster view
//! fed by the groups.
//!
//! Start-up: the transport listens first (peers may already be calling), the engine hands front ends
//! [`ReplicatedLog`]s instead of its local logs, and every partition whose placement includes this node gets its
//! group opened and attached; topics created later get theirs from the engine's topic events.

mod dynamo;
mod forward;
mod metrics;
mod placement;
mod rpc;
mod spec;
mod view;

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use forward::AppendForwarder;
use strait_cluster::{Transport, TransportConfig};
use strait_engine::cluster::{NodeId, NodeInfo};
use strait_engine::{Engine, LocalLog, Partition, TopicEvent, TopicInfo};

use crate::health::ClusterStatus;
use strait_raft::{
    AppendForward, BasicNode, CONTROLLER_TOPIC, DataGroup, GroupArgs, MetaArgs, MetaRetry,
    RaftMeta, RaftNodeId, RaftRpc, ReplicatedLog, Timing,
};

pub use dynamo::DynamoRouter;
pub use placement::{group_id, group_key, replicas};
pub use rpc::{FORWARD_METHOD, Router, TransportForward, TransportRpc};
pub use spec::from_config;
pub use view::{PartitionState, RaftView};

/// What a node needs to know to replicate: itself, its peers, and the group settings.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    pub node_id: NodeId,
    pub cluster_id: String,
    /// The inter-node listener.
    pub listen: SocketAddr,
    pub source_address: Option<IpAddr>,
    /// Every node (this one included): id, inter-node address, and client endpoints/rack for the view.
    pub nodes: Vec<(NodeInfo, SocketAddr)>,
    pub replication_factor: usize,
    pub timing: Timing,
}

#[derive(Debug, thiserror::Error)]
pub enum ReplicationError {
    #[error("cannot start the inter-node transport: {0}")]
    Transport(#[from] strait_cluster::TransportError),
    #[error("cannot open the controller log: {0}")]
    Engine(#[from] strait_engine::EngineError),
    #[error("cannot start the controller group: {0}")]
    Controller(#[from] strait_raft::GroupError),
}

type Logs = Arc<Mutex<HashMap<(String, u32), Arc<ReplicatedLog>>>>;

/// This node's part of the cluster.
pub struct Replication {
    spec: ClusterSpec,
    engine: Engine,
    transport: Transport,
    router: Arc<Router>,
    rpc: Arc<dyn RaftRpc>,
    view: Arc<RaftView>,
    controller: RaftMeta,
    logs: Logs,
    /// Serialises opening groups (topic events and start-up may race for the same partition).
    opening: tokio::sync::Mutex<()>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Replication {
    /// Starts the transport, installs the replicated-log wrapper and opens the groups of existing topics.
    /// `status` receives a sample of the node's cluster health once a second (for `/healthz`).
    pub async fn start(
        spec: ClusterSpec,
        engine: Engine,
        status: ClusterStatus,
    ) -> Result<Arc<Replication>, ReplicationError> {
        let router = Arc::new(Router::default());
        let mut tc = TransportConfig::new(spec.node_id, spec.cluster_id.clone(), spec.listen);
        tc.source_addr = spec.source_address;
        let transport = Transport::start(tc, router.clone()).await?;
        transport.set_peers(
            spec.nodes
                .iter()
                .filter(|(n, _)| n.id != spec.node_id)
                .map(|(n, a)| (n.id, *a))
                .collect(),
        );
        // An RPC outlives a heartbeat: a slow follower must not look dead to the leader's replication task.
        let rpc_timeout = Duration::from_millis(spec.timing.election_max_ms.max(500));
        let transport_rpc = TransportRpc::new(transport.clone(), rpc_timeout);
        let rpc: Arc<dyn RaftRpc> = transport_rpc.clone();
        let view = RaftView::new(
            spec.node_id,
            spec.nodes.iter().map(|(n, _)| n.clone()).collect(),
        );
        let controller =
            open_controller(&spec, &engine, &router, rpc.clone(), transport_rpc).await?;
        let logs: Logs = Arc::default();
        router.set_engine(engine.clone());
        // A forwarded append waits for a commit on a majority (two fsyncs): far longer than a heartbeat.
        let forwarder: Arc<dyn AppendForward> =
            AppendForwarder::new(transport.clone(), Duration::from_secs(10));
        {
            let logs = logs.clone();
            engine.set_log_wrapper(Arc::new(move |local: Arc<LocalLog>| {
                let key = (local.topic().to_string(), local.index());
                let mut l = lock(&logs);
                if let Some(r) = l.get(&key)
                    && Arc::ptr_eq(
                        &(r.local().clone() as Arc<Partition>),
                        &(local.clone() as Arc<Partition>),
                    )
                {
                    return r.clone() as Arc<Partition>;
                }
                let r = ReplicatedLog::new(local as Arc<Partition>, Some(forwarder.clone()));
                l.insert(key, r.clone());
                r as Arc<Partition>
            }));
        }
        let me = Arc::new(Replication {
            spec,
            engine: engine.clone(),
            transport,
            router,
            rpc,
            view,
            controller,
            logs,
            opening: tokio::sync::Mutex::new(()),
        });
        for t in engine.list_topics() {
            me.open_topic(&t).await;
        }
        let weak = Arc::downgrade(&me);
        engine.on_topic_event(Arc::new(move |e: &TopicEvent| {
            let Some(me) = weak.upgrade() else { return };
            let e = e.clone();
            tokio::spawn(async move {
                match e {
                    TopicEvent::Created(t) | TopicEvent::Grown(t) => me.open_topic(&t).await,
                    TopicEvent::Reconfigured(_) => {}
                    TopicEvent::Deleted { name, .. } => me.close_topic(&name).await,
                }
            });
        }));
        // Leadership changes reach the view's hooks (coordinators, caches) within this period.
        let weak = Arc::downgrade(&me);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut sampler = metrics::Sampler::default();
            let mut ticks = 0u64;
            loop {
                tick.tick().await;
                let Some(me) = weak.upgrade() else { break };
                ticks += 1;
                if ticks.is_multiple_of(10) {
                    let node = RaftNodeId::try_from(me.spec.node_id).unwrap_or_default();
                    let cut_off = controller_timing(me.spec.timing).election_max_ms * 2;
                    let group = me.controller.group();
                    let silence = group
                        .leader()
                        .0
                        .and_then(|l| i32::try_from(l).ok())
                        .and_then(|l| me.router.controller_silence(l));
                    status.set(sampler.sample(node, &me.router.all(), group, cut_off, silence));
                }
                // Groups, offsets and transactions are coordinated where the controller leads: their state is
                // the controller's, so its leader commits without a forward.
                let leader = me.controller.group().leader().0;
                me.view
                    .set_coordinator(leader.and_then(|l| i32::try_from(l).ok()));
                me.view.refresh();
            }
        });
        Ok(me)
    }

    /// Serves the DynamoDB requests other nodes forward here with `dynamodb`, and returns the router that
    /// decides where this node's own DynamoDB requests are served.
    pub fn serve_dynamodb(
        &self,
        dynamodb: strait_dynamodb::DynamoDb,
        authorizer: strait_access::SharedAuthorizer,
    ) -> Arc<DynamoRouter> {
        self.router.set_dynamodb(dynamodb, authorizer);
        DynamoRouter::new(
            self.spec.node_id,
            self.controller.clone(),
            self.transport.clone(),
        )
    }

    pub fn view(&self) -> Arc<RaftView> {
        self.view.clone()
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    /// Groups this node hosts.
    pub fn groups(&self) -> Vec<Arc<DataGroup>> {
        self.router.all()
    }

    fn members(&self, replicas: &[NodeId]) -> BTreeMap<RaftNodeId, BasicNode> {
        self.spec
            .nodes
            .iter()
            .filter(|(n, _)| replicas.contains(&n.id))
            .filter_map(|(n, a)| Some((u64::try_from(n.id).ok()?, BasicNode::new(a.to_string()))))
            .collect()
    }

    async fn open_topic(&self, t: &TopicInfo) {
        if t.name == CONTROLLER_TOPIC {
            return;
        }
        for p in 0..t.partitions {
            if let Err(e) = self.open_partition(t, p).await {
                tracing::error!(topic = %t.name, partition = p, error = %e, "cannot open the partition's raft group");
            }
        }
    }

    async fn open_partition(&self, t: &TopicInfo, p: u32) -> Result<(), String> {
        let _serial = self.opening.lock().await;
        let replicas = replicas(
            &self.view.node_ids(),
            &t.id,
            p,
            self.spec.replication_factor,
        );
        let gid = group_id(&t.id, p);
        if !replicas.contains(&self.spec.node_id) {
            self.view.set_partition(
                &t.name,
                p,
                PartitionState {
                    replicas,
                    group: None,
                },
            );
            return Ok(());
        }
        if self.router.get(gid).is_some() {
            return Ok(());
        }
        let local = self
            .engine
            .local_partition(&t.name, p)
            .map_err(|e| e.to_string())?;
        // Through the engine, so the wrapper registers the replicated log front ends will get.
        self.engine
            .partition(&t.name, p)
            .map_err(|e| e.to_string())?;
        let front = lock(&self.logs)
            .get(&(t.name.clone(), p))
            .cloned()
            .ok_or("the replicated log was not registered")?;
        let g = Arc::new(
            DataGroup::open(GroupArgs {
                node: u64::try_from(self.spec.node_id).map_err(|e| e.to_string())?,
                group: gid,
                key: group_key(&t.id, p),
                log: local as Arc<Partition>,
                meta: self.engine.meta().clone(),
                rpc: self.rpc.clone(),
                timing: self.spec.timing,
                hook: None,
            })
            .await
            .map_err(|e| e.to_string())?,
        );
        self.router.insert(g.clone());
        front.attach(g.clone());
        self.view.set_partition(
            &t.name,
            p,
            PartitionState {
                replicas: replicas.clone(),
                group: Some(g.clone()),
            },
        );
        // Every replica proposes the same initial membership (the same entry at index 0 everywhere); one that
        // already heard from a leader skips it.
        g.initialize(self.members(&replicas))
            .await
            .map_err(|e| e.to_string())?;
        Ok(())
    }

    async fn close_topic(&self, name: &str) {
        let _serial = self.opening.lock().await;
        let gone: Vec<Arc<ReplicatedLog>> = {
            let mut l = lock(&self.logs);
            let keys: Vec<_> = l.keys().filter(|(t, _)| t == name).cloned().collect();
            keys.iter().filter_map(|k| l.remove(k)).collect()
        };
        for r in gone {
            if let Some(g) = r.detach() {
                self.router.remove(g.group());
                if let Err(e) = g.shutdown().await {
                    tracing::warn!(topic = name, error = %e, "raft group did not stop cleanly");
                }
            }
        }
        self.view.remove_topic(name);
    }

    /// Stops every group, the controller and the transport (the engine is shut down by the caller, after).
    pub async fn shutdown(&self) {
        for g in self.router.all() {
            self.router.remove(g.group());
            let _ = g.shutdown().await;
        }
        if let Err(e) = self.controller.shutdown().await {
            tracing::warn!(error = %e, "the controller replica did not stop cleanly");
        }
        self.router.clear();
        for r in lock(&self.logs).drain().map(|(_, r)| r) {
            r.detach();
        }
        self.transport.shutdown().await;
    }

    /// The controller replica (its leader coordinates).
    pub fn controller(&self) -> &RaftMeta {
        &self.controller
    }
}

/// The controller group's timing. Metadata commits wait through elections: a faster group than the data groups
/// shortens that stall.
fn controller_timing(data: Timing) -> Timing {
    Timing {
        heartbeat_ms: data.heartbeat_ms.min(100),
        election_min_ms: data.election_min_ms.min(500),
        election_max_ms: data.election_max_ms.min(1000),
    }
}

/// Opens this node's controller replica over the local `__strait_controller` log and puts the replicated
/// metadata store in front of the engine's local one: from here on, cluster tables commit through the
/// controller group on every node.
async fn open_controller(
    spec: &ClusterSpec,
    engine: &Engine,
    router: &Arc<Router>,
    rpc: Arc<dyn RaftRpc>,
    transport_rpc: Arc<TransportRpc>,
) -> Result<RaftMeta, ReplicationError> {
    // Created through the local store (before the swap): every node has its own copy of the row.
    if engine.local_partition(CONTROLLER_TOPIC, 0).is_err() {
        engine.create_reserved_topic(CONTROLLER_TOPIC, 1).await?;
    }
    let log = engine.local_partition(CONTROLLER_TOPIC, 0)?;
    let node = u64::try_from(spec.node_id).unwrap_or(0);
    let timing = controller_timing(spec.timing);
    let meta = RaftMeta::open(MetaArgs {
        node,
        log: log as Arc<Partition>,
        local: engine.local_meta(),
        rpc,
        forward: TransportForward::new(transport_rpc),
        timing,
        retry: MetaRetry::default(),
    })
    .await?;
    router.set_controller(meta.clone());
    let members: BTreeMap<RaftNodeId, BasicNode> = spec
        .nodes
        .iter()
        .filter_map(|(n, a)| Some((u64::try_from(n.id).ok()?, BasicNode::new(a.to_string()))))
        .collect();
    meta.initialize(members).await?;
    engine.meta().replace_backend(Arc::new(meta.clone()));
    Ok(meta)
}
