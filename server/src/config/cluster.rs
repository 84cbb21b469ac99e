//! The `[cluster]` section: which nodes form the cluster, how they reach each other, and Raft timing.
//!
//! Absent, the node runs alone exactly as before. Present, it names this node (`node_id`), the other nodes
//! (`peers`, each with its inter-node address and the Kafka and AWS addresses clients are sent to) and the
//! cluster-wide settings every node must agree on (`cluster_id`, `replication_factor`, `raft`). Every node of a
//! cluster may carry the same `peers` list (this node's own entry is then checked against its settings) or list
//! only the others.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};

use serde::{Deserialize, Serialize};

use super::{AwsConfig, KafkaConfig};

/// Default port of the inter-node listener: Kafka's 9092 plus 10000, clear of the Kafka (9092-9100), AWS
/// (4566-4574) and admin (9644-9652) ports that `strait dev --nodes 9` uses.
pub const DEFAULT_CLUSTER_PORT: u16 = 19092;

/// Longest cluster id: the inter-node handshake carries it with a one-byte length.
const MAX_CLUSTER_ID_BYTES: usize = 255;

/// This node's membership in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// This node's id, unique in the cluster and never reused for another machine's data. Required. It is also
    /// the Kafka broker id: `kafka.node_id` must be left out or equal.
    pub node_id: i32,
    /// Name of the cluster. Required. Nodes refuse connections from peers that present another one, so a wrong
    /// peer list cannot merge two clusters. It is also the Kafka cluster id: `kafka.cluster_id` must be left out
    /// or equal.
    pub cluster_id: String,
    /// This node's rack (availability zone). Replicas of a partition are spread across racks. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
    /// Address of the inter-node listener (Raft and forwarded requests). Default `127.0.0.1:19092`: loopback,
    /// like every other listener; a cluster across machines sets a reachable address or `0.0.0.0:19092`.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Local IP address outbound inter-node connections are made from. Default: the OS chooses. Nodes sharing
    /// one machine on 127.0.0.1/.2/.3 set their own, so peers see each connection come from its node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_address: Option<IpAddr>,
    /// `host:port` Kafka clients are sent to for this node (Metadata, FindCoordinator). Default:
    /// `kafka.advertised_host`/`advertised_port`, else `kafka.listen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_kafka: Option<String>,
    /// `host:port` of this node's AWS API. Default: `aws.listen`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advertised_aws: Option<String>,
    /// Replicas of each partition. Default: 3, or the number of nodes when fewer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u16>,
    /// Raft timing.
    #[serde(default)]
    pub raft: RaftTiming,
    /// The nodes of the cluster. This node may be listed (then its entry must match the settings above) or not.
    #[serde(default)]
    pub peers: Vec<PeerConfig>,
}

/// One node of the cluster as the others see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerConfig {
    /// The node's `cluster.node_id`.
    pub id: i32,
    /// Its inter-node listener, as this node dials it.
    pub address: SocketAddr,
    /// `host:port` Kafka clients are sent to for it.
    pub kafka: String,
    /// `host:port` of its AWS API.
    pub aws: String,
    /// Its rack (availability zone). Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rack: Option<String>,
}

/// Raft timing, the same on every node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftTiming {
    /// How often a leader tells its followers it is alive. Default 250.
    pub heartbeat_ms: u64,
    /// A follower that hears no leader for a random time between `election_min_ms` and `election_max_ms` starts
    /// an election. The minimum must exceed the heartbeat (several missed heartbeats, not one late one, start an
    /// election); the spread keeps candidates from splitting the vote forever. Defaults 1000 and 2000: a failed
    /// leader is replaced within about 2 s.
    pub election_min_ms: u64,
    pub election_max_ms: u64,
}

impl Default for RaftTiming {
    fn default() -> Self {
        RaftTiming {
            heartbeat_ms: 250,
            election_min_ms: 1000,
            election_max_ms: 2000,
        }
    }
}

/// One node of the cluster, this one included, with every address resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterNode {
    pub id: i32,
    /// Inter-node address.
    pub address: SocketAddr,
    /// Advertised Kafka `host:port`.
    pub kafka: String,
    /// Advertised AWS-API `host:port`.
    pub aws: String,
    pub rack: Option<String>,
    /// Whether this is the node the configuration belongs to.
    pub is_self: bool,
}

/// A `[cluster]` section that cannot work; each message names the setting and says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClusterConfigError {
    #[error("{key} = {id}: node ids must be 0 or greater")]
    NegativeId { key: String, id: i32 },
    #[error("cluster.cluster_id must be 1 to 255 bytes long (it is {len})")]
    ClusterIdLength { len: usize },
    #[error("{key} is empty: give a rack (availability zone) name, or leave the setting out")]
    EmptyRack { key: String },
    #[error("cluster.peers lists node id {id} twice: each node must appear once")]
    DuplicateId { id: i32 },
    #[error("node {id}'s {what} {address} is also node {other}'s: each node needs its own")]
    DuplicateAddress {
        id: i32,
        what: &'static str,
        address: String,
        other: i32,
    },
    #[error(
        "{key} = {listed}, but this node (cluster.node_id = {id}) has {own}: make its cluster.peers entry match, \
         or leave this node out of cluster.peers"
    )]
    SelfMismatch {
        key: String,
        id: i32,
        listed: String,
        own: String,
    },
    #[error("{key} = {address} cannot be dialled by other nodes or clients: {fix}")]
    Unreachable {
        key: String,
        address: String,
        fix: &'static str,
    },
    #[error(
        "{key} = {value:?} is not host:port (e.g. \"10.0.0.1:9092\" or \"broker-1.example.com:9092\")"
    )]
    HostPort { key: String, value: String },
    #[error(
        "cluster.replication_factor = {value} must be between 1 and the number of nodes ({nodes}, this node \
         and cluster.peers)"
    )]
    ReplicationFactor { value: u16, nodes: usize },
    #[error("cluster.raft.heartbeat_ms must be at least 1")]
    HeartbeatZero,
    #[error(
        "cluster.raft.heartbeat_ms = {heartbeat} must be below cluster.raft.election_min_ms = {election_min}, \
         or followers start elections against a live leader"
    )]
    HeartbeatNotBelowElection { heartbeat: u64, election_min: u64 },
    #[error(
        "cluster.raft.election_min_ms = {min} must not exceed cluster.raft.election_max_ms = {max}"
    )]
    ElectionRange { min: u64, max: u64 },
    #[error(
        "{key} = {value:?} conflicts with cluster.{cluster_key} = {cluster_value:?}: with a [cluster] section, \
         set only cluster.{cluster_key} (or make them equal)"
    )]
    KafkaIdentity {
        key: &'static str,
        value: String,
        cluster_key: &'static str,
        cluster_value: String,
    },
}

fn default_listen() -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, DEFAULT_CLUSTER_PORT))
}

impl ClusterConfig {
    /// Every node of the cluster (this one and its peers), sorted by id. Call on a validated configuration;
    /// on an invalid one the result is unspecified.
    pub fn nodes(&self, kafka: &KafkaConfig, aws: &AwsConfig) -> Vec<ClusterNode> {
        let mut nodes: BTreeMap<i32, ClusterNode> = self
            .peers
            .iter()
            .map(|p| {
                let node = ClusterNode {
                    id: p.id,
                    address: p.address,
                    kafka: p.kafka.clone(),
                    aws: p.aws.clone(),
                    rack: p.rack.clone(),
                    is_self: p.id == self.node_id,
                };
                (p.id, node)
            })
            .collect();
        nodes.entry(self.node_id).or_insert_with(|| ClusterNode {
            id: self.node_id,
            address: self.listen,
            kafka: self.own_kafka(kafka),
            aws: self.own_aws(aws),
            rack: self.rack.clone(),
            is_self: true,
        });
        nodes.into_values().collect()
    }

    /// The replication factor in effect: the configured one, else 3 or the node count when smaller.
    pub fn effective_replication_factor(&self, node_count: usize) -> u16 {
        self.replication_factor
            .unwrap_or_else(|| u16::try_from(node_count.min(3)).unwrap_or(3))
    }

    fn own_kafka(&self, kafka: &KafkaConfig) -> String {
        if let Some(a) = &self.advertised_kafka {
            return a.clone();
        }
        let host = kafka
            .advertised_host
            .clone()
            .unwrap_or_else(|| kafka.listen.ip().to_string());
        let port = kafka.advertised_port.unwrap_or(kafka.listen.port());
        host_port(&host, port)
    }

    fn own_aws(&self, aws: &AwsConfig) -> String {
        self.advertised_aws
            .clone()
            .unwrap_or_else(|| aws.listen.to_string())
    }

    /// Checks what the types cannot express: ids, uniqueness, this node's own entry, reachable addresses,
    /// replication factor and Raft timing.
    pub fn validate(&self, kafka: &KafkaConfig, aws: &AwsConfig) -> Result<(), ClusterConfigError> {
        use ClusterConfigError as E;
        if self.node_id < 0 {
            return Err(E::NegativeId {
                key: "cluster.node_id".into(),
                id: self.node_id,
            });
        }
        if self.cluster_id.is_empty() || self.cluster_id.len() > MAX_CLUSTER_ID_BYTES {
            return Err(E::ClusterIdLength {
                len: self.cluster_id.len(),
            });
        }
        if self.rack.as_deref() == Some("") {
            return Err(E::EmptyRack {
                key: "cluster.rack".into(),
            });
        }
        for (key, value) in [
            ("cluster.advertised_kafka", &self.advertised_kafka),
            ("cluster.advertised_aws", &self.advertised_aws),
        ] {
            if let Some(v) = value {
                check_host_port(key, v)?;
            }
        }
        self.validate_peers()?;
        let nodes = self.nodes(kafka, aws);
        self.validate_self(&nodes)?;
        check_unique(&nodes)?;
        let rf = self.effective_replication_factor(nodes.len());
        if rf == 0 || usize::from(rf) > nodes.len() {
            return Err(E::ReplicationFactor {
                value: rf,
                nodes: nodes.len(),
            });
        }
        self.raft.validate()
    }

    fn validate_peers(&self) -> Result<(), ClusterConfigError> {
        use ClusterConfigError as E;
        let mut seen = std::collections::BTreeSet::new();
        for (i, p) in self.peers.iter().enumerate() {
            if p.id < 0 {
                return Err(E::NegativeId {
                    key: format!("cluster.peers[{i}].id"),
                    id: p.id,
                });
            }
            if !seen.insert(p.id) {
                return Err(E::DuplicateId { id: p.id });
            }
            check_host_port(&format!("cluster.peers[{i}].kafka"), &p.kafka)?;
            check_host_port(&format!("cluster.peers[{i}].aws"), &p.aws)?;
            if p.rack.as_deref() == Some("") {
                return Err(E::EmptyRack {
                    key: format!("cluster.peers[{i}].rack"),
                });
            }
        }
        Ok(())
    }

    /// This node's own entry, listed or derived, must agree with its settings and be reachable by the others.
    fn validate_self(&self, nodes: &[ClusterNode]) -> Result<(), ClusterConfigError> {
        use ClusterConfigError as E;
        let Some(listed) = self.peers.iter().position(|p| p.id == self.node_id) else {
            // Derived from this node's listeners, so it is only wrong when those are not dialable.
            let me = nodes.iter().find(|n| n.is_self);
            if let Some(me) = me {
                check_dialable(
                    "cluster.listen",
                    me.address,
                    "set it to this node's reachable address, or list this node in cluster.peers with one",
                )?;
                for (key, value) in [
                    ("cluster.advertised_kafka", &me.kafka),
                    ("cluster.advertised_aws", &me.aws),
                ] {
                    if let Ok(addr) = value.parse::<SocketAddr>() {
                        check_dialable(
                            key,
                            addr,
                            "set it to the address clients should use for this node",
                        )?;
                    }
                }
            }
            return Ok(());
        };
        let entry = &self.peers[listed];
        let key = |field: &str| format!("cluster.peers[{listed}].{field}");
        let mismatch = |field: &str, listed: String, own: String| E::SelfMismatch {
            key: key(field),
            id: self.node_id,
            listed,
            own,
        };
        // An unspecified listen address (0.0.0.0) accepts on every interface, so only the port must agree.
        let listen_ok = if self.listen.ip().is_unspecified() {
            entry.address.port() == self.listen.port()
        } else {
            entry.address == self.listen
        };
        if !listen_ok {
            return Err(mismatch(
                "address",
                entry.address.to_string(),
                format!("cluster.listen = {}", self.listen),
            ));
        }
        let listed_rack = entry.rack.clone().unwrap_or_default();
        for (field, value, own_key, own) in [
            (
                "kafka",
                &entry.kafka,
                "advertised_kafka",
                &self.advertised_kafka,
            ),
            ("aws", &entry.aws, "advertised_aws", &self.advertised_aws),
            ("rack", &listed_rack, "rack", &self.rack),
        ] {
            if let Some(own) = own
                && own != value
            {
                return Err(mismatch(
                    field,
                    value.clone(),
                    format!("cluster.{own_key} = {own}"),
                ));
            }
        }
        check_dialable(
            &key("address"),
            entry.address,
            "give the address other nodes dial",
        )?;
        Ok(())
    }
}

impl RaftTiming {
    fn validate(&self) -> Result<(), ClusterConfigError> {
        use ClusterConfigError as E;
        if self.heartbeat_ms == 0 {
            return Err(E::HeartbeatZero);
        }
        if self.heartbeat_ms >= self.election_min_ms {
            return Err(E::HeartbeatNotBelowElection {
                heartbeat: self.heartbeat_ms,
                election_min: self.election_min_ms,
            });
        }
        if self.election_min_ms > self.election_max_ms {
            return Err(E::ElectionRange {
                min: self.election_min_ms,
                max: self.election_max_ms,
            });
        }
        Ok(())
    }
}

/// No two nodes share an inter-node, Kafka or AWS address.
fn check_unique(nodes: &[ClusterNode]) -> Result<(), ClusterConfigError> {
    type Field = (&'static str, fn(&ClusterNode) -> String);
    let fields: [Field; 3] = [
        ("inter-node address", |n| n.address.to_string()),
        ("Kafka address", |n| n.kafka.clone()),
        ("AWS address", |n| n.aws.clone()),
    ];
    for (what, get) in fields {
        let mut seen: BTreeMap<String, i32> = BTreeMap::new();
        for n in nodes {
            if let Some(&other) = seen.get(&get(n)) {
                return Err(ClusterConfigError::DuplicateAddress {
                    id: n.id,
                    address: get(n),
                    what,
                    other,
                });
            }
            seen.insert(get(n), n.id);
        }
    }
    Ok(())
}

fn check_dialable(
    key: &str,
    addr: SocketAddr,
    fix: &'static str,
) -> Result<(), ClusterConfigError> {
    if addr.ip().is_unspecified() || addr.port() == 0 {
        return Err(ClusterConfigError::Unreachable {
            key: key.to_string(),
            address: addr.to_string(),
            fix,
        });
    }
    Ok(())
}

/// `host:port` with a non-empty host and a non-zero port; IPv6 hosts in brackets.
fn check_host_port(key: &str, value: &str) -> Result<(), ClusterConfigError> {
    let bad = || ClusterConfigError::HostPort {
        key: key.to_string(),
        value: value.to_string(),
    };
    if value.parse::<SocketAddr>().is_ok_and(|a| a.port() != 0) {
        return Ok(());
    }
    let (host, port) = value.rsplit_once(':').ok_or_else(bad)?;
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    match port.parse::<u16>() {
        Ok(p) if p != 0 && host_ok => Ok(()),
        _ => Err(bad()),
    }
}

/// `host:port`, bracketing IPv6 literals.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
