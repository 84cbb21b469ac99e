//! `bench-engine`: how close the engine's durable append path gets to the raw disk.
//!
//! - `engine`: append throughput and latency with `fsync = always` and `wait_durable` (group commit).
//! - `raw-fsync`: the disk's latency for one 16 KiB write + fdatasync, the floor under every durable ack.
//!
//! `scripts/bench-engine.sh` runs both next to `dd`'s raw bandwidth and records the results in
//! `docs/benchmarks.md`. Not part of CI: it writes gigabytes and its numbers depend on the machine.

mod engine_run;
mod fsyncs;
mod raw;
mod stats;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Strait engine append benchmark")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Measures durable append throughput and latency for each partition count.
    Engine(engine_run::Args),
    /// Measures write + fdatasync latency of the raw disk.
    RawFsync(raw::Args),
}

fn main() -> std::process::ExitCode {
    let res: Result<(), Box<dyn std::error::Error + Send + Sync>> = match Cli::parse().cmd {
        Cmd::RawFsync(args) => raw::run(args).map_err(Into::into),
        Cmd::Engine(args) => fsyncs::FsyncRecorder::install()
            .map_err(Into::into)
            .and_then(|recorder| {
                tokio::runtime::Builder::new_multi_thread()
                    .enable_all()
                    .build()?
                    .block_on(engine_run::run(args, recorder))
            }),
    };
    match res {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench-engine: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
