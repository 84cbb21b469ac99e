//! The broker's identity and the state shared by every connection.

use std::sync::Arc;

use bytes::Bytes;
use strait_engine::Engine;

use crate::error::KafkaError;

/// Node identity and front-end settings, filled from the server's config.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// SASL/PLAIN users (name → password). Empty: no authentication (the dev default); otherwise every connection
    /// must authenticate before using any API but ApiVersions.
    pub sasl_plain_users: std::collections::BTreeMap<String, String>,
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
    pub groups: crate::group::GroupConfig,
    /// Partitions Metadata reports for the virtual `__consumer_offsets` topic (Kafka's
    /// `offsets.topic.num.partitions`; see `api::internal_topic`).
    pub offsets_topic_partitions: u32,
    /// Transaction coordinator settings.
    pub transactions: crate::txn::TxnConfig,
    /// Share-group (KIP-932) settings: record lock duration, delivery attempts, session timeout.
    pub shares: crate::share::ShareConfig,
}

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
            groups: crate::group::GroupConfig::default(),
            sasl_plain_users: Default::default(),
            offsets_topic_partitions: 50,
            transactions: Default::default(),
            shares: Default::default(),
        }
    }
}

struct Inner {
    engine: Engine,
    cfg: BrokerConfig,
    /// Idempotent-producer state and producer-id allocation (Produce, InitProducerId).
    producers: crate::producer::ProducerStates,
    /// Topic id → name, for requests that name topics by id (Produce v13, Fetch v13+).
    topic_ids: crate::api::resolve::TopicIdCache,
    /// Consumer groups and their committed offsets.
    groups: crate::group::GroupCoordinator,
    /// Transactional ids, their transactions, and per-partition stable offsets.
    txns: crate::txn::TxnCoordinator,
    /// Share groups, share sessions and share-partition record states.
    shares: crate::share::ShareCoordinator,
}

/// Shared by all connections; cheap to clone.
#[derive(Clone)]
pub struct Broker {
    inner: Arc<Inner>,
}

/// Per-connection state (client identity, SASL progress).
#[derive(Debug, Default)]
pub struct Session {
    pub client_id: Option<String>,
    pub peer: Option<std::net::SocketAddr>,
    /// SASL progress; only consulted when the broker requires authentication.
    pub sasl: crate::api::sasl::SaslState,
}

impl Broker {
    pub fn new(engine: Engine, cfg: BrokerConfig) -> Broker {
        let b = Broker {
            inner: Arc::new(Inner {
                producers: crate::producer::ProducerStates::new(engine.meta().clone()),
                topic_ids: Default::default(),
                groups: crate::group::GroupCoordinator::new(engine.clone(), cfg.groups),
                txns: crate::txn::TxnCoordinator::new(engine.meta().clone(), cfg.transactions),
                shares: crate::share::ShareCoordinator::new(engine.meta().clone(), cfg.shares),
                engine,
                cfg,
            }),
        };
        b.spawn_txn_timer();
        b.spawn_consumer_group_sweeper();
        b
    }

    /// Expires KIP-848 members whose session or revocation deadline passed, once a second, for as long as the
    /// broker lives.
    fn spawn_consumer_group_sweeper(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        rt.spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                let Some(inner) = weak.upgrade() else { break };
                let b = Broker { inner };
                let topics = crate::api::consumer_group_heartbeat::topic_universe(&b);
                b.groups().consumer().sweep(&topics);
                b.shares().sweep();
            }
        });
    }

    /// The transaction coordinator's timer: completes transactions decided before a restart (first pass at once)
    /// and aborts timed-out ones. It holds the broker only weakly, so it ends when the broker is dropped.
    fn spawn_txn_timer(&self) {
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            tracing::warn!("no async runtime: transaction timeouts are not enforced");
            return;
        };
        let weak = Arc::downgrade(&self.inner);
        let interval = self.inner.cfg.transactions.abort_check_interval;
        rt.spawn(async move {
            loop {
                {
                    let Some(inner) = weak.upgrade() else { break };
                    let b = Broker { inner };
                    b.txns().tick(&b).await;
                }
                tokio::time::sleep(interval).await;
            }
        });
    }

    pub fn txns(&self) -> &crate::txn::TxnCoordinator {
        &self.inner.txns
    }

    pub fn shares(&self) -> &crate::share::ShareCoordinator {
        &self.inner.shares
    }

    pub fn engine(&self) -> &Engine {
        &self.inner.engine
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.inner.cfg
    }

    pub fn producers(&self) -> &crate::producer::ProducerStates {
        &self.inner.producers
    }

    pub(crate) fn topic_ids(&self) -> &crate::api::resolve::TopicIdCache {
        &self.inner.topic_ids
    }

    pub fn groups(&self) -> &crate::group::GroupCoordinator {
        &self.inner.groups
    }

    /// Handles one request frame (without its length prefix). Returns the response (also without), or `None`
    /// when the protocol sends none (Produce with acks=0). An error means the connection must be closed.
    pub async fn handle(
        &self,
        session: &mut Session,
        frame: Bytes,
    ) -> Result<Option<Bytes>, KafkaError> {
        match crate::api::dispatch(self, session, frame).await? {
            crate::api::Reply::Now(r) => Ok(r.map(crate::codec::Frame::into_bytes)),
            crate::api::Reply::Later(f) => f.await,
        }
    }

    /// Like [`handle`](Self::handle), but an acks=-1 Produce comes back as [`Reply::Later`](crate::api::Reply)
    /// once its batches are appended, so a connection can append its next Produce while this one waits for its
    /// fsync (Kafka clients keep up to five in flight). Responses must still be sent in request order.
    pub async fn handle_pipelined(
        &self,
        session: &mut Session,
        frame: Bytes,
    ) -> Result<crate::api::Reply, KafkaError> {
        crate::api::dispatch(self, session, frame).await
    }
}
