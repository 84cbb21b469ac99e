//! Running `crash-writer` as a child process: spawn, kill -9, and collect what it printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_crash-writer");

/// Writes straight to the process's stderr: libtest captures `println!`/`eprintln!` of passing tests, but the
/// per-round figures are the point of running this test, so they should show without `--nocapture`.
pub(crate) fn say(msg: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{msg}");
}

/// What a killed writer printed.
pub(crate) struct WriterRun {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    /// When the writer printed `ready` (engine open, topic there), counted from spawn.
    pub(crate) ready_after: Option<Duration>,
}

/// Runs `crash-writer write` for `run_for`, then SIGKILLs it. Panics if it exited on its own.
pub(crate) fn write_then_kill(
    data_dir: &Path,
    round: u32,
    seed: u64,
    run_for: Duration,
) -> WriterRun {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("write")
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--round", &round.to_string(), "--seed", &seed.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crash-writer write");
    let out = read_lines_with_ready(child.stdout.take().expect("stdout is piped"), started);
    let err = read_all(child.stderr.take().expect("stderr is piped"));
    std::thread::sleep(run_for.saturating_sub(started.elapsed()));
    let early = child.try_wait().expect("poll the writer");
    // Child::kill sends SIGKILL on Unix: no destructor, no flush, no clean-shutdown marker.
    child.kill().expect("SIGKILL the writer");
    child.wait().expect("reap the writer");
    let (stdout, ready_after) = out.join().expect("stdout reader");
    let stderr = err.join().expect("stderr reader");
    if let Some(status) = early {
        panic!("crash-writer exited by itself ({status}) in round {round}; stderr:\n{stderr}");
    }
    WriterRun {
        stdout,
        stderr,
        ready_after,
    }
}

/// What one `verify` run printed, and how long it took from spawn to exit.
pub(crate) struct VerifyRun {
    pub(crate) stdout: String,
    pub(crate) stderr: String,
    pub(crate) elapsed: Duration,
}

/// Runs `crash-writer verify`; panics if it fails or takes longer than `limit` (a hang in recovery or shutdown).
pub(crate) fn verify(data_dir: &Path, limit: Duration) -> VerifyRun {
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .arg("verify")
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn crash-writer verify");
    let out = read_all(child.stdout.take().expect("stdout is piped"));
    let err = read_all(child.stderr.take().expect("stderr is piped"));
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll verify") {
            break status;
        }
        if started.elapsed() > limit {
            child.kill().expect("kill a hung verify");
            child.wait().expect("reap verify");
            let stderr = err.join().expect("stderr reader");
            panic!(
                "verify did not finish within {limit:?} (hung in recovery or shutdown?); stderr:\n{stderr}"
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = started.elapsed();
    let (stdout, stderr) = (
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    );
    assert!(
        status.success(),
        "verify failed ({status}); stderr:\n{stderr}"
    );
    VerifyRun {
        stdout,
        stderr,
        elapsed,
    }
}

fn read_all(mut r: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        String::from_utf8_lossy(&buf).into_owned()
    })
}

/// Reads everything, noting when the `ready` line arrived. Keeps a final line that has no newline, so the
/// caller's parser can see (and ignore) it.
fn read_lines_with_ready(
    r: impl Read + Send + 'static,
    started: Instant,
) -> JoinHandle<(String, Option<Duration>)> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(r);
        let (mut all, mut line, mut ready) = (String::new(), String::new(), None);
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            if ready.is_none() && line == "ready\n" {
                ready = Some(started.elapsed());
            }
            all.push_str(&line);
            line.clear();
        }
        (all, ready)
    })
}
