//! The replication settings of a node, from its configuration's `[cluster]` section.

use strait_engine::cluster::{Endpoint, NodeInfo};
use strait_raft::Timing;

use super::ClusterSpec;
use crate::config::Config;

/// Splits `host:port` (an IPv6 host in brackets); `None` when it has no numeric port.
fn host_port(s: &str) -> Option<(String, u16)> {
    let (host, port) = s.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host.to_string(), port.parse().ok()?))
}

/// The cluster this node belongs to, or `None` for a single node (no `[cluster]` section).
pub fn from_config(cfg: &Config) -> Option<ClusterSpec> {
    let c = cfg.cluster.as_ref()?;
    let nodes = cfg.cluster_nodes()?;
    let rf = usize::from(c.effective_replication_factor(nodes.len()));
    Some(ClusterSpec {
        node_id: c.node_id,
        cluster_id: c.cluster_id.clone(),
        listen: c.listen,
        source_address: c.source_address,
        nodes: nodes
            .into_iter()
            .map(|n| {
                let mut endpoints = Vec::new();
                for (listener, addr) in [("kafka", &n.kafka), ("aws", &n.aws)] {
                    if let Some((host, port)) = host_port(addr) {
                        endpoints.push(Endpoint {
                            listener: listener.into(),
                            host,
                            port,
                        });
                    }
                }
                (
                    NodeInfo {
                        id: n.id,
                        rack: n.rack,
                        endpoints,
                    },
                    n.address,
                )
            })
            .collect(),
        replication_factor: rf,
        timing: Timing {
            heartbeat_ms: c.raft.heartbeat_ms,
            election_min_ms: c.raft.election_min_ms,
            election_max_ms: c.raft.election_max_ms,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::host_port;

    #[test]
    fn splits_host_and_port() {
        assert_eq!(
            host_port("127.0.0.1:9092"),
            Some(("127.0.0.1".into(), 9092))
        );
        assert_eq!(host_port("[::1]:9093"), Some(("::1".into(), 9093)));
        assert_eq!(
            host_port("broker-1.example.com:19092"),
            Some(("broker-1.example.com".into(), 19092))
        );
        assert_eq!(host_port("nope"), None);
    }
}
