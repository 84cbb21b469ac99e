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

use strait_engine::{Engine, EngineError};
use strait_kinesis::{Clock, Kinesis, KinesisConfig, KinesisError, SystemClock};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::info;

use crate::admin::{self, AdminState};
use crate::auth_throttle::AuthThrottle;
use crate::aws;
use crate::config::Config;
use crate::health::{Health, Phase};
use crate::http::HttpLimits;
use crate::kafka::{self, KafkaHandler, Limits};
use crate::limits::MemoryBudget;
use crate::telemetry::{self, TelemetryError};

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
    #[error("cannot load the DynamoDB tables: {0}")]
    DynamoDbOpen(#[source] strait_dynamodb::DynamoError),
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

/// Runs a node until `shutdown` resolves, then stops it gracefully.
pub async fn run<H: KafkaHandler>(
    cfg: Config,
    listeners: Listeners,
    make_kafka_handler: impl FnOnce(&Engine, SocketAddr) -> Arc<H>,
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
    let grace = Duration::from_millis(cfg.node.shutdown_grace_ms);
    let health = Health::default();
    health.set(Phase::Starting);
    for (name, l) in [
        ("kafka", &listeners.kafka),
        ("aws", &listeners.aws),
        ("admin", &listeners.admin),
    ] {
        if let Ok(addr) = l.local_addr() {
            info!(listener = name, %addr, "listening");
        }
    }

    let engine_cell: Arc<OnceLock<Engine>> = Arc::new(OnceLock::new());
    let (admin_stop, admin_stopped) = watch::channel(false);
    let admin_state = AdminState {
        health: health.clone(),
        prometheus,
        stats: engine_cell.clone(),
    };
    let admin = tokio::spawn(admin::serve(
        listeners.admin,
        admin_state,
        HttpLimits::new(&cfg.http, cfg.admin.max_connections),
        grace,
        stopped(admin_stopped),
    ));

    info!(data_dir = %cfg.engine.data_dir.display(), "opening the storage engine");
    let engine = Engine::open(cfg.engine.clone())
        .await
        .map_err(NodeError::EngineOpen)?;
    // The cell is only ever set here, so it cannot already hold an engine.
    let _ = engine_cell.set(engine.clone());

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
    let authorizer = cfg.security.authorizer.build();
    let kafka = tokio::spawn(kafka::serve(
        listeners.kafka,
        make_kafka_handler(&engine, kafka_addr),
        limits,
        kafka::Guards {
            budget: budget.clone(),
            throttle: throttle.clone(),
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
    let result = engine.shutdown().await.map_err(NodeError::EngineShutdown);
    let _ = admin_stop.send(true);
    let _ = admin.await;
    result
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
