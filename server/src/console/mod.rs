//! The web console on the admin listener: one page at `/` (HTML, CSS and JavaScript compiled into the binary;
//! nothing is loaded from elsewhere) and the read-only JSON endpoints under `/api/` that it fetches. What each
//! endpoint answers is documented in `docs/console.md`.
//!
//! Module map: [`web`] (responses, JSON errors, query strings, showing bytes), [`topics`] (overview, topics and
//! streams, throughput counters), [`kinesis`] (a stream's shards and enhanced fan-out consumers), [`groups`]
//! (classic, KIP-848 and share groups with their offsets and lag), [`records`] (the record browser).
//!
//! Every endpoint only reads. The console is as open as `/metrics`: it has no login of its own, so the admin
//! listener should stay on loopback or behind its TLS (`[admin.tls]`, with client certificates if required).

mod groups;
mod kinesis;
mod records;
mod topics;
pub mod web;

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use hyper::StatusCode;
use strait_engine::Engine;
use strait_kinesis::Kinesis;
use strait_kinesis::store::StreamCache;

use crate::http::HttpResponse;
use web::{ApiError, ApiResult, Query, json_response};

const INDEX_HTML: &str = include_str!("assets/index.html");
const APP_CSS: &str = include_str!("assets/app.css");
const APP_JS: &str = include_str!("assets/app.js");

/// One listener as the overview lists it.
#[derive(Debug, Clone)]
pub struct ListenerInfo {
    pub name: &'static str,
    pub address: SocketAddr,
    pub protocol: &'static str,
}

/// What the console reads, filled in by the node as each part opens (the admin listener serves before the
/// engine has opened, and the front ends open after it). Until a part is there, its endpoints answer `503`.
pub struct Console {
    engine: Arc<OnceLock<Engine>>,
    broker: OnceLock<strait_kafka::Broker>,
    kinesis: OnceLock<(Kinesis, Arc<StreamCache>)>,
    listeners: Vec<ListenerInfo>,
}

impl Console {
    pub fn new(engine: Arc<OnceLock<Engine>>, listeners: Vec<ListenerInfo>) -> Arc<Console> {
        Arc::new(Console {
            engine,
            broker: OnceLock::new(),
            kinesis: OnceLock::new(),
            listeners,
        })
    }

    /// Gives the console the Kafka front end, when the node's Kafka handler is Strait's broker (tests plug in
    /// other handlers; then the group pages answer `503`).
    pub fn set_kafka_handler<H: Send + Sync + 'static>(&self, handler: &Arc<H>) {
        let any: Arc<dyn std::any::Any + Send + Sync> = handler.clone();
        if let Ok(b) = any.downcast::<strait_kafka::Broker>() {
            let _ = self.broker.set((*b).clone());
        }
    }

    /// Gives the console the Kinesis front end and a cache of its stream records (following the metadata
    /// store's committed changes, as the front end's own does).
    pub fn set_kinesis(&self, kinesis: Kinesis) {
        match StreamCache::follow(kinesis.engine().meta()) {
            Ok(cache) => {
                let _ = self.kinesis.set((kinesis, cache));
            }
            Err(e) => tracing::warn!(error = %e, "console: cannot follow the Kinesis streams"),
        }
    }

    fn engine(&self) -> Result<&Engine, ApiError> {
        self.engine
            .get()
            .ok_or_else(|| ApiError::unavailable("the storage engine is not open yet"))
    }

    fn broker(&self) -> Result<&strait_kafka::Broker, ApiError> {
        self.broker
            .get()
            .ok_or_else(|| ApiError::unavailable("the Kafka front end is not running yet"))
    }

    fn kinesis(&self) -> Option<&(Kinesis, Arc<StreamCache>)> {
        self.kinesis.get()
    }

    /// Answers a `GET` of `path` (one [`serves`] accepts). `health` is what `/healthz` answers right now.
    pub async fn get(
        &self,
        path: &str,
        query: Option<&str>,
        health: (StatusCode, String),
    ) -> HttpResponse {
        match path {
            "/" | "/index.html" => return web::asset("text/html; charset=utf-8", INDEX_HTML),
            "/console/app.css" => return web::asset("text/css; charset=utf-8", APP_CSS),
            "/console/app.js" => return web::asset("text/javascript; charset=utf-8", APP_JS),
            _ => {}
        }
        let answer = match Query::parse(query) {
            Ok(q) => self.api(path, &q, health).await,
            Err(e) => Err(e),
        };
        match answer {
            Ok(body) => json_response(StatusCode::OK, &body),
            Err(e) => e.response(),
        }
    }

    async fn api(&self, path: &str, q: &Query, health: (StatusCode, String)) -> ApiResult {
        let rest = path.strip_prefix("/api/").unwrap_or_default();
        let (head, tail) = rest.split_once('/').unwrap_or((rest, ""));
        let tail = web::percent_decode(tail, false)?;
        match (head, tail.as_str()) {
            ("overview", "") => Ok(topics::overview(self, health)),
            ("topics", "") => topics::list(self),
            ("topics", name) => topics::detail(self, name),
            ("throughput", "") => topics::throughput(self),
            ("groups", "") => groups::list(self),
            ("groups", id) => groups::detail(self, id),
            ("records", "") => records::browse(self, q).await,
            _ => Err(ApiError::not_found(format!("no console endpoint {path}"))),
        }
    }
}

/// Whether `path` belongs to the console (the page, its assets, or `/api/...`).
pub fn serves(path: &str) -> bool {
    matches!(path, "/" | "/index.html")
        || path.starts_with("/console/")
        || path.starts_with("/api/")
}

/// Unix time in milliseconds (the console's timestamps; not on any data path).
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
