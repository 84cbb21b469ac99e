//! The admin HTTP listener: `GET /healthz` and `GET /metrics` (the recorder's series, then the per-partition and
//! per-group ones rendered from live state by `crate::scrape`).
//!
//! It starts before the engine opens and stops after the engine has shut down, so orchestrators see `503` for
//! the whole time the node cannot serve, instead of connection errors.
//!
//! `/healthz` answers `200 ok` only when the node serves everything. After a storage failure (a full disk) it
//! answers `503` with a body starting `degraded:` that names each partition refusing writes and the metadata
//! store's fault: reads still work, writes to those partitions fail with retriable errors, and the node recovers
//! by itself once the disk takes writes again, so use it for readiness (take the node out of rotation), not
//! for a liveness check that restarts the process. `/metrics` exports the same as `strait_partition_offline`,
//! `strait_partitions_offline`, `strait_metadata_store_healthy` and `strait_storage_errors_total`.
//!
//! On a cluster node, `/healthz` also reports the cluster as this node sees it: `200` with the controller's
//! leader and this node's replicas by role (leading, following, without a leader), or `503 degraded: no
//! controller leader` while the node reaches no quorum (it cannot create topics, commit offsets or serve
//! DynamoDB then). Partitions without a leader do not make the node unready: another node cannot serve them
//! either; they are counted in the body and in `strait_raft_replicas{role="leaderless"}`.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;
use strait_engine::{Engine, EngineStats, StorageHealth};
use tokio::net::TcpListener;

use crate::health::{ClusterHealth, ClusterStatus, Health, Phase};
use crate::http::{self, Handler, HttpLimits, HttpResponse};

/// Where `/metrics` gets engine totals from; `None` while the engine is not open yet.
pub trait StatsSource: Send + Sync + 'static {
    fn engine_stats(&self) -> Option<EngineStats>;

    /// Storage faults for `/healthz`; `None` while the engine is not open (or for sources without storage).
    fn storage_health(&self) -> Option<StorageHealth> {
        None
    }

    /// Appends the series rendered from live state at each scrape (per partition, per group; `crate::scrape`).
    fn render_live(&self, _out: &mut String) {}
}

/// The node fills this cell once the engine has opened.
impl StatsSource for OnceLock<Engine> {
    fn engine_stats(&self) -> Option<EngineStats> {
        self.get().map(Engine::stats)
    }

    fn storage_health(&self) -> Option<StorageHealth> {
        self.get().map(Engine::storage_health)
    }

    fn render_live(&self, out: &mut String) {
        if let Some(e) = self.get() {
            crate::scrape::render(e, out);
        }
    }
}

/// Partitions listed by name in a degraded `/healthz` body; the rest are counted.
const HEALTH_LIST_MAX: usize = 20;

/// The `503` body for storage faults, or `None` when storage is healthy.
fn degraded_body(h: &StorageHealth) -> Option<String> {
    if h.is_healthy() {
        return None;
    }
    let mut body = String::from(
        "degraded: storage failure; reads are served, affected writes fail until the disk takes writes again\n",
    );
    if let Some(f) = &h.metadata_fault {
        body.push_str(&format!("metadata store unavailable: {f}\n"));
    }
    for p in h.offline_partitions.iter().take(HEALTH_LIST_MAX) {
        body.push_str(&format!(
            "partition {}-{} offline: {}\n",
            p.topic, p.partition, p.reason
        ));
    }
    let more = h.offline_partitions.len().saturating_sub(HEALTH_LIST_MAX);
    if more > 0 {
        body.push_str(&format!("... and {more} more offline partitions\n"));
    }
    Some(body)
}

/// The `/healthz` answer for a ready node whose storage is healthy: its cluster view, when it is in one.
fn cluster_answer(h: Option<&ClusterHealth>) -> (StatusCode, String) {
    let Some(h) = h else {
        return (StatusCode::OK, "ok\n".into());
    };
    let replicas = format!(
        "replicas on node {}: {} leading, {} following, {} without a leader; commit lag {} entries\n",
        h.node, h.leading, h.following, h.leaderless, h.commit_lag
    );
    if let Some(ms) = h.controller_cut_off_ms {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "degraded: no controller quorum: this node leads the controller (term {}) but no quorum has \
                 acknowledged it for {ms} ms\n{replicas}",
                h.controller_term
            ),
        );
    }
    match h.controller_leader {
        Some(l) if h.controller_leader_unreachable => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "degraded: no controller leader: node {l}, the last leader this node knew (term {}), does not \
                 answer, and no quorum has elected another\n{replicas}",
                h.controller_term
            ),
        ),
        Some(l) => (
            StatusCode::OK,
            format!(
                "ok\ncontroller leader: node {l} (term {})\n{replicas}",
                h.controller_term
            ),
        ),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "degraded: no controller leader: this node reaches no quorum of the cluster (term {}); \
                 metadata changes, offset commits and DynamoDB requests fail until it does\n{replicas}",
                h.controller_term
            ),
        ),
    }
}

/// Everything the admin endpoints read.
pub struct AdminState<S> {
    pub health: Health,
    pub prometheus: PrometheusHandle,
    pub stats: Arc<S>,
    /// Filled once a second on a cluster node; empty on a single node.
    pub cluster: ClusterStatus,
    /// The web console at `/` and its `/api/...` endpoints (`crate::console`).
    pub console: Arc<crate::console::Console>,
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve<S: StatsSource>(
    listener: TcpListener,
    state: AdminState<S>,
    limits: HttpLimits,
    tls: Option<crate::tls::ServerTls>,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    http::serve(
        "admin",
        listener,
        Admin(Arc::new(state)),
        limits,
        tls,
        grace,
        shutdown,
    )
    .await;
}

struct Admin<S>(Arc<AdminState<S>>);

// Not derived: a derive would needlessly require `S: Clone`.
impl<S> Clone for Admin<S> {
    fn clone(&self) -> Self {
        Admin(self.0.clone())
    }
}

impl<S: StatsSource> Handler for Admin<S> {
    async fn call(&self, req: Request<Incoming>) -> HttpResponse {
        let state = &self.0;
        match (req.method(), req.uri().path()) {
            (&Method::GET, "/healthz") => {
                let (status, body) = health_answer(state);
                text(status, body)
            }
            (&Method::GET, "/metrics") => {
                if let Some(stats) = state.stats.engine_stats() {
                    crate::telemetry::record_engine_stats(&stats);
                }
                if let Some(h) = state.stats.storage_health() {
                    metrics::gauge!("strait_partitions_offline")
                        .set(h.offline_partitions.len() as f64);
                }
                let mut body = state.prometheus.render();
                state.stats.render_live(&mut body);
                let mut resp = Response::new(Full::new(Bytes::from(body)));
                resp.headers_mut().insert(
                    CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                resp
            }
            (_, "/healthz" | "/metrics") => {
                let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                resp.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET"));
                resp
            }
            (&Method::GET, path) if crate::console::serves(path) => {
                let health = health_answer(state);
                state.console.get(path, req.uri().query(), health).await
            }
            (_, path) if crate::console::serves(path) => {
                let mut resp = text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
                resp.headers_mut()
                    .insert(ALLOW, HeaderValue::from_static("GET"));
                resp
            }
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

/// What `/healthz` answers now (the console's overview shows the same).
fn health_answer<S: StatsSource>(state: &AdminState<S>) -> (StatusCode, String) {
    match state.health.phase() {
        Phase::Ready => match state
            .stats
            .storage_health()
            .as_ref()
            .and_then(degraded_body)
        {
            None => cluster_answer(state.cluster.get().as_ref()),
            Some(body) => (StatusCode::SERVICE_UNAVAILABLE, body),
        },
        Phase::Starting => (StatusCode::SERVICE_UNAVAILABLE, "starting\n".into()),
        Phase::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting down\n".into()),
    }
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> HttpResponse {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use strait_engine::OfflinePartition;

    use super::*;

    #[test]
    fn cluster_health_is_ready_only_with_a_controller_leader() {
        assert_eq!(cluster_answer(None), (StatusCode::OK, "ok\n".into()));
        let mut h = ClusterHealth {
            node: 2,
            controller_leader: Some(1),
            controller_term: 4,
            controller_cut_off_ms: None,
            controller_leader_unreachable: false,
            leading: 3,
            following: 6,
            leaderless: 1,
            commit_lag: 0,
        };
        let (status, body) = cluster_answer(Some(&h));
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.starts_with("ok\ncontroller leader: node 1 (term 4)\n"),
            "{body}"
        );
        assert!(
            body.contains("3 leading, 6 following, 1 without a leader"),
            "{body}"
        );
        h.controller_leader = Some(2);
        h.controller_cut_off_ms = Some(4500);
        let (status, body) = cluster_answer(Some(&h));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.starts_with("degraded: no controller quorum"), "{body}");
        h.controller_leader = Some(1);
        h.controller_cut_off_ms = None;
        h.controller_leader_unreachable = true;
        let (status, body) = cluster_answer(Some(&h));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            body.starts_with("degraded: no controller leader: node 1"),
            "{body}"
        );
        h.controller_leader = None;
        h.controller_leader_unreachable = false;
        let (status, body) = cluster_answer(Some(&h));
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(body.starts_with("degraded: no controller leader"), "{body}");
    }

    #[test]
    fn healthy_storage_has_no_degraded_body() {
        assert_eq!(degraded_body(&StorageHealth::default()), None);
    }

    #[test]
    fn degraded_body_names_the_fault_and_caps_the_partition_list() {
        let h = StorageHealth {
            offline_partitions: (0..25)
                .map(|p| OfflinePartition {
                    topic: "t".into(),
                    partition: p,
                    reason: "No space left on device (os error 28)".into(),
                })
                .collect(),
            metadata_fault: Some("I/O error: No space left on device".into()),
        };
        let body = degraded_body(&h).expect("degraded");
        assert!(body.starts_with("degraded:"), "{body}");
        assert!(body.contains("metadata store unavailable: I/O error: No space left on device"));
        assert!(body.contains("partition t-0 offline: No space left on device (os error 28)"));
        assert!(body.contains("partition t-19 offline"));
        assert!(!body.contains("partition t-20 offline"));
        assert!(body.contains("... and 5 more offline partitions"));
    }
}
