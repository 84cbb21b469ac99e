//! The `strait` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::Overrides;

#[derive(Debug, Parser)]
#[command(
    name = "strait",
    version,
    about = "A streaming server: Kafka wire protocol and a Kinesis-compatible API over one storage engine"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs a single node with built-in defaults: data in ./strait-data, Kafka on 127.0.0.1:9092, the AWS API on
    /// 127.0.0.1:4566, admin on 127.0.0.1:9644. STRAIT_* environment variables still apply. With --nodes N, runs
    /// a local N-node cluster instead, one process per node (see --nodes).
    Dev(DevArgs),
    /// Runs a node from a configuration file (see `strait config default`).
    Serve {
        /// The TOML configuration file.
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Prints configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The admin commands (`topic`, `group`, `stream`, `produce`, `consume`, `cluster`) from strait-cli: clients of
    /// any node, over the Kafka protocol and the Kinesis API (docs/cli.md).
    #[command(flatten)]
    Admin(strait_cli::Command),
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Data directory [default: strait-data].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Kafka listener address [default: 127.0.0.1:9092].
    #[arg(long)]
    pub kafka_addr: Option<SocketAddr>,
    /// AWS-API listener address [default: 127.0.0.1:4566].
    #[arg(long)]
    pub aws_addr: Option<SocketAddr>,
    /// Admin/metrics listener address [default: 127.0.0.1:9644].
    #[arg(long)]
    pub admin_addr: Option<SocketAddr>,
    /// When writes are fsynced [default: always].
    #[arg(long, value_enum)]
    pub fsync: Option<Fsync>,
    /// Nodes to run. Above 1, this process supervises one `strait serve` process per node: node i keeps its
    /// data and generated strait.toml in <data-dir>/node-<i>, and listens on the Kafka, AWS, admin and
    /// inter-node ports plus i-1 (Kafka 9092-9094, AWS 4566-4568, admin 9644-9646, inter-node 19092-19094 for
    /// 3 nodes). The nodes' output is shown prefixed with [node i]. Ctrl-C stops them all.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=9))]
    pub nodes: u8,
    /// Node 1's inter-node (cluster) listener with --nodes above 1; node i uses its port plus i-1
    /// [default: 127.0.0.1:19092].
    #[arg(long)]
    pub cluster_addr: Option<SocketAddr>,
    /// Prints the configuration each node would run with, and starts nothing.
    #[arg(long, visible_alias = "print-config")]
    pub dry_run: bool,
    /// Serves TLS on the Kafka (SSL), AWS (HTTPS) and admin (HTTPS) listeners, with a development CA, a server
    /// certificate for localhost/127.0.0.1 and a client certificate generated into <data-dir>/tls/ on first use
    /// (and reused after). Client certificates are requested, not required. Prints the client settings.
    #[arg(long)]
    pub tls: bool,
    /// Tiers to this bucket (it must exist): sealed segments of topics with remote.storage.enable=true, and of
    /// every Kinesis stream, are uploaded and read back from it (docs/tiering.md). Credentials come from the
    /// AWS SDK's default chain (AWS_ACCESS_KEY_ID, ...). Single node only.
    #[arg(long)]
    pub tier_bucket: Option<String>,
    /// The S3-compatible endpoint for --tier-bucket, such as http://127.0.0.1:19000 (moto); implies path-style
    /// requests [default: AWS S3].
    #[arg(long, requires = "tier_bucket")]
    pub tier_endpoint: Option<String>,
}

/// Mirrors `strait_engine::FsyncPolicy` with the same names, for `--fsync`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Fsync {
    /// Fsync before acknowledging each write.
    Always,
    /// Acknowledge from the page cache; fsync every engine.flush_interval_ms.
    Interval,
}

impl DevArgs {
    /// The flags that were given, as the top configuration layer.
    pub fn overrides(&self) -> Overrides {
        let mut o = Overrides::default();
        if let Some(d) = &self.data_dir {
            o = o.set("node.data_dir", d);
        }
        if let Some(a) = self.kafka_addr {
            o = o.set("kafka.listen", a);
        }
        if let Some(a) = self.aws_addr {
            o = o.set("aws.listen", a);
        }
        if let Some(a) = self.admin_addr {
            o = o.set("admin.listen", a);
        }
        if let Some(f) = self.fsync {
            let name = match f {
                Fsync::Always => "always",
                Fsync::Interval => "interval",
            };
            o = o.set("engine.fsync", name);
        }
        if let Some(b) = &self.tier_bucket {
            o = o.set("tiering.bucket", b);
        }
        if let Some(e) = &self.tier_endpoint {
            o = o.set("tiering.endpoint", e).set("tiering.path_style", true);
        }
        o
    }

    /// [`DevArgs::overrides`] plus TLS on every listener with the development certificates `certs`.
    pub fn tls_overrides(&self, certs: &crate::tls::dev::DevCerts) -> Overrides {
        let mut o = self.overrides();
        for listener in ["kafka", "aws", "admin"] {
            o = o
                .set(&format!("{listener}.tls.enabled"), true)
                .set(&format!("{listener}.tls.cert_file"), &certs.server_cert)
                .set(&format!("{listener}.tls.key_file"), &certs.server_key)
                .set(&format!("{listener}.tls.client_auth"), "requested")
                .set(&format!("{listener}.tls.client_ca_file"), &certs.ca);
        }
        o
    }
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Prints the default configuration with a comment on every setting.
    Default,
    /// Prints the effective configuration (defaults, then the file, then STRAIT_* variables), after validation.
    /// Secrets (SASL passwords, AWS secret keys) are printed as "***"; user names and access key ids are kept.
    Show {
        /// A TOML configuration file to layer over the defaults.
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn tier_flags_turn_tiering_on_with_path_style() {
        let parse = |args: &[&str]| Cli::try_parse_from(args);
        assert!(
            parse(&["strait", "dev", "--tier-endpoint", "http://127.0.0.1:1"]).is_err(),
            "an endpoint without a bucket is refused"
        );
        let cli = parse(&[
            "strait",
            "dev",
            "--tier-bucket",
            "b",
            "--tier-endpoint",
            "http://127.0.0.1:19000",
        ])
        .expect("parses");
        let Command::Dev(args) = cli.command else {
            panic!("dev")
        };
        let cfg = crate::config::load(None, args.overrides()).expect("valid");
        let t = cfg.tiering.expect("[tiering] set by the flags");
        assert_eq!(t.bucket, "b");
        assert_eq!(t.endpoint.as_deref(), Some("http://127.0.0.1:19000"));
        assert!(t.path_style);
        let plain =
            crate::config::load(None, DevArgs::overrides(&dev(&["strait", "dev"]))).expect("valid");
        assert!(plain.tiering.is_none(), "no tiering unless asked");
    }

    fn dev(args: &[&str]) -> DevArgs {
        match Cli::parse_from(args).command {
            Command::Dev(a) => a,
            _ => panic!("dev"),
        }
    }

    #[test]
    fn dev_flags_parse() {
        let cli = Cli::parse_from([
            "strait",
            "dev",
            "--data-dir",
            "/tmp/x",
            "--kafka-addr",
            "127.0.0.1:1",
            "--fsync",
            "interval",
        ]);
        let Command::Dev(args) = cli.command else {
            panic!("expected dev")
        };
        assert_eq!(args.data_dir, Some(PathBuf::from("/tmp/x")));
        assert!(matches!(args.fsync, Some(Fsync::Interval)));
        assert_eq!(args.nodes, 1, "one node unless asked");
        assert!(!args.dry_run);
    }

    #[test]
    fn nodes_are_limited_to_one_through_nine() {
        let parse = |n: &str| Cli::try_parse_from(["strait", "dev", "--nodes", n]);
        for ok in ["1", "3", "9"] {
            let Ok(Cli {
                command: Command::Dev(args),
            }) = parse(ok)
            else {
                panic!("--nodes {ok} refused")
            };
            assert_eq!(args.nodes.to_string(), ok);
        }
        for bad in ["0", "10", "-1", "three"] {
            assert!(parse(bad).is_err(), "--nodes {bad} accepted");
        }
        let Command::Dev(args) =
            Cli::parse_from(["strait", "dev", "--nodes", "3", "--print-config"]).command
        else {
            panic!("expected dev")
        };
        assert!(args.dry_run, "--print-config is --dry-run");
    }
}
