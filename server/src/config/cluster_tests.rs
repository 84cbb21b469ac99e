//! `[cluster]` defaults, the node list, and every validation error.

// `Jail` closures must return `figment::Result`, whose error is large; that signature is figment's, not ours.
#![allow(clippy::result_large_err)]

use std::path::Path;

use figment::Jail;

use super::*;
use crate::config::{Config, Overrides, load};

/// Node 1 of three on 127.0.0.1, listing all three (itself included).
const THREE: &str = r#"
[cluster]
node_id = 1
cluster_id = "prod-eu"
rack = "az-a"
listen = "127.0.0.1:19092"

[[cluster.peers]]
id = 3
address = "127.0.0.3:19092"
kafka = "broker-3.example.com:9092"
aws = "127.0.0.3:4566"
rack = "az-c"

[[cluster.peers]]
id = 1
address = "127.0.0.1:19092"
kafka = "127.0.0.1:9092"
aws = "127.0.0.1:4566"
rack = "az-a"

[[cluster.peers]]
id = 2
address = "127.0.0.2:19092"
kafka = "127.0.0.2:9092"
aws = "127.0.0.2:4566"
rack = "az-b"
"#;

fn parse(text: &str) -> Config {
    let mut cfg: Config = toml::from_str(text).expect("parses");
    // As `load` does: the Kafka identity follows the cluster's.
    if let Some(c) = &cfg.cluster {
        cfg.kafka.node_id = c.node_id;
        cfg.kafka.cluster_id = c.cluster_id.clone();
    }
    cfg
}

fn error_of(text: &str) -> String {
    let cfg = parse(text);
    let cluster = cfg.cluster.as_ref().expect("has [cluster]");
    match cluster.validate(&cfg.kafka, &cfg.aws) {
        Ok(()) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

/// `THREE` with `from` replaced by `to` (which must occur).
fn three_with(from: &str, to: &str) -> String {
    assert!(THREE.contains(from), "{from:?} not in the fixture");
    THREE.replacen(from, to, 1)
}

#[test]
fn absent_section_is_a_single_node() {
    let cfg = Config::default();
    assert!(cfg.cluster.is_none());
    assert!(cfg.cluster_nodes().is_none());
    let shown = toml::to_string_pretty(&cfg).expect("renders");
    assert!(!shown.contains("[cluster"), "{shown}");
}

#[test]
fn defaults_of_a_minimal_section() {
    let cfg = parse("[cluster]\nnode_id = 0\ncluster_id = \"c\"\n");
    let c = cfg.cluster.as_ref().expect("section");
    assert_eq!(c.listen.to_string(), "127.0.0.1:19092");
    assert_eq!(c.rack, None);
    assert_eq!(c.source_address, None);
    assert_eq!(c.raft, RaftTiming::default());
    assert_eq!(
        (
            c.raft.heartbeat_ms,
            c.raft.election_min_ms,
            c.raft.election_max_ms
        ),
        (250, 1000, 2000)
    );
    c.validate(&cfg.kafka, &cfg.aws)
        .expect("a one-node cluster is valid");
    let nodes = cfg.cluster_nodes().expect("nodes");
    assert_eq!(
        nodes,
        vec![ClusterNode {
            id: 0,
            address: "127.0.0.1:19092".parse().expect("addr"),
            kafka: "127.0.0.1:9092".into(),
            aws: "127.0.0.1:4566".into(),
            rack: None,
            is_self: true,
        }]
    );
    assert_eq!(c.effective_replication_factor(nodes.len()), 1);
}

#[test]
fn node_list_is_sorted_and_marks_this_node() {
    let cfg = parse(THREE);
    let c = cfg.cluster.as_ref().expect("section");
    c.validate(&cfg.kafka, &cfg.aws).expect("valid");
    let nodes = cfg.cluster_nodes().expect("nodes");
    let ids: Vec<i32> = nodes.iter().map(|n| n.id).collect();
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(
        nodes
            .iter()
            .filter(|n| n.is_self)
            .map(|n| n.id)
            .collect::<Vec<_>>(),
        [1]
    );
    assert_eq!(nodes[2].kafka, "broker-3.example.com:9092");
    assert_eq!(nodes[1].rack.as_deref(), Some("az-b"));
    assert_eq!(c.effective_replication_factor(nodes.len()), 3);
}

#[test]
fn this_node_may_be_left_out_of_peers() {
    let text = r#"
[kafka]
advertised_host = "kafka-1.example.com"
advertised_port = 19000

[cluster]
node_id = 7
cluster_id = "c"
rack = "r1"
listen = "10.0.0.7:19092"
source_address = "10.0.0.7"
advertised_aws = "aws-7.example.com:443"

[[cluster.peers]]
id = 2
address = "10.0.0.2:19092"
kafka = "10.0.0.2:9092"
aws = "10.0.0.2:4566"
"#;
    let cfg = parse(text);
    let c = cfg.cluster.as_ref().expect("section");
    c.validate(&cfg.kafka, &cfg.aws).expect("valid");
    let nodes = cfg.cluster_nodes().expect("nodes");
    assert_eq!(nodes.len(), 2);
    let me = &nodes[1];
    assert_eq!((me.id, me.is_self), (7, true));
    assert_eq!(me.address.to_string(), "10.0.0.7:19092");
    assert_eq!(
        me.kafka, "kafka-1.example.com:19000",
        "from kafka.advertised_*"
    );
    assert_eq!(me.aws, "aws-7.example.com:443");
    assert_eq!(me.rack.as_deref(), Some("r1"));
    assert_eq!(c.effective_replication_factor(2), 2, "min(3, nodes)");
}

#[test]
fn every_validation_error_says_what_to_fix() {
    let cases: Vec<(String, &str)> = vec![
        (
            three_with("node_id = 1", "node_id = -1"),
            "cluster.node_id = -1: node ids must be 0 or greater",
        ),
        (
            three_with("id = 3", "id = -3"),
            "cluster.peers[0].id = -3: node ids must be 0 or greater",
        ),
        (
            three_with("cluster_id = \"prod-eu\"", "cluster_id = \"\""),
            "cluster.cluster_id must be 1 to 255 bytes long (it is 0)",
        ),
        (
            three_with(
                "cluster_id = \"prod-eu\"",
                &format!("cluster_id = \"{}\"", "x".repeat(256)),
            ),
            "cluster.cluster_id must be 1 to 255 bytes long (it is 256)",
        ),
        (
            three_with("rack = \"az-a\"", "rack = \"\""),
            "cluster.rack is empty: give a rack (availability zone) name, or leave the setting out",
        ),
        (
            three_with("rack = \"az-c\"", "rack = \"\""),
            "cluster.peers[0].rack is empty",
        ),
        (
            three_with("id = 2", "id = 3"),
            "cluster.peers lists node id 3 twice: each node must appear once",
        ),
        (
            three_with(
                "address = \"127.0.0.2:19092\"",
                "address = \"127.0.0.3:19092\"",
            ),
            "node 3's inter-node address 127.0.0.3:19092 is also node 2's: each node needs its own",
        ),
        (
            three_with("kafka = \"127.0.0.2:9092\"", "kafka = \"127.0.0.1:9092\""),
            "node 2's Kafka address 127.0.0.1:9092 is also node 1's",
        ),
        (
            three_with("aws = \"127.0.0.2:4566\"", "aws = \"127.0.0.3:4566\""),
            "node 3's AWS address 127.0.0.3:4566 is also node 2's",
        ),
        (
            three_with(
                "address = \"127.0.0.1:19092\"",
                "address = \"127.0.0.1:19093\"",
            ),
            "cluster.peers[1].address = 127.0.0.1:19093, but this node (cluster.node_id = 1) has \
             cluster.listen = 127.0.0.1:19092: make its cluster.peers entry match, or leave this node out",
        ),
        (
            three_with("rack = \"az-a\"\n\n", "rack = \"az-x\"\n\n"),
            "cluster.peers[1].rack = az-x, but this node (cluster.node_id = 1) has cluster.rack = az-a",
        ),
        (
            three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:19092\"\nadvertised_kafka = \"k:1\"",
            ),
            "cluster.peers[1].kafka = 127.0.0.1:9092, but this node (cluster.node_id = 1) has cluster.advertised_kafka = k:1",
        ),
        (
            three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:19092\"\nadvertised_aws = \"a:1\"",
            ),
            "cluster.peers[1].aws = 127.0.0.1:4566, but this node (cluster.node_id = 1) has cluster.advertised_aws = a:1",
        ),
        (
            three_with(
                "address = \"127.0.0.1:19092\"",
                "address = \"0.0.0.0:19092\"",
            ),
            "cluster.peers[1].address = 0.0.0.0:19092, but this node",
        ),
        (
            three_with(
                "kafka = \"broker-3.example.com:9092\"",
                "kafka = \"broker-3.example.com\"",
            ),
            "cluster.peers[0].kafka = \"broker-3.example.com\" is not host:port",
        ),
        (
            three_with("aws = \"127.0.0.3:4566\"", "aws = \"bad host:4566\""),
            "cluster.peers[0].aws = \"bad host:4566\" is not host:port",
        ),
        (
            three_with("aws = \"127.0.0.3:4566\"", "aws = \"h:0\""),
            "cluster.peers[0].aws = \"h:0\" is not host:port",
        ),
        (
            three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:19092\"\nadvertised_kafka = \":9092\"",
            ),
            "cluster.advertised_kafka = \":9092\" is not host:port",
        ),
        (
            three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:19092\"\nreplication_factor = 4",
            ),
            "cluster.replication_factor = 4 must be between 1 and the number of nodes (3, this node and cluster.peers)",
        ),
        (
            three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:19092\"\nreplication_factor = 0",
            ),
            "cluster.replication_factor = 0 must be between 1",
        ),
        (
            format!("{THREE}\n[cluster.raft]\nheartbeat_ms = 0\n"),
            "cluster.raft.heartbeat_ms must be at least 1",
        ),
        (
            format!("{THREE}\n[cluster.raft]\nheartbeat_ms = 1000\n"),
            "cluster.raft.heartbeat_ms = 1000 must be below cluster.raft.election_min_ms = 1000, or followers \
             start elections against a live leader",
        ),
        (
            format!("{THREE}\n[cluster.raft]\nelection_min_ms = 3000\n"),
            "cluster.raft.election_min_ms = 3000 must not exceed cluster.raft.election_max_ms = 2000",
        ),
    ];
    for (text, expected) in cases {
        let msg = error_of(&text);
        assert!(
            msg.contains(expected),
            "expected {expected:?}\n     got {msg:?}"
        );
    }
}

#[test]
fn an_undialable_own_address_needs_a_peers_entry_or_an_advertised_one() {
    let alone = "[cluster]\nnode_id = 1\ncluster_id = \"c\"\nlisten = \"0.0.0.0:19092\"\n";
    assert_eq!(
        error_of(alone),
        "cluster.listen = 0.0.0.0:19092 cannot be dialled by other nodes or clients: set it to this node's \
         reachable address, or list this node in cluster.peers with one"
    );
    // Listed with a reachable address: listening on every interface is fine.
    let listed = format!(
        "{alone}[[cluster.peers]]\nid = 1\naddress = \"10.0.0.1:19092\"\nkafka = \"10.0.0.1:9092\"\n\
         aws = \"10.0.0.1:4566\"\n"
    );
    let cfg = parse(&listed);
    let c = cfg.cluster.as_ref().expect("section");
    c.validate(&cfg.kafka, &cfg.aws).expect("valid");
    // Kafka on every interface with nothing advertised: clients could not be sent anywhere.
    let kafka_open = "[kafka]\nlisten = \"0.0.0.0:9092\"\n\n[cluster]\nnode_id = 1\ncluster_id = \"c\"\n\
                      listen = \"10.0.0.1:19092\"\n";
    assert_eq!(
        error_of(kafka_open),
        "cluster.advertised_kafka = 0.0.0.0:9092 cannot be dialled by other nodes or clients: set it to the \
         address clients should use for this node"
    );
    let aws_open =
        "[aws]\nlisten = \"0.0.0.0:4566\"\n\n[cluster]\nnode_id = 1\ncluster_id = \"c\"\n";
    assert!(
        error_of(aws_open).starts_with("cluster.advertised_aws = 0.0.0.0:4566 cannot be dialled")
    );
}

#[test]
fn load_checks_the_section_and_takes_the_kafka_identity_from_it() {
    Jail::expect_with(|jail| {
        jail.create_file("node1.toml", THREE)?;
        let cfg =
            load(Some(Path::new("node1.toml")), Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(cfg.kafka.node_id, 1);
        assert_eq!(cfg.kafka.cluster_id, "prod-eu");
        // `config show` output loads back to the same configuration.
        let shown = toml::to_string_pretty(&cfg).map_err(|e| e.to_string())?;
        jail.create_file("shown.toml", &shown)?;
        let again =
            load(Some(Path::new("shown.toml")), Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(again.cluster, cfg.cluster);

        let err = |jail: &mut Jail, text: &str| -> Result<String, String> {
            jail.create_file("bad.toml", text)
                .map_err(|e| e.to_string())?;
            match load(Some(Path::new("bad.toml")), Overrides::default()) {
                Ok(_) => Err(format!("accepted {text}")),
                Err(e) => Ok(e.to_string()),
            }
        };
        let msg = err(jail, &format!("[kafka]\nnode_id = 5\n{THREE}"))?;
        assert_eq!(
            msg,
            "invalid [cluster] section: kafka.node_id = \"5\" conflicts with cluster.node_id = \"1\": with a \
             [cluster] section, set only cluster.node_id (or make them equal)"
        );
        let msg = err(jail, &format!("[kafka]\ncluster_id = \"other\"\n{THREE}"))?;
        assert!(
            msg.contains(
                "kafka.cluster_id = \"other\" conflicts with cluster.cluster_id = \"prod-eu\""
            ),
            "{msg}"
        );
        // Equal values are fine.
        jail.create_file(
            "same.toml",
            &format!("[kafka]\nnode_id = 1\ncluster_id = \"prod-eu\"\n{THREE}"),
        )?;
        load(Some(Path::new("same.toml")), Overrides::default()).map_err(|e| e.to_string())?;

        let msg = err(
            jail,
            &three_with(
                "listen = \"127.0.0.1:19092\"",
                "listen = \"127.0.0.1:9092\"",
            ),
        )?;
        assert!(
            msg.contains("cluster.listen: 127.0.0.1:9092 is already used by another listener"),
            "{msg}"
        );
        let msg = err(jail, &three_with("node_id = 1\n", ""))?;
        assert!(msg.contains("node_id"), "{msg}");
        let msg = err(jail, &three_with("rack = \"az-a\"", "zone = \"az-a\""))?;
        assert!(msg.contains("zone"), "{msg}");
        let msg = err(
            jail,
            &three_with("address = \"127.0.0.2:19092\"", "address = \"127.0.0.2\""),
        )?;
        assert!(msg.contains("address"), "{msg}");
        let msg = err(jail, &format!("{THREE}\n[cluster.raft]\nheartbeat = 1\n"))?;
        assert!(msg.contains("heartbeat"), "{msg}");
        Ok(())
    });
}

#[test]
fn environment_variables_reach_the_section() {
    Jail::expect_with(|jail| {
        jail.create_file("node1.toml", THREE)?;
        jail.set_env("STRAIT_CLUSTER__RAFT__HEARTBEAT_MS", "100");
        let cfg =
            load(Some(Path::new("node1.toml")), Overrides::default()).map_err(|e| e.to_string())?;
        assert_eq!(cfg.cluster.map(|c| c.raft.heartbeat_ms), Some(100));
        Ok(())
    });
}

#[test]
fn config_default_shows_the_cluster_section_commented_out() {
    let example = crate::config::EXAMPLE_TOML;
    let start = example
        .find("\n# [cluster]\n")
        .expect("`strait config default` documents [cluster]");
    let parsed: toml::Table = toml::from_str(example).expect("example parses");
    assert!(
        !parsed.contains_key("cluster"),
        "absent by default: a single node"
    );
    // Uncommented, the block is a valid node configuration using every setting.
    let block: String = example[start + 1..]
        .lines()
        .map(|l| {
            l.strip_prefix("# ")
                .or_else(|| l.strip_prefix('#'))
                .unwrap_or(l)
        })
        .collect::<Vec<_>>()
        .join("\n");
    let cfg = parse(&block);
    let c = cfg.cluster.as_ref().expect("uncommented section");
    c.validate(&cfg.kafka, &cfg.aws).expect("valid");
    assert_eq!(
        c.raft,
        RaftTiming::default(),
        "the example shows the defaults"
    );
    assert_eq!(c.listen.port(), DEFAULT_CLUSTER_PORT);
    assert_eq!(cfg.cluster_nodes().map(|n| n.len()), Some(3));
    for key in [
        "node_id",
        "cluster_id",
        "rack",
        "listen",
        "source_address",
        "advertised_kafka",
        "advertised_aws",
        "replication_factor",
        "heartbeat_ms",
        "election_min_ms",
        "election_max_ms",
        "address",
        "kafka",
        "aws",
    ] {
        assert!(block.contains(&format!("\n{key} = ")), "{key} is not shown");
    }
}

#[test]
fn the_three_node_example_in_deploy_is_one_consistent_cluster() {
    let files = [
        include_str!("../../../deploy/cluster-3/node-1.toml"),
        include_str!("../../../deploy/cluster-3/node-2.toml"),
        include_str!("../../../deploy/cluster-3/node-3.toml"),
    ];
    Jail::expect_with(|jail| {
        let mut lists = Vec::new();
        for (i, text) in files.iter().enumerate() {
            let id = i32::try_from(i + 1).map_err(|e| e.to_string())?;
            jail.create_file("node.toml", text)?;
            // As the README runs them: `strait serve --config node-N.toml`.
            let cfg = crate::config::load_serve(Some(Path::new("node.toml")), Overrides::default())
                .map_err(|e| format!("node-{id}.toml: {e}"))?;
            let c = cfg
                .cluster
                .as_ref()
                .ok_or_else(|| "no [cluster]".to_string())?;
            assert_eq!(c.node_id, id);
            assert_eq!(cfg.kafka.node_id, id);
            assert_eq!(c.cluster_id, "strait-example");
            assert_eq!(
                cfg.node.data_dir,
                Path::new(&format!("strait-data/node-{id}"))
            );
            let nodes = cfg.cluster_nodes().ok_or_else(|| "nodes".to_string())?;
            let me = nodes
                .iter()
                .find(|n| n.is_self)
                .ok_or_else(|| "self".to_string())?;
            assert_eq!(me.id, id);
            assert_eq!(me.kafka, cfg.kafka.listen.to_string());
            assert_eq!(me.aws, cfg.aws.listen.to_string());
            assert_eq!(c.effective_replication_factor(nodes.len()), 3);
            lists.push(
                nodes
                    .into_iter()
                    .map(|n| ClusterNode {
                        is_self: false,
                        ..n
                    })
                    .collect::<Vec<_>>(),
            );
        }
        assert!(
            lists.windows(2).all(|w| w[0] == w[1]),
            "every node sees the same cluster"
        );
        let racks: Vec<_> = lists[0].iter().map(|n| n.rack.clone()).collect();
        assert_eq!(
            racks,
            [
                Some("az-a".into()),
                Some("az-b".into()),
                Some("az-c".into())
            ]
        );
        Ok(())
    });
}
