//! Test support shared by the Kafka crate's integration tests: here, a broker over a temporary engine and a typed
//! request/response round trip through the real wire encoding (requests encoded as a client would, responses
//! decoded as a client would); `records`: batches and data-path requests; `group_harness`: extra connections for
//! group tests; `admin`: admin-test helpers; `cluster`: a 3-node cluster view and a socket front.
#![allow(dead_code, unreachable_pub)]

pub mod admin;
pub mod cluster;
pub mod group_harness;
pub mod records;
pub mod share;

use bytes::BytesMut;
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use strait_engine::{Engine, EngineConfig};
use strait_kafka::{Broker, BrokerConfig, Session};

pub struct TestBroker {
    pub broker: Broker,
    pub session: Session,
    pub dir: tempfile::TempDir,
    correlation: i32,
}

impl TestBroker {
    pub async fn new() -> TestBroker {
        Self::with_config(BrokerConfig::default()).await
    }

    pub async fn with_config(cfg: BrokerConfig) -> TestBroker {
        Self::open_in(tempfile::tempdir().expect("tempdir"), cfg).await
    }

    /// Shuts the engine down cleanly and opens a new broker over the same data directory (a restart).
    pub async fn restart(self) -> TestBroker {
        let cfg = self.broker.config().clone();
        self.broker.engine().shutdown().await.expect("shutdown");
        let TestBroker { broker, dir, .. } = self;
        drop(broker);
        Self::open_in(dir, cfg).await
    }

    pub async fn open_in(dir: tempfile::TempDir, cfg: BrokerConfig) -> TestBroker {
        let engine = Engine::open(EngineConfig {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        })
        .await
        .expect("engine");
        TestBroker {
            broker: Broker::new(engine, cfg),
            session: Session::default(),
            dir,
            correlation: 0,
        }
    }

    /// Sends `req` at `version` and decodes the response; `None` if the broker sent no response.
    pub async fn try_call<R: Request>(
        &mut self,
        version: i16,
        req: &R,
    ) -> Result<Option<R::Response>, strait_kafka::KafkaError> {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("strait-test")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version).expect("encode request");
        let Some(mut resp) = self.broker.handle(&mut self.session, buf.freeze()).await? else {
            return Ok(None);
        };
        let rh = ResponseHeader::decode(&mut resp, R::Response::header_version(version))
            .expect("response header");
        assert_eq!(rh.correlation_id, self.correlation);
        let body = R::Response::decode(&mut resp, version).expect("decode response");
        assert!(resp.is_empty(), "no trailing bytes in response");
        Ok(Some(body))
    }

    pub async fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        self.try_call(version, req)
            .await
            .expect("request handled")
            .expect("a response")
    }

    pub async fn shutdown(self) {
        self.broker.engine().shutdown().await.expect("shutdown");
    }
}
