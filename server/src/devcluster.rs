//! `strait dev --nodes N`: a local N-node cluster, one `strait serve` process per node.
//!
//! The plan ([`plan`]) is pure: from the effective single-node dev configuration (defaults, `STRAIT_*`
//! variables, flags) it derives each node's directory, ports and `[cluster]` section. Node i (1-based) gets the
//! base Kafka, AWS, admin and inter-node ports plus i-1, rack `dev-a`/`dev-b`/`dev-c` in turn, and its data and
//! generated `strait.toml` in `<data_dir>/node-<i>` (rewritten at each start; data is kept). The
//! [`supervisor`] then runs the nodes as separate processes, so any one can be `kill -9`ed, and stops them all on
//! SIGINT/SIGTERM.

mod supervisor;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::cli::{DevArgs, Fsync};
use crate::config::{self, ClusterConfig, Config, DEFAULT_CLUSTER_PORT, PeerConfig, RaftTiming};

/// The cluster id of dev clusters (also single-node `strait dev`'s Kafka cluster id).
pub const DEV_CLUSTER_ID: &str = "strait-dev";
/// Racks assigned round robin, so replicas of a 3-node dev cluster land in three "zones".
pub const DEV_RACKS: [&str; 3] = ["dev-a", "dev-b", "dev-c"];
/// Name of each node's generated configuration file inside its directory.
pub const NODE_CONFIG_FILE: &str = "strait.toml";

/// Why a dev cluster cannot be planned or started.
#[derive(Debug, thiserror::Error)]
pub enum DevClusterError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(
        "{flag} = {addr}: a multi-node dev cluster needs a fixed port (node i uses it plus i-1, and every node \
         must know the others' addresses); give a non-zero port"
    )]
    PortZero {
        flag: &'static str,
        addr: SocketAddr,
    },
    #[error("{flag} = {addr}: node {nodes} would need port {addr_port} + {offset}, past 65535; pick a lower port", addr_port = .addr.port(), offset = .nodes - 1)]
    PortOverflow {
        flag: &'static str,
        addr: SocketAddr,
        nodes: u8,
    },
    #[error("cannot resolve the data directory {}: {source}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render node {id}'s configuration: {source}")]
    Render {
        id: i32,
        #[source]
        source: toml::ser::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "node {id} would not use its generated {what} ({planned}) but {effective}: a STRAIT_* environment \
         variable overrides it; unset it for multi-node dev clusters"
    )]
    EnvOverride {
        id: i32,
        what: &'static str,
        planned: String,
        effective: String,
    },
    #[error("cannot find the strait executable to start the nodes: {0}")]
    CurrentExe(#[source] std::io::Error),
    #[error("cannot start the supervisor's async runtime or signal handlers: {0}")]
    Runtime(#[source] std::io::Error),
}

/// One node of a planned dev cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevNode {
    pub id: i32,
    pub dir: PathBuf,
    pub config_path: PathBuf,
    pub kafka: SocketAddr,
    pub aws: SocketAddr,
    pub admin: SocketAddr,
    pub cluster: SocketAddr,
    pub rack: &'static str,
    /// The generated `strait.toml`.
    pub config_text: String,
}

/// A planned dev cluster: every node with its generated configuration.
#[derive(Debug, Clone)]
pub struct DevPlan {
    pub nodes: Vec<DevNode>,
    /// How long each node may take to stop after SIGTERM: its `node.shutdown_grace_ms`.
    pub shutdown_grace_ms: u64,
}

/// What is written to `<dir>/strait.toml`: only what differs per node, so `STRAIT_*` variables and the
/// built-in defaults still apply to the rest, exactly as for single-node `strait dev`.
#[derive(Serialize)]
struct NodeFile<'a> {
    node: NodeSection<'a>,
    kafka: Listen,
    aws: AwsSection,
    admin: Listen,
    #[serde(skip_serializing_if = "Option::is_none")]
    engine: Option<EngineSection>,
    cluster: &'a ClusterConfig,
}

#[derive(Serialize)]
struct NodeSection<'a> {
    data_dir: &'a Path,
}

#[derive(Serialize)]
struct Listen {
    listen: SocketAddr,
}

/// The children run `strait serve`, whose default is `aws.auth = "sigv4"`; a dev cluster keeps dev's "any key"
/// (a `STRAIT_AWS__AUTH` in the environment still overrides the file, as for single-node `strait dev`).
#[derive(Serialize)]
struct AwsSection {
    listen: SocketAddr,
    auth: &'static str,
}

#[derive(Serialize)]
struct EngineSection {
    fsync: &'static str,
}

/// Plans an `args.nodes`-node cluster from the effective dev configuration `base` (defaults, environment and
/// `args`' flags layered as for single-node `strait dev`).
pub fn plan(args: &DevArgs, base: &Config) -> Result<DevPlan, DevClusterError> {
    let n = args.nodes;
    let cluster_base = args.cluster_addr.unwrap_or(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        DEFAULT_CLUSTER_PORT,
    ));
    let bases = [
        ("--kafka-addr", base.kafka.listen),
        ("--aws-addr", base.aws.listen),
        ("--admin-addr", base.admin.listen),
        ("--cluster-addr", cluster_base),
    ];
    for (flag, addr) in bases {
        if addr.port() == 0 {
            return Err(DevClusterError::PortZero { flag, addr });
        }
        if usize::from(addr.port()) + usize::from(n) - 1 > usize::from(u16::MAX) {
            return Err(DevClusterError::PortOverflow {
                flag,
                addr,
                nodes: n,
            });
        }
    }
    let root =
        std::path::absolute(&base.node.data_dir).map_err(|source| DevClusterError::DataDir {
            path: base.node.data_dir.clone(),
            source,
        })?;
    let at = |addr: SocketAddr, i: u8| SocketAddr::new(addr.ip(), addr.port() + u16::from(i));
    let mut nodes: Vec<DevNode> = (0..n)
        .map(|i| {
            let dir = root.join(format!("node-{}", i + 1));
            DevNode {
                id: i32::from(i) + 1,
                config_path: dir.join(NODE_CONFIG_FILE),
                dir,
                kafka: at(base.kafka.listen, i),
                aws: at(base.aws.listen, i),
                admin: at(base.admin.listen, i),
                cluster: at(cluster_base, i),
                rack: DEV_RACKS[usize::from(i) % DEV_RACKS.len()],
                config_text: String::new(),
            }
        })
        .collect();
    let peers: Vec<PeerConfig> = nodes
        .iter()
        .map(|node| PeerConfig {
            id: node.id,
            address: node.cluster,
            kafka: dialable(node.kafka).to_string(),
            aws: dialable(node.aws).to_string(),
            rack: Some(node.rack.to_string()),
        })
        .collect();
    for node in &mut nodes {
        node.config_text = render(node, &peers, args.fsync, n)?;
    }
    Ok(DevPlan {
        nodes,
        shutdown_grace_ms: base.node.shutdown_grace_ms,
    })
}

fn render(
    node: &DevNode,
    peers: &[PeerConfig],
    fsync: Option<Fsync>,
    n: u8,
) -> Result<String, DevClusterError> {
    let cluster = ClusterConfig {
        node_id: node.id,
        cluster_id: DEV_CLUSTER_ID.to_string(),
        rack: Some(node.rack.to_string()),
        listen: node.cluster,
        source_address: None,
        advertised_kafka: None,
        advertised_aws: None,
        replication_factor: None,
        raft: RaftTiming::default(),
        peers: peers.to_vec(),
    };
    let file = NodeFile {
        node: NodeSection {
            data_dir: &node.dir,
        },
        kafka: Listen { listen: node.kafka },
        aws: AwsSection {
            listen: node.aws,
            auth: "none",
        },
        admin: Listen { listen: node.admin },
        engine: fsync.map(|f| EngineSection {
            fsync: match f {
                Fsync::Always => "always",
                Fsync::Interval => "interval",
            },
        }),
        cluster: &cluster,
    };
    let body = toml::to_string_pretty(&file).map_err(|source| DevClusterError::Render {
        id: node.id,
        source,
    })?;
    Ok(format!(
        "# Node {id} of a {n}-node cluster, generated by `strait dev --nodes {n}`; rewritten at each start.\n\
         # Run it alone with: strait serve --config {path}\n\n{body}",
        id = node.id,
        path = node.config_path.display(),
    ))
}

/// The address to dial for a listener: an unspecified bind address (0.0.0.0) is reached on loopback.
pub fn dialable(addr: SocketAddr) -> SocketAddr {
    if addr.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), addr.port())
    } else {
        addr
    }
}

/// Writes every node's configuration (creating its directory), then loads each back as `strait serve` will,
/// so a bad file or an overriding `STRAIT_*` variable stops the start before any process runs.
pub fn write_configs(plan: &DevPlan) -> Result<(), DevClusterError> {
    for node in &plan.nodes {
        std::fs::create_dir_all(&node.dir).map_err(|source| DevClusterError::Write {
            path: node.dir.clone(),
            source,
        })?;
        std::fs::write(&node.config_path, &node.config_text).map_err(|source| {
            DevClusterError::Write {
                path: node.config_path.clone(),
                source,
            }
        })?;
        check_effective(node)?;
    }
    Ok(())
}

fn check_effective(node: &DevNode) -> Result<(), DevClusterError> {
    let cfg = config::load(
        Some(node.config_path.as_path()),
        config::Overrides::default(),
    )?;
    let cluster_listen = cfg.cluster.as_ref().map(|c| c.listen.to_string());
    let checks = [
        (
            "Kafka listener",
            node.kafka.to_string(),
            cfg.kafka.listen.to_string(),
        ),
        (
            "AWS listener",
            node.aws.to_string(),
            cfg.aws.listen.to_string(),
        ),
        (
            "admin listener",
            node.admin.to_string(),
            cfg.admin.listen.to_string(),
        ),
        (
            "data directory",
            node.dir.display().to_string(),
            cfg.node.data_dir.display().to_string(),
        ),
        (
            "inter-node listener",
            node.cluster.to_string(),
            cluster_listen.unwrap_or_else(|| "none".into()),
        ),
    ];
    for (what, planned, effective) in checks {
        if planned != effective {
            return Err(DevClusterError::EnvOverride {
                id: node.id,
                what,
                planned,
                effective,
            });
        }
    }
    Ok(())
}

/// The dry-run output: each node's file, headed by its path.
pub fn render_dry_run(plan: &DevPlan) -> String {
    let mut out = String::new();
    for node in &plan.nodes {
        out.push_str(&format!(
            "##### {}\n{}\n",
            node.config_path.display(),
            node.config_text
        ));
    }
    out
}

/// Runs `strait dev --nodes N` (N > 1): plans, writes the configurations, then supervises the nodes (or, with
/// `--dry-run`, prints the configurations and stops).
pub fn run(args: &DevArgs) -> ExitCode {
    match run_inner(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("strait: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_inner(args: &DevArgs) -> Result<ExitCode, DevClusterError> {
    let base = config::load(None, args.overrides())?;
    let plan = plan(args, &base)?;
    if args.dry_run {
        print!("{}", render_dry_run(&plan));
        return Ok(ExitCode::SUCCESS);
    }
    write_configs(&plan)?;
    let exe = std::env::current_exe().map_err(DevClusterError::CurrentExe)?;
    supervisor::supervise(&plan, &exe)
}

#[cfg(test)]
#[path = "devcluster/tests.rs"]
mod tests;
