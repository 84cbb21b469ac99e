//! A Kinesis service over a real engine in a temporary directory, with a manual clock, driven through the same
//! entry point the server uses (operation + wire format + body bytes).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use strait_engine::{Engine, EngineConfig};
use strait_kinesis::{Kinesis, KinesisConfig, ManualClock, Operation, RequestContext, WireFormat};

pub const DELAY: Duration = Duration::from_millis(500);

pub struct Harness {
    pub k: Kinesis,
    pub engine: Engine,
    pub clock: ManualClock,
    /// The data directory when the harness owns it.
    pub dir: Option<tempfile::TempDir>,
}

/// A response: status, `__type` for errors, JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub error_type: Option<&'static str>,
    pub body: Json,
}

impl Reply {
    /// The error message (`message`, or `Message` for SerializationException).
    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .or_else(|| self.body["Message"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn open_with(cfg: KinesisConfig, dir: tempfile::TempDir, clock: ManualClock) -> Harness {
    let mut h = open_at(cfg, dir.path(), clock).await;
    h.dir = Some(dir);
    h
}

/// A harness over `path`, which the caller keeps (restart tests reopen it).
pub async fn open_at(cfg: KinesisConfig, path: &std::path::Path, clock: ManualClock) -> Harness {
    let engine = Engine::open(EngineConfig {
        data_dir: path.to_path_buf(),
        ..Default::default()
    })
    .await
    .expect("engine");
    let k = Kinesis::open(engine.clone(), cfg, Arc::new(clock.clone()))
        .await
        .expect("kinesis");
    Harness {
        k,
        engine,
        clock,
        dir: None,
    }
}

pub fn config() -> KinesisConfig {
    KinesisConfig {
        status_delay: DELAY,
        ..KinesisConfig::default()
    }
}

pub async fn open() -> Harness {
    open_with(
        config(),
        tempfile::tempdir().expect("tempdir"),
        ManualClock::new(1_795_622_869_000),
    )
    .await
}

impl Harness {
    /// Calls `op` with a JSON body.
    pub async fn call(&self, op: &str, body: Json) -> Reply {
        let op = Operation::from_name(op).expect("known operation");
        let r = self
            .k
            .handle(
                &RequestContext::allow_all(),
                op,
                WireFormat::Json,
                body.to_string().as_bytes(),
            )
            .await;
        let body = if r.body.is_empty() {
            Json::Null
        } else {
            serde_json::from_slice(&r.body).expect("JSON response")
        };
        Reply {
            status: r.status,
            error_type: r.error_type,
            body,
        }
    }

    /// Calls `op` and expects success.
    pub async fn ok(&self, op: &str, body: Json) -> Json {
        let r = self.call(op, body).await;
        assert_eq!(r.status, 200, "{op} failed: {r:?}");
        r.body
    }

    /// Calls `op` and expects the error `ty`; returns its message.
    pub async fn err(&self, op: &str, body: Json, ty: &str) -> String {
        let r = self.call(op, body).await;
        assert_eq!(r.error_type, Some(ty), "{op}: {r:?}");
        assert_eq!(r.body["__type"], ty);
        r.message()
    }

    /// Lets status transitions complete.
    pub fn settle(&self) {
        self.clock.advance(DELAY + Duration::from_millis(1));
    }

    /// Creates an ACTIVE stream of `shards` shards.
    pub async fn stream(&self, name: &str, shards: u32) {
        self.ok(
            "CreateStream",
            json!({"StreamName": name, "ShardCount": shards}),
        )
        .await;
        self.settle();
    }

    pub async fn iterator(&self, stream: &str, shard: &str, kind: &str) -> String {
        self.ok(
            "GetShardIterator",
            json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": kind}),
        )
        .await["ShardIterator"]
            .as_str()
            .expect("iterator")
            .to_string()
    }

    /// Puts one record; returns (shard id, sequence number).
    pub async fn put(&self, stream: &str, key: &str, data: &[u8]) -> (String, String) {
        use base64::Engine as _;
        let r = self
            .ok(
                "PutRecord",
                json!({
                    "StreamName": stream,
                    "PartitionKey": key,
                    "Data": base64::engine::general_purpose::STANDARD.encode(data),
                }),
            )
            .await;
        (
            r["ShardId"].as_str().expect("shard").to_string(),
            r["SequenceNumber"].as_str().expect("seq").to_string(),
        )
    }

    /// Every record readable from `iterator` on, decoded data, and the final GetRecords response.
    pub async fn drain(&self, iterator: &str) -> (Vec<Vec<u8>>, Json) {
        use base64::Engine as _;
        let mut out = Vec::new();
        let mut it = iterator.to_string();
        loop {
            let r = self.ok("GetRecords", json!({"ShardIterator": it})).await;
            let recs = r["Records"].as_array().expect("records").clone();
            for rec in &recs {
                out.push(
                    base64::engine::general_purpose::STANDARD
                        .decode(rec["Data"].as_str().expect("data"))
                        .expect("base64"),
                );
            }
            match r["NextShardIterator"].as_str() {
                Some(next) if !recs.is_empty() => it = next.to_string(),
                _ => return (out, r),
            }
        }
    }
}
