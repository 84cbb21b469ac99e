//! Shared helpers of the transport's integration tests: a handler with a few test methods, configs on
//! 127.0.0.1 port 0, and peer wiring.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)] // each test binary uses a different subset; tests fail loudly

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use strait_cluster::{
    Backoff, Handler, Method, NodeId, RemoteError, Transport, TransportConfig, handler_fn,
};

/// Returns the payload.
pub const ECHO: Method = Method(1);
/// Fails with code 42 and the payload as message.
pub const FAIL: Method = Method(2);
/// Sleeps for the payload's u64 BE milliseconds, then returns the payload.
pub const SLEEP: Method = Method(3);
/// Panics.
pub const PANIC: Method = Method(4);
/// Returns twice as many bytes as it got.
pub const DOUBLE: Method = Method(5);

pub const T: Duration = Duration::from_secs(5);

pub fn basic_handler() -> Arc<dyn Handler> {
    handler_fn(|_from, _group, method, payload: Bytes| async move {
        match method {
            ECHO => Ok(payload),
            FAIL => Err(RemoteError {
                code: 42,
                message: String::from_utf8_lossy(&payload).into_owned(),
            }),
            SLEEP => {
                let ms = u64::from_be_bytes(payload[..8].try_into().unwrap());
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(payload)
            }
            PANIC => panic!("test handler panics on purpose"),
            DOUBLE => Ok(Bytes::from(vec![7u8; payload.len() * 2])),
            other => Err(RemoteError {
                code: 1,
                message: format!("no method {other:?}"),
            }),
        }
    })
}

pub fn sleep_ms(ms: u64) -> Bytes {
    Bytes::copy_from_slice(&ms.to_be_bytes())
}

pub fn config(node: NodeId, cluster: &str) -> TransportConfig {
    let mut c = TransportConfig::new(node, cluster, "127.0.0.1:0".parse().unwrap());
    c.reconnect_backoff = Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(200),
    };
    c
}

pub async fn start(node: NodeId, cluster: &str) -> Transport {
    Transport::start(config(node, cluster), basic_handler())
        .await
        .unwrap()
}

/// Gives every transport every other one as a peer.
pub fn mesh(all: &[&Transport]) {
    for t in all {
        let peers: HashMap<_, _> = all
            .iter()
            .filter(|o| o.node_id() != t.node_id())
            .map(|o| (o.node_id(), o.local_addr()))
            .collect();
        t.set_peers(peers);
    }
}

pub fn peers(list: &[&Transport]) -> HashMap<NodeId, std::net::SocketAddr> {
    list.iter().map(|t| (t.node_id(), t.local_addr())).collect()
}
