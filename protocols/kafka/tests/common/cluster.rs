//! A test-only multi-node cluster view and a socket front for a broker that uses it.
//!
//! [`TestView`]: three nodes (ids 1–3) with distinct endpoints and racks; this broker is node 1. Per partition
//! the test sets the leader (or none), the epoch, the replicas and the ISR; per key the coordinator (or none).
//! Unset partitions are led here at the log's own epoch with all three nodes as replicas; unset keys are
//! coordinated here, so the coordinators behave as on one node until a test says otherwise.
//!
//! [`SocketBroker`]: the broker behind a real 127.0.0.1 listener with Kafka's framing (4-byte length prefix),
//! and [`SocketClient`]: a client that encodes requests and decodes responses with the kafka-protocol crate's
//! client side, as the other tests do, but through a TCP connection.
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::{RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, HeaderVersion, Request, StrBytes};
use strait_engine::cluster::{
    ClusterView, Coordinator, CoordinatorKind, Endpoint, LeadershipHook, NodeId, NodeInfo,
    PartitionLeadership,
};
use strait_engine::{Engine, EngineConfig};
use strait_kafka::{Broker, BrokerConfig, Session};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// This broker's node id in [`TestView`].
pub const LOCAL: NodeId = 1;

/// Where node `id` says clients reach its Kafka listener.
pub fn port_of(id: NodeId) -> u16 {
    19_090 + id as u16
}

pub fn rack_of(id: NodeId) -> String {
    format!("az-{id}")
}

fn node(id: NodeId) -> NodeInfo {
    NodeInfo {
        id,
        rack: Some(rack_of(id)),
        endpoints: vec![
            Endpoint {
                listener: "kafka".into(),
                host: format!("127.0.0.{id}"),
                port: port_of(id),
            },
            // Another listener, which Kafka responses must never name.
            Endpoint {
                listener: "kinesis".into(),
                host: format!("127.0.0.{id}"),
                port: 4565 + id as u16,
            },
        ],
    }
}

#[derive(Debug, Default)]
struct State {
    partitions: HashMap<(String, u32), Option<PartitionLeadership>>,
    coordinators: HashMap<(CoordinatorKind, String), Option<NodeId>>,
}

/// Three nodes, node 1 local; leaderships and coordinators settable while the broker runs.
#[derive(Debug)]
pub struct TestView {
    controller: Option<NodeId>,
    state: Mutex<State>,
}

impl TestView {
    pub fn new(controller: Option<NodeId>) -> Arc<TestView> {
        Arc::new(TestView {
            controller,
            state: Mutex::new(State::default()),
        })
    }

    /// `leader: None`: the partition has no leader right now.
    pub fn set_leader(
        &self,
        topic: &str,
        partition: u32,
        leader: Option<NodeId>,
        epoch: Option<i32>,
        replicas: &[NodeId],
        isr: &[NodeId],
    ) {
        let l = leader.map(|leader| PartitionLeadership {
            leader,
            leader_epoch: epoch,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
        });
        self.state
            .lock()
            .expect("lock")
            .partitions
            .insert((topic.to_string(), partition), l);
    }

    /// `node: None`: no node coordinates the key right now.
    pub fn set_coordinator(&self, kind: CoordinatorKind, key: &str, node: Option<NodeId>) {
        self.state
            .lock()
            .expect("lock")
            .coordinators
            .insert((kind, key.to_string()), node);
    }
}

impl ClusterView for TestView {
    fn local_node(&self) -> NodeId {
        LOCAL
    }

    fn nodes(&self) -> Vec<NodeInfo> {
        (1..=3).map(node).collect()
    }

    fn controller(&self) -> Option<NodeId> {
        self.controller
    }

    fn partition_leadership(&self, topic: &str, partition: u32) -> Option<PartitionLeadership> {
        let st = self.state.lock().expect("lock");
        match st.partitions.get(&(topic.to_string(), partition)) {
            Some(l) => l.clone(),
            None => Some(PartitionLeadership {
                leader: LOCAL,
                leader_epoch: None,
                replicas: vec![1, 2, 3],
                isr: vec![1, 2, 3],
            }),
        }
    }

    fn coordinator(&self, kind: CoordinatorKind, key: &str) -> Option<Coordinator> {
        let st = self.state.lock().expect("lock");
        let node = match st.coordinators.get(&(kind, key.to_string())) {
            Some(n) => *n,
            None => Some(LOCAL),
        };
        node.map(|node| Coordinator { node, partition: 0 })
    }

    /// Coordinators run here from the start (unset keys are local), as with a single node.
    fn on_leadership(&self, hook: LeadershipHook) {
        for kind in CoordinatorKind::ALL {
            hook(
                &strait_engine::cluster::LeadershipEvent::BecameCoordinator { kind, partition: 0 },
            );
        }
    }
}

/// A broker over a temporary engine, with `view`, behind a 127.0.0.1 listener.
pub struct SocketBroker {
    pub broker: Broker,
    pub addr: SocketAddr,
    pub view: Arc<TestView>,
    server: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

impl SocketBroker {
    pub async fn start(view: Arc<TestView>) -> SocketBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(EngineConfig {
            data_dir: dir.path().to_path_buf(),
            ..Default::default()
        })
        .await
        .expect("engine");
        let broker = Broker::new(
            engine,
            BrokerConfig {
                node_id: LOCAL,
                cluster: Some(view.clone()),
                ..Default::default()
            },
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let b = broker.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                tokio::spawn(connection(b.clone(), stream, peer));
            }
        });
        SocketBroker {
            broker,
            addr,
            view,
            server,
            _dir: dir,
        }
    }

    pub async fn client(&self) -> SocketClient {
        SocketClient {
            stream: TcpStream::connect(self.addr).await.expect("connect"),
            correlation: 0,
        }
    }

    pub async fn create_topic(&self, name: &str, partitions: u32) {
        self.broker
            .engine()
            .create_topic(name, partitions, Default::default())
            .await
            .expect("topic");
    }

    pub async fn shutdown(self) {
        self.server.abort();
        self.broker.engine().shutdown().await.expect("shutdown");
    }
}

/// One connection: length-prefixed frames in, responses out in order (none for acks=0), closed on an error.
async fn connection(broker: Broker, mut stream: TcpStream, peer: SocketAddr) {
    let mut session = Session {
        peer: Some(peer),
        ..Session::default()
    };
    loop {
        let mut len = [0u8; 4];
        if stream.read_exact(&mut len).await.is_err() {
            return;
        }
        let mut frame = vec![0u8; u32::from_be_bytes(len) as usize];
        if stream.read_exact(&mut frame).await.is_err() {
            return;
        }
        match broker.handle(&mut session, Bytes::from(frame)).await {
            Ok(Some(resp)) => {
                let mut out = Vec::with_capacity(resp.len() + 4);
                out.extend_from_slice(&(resp.len() as u32).to_be_bytes());
                out.extend_from_slice(&resp);
                if stream.write_all(&out).await.is_err() {
                    return;
                }
            }
            Ok(None) => {}
            Err(_) => return,
        }
    }
}

/// A Kafka client connection over TCP.
pub struct SocketClient {
    stream: TcpStream,
    correlation: i32,
}

impl SocketClient {
    pub async fn call<R: Request>(&mut self, version: i16, req: &R) -> R::Response {
        self.correlation += 1;
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(self.correlation)
            .with_client_id(Some(StrBytes::from_static_str("cluster-test")));
        let mut buf = BytesMut::new();
        header
            .encode(&mut buf, R::header_version(version))
            .expect("encode header");
        req.encode(&mut buf, version).expect("encode request");
        let mut frame = (buf.len() as u32).to_be_bytes().to_vec();
        frame.extend_from_slice(&buf);
        self.stream.write_all(&frame).await.expect("send");
        let mut len = [0u8; 4];
        self.stream
            .read_exact(&mut len)
            .await
            .expect("response length");
        let mut body = vec![0u8; u32::from_be_bytes(len) as usize];
        self.stream.read_exact(&mut body).await.expect("response");
        let mut resp = Bytes::from(body);
        let rh = ResponseHeader::decode(&mut resp, R::Response::header_version(version))
            .expect("response header");
        assert_eq!(rh.correlation_id, self.correlation);
        let decoded = R::Response::decode(&mut resp, version).expect("decode response");
        assert!(resp.is_empty(), "no trailing bytes in response");
        decoded
    }
}
