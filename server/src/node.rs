//! Running a node: the order in which things start and stop.
//!
//! Start: bind every listener first (a port conflict fails fast, before a possibly long recovery), serve the
//! admin endpoints (`/healthz` says 503 meanwhile), open the engine, then serve Kafka and the AWS API and report
//! ready. Stop: report not ready, stop accepting and drain in-flight requests (capped by
//! `node.shutdown_grace_ms`), shut the engine down (flush, clean-shutdown marker), then stop the admin listener.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use strait_access::SharedAuthorizer;
use strait_engine::cluster::SharedClusterView;
use strait_engine::{Engine, EngineError};
use strait_kinesis::{Clock, Kinesis, KinesisConfig, KinesisError, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::admin::{self, AdminState};
use crate::auth_throttle::AuthThrottle;
use crate::aws;
use crate::config::{AuthorizerKind, Config};
use crate::health::{Health, Phase};
use crate::http::HttpLimits;
use crate::kafka::{self, KafkaHandler, Limits};
use crate::limits::MemoryBudget;
use crate::telemetry::{self, TelemetryError};
use crate::tls::ServerTls;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("cannot listen for {listener} on {addr}: {source}")]
    Bind {
        listener: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot register signal handlers: {0}")]
    Signals(#[source] std::io::Error),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error("cannot open the storage engine: {0}")]
    EngineOpen(#[source] EngineError),
    #[error("engine shutdown failed: {0}")]
    EngineShutdown(#[source] EngineError),
    #[error("cannot load the Kinesis streams' metadata: {0}")]
    KinesisOpen(#[source] KinesisError),
    #[error(transparent)]
    Cluster(crate::replication::ReplicationError),
    #[error("cannot load the DynamoDB tables: {0}")]
    DynamoDbOpen(#[source] strait_dynamodb::DynamoError),
    #[error("cannot load the ACL bindings: {0}")]
    AclLoad(#[source] EngineError),
    #[error("cannot create the data directory {}: {source}", path.display())]
    DataDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot set up tiering: {0}")]
    Tiering(#[source] strait_tier::TierError),
    #[error("TLS on the {listener} listener: {source}")]
    Tls {
        listener: &'static str,
        #[source]
        source: crate::tls::TlsError,
    },
}

/// The TLS side of each listener, from the `[*.tls]` sections (`None` where TLS is off).
struct ListenerTls {
    kafka: Option<ServerTls>,
    aws: Option<ServerTls>,
    admin: Option<ServerTls>,
}

impl ListenerTls {
    fn from_config(cfg: &Config) -> Result<ListenerTls, NodeError> {
        let tls = |listener: &'static str, c, alpn| {
            ServerTls::from_config(listener, c, alpn)
                .map_err(|source| NodeError::Tls { listener, source })
        };
        let kafka = tls("kafka", &cfg.kafka.tls, &[])?;
        // Validation has parsed the rules already; this cannot fail for a loaded configuration.
        let mapper =
            crate::cert_principal::PrincipalMapper::parse(&cfg.kafka.principal_mapping_rules)
                .map_err(|e| NodeError::Tls {
                    listener: "kafka",
                    source: e.into(),
                })?;
        Ok(ListenerTls {
            kafka: kafka.map(|t| t.with_principal_mapper(mapper)),
            aws: tls("aws", &cfg.aws.tls, crate::tls::HTTP_ALPN)?,
            admin: tls("admin", &cfg.admin.tls, crate::tls::HTTP_ALPN)?,
        })
    }
}

/// Kafka's name for what the Kafka listener speaks: TLS and SASL are independent.
pub fn kafka_security_protocol(cfg: &Config) -> &'static str {
    match (cfg.kafka.tls.enabled, cfg.kafka_sasl_required()) {
        (false, false) => "PLAINTEXT",
        (true, false) => "SSL",
        (false, true) => "SASL_PLAINTEXT",
        (true, true) => "SASL_SSL",
    }
}

/// Binds `addr`, naming the listener in the error.
pub async fn bind(listener: &'static str, addr: SocketAddr) -> Result<TcpListener, NodeError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| NodeError::Bind {
            listener,
            addr,
            source,
        })
}

/// Listeners bound by the caller (tests bind port 0 and read the addresses back).
pub struct Listeners {
    pub kafka: TcpListener,
    pub aws: TcpListener,
    pub admin: TcpListener,
}

impl Listeners {
    pub async fn bind(cfg: &Config) -> Result<Listeners, NodeError> {
        Ok(Listeners {
            kafka: bind("kafka", cfg.kafka.listen).await?,
            aws: bind("aws", cfg.aws.listen).await?,
            admin: bind("admin", cfg.admin.listen).await?,
        })
    }
}

/// Runs a node until `shutdown` resolves, then stops it gracefully. `make_kafka_handler` gets the cluster view on
/// a cluster node (`None` on a single node) and the node's authorizer, which the AWS API asks too.
pub async fn run<H: KafkaHandler>(
    mut cfg: Config,
    listeners: Listeners,
    make_kafka_handler: impl FnOnce(
        &Engine,
        SocketAddr,
        Option<SharedClusterView>,
        SharedAuthorizer,
    ) -> Arc<H>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), NodeError> {
    let kafka_addr = listeners
        .kafka
        .local_addr()
        .map_err(|source| NodeError::Bind {
            listener: "kafka",
            addr: cfg.kafka.listen,
            source,
        })?;
    let prometheus = telemetry::install_metrics()?;
    // Certificates load before anything is served: a wrong path fails startup, not the first handshake.
    let tls = ListenerTls::from_config(&cfg)?;
    let grace = Duration::from_millis(cfg.node.shutdown_grace_ms);
    let health = Health::default();
    health.set(Phase::Starting);
    for (name, l) in [
        ("kafka", &listeners.kafka),
        ("aws", &listeners.aws),
        ("admin", &listeners.admin),
    ] {
        if let Ok(addr) = l.local_addr() {
            let protocol = match name {
                "kafka" => kafka_security_protocol(&cfg),
                "aws" if tls.aws.is_some() => "https",
                "admin" if tls.admin.is_some() => "https",
                _ => "http",
            };
            info!(listener = name, %addr, protocol, "listening");
        }
    }

    let engine_cell: Arc<OnceLock<Engine>> = Arc::new(OnceLock::new());
    let (admin_stop, admin_stopped) = watch::channel(false);
    let cluster_status = crate::health::ClusterStatus::default();
    let console =
        crate::console::Console::new(engine_cell.clone(), listener_infos(&cfg, &listeners, &tls));
    let admin_state = AdminState {
        health: health.clone(),
        prometheus,
        stats: engine_cell.clone(),
        cluster: cluster_status.clone(),
        console: console.clone(),
    };
    let admin = tokio::spawn(admin::serve(
        listeners.admin,
        admin_state,
        HttpLimits::new(&cfg.http, cfg.admin.max_connections),
        tls.admin,
        grace,
        stopped(admin_stopped),
    ));

    let cluster_spec = crate::replication::from_config(&cfg);
    if cluster_spec.is_some() {
        // Each partition's Raft group moves its committed point; the engine must not.
        cfg.engine.commit = strait_engine::CommitPolicy::External;
    }
    info!(data_dir = %cfg.engine.data_dir.display(), "opening the storage engine");
    // A new data directory is the owner's alone; an existing one keeps the permissions its operator chose.
    if !cfg.engine.data_dir.exists() {
        crate::tls::dev::create_private_dir(&cfg.engine.data_dir).map_err(|source| {
            NodeError::DataDir {
                path: cfg.engine.data_dir.clone(),
                source,
            }
        })?;
    }
    let tier_store = match &cfg.tiering {
        Some(t) => Some(
            crate::tiering::open_store(t)
                .await
                .map_err(NodeError::Tiering)?,
        ),
        None => None,
    };
    let remote = tier_store
        .clone()
        .map(|s| Arc::new(s) as Arc<dyn strait_engine::RemoteStore>);
    let engine = Engine::open_with_remote(cfg.engine.clone(), remote)
        .await
        .map_err(NodeError::EngineOpen)?;
    let (tier_stop, tier_stopped) = watch::channel(false);
    let uploader = match (tier_store, &cfg.tiering) {
        (Some(store), Some(t)) => Some(crate::tiering::start_uploader(
            &engine,
            store,
            t,
            tier_stopped,
        )),
        _ => None,
    };
    // The cell is only ever set here, so it cannot already hold an engine.
    let _ = engine_cell.set(engine.clone());
    let replication = match cluster_spec {
        None => None,
        Some(spec) => {
            info!(node = spec.node_id, nodes = spec.nodes.len(), listen = %spec.listen, "joining the cluster");
            match crate::replication::Replication::start(spec, engine.clone(), cluster_status).await
            {
                Ok(r) => Some(r),
                Err(e) => {
                    let _ = engine.shutdown().await;
                    return Err(NodeError::Cluster(e));
                }
            }
        }
    };
    let view: Option<SharedClusterView> =
        replication.as_ref().map(|r| r.view() as SharedClusterView);

    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let kinesis = match Kinesis::open(engine.clone(), kinesis_config(&cfg), clock.clone()).await {
        Ok(k) => k,
        Err(e) => {
            // Leave the data directory cleanly shut down rather than in need of recovery.
            let _ = engine.shutdown().await;
            return Err(NodeError::KinesisOpen(e));
        }
    };
    let dynamodb = match strait_dynamodb::DynamoDb::open(
        engine.clone(),
        strait_dynamodb::DynamoConfig {
            region: cfg.aws.region.clone(),
            account_id: cfg.aws.account_id.clone(),
            ..strait_dynamodb::DynamoConfig::default()
        },
        Arc::new(strait_dynamodb::SystemClock),
    ) {
        Ok(d) => d,
        Err(e) => {
            let _ = engine.shutdown().await;
            return Err(NodeError::DynamoDbOpen(e));
        }
    };
    console.set_kinesis(kinesis.clone());
    // KCL lease checkpoints and Kafka consumer-group offsets are one position, and a deleted topic's offsets go
    // with it whichever protocol deleted it (strait-kcl-bridge).
    dynamodb.set_hook(strait_kcl_bridge::CheckpointBridge::new(
        kinesis.clone(),
        engine.clone(),
    ));
    strait_kcl_bridge::drop_offsets_of_deleted_topics(&engine);
    let (front_stop, front_stopped) = watch::channel(false);
    let limits = Limits::from(&cfg.kafka);
    // One budget and one login throttle for both protocols: memory and guessing are node-wide resources.
    let budget = MemoryBudget::new(cfg.node.max_inflight_request_bytes);
    let throttle = Arc::new(AuthThrottle::new(
        Duration::from_millis(cfg.security.auth_failure_delay_ms),
        Duration::from_millis(cfg.security.auth_failure_max_delay_ms),
    ));
    // One authorizer for every front end: Kafka APIs and AWS operations ask the same one.
    let authorizer = match authorizer(&cfg, &engine) {
        Ok(a) => a,
        Err(e) => {
            let _ = engine.shutdown().await;
            return Err(NodeError::AclLoad(e));
        }
    };
    let dynamo_route = replication
        .as_ref()
        .map(|r| r.serve_dynamodb(dynamodb.clone(), authorizer.clone()));
    let kafka_handler = make_kafka_handler(&engine, kafka_addr, view, authorizer.clone());
    console.set_kafka_handler(&kafka_handler);
    let kafka = tokio::spawn(kafka::serve(
        listeners.kafka,
        kafka_handler,
        limits,
        kafka::Guards {
            budget: budget.clone(),
            throttle: throttle.clone(),
            tls: tls.kafka,
        },
        grace,
        stopped(front_stopped.clone()),
    ));
    let aws = tokio::spawn(aws::serve(
        listeners.aws,
        kinesis,
        dynamodb,
        aws::Auth::from(&cfg.aws),
        strait_cloudwatch::CloudWatchConfig {
            max_series: cfg.aws.cloudwatch.max_series,
        },
        clock,
        aws::Guards {
            limits: HttpLimits::new(&cfg.http, cfg.aws.max_connections),
            budget,
            throttle,
            authorizer,
            dynamo_route,
            tls: tls.aws,
        },
        grace,
        stopped(front_stopped),
    ));
    health.set(Phase::Ready);
    info!("strait is ready");

    shutdown.await;
    info!("shutting down");
    health.set(Phase::ShuttingDown);
    let _ = front_stop.send(true);
    // A listener task only fails by panicking, which has already been reported; shutdown goes on regardless.
    let _ = tokio::join!(kafka, aws);
    let _ = tier_stop.send(true);
    if let Some(mut u) = uploader {
        // A pass in flight may be waiting on a slow store: give it the grace period, then drop it (an upload cut
        // short leaves an unreferenced object, never a hole: the hand-over is recorded before files go).
        if tokio::time::timeout(grace, &mut u).await.is_err() {
            u.abort();
        }
    }
    if let Some(r) = replication {
        r.shutdown().await;
    }
    let result = engine.shutdown().await.map_err(NodeError::EngineShutdown);
    let _ = admin_stop.send(true);
    let _ = admin.await;
    result
}

/// The listeners as the console's overview lists them.
fn listener_infos(
    cfg: &Config,
    listeners: &Listeners,
    tls: &ListenerTls,
) -> Vec<crate::console::ListenerInfo> {
    let http = |on: bool| if on { "https" } else { "http" };
    [
        ("kafka", &listeners.kafka, kafka_security_protocol(cfg)),
        ("aws", &listeners.aws, http(tls.aws.is_some())),
        ("admin", &listeners.admin, http(tls.admin.is_some())),
    ]
    .into_iter()
    .filter_map(|(name, l, protocol)| {
        l.local_addr()
            .ok()
            .map(|address| crate::console::ListenerInfo {
                name,
                address,
                protocol,
            })
    })
    .collect()
}

/// The node's authorizer (`security.authorizer`). The ACL authorizer is loaded from the stored bindings and
/// follows every committed change of them from then on (strait_kafka::acls).
fn authorizer(cfg: &Config, engine: &Engine) -> Result<SharedAuthorizer, EngineError> {
    if cfg.security.authorizer != AuthorizerKind::Acl {
        return Ok(cfg.security.build_authorizer());
    }
    let acls = Arc::new(cfg.security.acl_authorizer());
    strait_kafka::acls::follow(engine, acls.clone())?;
    info!(
        super_users = cfg.security.super_users.len(),
        allow_everyone_if_no_acl_found = cfg.security.allow_everyone_if_no_acl_found,
        "ACL authorizer enabled"
    );
    Ok(acls)
}

/// The Kinesis service's settings from the `[aws]` section.
fn kinesis_config(cfg: &Config) -> KinesisConfig {
    let k = &cfg.aws.kinesis;
    KinesisConfig {
        region: cfg.aws.region.clone(),
        account_id: cfg.aws.account_id.clone(),
        status_delay: Duration::from_millis(k.status_delay_ms),
        enforce_limits: k.enforce_limits,
        shard_limit: k.shard_limit,
        on_demand_stream_limit: k.on_demand_stream_limit,
        iterator_ttl: Duration::from_millis(k.iterator_ttl_ms),
    }
}

/// Resolves once `true` is sent (or the sender is dropped, which only happens when the node is going away).
async fn stopped(mut rx: watch::Receiver<bool>) {
    let _ = rx.wait_for(|stop| *stop).await;
}
