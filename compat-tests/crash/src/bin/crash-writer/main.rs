//! `crash-writer`: drives the engine for the kill -9 crash test.
//!
//! - `write` appends forever (or for `--duration-ms`) and prints `ack` lines, each only after `append()`
//!   returned Ok under `fsync = always`, so every printed ack is a promise of durability.
//! - `verify` recovers the data directory and prints every batch found, checked byte for byte.
//!
//! Engine warnings (for example a damaged tail being cut) go to stderr; set `RUST_LOG` for more.

mod verify;
mod write;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

#[derive(Parser)]
#[command(about = "Writer and verifier for Strait's kill -9 crash test")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Appends batches from concurrent writer tasks, printing one `ack` line per durable append.
    Write(write::Args),
    /// Opens (recovers) the data directory and prints every batch in the topic.
    Verify {
        #[arg(long)]
        data_dir: PathBuf,
    },
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        // The test shows these lines in its own log.
        .with_ansi(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("crash-writer: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let res = runtime.block_on(async {
        match cli.cmd {
            Cmd::Write(args) => write::run(args).await,
            Cmd::Verify { data_dir } => verify::run(data_dir).await,
        }
    });
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crash-writer: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
