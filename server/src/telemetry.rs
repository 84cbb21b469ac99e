//! Logs (`tracing`) and metrics (the `metrics` facade rendered by the Prometheus exporter).

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use strait_engine::EngineStats;
use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("invalid log filter {filter:?}: {source}")]
    Filter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("a global logger is already installed: {0}")]
    Logger(String),
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
}

/// Installs the global logger. `RUST_LOG`, when set, replaces `log.level`, so an operator can raise verbosity
/// without editing the deployment's config. Logs go to stderr so that stdout stays free for command output.
pub fn init_logging(cfg: &LogConfig) -> Result<(), TelemetryError> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => cfg.level.clone(),
    };
    let env_filter =
        EnvFilter::try_new(&filter).map_err(|source| TelemetryError::Filter { filter, source })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr);
    let installed = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| TelemetryError::Logger(e.to_string()))
}

static PROMETHEUS: Mutex<Option<PrometheusHandle>> = Mutex::new(None);

/// Installs the process-wide Prometheus recorder once and returns its handle (must run inside a tokio
/// runtime, which drives histogram upkeep); later calls (in-process tests
/// starting several nodes) share it, because the `metrics` facade allows only one global recorder.
pub fn install_metrics() -> Result<PrometheusHandle, TelemetryError> {
    // Held across installation so that two concurrent first callers cannot both try to install.
    let mut slot = PROMETHEUS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(h) = slot.as_ref() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?;
    describe();
    metrics::gauge!("strait_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    // Histograms are only drained by upkeep; without it their memory grows until the next scrape.
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    *slot = Some(handle.clone());
    Ok(handle)
}

/// Publishes the engine's current totals as gauges; called right before each scrape so they are never stale.
pub fn record_engine_stats(stats: &EngineStats) {
    metrics::gauge!("strait_engine_topics").set(stats.topics as f64);
    metrics::gauge!("strait_engine_partitions").set(stats.partitions as f64);
    metrics::gauge!("strait_engine_log_bytes").set(stats.log_bytes as f64);
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge};
    describe_gauge!(
        "strait_build_info",
        "Always 1; the version label identifies the build."
    );
    describe_gauge!(
        "strait_node_ready",
        "1 while the node serves requests, 0 while starting or stopping."
    );
    describe_gauge!(
        "strait_engine_topics",
        "Topics (Kafka) / streams (Kinesis) in the engine."
    );
    describe_gauge!(
        "strait_engine_partitions",
        "Partitions (shards) across all topics."
    );
    describe_gauge!(
        "strait_engine_log_bytes",
        Unit::Bytes,
        "Bytes of log segments on disk."
    );
    describe_counter!(
        "strait_kafka_connections_total",
        "Kafka connections accepted."
    );
    describe_gauge!(
        "strait_kafka_connections_active",
        "Kafka connections currently open."
    );
    describe_counter!(
        "strait_kafka_requests_total",
        "Kafka request frames received."
    );
    describe_counter!(
        "strait_kafka_frames_rejected_total",
        "Kafka frames over kafka.max_request_bytes."
    );
    describe_counter!(
        "strait_aws_requests_total",
        "AWS-API requests by operation and error type."
    );
    describe_counter!(
        "strait_auth_failures_total",
        "Failed authentications by protocol (kafka: SASL/PLAIN, aws: SigV4 against configured keys)."
    );
    describe_counter!(
        "strait_connections_refused_total",
        "Connections closed right after accept because the listener was at its max_connections."
    );
    describe_counter!(
        "strait_accept_errors_total",
        "Failed accepts (e.g. out of file descriptors), retried after a backoff."
    );
    describe_counter!(
        "strait_inflight_budget_waits_total",
        "Times a request waited for node.max_inflight_request_bytes."
    );
    describe_counter!(
        "strait_kafka_produce_closed_partition_total",
        "Kafka produces refused with POLICY_VIOLATION because a Kinesis reshard closed the partition, by topic."
    );
}
