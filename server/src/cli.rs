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
    /// 127.0.0.1:4566, admin on 127.0.0.1:9644. STRAIT_* environment variables still apply.
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
    }
}
