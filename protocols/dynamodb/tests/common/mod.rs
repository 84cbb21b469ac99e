//! A DynamoDB service over a real engine in a temporary directory with a manual clock, driven through the same
//! entry point the server uses (`X-Amz-Target` value + body bytes).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value as Json, json};
use strait_dynamodb::{DynamoConfig, DynamoDb, ManualClock};
use strait_engine::{Engine, EngineConfig};

pub const DELAY: Duration = Duration::from_millis(500);

pub struct Harness {
    pub db: DynamoDb,
    pub engine: Engine,
    pub clock: ManualClock,
    pub dir: Option<tempfile::TempDir>,
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    /// The short error name (`ConditionalCheckFailedException`).
    pub error: Option<&'static str>,
    pub body: Json,
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn message(&self) -> String {
        self.body["message"]
            .as_str()
            .or_else(|| self.body["Message"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

pub async fn open_at(path: &std::path::Path, clock: ManualClock) -> Harness {
    let engine = Engine::open(EngineConfig {
        data_dir: path.to_path_buf(),
        ..Default::default()
    })
    .await
    .expect("engine");
    let cfg = DynamoConfig {
        status_delay: DELAY,
        ..DynamoConfig::default()
    };
    let db = DynamoDb::open(engine.clone(), cfg, Arc::new(clock.clone())).expect("dynamodb");
    Harness {
        db,
        engine,
        clock,
        dir: None,
    }
}

pub async fn open() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut h = open_at(dir.path(), ManualClock::new(1_795_622_869_000)).await;
    h.dir = Some(dir);
    h
}

impl Harness {
    pub async fn call(&self, op: &str, body: Json) -> Reply {
        let target = format!("DynamoDB_20120810.{op}");
        let r = self
            .db
            .handle(
                &strait_dynamodb::RequestContext::allow_all(),
                Some(&target),
                body.to_string().as_bytes(),
            )
            .await;
        let crc = r.header("x-amz-crc32").expect("crc header");
        assert_eq!(
            crc,
            crc32fast::hash(&r.body).to_string(),
            "x-amz-crc32 must match the body"
        );
        assert_eq!(r.header("content-type"), Some("application/x-amz-json-1.0"));
        let body: Json = serde_json::from_slice(&r.body).expect("json body");
        Reply {
            status: r.status,
            error: r.error,
            body,
            headers: r.headers,
        }
    }

    /// Calls `op` and asserts success.
    pub async fn ok(&self, op: &str, body: Json) -> Json {
        let r = self.call(op, body).await;
        assert_eq!(r.status, 200, "{op} failed: {:?}", r.body);
        r.body
    }

    /// Calls `op` and asserts the error name; returns the reply.
    pub async fn err(&self, op: &str, body: Json, error: &str) -> Reply {
        let r = self.call(op, body).await;
        assert_eq!(r.status, 400, "{op} should fail with {error}: {:?}", r.body);
        assert_eq!(r.error, Some(error), "{op}: {:?}", r.body);
        r
    }

    /// Creates a hash-key table (PAY_PER_REQUEST) and waits until it is ACTIVE.
    pub async fn lease_table(&self, name: &str) {
        self.ok(
            "CreateTable",
            json!({
                "TableName": name,
                "AttributeDefinitions": [{"AttributeName": "leaseKey", "AttributeType": "S"}],
                "KeySchema": [{"AttributeName": "leaseKey", "KeyType": "HASH"}],
                "BillingMode": "PAY_PER_REQUEST",
            }),
        )
        .await;
        self.clock.advance(DELAY);
    }

    /// Creates a hash+range table and waits until it is ACTIVE.
    pub async fn range_table(&self, name: &str) {
        self.ok("CreateTable", json!({
            "TableName": name,
            "AttributeDefinitions": [
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "N"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
        })).await;
        self.clock.advance(DELAY);
    }
}
