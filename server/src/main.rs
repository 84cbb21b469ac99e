//! The `strait` binary: parses the command line, loads configuration, runs a node. See the library for the rest.

// jemalloc: it suits a long-running server's allocation pattern. It was first chosen because kafka-protocol 0.18
// preallocated arrays from counts read off the wire and jemalloc reserves lazily; that is no longer relied on:
// the vendored, patched decoders never reserve more than the frame can hold (protocols/kafka/vendor/
// kafka-protocol/PATCHES.md), tested under RLIMIT_AS (protocols/kafka/tests/fuzz_frames.rs).
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use strait::cli::{Cli, Command, ConfigCommand};
use strait::config::{self, Config, EXAMPLE_TOML, Overrides};
use strait::node::{self, Listeners, NodeError};
use strait::signal::Termination;
use strait::telemetry;
use tracing::error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match &cli.command {
        Command::Config(ConfigCommand::Default) => {
            print!("{EXAMPLE_TOML}");
            return ExitCode::SUCCESS;
        }
        Command::Config(ConfigCommand::Show { config }) => {
            // Secrets are redacted: this output ends up in tickets, chats and CI logs.
            return match config::load(config.as_deref(), Overrides::default())
                .map(|c| toml::to_string_pretty(&c.redacted()))
            {
                Ok(Ok(text)) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Ok(Err(e)) => fail(&format!("cannot render the configuration: {e}")),
                Err(e) => fail(&e.to_string()),
            };
        }
        Command::Dev(args) => config::load(None, args.overrides()),
        Command::Serve { config } => config::load(Some(config), Overrides::default()),
    };
    let cfg = match loaded {
        Ok(cfg) => cfg,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = telemetry::init_logging(&cfg.log) {
        return fail(&e.to_string());
    }
    strait::ratelimit::init(cfg.log.max_repeated_per_minute);
    // Before the engine sizes its segment-file budget from the limit.
    let nofile = strait::fdlimit::raise_nofile();
    strait::fdlimit::check(&cfg.engine, nofile);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(&format!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: Config) -> Result<(), NodeError> {
    let mut signals = Termination::register().map_err(NodeError::Signals)?;
    let listeners = Listeners::bind(&cfg).await?;
    let shutdown = async move {
        let name = signals.recv().await;
        tracing::info!(
            signal = name,
            "termination requested; draining (send it again to exit immediately)"
        );
        // An operator who signals twice wants out now, even if draining or the engine flush is stuck.
        tokio::spawn(async move {
            let name = signals.recv().await;
            error!(
                signal = name,
                "second termination signal: exiting without a clean shutdown"
            );
            std::process::exit(1);
        });
    };
    let kafka = cfg.kafka.clone();
    let make_broker = move |engine: &strait_engine::Engine, bound: std::net::SocketAddr| {
        Arc::new(strait_kafka::Broker::new(
            engine.clone(),
            strait_kafka::BrokerConfig {
                node_id: kafka.node_id,
                advertised_host: kafka
                    .advertised_host
                    .unwrap_or_else(|| bound.ip().to_string()),
                advertised_port: i32::from(kafka.advertised_port.unwrap_or(bound.port())),
                cluster_id: kafka.cluster_id,
                auto_create_topics: kafka.auto_create_topics,
                default_partitions: kafka.default_partitions.max(1),
                sasl_plain_users: kafka.sasl_plain_users,
                // HOOK(security.authorizer): pass the node's SharedAuthorizer here: `authorizer: <it>.clone(),`
                ..Default::default()
            },
        ))
    };
    node::run(cfg, listeners, make_broker, shutdown).await
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("strait: {msg}");
    ExitCode::FAILURE
}
