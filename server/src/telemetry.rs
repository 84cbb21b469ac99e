//! Logs (`tracing`) and metrics (the `metrics` facade rendered by the Prometheus exporter).

use std::io::IsTerminal;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
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
    // Colour codes only for a person at a terminal: in a file, journald or a container log they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let installed = match cfg.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    installed.map_err(|e| TelemetryError::Logger(e.to_string()))
}

/// Bucket bounds (seconds) of every latency histogram: from a page-cache fsync or a metadata request (well under
/// a millisecond) to a long-polling Fetch or GetRecords (seconds).
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0,
];

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
    // Every `_seconds` series is a histogram with fixed buckets, not the exporter's default summary: a summary's
    // quantiles cover a recent window while its sum and count are cumulative, and quantiles cannot be aggregated
    // across nodes; buckets can.
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?
        .install_recorder()
        .map_err(|e| TelemetryError::Metrics(e.to_string()))?;
    describe();
    metrics::gauge!("strait_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    // Failure counters exist from the start at zero, so a dashboard or an alert on `rate(...) > 0` sees a series
    // before the first failure rather than "no data".
    for listener in ["kafka", "aws", "admin"] {
        metrics::counter!("strait_connections_refused_total", "listener" => listener).increment(0);
    }
    for protocol in ["kafka", "aws"] {
        metrics::counter!("strait_auth_failures_total", "protocol" => protocol).increment(0);
    }
    for component in ["partition", "metadata"] {
        metrics::counter!("strait_storage_errors_total", "component" => component).increment(0);
    }
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

/// Registers every metric's `# HELP` text and unit from the one catalogue (`strait-metrics`), so a scrape
/// documents each series the node emits.
fn describe() {
    use strait_metrics::{CATALOGUE, Kind, Unit};
    for m in CATALOGUE {
        let unit = match m.unit {
            Unit::Count => None,
            Unit::Bytes => Some(metrics::Unit::Bytes),
            Unit::Seconds => Some(metrics::Unit::Seconds),
        };
        match (m.kind, unit) {
            (Kind::Counter, Some(u)) => metrics::describe_counter!(m.name, u, m.help),
            (Kind::Counter, None) => metrics::describe_counter!(m.name, m.help),
            (Kind::Gauge, Some(u)) => metrics::describe_gauge!(m.name, u, m.help),
            (Kind::Gauge, None) => metrics::describe_gauge!(m.name, m.help),
            // The Prometheus exporter renders both histograms and summaries from the histogram facade.
            (Kind::Histogram | Kind::Summary, Some(u)) => {
                metrics::describe_histogram!(m.name, u, m.help)
            }
            (Kind::Histogram | Kind::Summary, None) => metrics::describe_histogram!(m.name, m.help),
        }
    }
}
