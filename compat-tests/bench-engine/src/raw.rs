//! `bench-engine raw-fsync`: the disk's own cost of a durable 16 KiB append (write + fdatasync), the floor
//! under any fsync-per-ack design.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

use crate::stats::{mb_per_s, quantile, sorted};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Directory for the scratch file (removed afterwards); use the disk the engine runs on.
    #[arg(long)]
    dir: PathBuf,
    /// Number of write + fdatasync rounds.
    #[arg(long, default_value_t = 2000)]
    count: u32,
    /// Bytes per write.
    #[arg(long, default_value_t = 16 * 1024)]
    write_bytes: usize,
}

pub(crate) fn run(args: Args) -> std::io::Result<()> {
    let path = args.dir.join("raw-fsync.bin");
    let buf = vec![0x5au8; args.write_bytes];
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    let mut lat = Vec::with_capacity(args.count as usize);
    let started = Instant::now();
    for _ in 0..args.count {
        let t = Instant::now();
        f.write_all(&buf)?;
        f.sync_data()?;
        lat.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let elapsed = started.elapsed();
    drop(f);
    std::fs::remove_file(&path)?;
    let lat = sorted(lat);
    let bytes = u64::from(args.count) * args.write_bytes as u64;
    println!(
        "raw-fsync: {} x ({} B write + fdatasync): {:.1} MB/s, {:.0} fsyncs/s, latency p50 {:.3} ms, p99 {:.3} ms",
        args.count,
        args.write_bytes,
        mb_per_s(bytes, elapsed),
        f64::from(args.count) / elapsed.as_secs_f64(),
        quantile(&lat, 0.5),
        quantile(&lat, 0.99),
    );
    Ok(())
}
