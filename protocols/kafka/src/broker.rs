//! The broker's identity and the state shared by every connection: the engine, the cluster view, the
//! authorizer and the coordinators. Request handling itself lives in `api/` (which implements
//! [`Broker::handle`]), so this module never imports the handlers.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};

use strait_access::SharedAuthorizer;
use strait_engine::Engine;
use strait_engine::cluster::{
    ClusterView, CoordinatorKind, Endpoint, LeadershipEvent, NodeInfo, SharedClusterView,
    SingleNode,
};

pub use crate::session::Session;

/// Node identity and front-end settings, filled from the server's config.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// SASL/PLAIN users (name → password). Empty: no authentication (the dev default); otherwise every connection
    /// must authenticate before using any API but ApiVersions.
    pub sasl_plain_users: std::collections::BTreeMap<String, String>,
    /// SCRAM bootstrap users, re-authentication (see [`BrokerConfig::sasl_required`]).
    pub sasl: crate::sasl::SaslConfig,
    /// SASL AWS_MSK_IAM (and MSK-signer tokens in OAUTHBEARER), verified against the node's AWS access keys.
    /// `Some` also makes authentication required.
    pub aws_identity: Option<strait_access::SharedAwsIdentityVerifier>,
    pub node_id: i32,
    /// Host and port clients are told to connect to (Metadata, FindCoordinator).
    pub advertised_host: String,
    pub advertised_port: i32,
    pub cluster_id: String,
    pub rack: Option<String>,
    /// Create unknown topics on Metadata/Produce requests (Kafka's `auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Partitions of an auto-created topic (Kafka's `num.partitions`).
    pub default_partitions: u32,
    /// Consumer-group coordinator settings (session bounds, initial rebalance delay, ...).
    pub groups: crate::coordinator::group::GroupConfig,
    /// Partitions Metadata reports for the virtual `__consumer_offsets` topic (Kafka's
    /// `offsets.topic.num.partitions`; see `api::internal_topic`).
    pub offsets_topic_partitions: u32,
    /// Transaction coordinator settings.
    pub transactions: crate::coordinator::txn::TxnConfig,
    /// Share-group (KIP-932) settings: record lock duration, delivery attempts, session timeout.
    pub shares: crate::coordinator::share::ShareConfig,
    /// The authorizer every API asks (`AllowAll` by default; the server passes the one its config names).
    pub authorizer: SharedAuthorizer,
    /// Fetch sessions (KIP-227) the broker keeps at once (Kafka's `max.incremental.fetch.session.cache.slots`);
    /// 0 keeps every client sessionless.
    pub fetch_session_cache_slots: usize,
    /// Who leads and coordinates what. `None`: a [`SingleNode`] view of this node, built from `node_id`,
    /// `advertised_host`/`advertised_port` and `rack`.
    pub cluster: Option<SharedClusterView>,
}

/// The listener name this crate's endpoints have in the cluster view.
pub const LISTENER: &str = "kafka";

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            node_id: 1,
            advertised_host: "127.0.0.1".into(),
            advertised_port: 9092,
            cluster_id: "strait-cluster".into(),
            rack: None,
            auto_create_topics: true,
            default_partitions: 1,
            groups: crate::coordinator::group::GroupConfig::default(),
            sasl_plain_users: Default::default(),
            sasl: Default::default(),
            aws_identity: None,
            offsets_topic_partitions: 50,
            transactions: Default::default(),
            shares: Default::default(),
            authorizer: strait_access::allow_all(),
            fetch_session_cache_slots: 1000,
            cluster: None,
        }
    }
}

impl BrokerConfig {
    /// Whether every connection must authenticate: some SASL user is configured (PLAIN or SCRAM), OAUTHBEARER
    /// is, or AWS identities are (AWS_MSK_IAM). Users created later through AlterUserScramCredentials do not
    /// switch authentication on by themselves: that would lock out every client of an open broker at once.
    pub fn sasl_required(&self) -> bool {
        !self.sasl_plain_users.is_empty()
            || !self.sasl.scram_users.is_empty()
            || self.sasl.oauthbearer.is_some()
            || self.aws_identity.is_some()
    }

    /// The single-node view of this broker's own identity.
    fn single_node(&self) -> SingleNode {
        SingleNode::new(NodeInfo {
            id: self.node_id,
            rack: self.rack.clone(),
            endpoints: vec![Endpoint {
                listener: LISTENER.into(),
                host: self.advertised_host.clone(),
                port: u16::try_from(self.advertised_port).unwrap_or(0),
            }],
        })
    }
}

struct Inner {
    engine: Engine,
    cfg: BrokerConfig,
    /// Idempotent-producer state and producer-id allocation (Produce, InitProducerId).
    producers: crate::coordinator::producer::ProducerStates,
    cluster: SharedClusterView,
    /// Topic id → name, for requests that name topics by id (Produce v13, Fetch v13+).
    topic_ids: crate::topics::resolve::TopicIdCache,
    /// Consumer groups and their committed offsets.
    groups: crate::coordinator::group::GroupCoordinator,
    /// Transactional ids, their transactions, and per-partition stable offsets.
    txns: crate::coordinator::txn::TxnCoordinator,
    /// Share groups, share sessions and share-partition record states.
    shares: crate::coordinator::share::ShareCoordinator,
    /// SASL/SCRAM credentials (stored and bootstrap).
    scram: crate::sasl::credentials::ScramStore,
    /// Fetch sessions (KIP-227), shared by every connection as in Kafka (a client may reconnect mid-session).
    fetch_sessions: crate::fetch_sessions::FetchSessions,
    /// The coordinators' background tasks that run while this node coordinates their kind; each task stops when
    /// its flag is cleared (the node stopped coordinating) or the broker is dropped.
    running: Mutex<HashMap<CoordinatorKind, Arc<AtomicBool>>>,
}

/// Shared by all connections; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

impl Broker {
    /// A broker over `engine`. Its coordinators' background work (transaction timeouts, KIP-848 and share
    /// session expiry) starts when the cluster view reports this node as their coordinator: at once with the
    /// single-node view.
    pub fn new(engine: Engine, cfg: BrokerConfig) -> Broker {
        let cluster = cfg
            .cluster
            .clone()
            .unwrap_or_else(|| Arc::new(cfg.single_node()));
        let b = Broker {
            inner: Arc::new(Inner {
                producers: crate::coordinator::producer::ProducerStates::new(
                    engine.meta().clone(),
                    cfg.cluster.is_some().then_some(cfg.node_id),
                ),
                topic_ids: Default::default(),
                groups: crate::coordinator::group::GroupCoordinator::new(
                    engine.clone(),
                    cfg.groups,
                ),
                txns: crate::coordinator::txn::TxnCoordinator::new(
                    engine.meta().clone(),
                    cfg.transactions,
                ),
                shares: crate::coordinator::share::ShareCoordinator::new(
                    engine.meta().clone(),
                    cfg.shares,
                ),
                scram: crate::sasl::credentials::ScramStore::new(
                    engine.meta().clone(),
                    &cfg.sasl.scram_users,
                ),
                fetch_sessions: crate::fetch_sessions::FetchSessions::new(
                    cfg.fetch_session_cache_slots,
                ),
                cluster: cluster.clone(),
                running: Mutex::new(HashMap::new()),
                engine,
                cfg,
            }),
        };
        let weak = Arc::downgrade(&b.inner);
        cluster.on_leadership(Arc::new(move |e: &LeadershipEvent| on_leadership(&weak, e)));
        b
    }

    /// Starts (`run`) or stops the background task of coordinator `kind`.
    fn set_coordinating(&self, kind: CoordinatorKind, run: bool) {
        let mut running = crate::coordinator::lock(&self.inner.running);
        if !run {
            if let Some(flag) = running.remove(&kind) {
                flag.store(false, Ordering::Release);
            }
            return;
        }
        if running.contains_key(&kind) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                ?kind,
                "no async runtime: coordinator timers are not running"
            );
            return;
        };
        let flag = Arc::new(AtomicBool::new(true));
        running.insert(kind, flag.clone());
        let weak = Arc::downgrade(&self.inner);
        match kind {
            CoordinatorKind::Transaction => {
                rt.spawn(txn_timer(
                    weak,
                    flag,
                    self.inner.cfg.transactions.abort_check_interval,
                ));
            }
            CoordinatorKind::Group => {
                rt.spawn(sweeper(weak, flag, |b| {
                    let topics = crate::topics::resolve::universe(
                        b.engine(),
                        b.config().offsets_topic_partitions,
                    );
                    b.groups().consumer().sweep(&topics);
                }));
            }
            CoordinatorKind::Share => {
                rt.spawn(sweeper(weak, flag, |b| b.shares().sweep()));
            }
        }
    }

    /// What the transaction coordinator borrows from the broker for one call.
    pub fn txn_deps(&self) -> crate::coordinator::txn::TxnDeps<'_> {
        crate::coordinator::txn::TxnDeps {
            engine: &self.inner.engine,
            groups: &self.inner.groups,
            producers: &self.inner.producers,
        }
    }

    pub fn cluster(&self) -> &dyn ClusterView {
        self.inner.cluster.as_ref()
    }

    pub fn authorizer(&self) -> &SharedAuthorizer {
        &self.inner.cfg.authorizer
    }

    pub fn txns(&self) -> &crate::coordinator::txn::TxnCoordinator {
        &self.inner.txns
    }

    pub fn shares(&self) -> &crate::coordinator::share::ShareCoordinator {
        &self.inner.shares
    }

    pub fn scram(&self) -> &crate::sasl::credentials::ScramStore {
        &self.inner.scram
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.cfg
    }

    pub fn producers(&self) -> &crate::coordinator::producer::ProducerStates {
        &self.inner.producers
    }

    pub fn fetch_sessions(&self) -> &crate::fetch_sessions::FetchSessions {
        &self.inner.fetch_sessions
    }

    pub(crate) fn topic_ids(&self) -> &crate::topics::resolve::TopicIdCache {
        &self.inner.topic_ids
    }

    pub fn groups(&self) -> &crate::coordinator::group::GroupCoordinator {
        &self.inner.groups
    }
}

/// The cluster view's hook: coordinators start and stop with this node's coordinatorship. A single node has one
/// coordinator partition per kind, so a kind runs while this node coordinates any of its partitions.
fn on_leadership(weak: &Weak<Inner>, e: &LeadershipEvent) {
    let Some(inner) = weak.upgrade() else { return };
    let b = Broker { inner };
    match e {
        LeadershipEvent::BecameCoordinator { kind, .. } => b.set_coordinating(*kind, true),
        LeadershipEvent::StoppedCoordinating { kind, .. } => b.set_coordinating(*kind, false),
        // Partition leadership needs no task today: a partition's handlers ask the view on every request.
        LeadershipEvent::BecameLeader { .. } | LeadershipEvent::StoppedLeading { .. } => {}
    }
}

/// Runs `pass` once a second while `flag` is set and the broker lives (KIP-848 member and share-session expiry).
async fn sweeper(weak: Weak<Inner>, flag: Arc<AtomicBool>, pass: fn(&Broker)) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        if !flag.load(Ordering::Acquire) {
            break;
        }
        let Some(inner) = weak.upgrade() else { break };
        pass(&Broker { inner });
    }
}

/// The transaction coordinator's timer: completes transactions decided before a restart (first pass at once)
/// and aborts timed-out ones. It holds the broker only weakly, so it ends when the broker is dropped.
async fn txn_timer(weak: Weak<Inner>, flag: Arc<AtomicBool>, interval: std::time::Duration) {
    while flag.load(Ordering::Acquire) {
        {
            let Some(inner) = weak.upgrade() else { break };
            let b = Broker { inner };
            b.txns().tick(&b.txn_deps()).await;
        }
        tokio::time::sleep(interval).await;
    }
}
