//! `strait-cli`: the admin commands of the `strait` binary, in the spirit of Redpanda's `rpk`. They talk to any
//! Strait node (or Apache Kafka broker) over the Kafka protocol, and to the Kinesis API over HTTP with the AWS SDK
//! for Rust; nothing here links the server, so the commands work against remote nodes alike.
//!
//! Module map: one file per command group ([`topic`], [`group`], [`stream`], [`produce`], [`consume`],
//! [`cluster`]); `kafka/` is the small Kafka client they share (negotiated versions, leader and coordinator
//! routing, record batches), `kinesis` builds the SDK client, [`args`] holds the global flags and value parsers,
//! `output` prints tables and JSON, and `error` maps every failure to a documented exit code (docs/cli.md).

pub mod args;
pub mod cluster;
pub mod consume;
mod error;
mod format;
pub mod group;
mod kafka;
mod kinesis;
mod output;
pub mod produce;
mod progress;
pub mod stream;
pub mod topic;

use std::process::ExitCode;

use clap::Subcommand;

pub use error::CliError;

/// The admin commands, flattened into the binary's own subcommands (`strait topic list`, ...).
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Lists, describes, creates, deletes and configures topics (Kafka protocol).
    Topic(topic::TopicArgs),
    /// Lists, describes (members, offsets, lag), resets and deletes consumer groups (Kafka protocol).
    Group(group::GroupArgs),
    /// Lists, describes, splits and merges Kinesis streams and their shards (Kinesis API).
    Stream(stream::StreamArgs),
    /// Produces records from --value or stdin lines (Kafka protocol, or Kinesis with --kinesis).
    Produce(produce::ProduceArgs),
    /// Consumes records and prints them (Kafka protocol, or Kinesis with --kinesis).
    Consume(consume::ConsumeArgs),
    /// Shows the cluster: brokers, controller, cluster id, topic count (Kafka protocol).
    Cluster(cluster::ClusterArgs),
}

/// Runs one admin command to completion and returns the process exit code; errors are printed to stderr as
/// `strait: <ERROR_NAME>: <context>`. The server's logging, metrics and runtime are never started.
pub fn run(command: Command) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("strait: cannot start the async runtime: {e}");
            return ExitCode::from(5);
        }
    };
    let result = runtime.block_on(async move {
        match command {
            Command::Topic(a) => topic::run(a).await,
            Command::Group(a) => group::run(a).await,
            Command::Stream(a) => stream::run(a).await,
            Command::Produce(a) => produce::run(a).await,
            Command::Consume(a) => consume::run(a).await,
            Command::Cluster(a) => cluster::run(a).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        // `strait consume | head`: the reader has seen what it wanted; that is not a failure.
        Err(CliError::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("strait: {e}");
            e.exit()
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    /// The commands as the binary mounts them.
    #[derive(Debug, Parser)]
    struct Strait {
        #[command(subcommand)]
        command: Command,
    }

    fn parse(args: &[&str]) -> std::result::Result<Command, clap::Error> {
        Strait::try_parse_from(std::iter::once("strait").chain(args.iter().copied()))
            .map(|s| s.command)
    }

    #[test]
    fn definition_is_consistent() {
        use clap::CommandFactory;
        Strait::command().debug_assert();
    }

    #[test]
    fn global_flags_go_before_or_after_the_subcommand() {
        for args in [
            &["topic", "--brokers", "h:1", "-o", "json", "list"][..],
            &["topic", "list", "--brokers", "h:1", "--output", "json"][..],
        ] {
            let Ok(Command::Topic(t)) = parse(args) else {
                panic!("{args:?}")
            };
            assert_eq!(t.global.brokers, "h:1");
            assert_eq!(t.global.output, args::Output::Json);
        }
    }

    #[test]
    fn topic_create_takes_partitions_replicas_and_configs() {
        let Ok(Command::Topic(t)) = parse(&[
            "topic",
            "create",
            "a",
            "b",
            "-p",
            "3",
            "-c",
            "retention.ms=1",
            "-c",
            "x=y=z",
        ]) else {
            panic!("parses")
        };
        let topic::TopicCommand::Create {
            topics,
            partitions,
            replicas,
            configs,
            dry_run,
        } = t.command
        else {
            panic!("create")
        };
        assert_eq!(
            (topics.len(), partitions, replicas, dry_run),
            (2, 3, -1, false)
        );
        assert_eq!(configs[1], ("x".into(), "y=z".into()));
        assert!(parse(&["topic", "create", "a", "-c", "novalue"]).is_err());
    }

    #[test]
    fn reset_offsets_needs_one_target_and_a_scope() {
        assert!(
            parse(&[
                "group",
                "reset-offsets",
                "g",
                "--topic",
                "t",
                "--to-earliest"
            ])
            .is_ok()
        );
        assert!(
            parse(&[
                "group",
                "reset-offsets",
                "g",
                "--all-topics",
                "--to-datetime",
                "2026-01-02T03:04:05Z"
            ])
            .is_ok()
        );
        assert!(
            parse(&["group", "reset-offsets", "g", "--topic", "t"]).is_err(),
            "no target"
        );
        assert!(
            parse(&["group", "reset-offsets", "g", "--to-latest"]).is_err(),
            "no scope"
        );
        assert!(
            parse(&[
                "group",
                "reset-offsets",
                "g",
                "--topic",
                "t",
                "--to-earliest",
                "--to-latest"
            ])
            .is_err()
        );
        let Ok(Command::Group(g)) = parse(&[
            "group",
            "reset-offsets",
            "g",
            "--topic",
            "t",
            "--to-offset",
            "5",
            "--dry-run",
        ]) else {
            panic!("parses")
        };
        let group::GroupCommand::ResetOffsets(r) = g.command else {
            panic!("reset")
        };
        assert!(r.dry_run);
        assert_eq!(r.to_offset, Some(5));
    }

    #[test]
    fn consume_and_produce_flags() {
        let Ok(Command::Consume(c)) = parse(&[
            "consume", "t", "-p", "0,2", "--offset", "-3", "-n", "10", "-f", "%s\\n",
        ]) else {
            panic!("parses")
        };
        assert_eq!(
            (c.partition, c.offset, c.count),
            (vec![0, 2], Some(-3), Some(10))
        );
        assert!(parse(&["consume", "t", "--from-beginning", "--offset", "1"]).is_err());
        assert!(
            parse(&["consume", "t", "--shard", "s"]).is_err(),
            "--shard needs --kinesis"
        );
        assert!(parse(&["consume", "t", "--kinesis", "--group", "g"]).is_err());
        let Ok(Command::Produce(p)) =
            parse(&["produce", "t", "-k", "k", "-H", "a=1", "--acks", "1"])
        else {
            panic!("parses")
        };
        assert_eq!(
            (p.key.as_deref(), p.acks, p.headers.len()),
            (Some("k"), 1, 1)
        );
        assert!(
            parse(&["produce", "t", "--acks", "0"]).is_err(),
            "acks=0 has no answer to report"
        );
        assert!(parse(&["produce", "t", "--kinesis", "--partition", "1"]).is_err());
    }
}
