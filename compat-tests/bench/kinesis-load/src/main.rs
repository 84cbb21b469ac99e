//! `bench-kinesis`: the Kinesis load generator of `compat-tests/bench/bench.sh`. One client (aws-sdk-kinesis) for
//! every server, so the figures compare servers, not clients. Each subcommand prints one JSON object on stdout.

mod client;
mod create;
mod error;
mod get;
mod latency;
mod put;
mod subscribe;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Kinesis PutRecords / GetRecords load generator (aws-sdk-kinesis)")]
struct Cli {
    /// Server endpoint, e.g. http://127.0.0.1:4566.
    #[arg(long, global = true, default_value = "http://127.0.0.1:4566")]
    endpoint: String,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// CreateStream with N shards and wait until it is ACTIVE.
    Create(create::Args),
    /// Concurrent PutRecords writers for a fixed time (or up to a record count).
    Put(put::Args),
    /// Read every shard from TRIM_HORIZON with GetRecords until the expected records are read.
    Get(get::Args),
    /// SubscribeToShard delivery latency: records put at a fixed rate, received by a subscriber per shard.
    SubscribeLatency(subscribe::Args),
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let client = client::new(&cli.endpoint);
    let result = match cli.cmd {
        Cmd::Create(a) => create::run(&client, a).await,
        Cmd::Put(a) => put::run(&client, a).await,
        Cmd::Get(a) => get::run(&client, a).await,
        Cmd::SubscribeLatency(a) => subscribe::run(&client, a).await,
    };
    match result {
        Ok(json) => {
            println!("{json}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-kinesis: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
