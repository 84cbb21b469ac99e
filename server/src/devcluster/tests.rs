//! The generated node configurations: ports, peers, racks, and that `strait serve` accepts them.

// `Jail` closures must return `figment::Result`, whose error is large; that signature is figment's, not ours.
#![allow(clippy::result_large_err)]

use std::path::Path;

use clap::Parser;
use figment::Jail;

use super::*;
use crate::cli::{Cli, Command};
use crate::config::{Overrides, load};

fn dev_args(flags: &[&str]) -> DevArgs {
    let argv = ["strait", "dev"].iter().chain(flags).copied();
    match Cli::parse_from(argv).command {
        Command::Dev(args) => args,
        other => panic!("expected dev, got {other:?}"),
    }
}

fn plan_for(flags: &[&str]) -> Result<DevPlan, DevClusterError> {
    let args = dev_args(flags);
    let base = {
        let mut cfg = Config::default();
        // As `load` layers the flags, without reading the environment of the test process.
        if let Some(d) = &args.data_dir {
            cfg.node.data_dir = d.clone();
        }
        if let Some(a) = args.kafka_addr {
            cfg.kafka.listen = a;
        }
        if let Some(a) = args.aws_addr {
            cfg.aws.listen = a;
        }
        if let Some(a) = args.admin_addr {
            cfg.admin.listen = a;
        }
        cfg
    };
    plan(&args, &base)
}

fn addrs(plan: &DevPlan, f: fn(&DevNode) -> SocketAddr) -> Vec<String> {
    plan.nodes.iter().map(|n| f(n).to_string()).collect()
}

#[test]
fn three_nodes_get_consecutive_ports_racks_and_directories() {
    let plan = plan_for(&["--nodes", "3", "--data-dir", "/srv/dev"]).expect("plan");
    assert_eq!(plan.nodes.len(), 3);
    assert_eq!(
        addrs(&plan, |n| n.kafka),
        ["127.0.0.1:9092", "127.0.0.1:9093", "127.0.0.1:9094"]
    );
    assert_eq!(
        addrs(&plan, |n| n.aws),
        ["127.0.0.1:4566", "127.0.0.1:4567", "127.0.0.1:4568"]
    );
    assert_eq!(
        addrs(&plan, |n| n.admin),
        ["127.0.0.1:9644", "127.0.0.1:9645", "127.0.0.1:9646"]
    );
    assert_eq!(
        addrs(&plan, |n| n.cluster),
        ["127.0.0.1:19092", "127.0.0.1:19093", "127.0.0.1:19094"]
    );
    let racks: Vec<&str> = plan.nodes.iter().map(|n| n.rack).collect();
    assert_eq!(racks, ["dev-a", "dev-b", "dev-c"]);
    for (i, node) in plan.nodes.iter().enumerate() {
        let id = i + 1;
        assert_eq!(node.id, i32::try_from(id).expect("small"));
        assert_eq!(node.dir, Path::new(&format!("/srv/dev/node-{id}")));
        assert_eq!(
            node.config_path,
            Path::new(&format!("/srv/dev/node-{id}/strait.toml"))
        );
    }
    assert_eq!(plan.shutdown_grace_ms, 10_000);
}

#[test]
fn each_generated_file_is_a_valid_node_configuration_listing_every_node() {
    let plan = plan_for(&["--nodes", "3", "--data-dir", "/srv/dev"]).expect("plan");
    for node in &plan.nodes {
        let cfg: Config = toml::from_str(&node.config_text).expect("parses");
        assert_eq!(cfg.node.data_dir, node.dir);
        assert_eq!(cfg.kafka.listen, node.kafka);
        assert_eq!(cfg.aws.listen, node.aws);
        // The children run `strait serve`, whose default verifies SigV4; a dev cluster keeps "any key".
        assert!(
            node.config_text.contains("auth = \"none\""),
            "{}",
            node.config_text
        );
        assert_eq!(cfg.admin.listen, node.admin);
        let cluster = cfg.cluster.as_ref().expect("[cluster]");
        assert_eq!(cluster.node_id, node.id);
        assert_eq!(cluster.cluster_id, "strait-dev");
        assert_eq!(cluster.rack.as_deref(), Some(node.rack));
        assert_eq!(cluster.listen, node.cluster);
        assert_eq!(cluster.replication_factor, None, "default: min(3, nodes)");
        cluster
            .validate(&cfg.kafka, &cfg.aws)
            .expect("valid [cluster]");
        let nodes = cfg.cluster_nodes().expect("nodes");
        let summary: Vec<(i32, String, String, String, Option<String>, bool)> = nodes
            .into_iter()
            .map(|n| {
                (
                    n.id,
                    n.address.to_string(),
                    n.kafka,
                    n.aws,
                    n.rack,
                    n.is_self,
                )
            })
            .collect();
        let expected: Vec<_> = (1..=3)
            .map(|i: i32| {
                let o = u16::try_from(i - 1).expect("small");
                (
                    i,
                    format!("127.0.0.1:{}", 19092 + o),
                    format!("127.0.0.1:{}", 9092 + o),
                    format!("127.0.0.1:{}", 4566 + o),
                    Some(["dev-a", "dev-b", "dev-c"][usize::from(o)].to_string()),
                    i == node.id,
                )
            })
            .collect();
        assert_eq!(summary, expected);
        assert_eq!(cluster.effective_replication_factor(3), 3);
        assert!(
            node.config_text.contains(&format!(
                "strait serve --config {}",
                node.config_path.display()
            )),
            "{}",
            node.config_text
        );
        assert!(!node.config_text.contains("[engine]"), "no --fsync given");
    }
}

#[test]
fn base_addresses_and_fsync_come_from_the_flags() {
    let plan = plan_for(&[
        "--nodes",
        "9",
        "--kafka-addr",
        "127.0.0.1:30000",
        "--aws-addr",
        "127.0.0.1:31000",
        "--admin-addr",
        "127.0.0.1:32000",
        "--cluster-addr",
        "127.0.0.1:33000",
        "--fsync",
        "interval",
    ])
    .expect("plan");
    assert_eq!(plan.nodes.len(), 9);
    let last = &plan.nodes[8];
    assert_eq!(last.kafka.to_string(), "127.0.0.1:30008");
    assert_eq!(last.aws.to_string(), "127.0.0.1:31008");
    assert_eq!(last.admin.to_string(), "127.0.0.1:32008");
    assert_eq!(last.cluster.to_string(), "127.0.0.1:33008");
    let racks: Vec<&str> = plan.nodes.iter().map(|n| n.rack).collect();
    assert_eq!(
        racks,
        [
            "dev-a", "dev-b", "dev-c", "dev-a", "dev-b", "dev-c", "dev-a", "dev-b", "dev-c"
        ]
    );
    let cfg: Config = toml::from_str(&last.config_text).expect("parses");
    assert_eq!(cfg.engine.fsync, strait_engine::FsyncPolicy::Interval);
    assert_eq!(cfg.cluster.map(|c| c.peers.len()), Some(9));
}

#[test]
fn unusable_base_ports_are_refused_with_the_flag_to_change() {
    let err = plan_for(&["--nodes", "2", "--kafka-addr", "127.0.0.1:0"])
        .map(|_| ())
        .expect_err("port 0");
    assert_eq!(
        err.to_string(),
        "--kafka-addr = 127.0.0.1:0: a multi-node dev cluster needs a fixed port (node i uses it plus i-1, and \
         every node must know the others' addresses); give a non-zero port"
    );
    let err = plan_for(&["--nodes", "3", "--cluster-addr", "127.0.0.1:65534"])
        .map(|_| ())
        .expect_err("overflow");
    assert_eq!(
        err.to_string(),
        "--cluster-addr = 127.0.0.1:65534: node 3 would need port 65534 + 2, past 65535; pick a lower port"
    );
    plan_for(&["--nodes", "2", "--cluster-addr", "127.0.0.1:65534"])
        .expect("65535 is the last port");
}

#[test]
fn dry_run_output_loads_as_each_node_configuration() {
    Jail::expect_with(|jail| {
        let plan =
            plan_for(&["--nodes", "3", "--data-dir", "dev-data"]).map_err(|e| e.to_string())?;
        let root = std::path::absolute("dev-data").map_err(|e| e.to_string())?;
        assert_eq!(
            plan.nodes[0].dir,
            root.join("node-1"),
            "relative data dirs become absolute"
        );
        let out = render_dry_run(&plan);
        let parts: Vec<&str> = out.split("##### ").filter(|p| !p.is_empty()).collect();
        assert_eq!(parts.len(), 3);
        for (part, node) in parts.iter().zip(&plan.nodes) {
            let (path, text) = part
                .split_once('\n')
                .ok_or_else(|| "header line".to_string())?;
            assert_eq!(Path::new(path), node.config_path);
            jail.create_file(format!("node-{}.toml", node.id), text)?;
            let cfg = load(
                Some(Path::new(&format!("node-{}.toml", node.id))),
                Overrides::default(),
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(
                cfg.kafka.node_id, node.id,
                "Kafka broker id = cluster node id"
            );
        }
        assert!(!root.exists(), "a dry run writes nothing");
        Ok(())
    });
}

#[test]
fn configs_are_written_and_rewritten_and_environment_overrides_are_caught() {
    Jail::expect_with(|jail| {
        let plan =
            plan_for(&["--nodes", "2", "--data-dir", "dev-data"]).map_err(|e| e.to_string())?;
        write_configs(&plan).map_err(|e| e.to_string())?;
        let node2 = &plan.nodes[1];
        assert_eq!(
            std::fs::read_to_string(&node2.config_path).map_err(|e| e.to_string())?,
            node2.config_text
        );
        // Data next to the file survives; the file itself is regenerated.
        std::fs::write(node2.dir.join("keep"), "data").map_err(|e| e.to_string())?;
        std::fs::write(&node2.config_path, "garbage").map_err(|e| e.to_string())?;
        write_configs(&plan).map_err(|e| e.to_string())?;
        assert_eq!(
            std::fs::read_to_string(&node2.config_path).map_err(|e| e.to_string())?,
            node2.config_text
        );
        assert!(node2.dir.join("keep").exists());

        jail.set_env("STRAIT_KAFKA__LISTEN", "127.0.0.1:29092");
        let err = write_configs(&plan).map(|_| ()).expect_err("env override");
        assert_eq!(
            err.to_string(),
            "node 1 would not use its generated Kafka listener (127.0.0.1:9092) but 127.0.0.1:29092: a STRAIT_* \
             environment variable overrides it; unset it for multi-node dev clusters"
        );
        Ok(())
    });
}
