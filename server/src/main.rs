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
use strait::tls::dev::DevCerts;
use tracing::error;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match &cli.command {
        // Clients, not a node: no logging, metrics or server runtime.
        Command::Admin(_) => {
            let Command::Admin(admin) = cli.command else {
                unreachable!("matched above")
            };
            return strait_cli::run(admin);
        }
        Command::Config(ConfigCommand::Default) => {
            print!("{EXAMPLE_TOML}");
            return ExitCode::SUCCESS;
        }
        Command::Config(ConfigCommand::Show { config }) => {
            return show(config::load_serve(config.as_deref(), Overrides::default()));
        }
        Command::Dev(args) if args.nodes > 1 && args.tls => {
            return fail("--tls runs a single node for now; drop --nodes or --tls");
        }
        Command::Dev(args) if args.nodes > 1 && args.tier_bucket.is_some() => {
            return fail("--tier-bucket runs a single node for now; drop --nodes or --tier-bucket");
        }
        Command::Dev(args) if args.nodes > 1 => return strait::devcluster::run(args),
        Command::Dev(args) if args.cluster_addr.is_some() => {
            return fail("--cluster-addr needs --nodes 2 or more");
        }
        Command::Dev(args) if args.tls && args.dry_run => {
            return match dev_data_dir(args) {
                Ok(dir) => show(config::load(
                    None,
                    args.tls_overrides(&DevCerts::paths(&dir)),
                )),
                Err(e) => fail(&e),
            };
        }
        Command::Dev(args) if args.tls => match dev_tls(args) {
            Ok(cfg) => Ok(cfg),
            Err(e) => return fail(&e),
        },
        Command::Dev(args) if args.dry_run => {
            return show(config::load(None, args.overrides()));
        }
        Command::Dev(args) => config::load(None, args.overrides()),
        Command::Serve { config } => config::load_serve(Some(config), Overrides::default()),
    };
    let cfg = match loaded {
        Ok(cfg) => cfg,
        Err(e) => return fail(&e.to_string()),
    };
    if let Err(e) = telemetry::init_logging(&cfg.log) {
        return fail(&e.to_string());
    }
    // Before any TLS configuration is built: with two providers compiled in, rustls would not pick one.
    strait::tls::install_default_provider();
    strait::ratelimit::init(cfg.log.max_repeated_per_minute);
    if cfg.aws.auth == config::AwsAuth::None {
        // `strait dev`'s default; said at every start so nobody mistakes an open AWS port for a verified one.
        tracing::warn!(
            "aws.auth = \"none\": the AWS API accepts any access key and secret (strait dev's default). \
             Set aws.auth = \"sigv4\" with [[aws.access_keys]] to verify signatures"
        );
    }
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
    // Loads the OAUTHBEARER key set now, so a bad file stops the start with a clear message.
    let sasl = match cfg.kafka.sasl.to_broker() {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    match runtime.block_on(run(cfg, sasl)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cfg: Config, sasl: strait_kafka::sasl::SaslConfig) -> Result<(), NodeError> {
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
    // Kafka's AWS_MSK_IAM verifies against the AWS port's access-key table: one identity on both protocols.
    let aws_identity: Option<strait_access::SharedAwsIdentityVerifier> =
        cfg.kafka.aws_msk_iam.then(|| {
            Arc::new(strait_aws::msk_iam::MskIamVerifier::new(
                cfg.aws
                    .access_keys
                    .iter()
                    .map(config::AwsAccessKey::to_access_key)
                    .collect(),
                cfg.aws.region.clone(),
                Arc::new(strait_aws::SystemClock),
            )) as strait_access::SharedAwsIdentityVerifier
        });
    let member = cfg.cluster.as_ref().map(|c| (c.node_id, c.rack.clone()));
    let make_broker = move |engine: &strait_engine::Engine,
                            bound: std::net::SocketAddr,
                            cluster: Option<strait_engine::cluster::SharedClusterView>,
                            authorizer: strait_access::SharedAuthorizer| {
        Arc::new(strait_kafka::Broker::new(
            engine.clone(),
            strait_kafka::BrokerConfig {
                // A cluster node's Kafka id is its node id, so Metadata and the cluster view agree.
                node_id: member.as_ref().map_or(kafka.node_id, |m| m.0),
                rack: member.as_ref().and_then(|m| m.1.clone()),
                cluster,
                advertised_host: kafka
                    .advertised_host
                    .unwrap_or_else(|| bound.ip().to_string()),
                advertised_port: i32::from(kafka.advertised_port.unwrap_or(bound.port())),
                cluster_id: kafka.cluster_id,
                auto_create_topics: kafka.auto_create_topics,
                default_partitions: kafka.default_partitions.max(1),
                sasl_plain_users: kafka.sasl_plain_users,
                sasl,
                aws_identity: aws_identity.clone(),
                authorizer,
                fetch_session_cache_slots: kafka.fetch_session_cache_slots as usize,
                ..Default::default()
            },
        ))
    };
    node::run(cfg, listeners, make_broker, shutdown).await
}

/// The data directory `strait dev` would use: from a flag, STRAIT_NODE__DATA_DIR or the default. The listener
/// checks are waived for this look-up only: TLS, which the real load adds, is what satisfies them.
fn dev_data_dir(args: &strait::cli::DevArgs) -> Result<std::path::PathBuf, String> {
    let probe = args
        .overrides()
        .set("kafka.insecure", true)
        .set("aws.insecure", true)
        .set("admin.insecure", true);
    Ok(config::load(None, probe)
        .map_err(|e| e.to_string())?
        .node
        .data_dir)
}

/// `strait dev --tls`: makes (or reuses) the development certificates in the data directory, prints the client
/// settings, and loads the configuration with TLS on every listener.
fn dev_tls(args: &strait::cli::DevArgs) -> Result<Config, String> {
    let data_dir = dev_data_dir(args)?;
    let (certs, fresh) = DevCerts::ensure(&data_dir).map_err(|e| e.to_string())?;
    let cfg = config::load(None, args.tls_overrides(&certs)).map_err(|e| e.to_string())?;
    if fresh {
        println!(
            "generated development certificates in {}",
            certs.dir.display()
        );
    }
    let dial = |a: std::net::SocketAddr| strait::devcluster::dialable(a).to_string();
    println!(
        "{}",
        certs.client_settings(
            &dial(cfg.kafka.listen),
            &dial(cfg.aws.listen),
            &dial(cfg.admin.listen)
        )
    );
    Ok(cfg)
}

/// Prints a loaded configuration (`config show`, `dev --dry-run`). Secrets are redacted: this output ends up in
/// tickets, chats and CI logs.
fn show(loaded: Result<Config, config::ConfigError>) -> ExitCode {
    match loaded.map(|c| toml::to_string_pretty(&c.redacted())) {
        Ok(Ok(text)) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => fail(&format!("cannot render the configuration: {e}")),
        Err(e) => fail(&e.to_string()),
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("strait: {msg}");
    ExitCode::FAILURE
}
