//! The admin HTTP listener: `GET /healthz` and `GET /metrics`.
//!
//! It starts before the engine opens and stops after the engine has shut down, so orchestrators see `503` for
//! the whole time the node cannot serve, instead of connection errors.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use metrics_exporter_prometheus::PrometheusHandle;
use strait_engine::{Engine, EngineStats};
use tokio::net::TcpListener;

use crate::health::{Health, Phase};
use crate::http::{self, Handler, HttpLimits, HttpResponse};

/// Where `/metrics` gets engine totals from; `None` while the engine is not open yet.
pub trait StatsSource: Send + Sync + 'static {
    fn engine_stats(&self) -> Option<EngineStats>;
}

/// The node fills this cell once the engine has opened.
impl StatsSource for OnceLock<Engine> {
    fn engine_stats(&self) -> Option<EngineStats> {
        self.get().map(Engine::stats)
    }
}

/// Everything the admin endpoints read.
pub struct AdminState<S> {
    pub health: Health,
    pub prometheus: PrometheusHandle,
    pub stats: Arc<S>,
}

/// Serves the admin endpoints on `listener` until `shutdown` resolves.
pub async fn serve<S: StatsSource>(
    listener: TcpListener,
    state: AdminState<S>,
    limits: HttpLimits,
    grace: Duration,
    shutdown: impl Future<Output = ()>,
) {
    http::serve(
        "admin",
        listener,
        Admin(Arc::new(state)),
        limits,
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
            (&Method::GET, "/healthz") => match state.health.phase() {
                Phase::Ready => text(StatusCode::OK, "ok\n"),
                Phase::Starting => text(StatusCode::SERVICE_UNAVAILABLE, "starting\n"),
                Phase::ShuttingDown => text(StatusCode::SERVICE_UNAVAILABLE, "shutting down\n"),
            },
            (&Method::GET, "/metrics") => {
                if let Some(stats) = state.stats.engine_stats() {
                    crate::telemetry::record_engine_stats(&stats);
                }
                let mut resp = Response::new(Full::new(Bytes::from(state.prometheus.render())));
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
            _ => text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}
