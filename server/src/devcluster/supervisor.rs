//! Runs the planned nodes as child processes and stops them together.
//!
//! Each child runs `strait serve --config <node-i/strait.toml>` in its own process group, so a Ctrl-C in the
//! terminal reaches only this supervisor, which then sends each node one SIGTERM (a second one from the terminal
//! would make the nodes skip their graceful shutdown). Children's stdout and stderr lines are copied to ours,
//! prefixed `[node i] `. A node that dies is reported and not restarted: the printed command restarts it.
//! Killing the supervisor itself with SIGKILL leaves the nodes running; their PIDs are in the table it printed.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process};
use tokio::signal::unix::{SignalKind, signal};

use super::{DevClusterError, DevNode, DevPlan, dialable};

/// How long nodes may take to report healthy (engine recovery included) before the table is printed anyway.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// Added to a node's shutdown grace before it is killed: the engine flush and exit come after the grace.
const STOP_MARGIN: Duration = Duration::from_secs(5);
/// How often children are checked for having exited.
const POLL: Duration = Duration::from_millis(100);

struct Running {
    node: DevNode,
    child: Child,
    pid: u32,
    /// Set once the child has exited and been reported.
    exited: Option<ExitStatus>,
}

/// Starts every node, waits for them to be ready, prints the table, and supervises until a termination signal.
/// Exits non-zero when a node fails to start (the others are then stopped) or does not stop cleanly.
pub(super) fn supervise(plan: &DevPlan, exe: &Path) -> Result<ExitCode, DevClusterError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(DevClusterError::Runtime)?;
    runtime.block_on(supervise_async(plan, exe))
}

async fn supervise_async(plan: &DevPlan, exe: &Path) -> Result<ExitCode, DevClusterError> {
    // Registered before any child exists, so a Ctrl-C during startup stops them instead of orphaning them.
    let mut term = signal(SignalKind::terminate()).map_err(DevClusterError::Runtime)?;
    let mut int = signal(SignalKind::interrupt()).map_err(DevClusterError::Runtime)?;
    let mut hup = signal(SignalKind::hangup()).map_err(DevClusterError::Runtime)?;
    let stop_timeout = Duration::from_millis(plan.shutdown_grace_ms) + STOP_MARGIN;

    let mut nodes = Vec::with_capacity(plan.nodes.len());
    for node in &plan.nodes {
        match spawn(node, exe) {
            Ok(r) => nodes.push(r),
            Err(e) => {
                eprintln!("strait: cannot start node {}: {e}", node.id);
                stop(&mut nodes, stop_timeout, &mut term, &mut int).await;
                return Ok(ExitCode::FAILURE);
            }
        }
    }
    for r in &nodes {
        eprintln!("strait dev: node {} started as pid {}", r.node.id, r.pid);
    }

    // Startup: every node must reach /healthz 200 without exiting.
    let deadline = Instant::now() + READY_TIMEOUT;
    let mut ready = vec![false; nodes.len()];
    while !ready.iter().all(|r| *r) && Instant::now() < deadline {
        if reap(&mut nodes) {
            eprintln!("strait: a node failed to start; stopping the others");
            stop(&mut nodes, stop_timeout, &mut term, &mut int).await;
            return Ok(ExitCode::FAILURE);
        }
        for (i, r) in nodes.iter().enumerate() {
            if !ready[i] {
                ready[i] = healthy(dialable(r.node.admin));
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL * 2) => {}
            _ = term.recv() => { return Ok(stop(&mut nodes, stop_timeout, &mut term, &mut int).await); }
            _ = int.recv() => { return Ok(stop(&mut nodes, stop_timeout, &mut term, &mut int).await); }
            _ = hup.recv() => { return Ok(stop(&mut nodes, stop_timeout, &mut term, &mut int).await); }
        }
    }
    for (r, ok) in nodes.iter().zip(&ready) {
        if !ok {
            eprintln!(
                "strait dev: node {} (pid {}) is running but not ready after {} s; see its log lines",
                r.node.id,
                r.pid,
                READY_TIMEOUT.as_secs()
            );
        }
    }
    print_table(&nodes, exe);

    loop {
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {
                reap(&mut nodes);
                if nodes.iter().all(|r| r.exited.is_some()) {
                    eprintln!("strait dev: every node has exited");
                    return Ok(ExitCode::FAILURE);
                }
            }
            _ = term.recv() => break,
            _ = int.recv() => break,
            _ = hup.recv() => break,
        }
    }
    Ok(stop(&mut nodes, stop_timeout, &mut term, &mut int).await)
}

fn spawn(node: &DevNode, exe: &Path) -> std::io::Result<Running> {
    let mut child = Command::new(exe)
        .arg("serve")
        .arg("--config")
        .arg(&node.config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: the terminal's Ctrl-C reaches only the supervisor, which forwards one SIGTERM.
        .process_group(0)
        .spawn()?;
    let prefix = format!("[node {}] ", node.id);
    if let Some(out) = child.stdout.take() {
        copy_prefixed(out, prefix.clone(), || Box::new(std::io::stdout()));
    }
    if let Some(err) = child.stderr.take() {
        copy_prefixed(err, prefix, || Box::new(std::io::stderr()));
    }
    Ok(Running {
        node: node.clone(),
        pid: child.id(),
        child,
        exited: None,
    })
}

/// Copies `src` line by line to the stream `dst` makes, each line prefixed; ends when the child closes it.
fn copy_prefixed<R: Read + Send + 'static>(src: R, prefix: String, dst: fn() -> Box<dyn Write>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(src);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if !line.ends_with(b"\n") {
                        line.push(b'\n');
                    }
                    // One write per line, so lines of different nodes do not interleave mid-line.
                    let mut out = prefix.clone().into_bytes();
                    out.extend_from_slice(&line);
                    // Nowhere to report a failed write to our own output; the node keeps running regardless.
                    let _ = dst().write_all(&out);
                }
            }
        }
    });
}

/// Collects children that have exited and reports each once. Returns whether any exited in this call.
fn reap(nodes: &mut [Running]) -> bool {
    let mut any = false;
    for r in nodes.iter_mut().filter(|r| r.exited.is_none()) {
        match r.child.try_wait() {
            Ok(Some(status)) => {
                eprintln!(
                    "strait dev: node {} (pid {}) exited: {}",
                    r.node.id,
                    r.pid,
                    describe(status)
                );
                r.exited = Some(status);
                any = true;
            }
            Ok(None) => {}
            Err(e) => eprintln!("strait dev: cannot check node {}: {e}", r.node.id),
        }
    }
    any
}

fn describe(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        (None, None) => status.to_string(),
    }
}

/// Sends SIGTERM to every running node and waits for them; a node still running after `timeout` is killed. A
/// second signal to the supervisor is forwarded (the nodes then exit without draining). Returns success only if
/// every node that was still running stopped cleanly.
async fn stop(
    nodes: &mut [Running],
    timeout: Duration,
    term: &mut tokio::signal::unix::Signal,
    int: &mut tokio::signal::unix::Signal,
) -> ExitCode {
    let stopping: Vec<usize> = (0..nodes.len())
        .filter(|&i| nodes[i].exited.is_none())
        .collect();
    if stopping.is_empty() {
        return ExitCode::FAILURE;
    }
    eprintln!("strait dev: stopping {} node(s)", stopping.len());
    let signal_all = |nodes: &[Running], sig: Signal| {
        for r in nodes.iter().filter(|r| r.exited.is_none()) {
            if let Some(pid) = i32::try_from(r.pid).ok().and_then(Pid::from_raw) {
                // The child may have exited since the last reap; ESRCH then is expected and harmless.
                let _ = kill_process(pid, sig);
            }
        }
    };
    signal_all(nodes, Signal::TERM);
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        reap(nodes);
        if nodes.iter().all(|r| r.exited.is_some()) {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = tokio::time::sleep_until(deadline) => {
                eprintln!("strait dev: nodes still running after {} s; killing them", timeout.as_secs());
                signal_all(nodes, Signal::KILL);
                for r in nodes.iter_mut().filter(|r| r.exited.is_none()) {
                    r.exited = r.child.wait().ok();
                }
                return ExitCode::FAILURE;
            }
            _ = term.recv() => signal_all(nodes, Signal::TERM),
            _ = int.recv() => signal_all(nodes, Signal::TERM),
        }
    }
    let clean = stopping
        .iter()
        .all(|&i| nodes[i].exited.is_some_and(|s| s.success()));
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Whether the node's admin endpoint answers `GET /healthz` with 200. Short timeouts: called in a poll loop.
fn healthy(admin: SocketAddr) -> bool {
    let attempt = || -> std::io::Result<bool> {
        let mut s = TcpStream::connect_timeout(&admin, Duration::from_millis(200))?;
        s.set_read_timeout(Some(Duration::from_millis(500)))?;
        s.set_write_timeout(Some(Duration::from_millis(500)))?;
        s.write_all(b"GET /healthz HTTP/1.1\r\nHost: strait\r\nConnection: close\r\n\r\n")?;
        let mut head = [0u8; 12];
        s.read_exact(&mut head)?;
        Ok(head.starts_with(b"HTTP/1.1 200"))
    };
    attempt().unwrap_or(false)
}

fn print_table(nodes: &[Running], exe: &Path) {
    let mut out = String::new();
    out.push_str(&format!(
        "\nstrait dev: {}-node cluster \"{}\" (node output follows, prefixed [node i])\n\n",
        nodes.len(),
        super::DEV_CLUSTER_ID
    ));
    out.push_str(&format!(
        "{:<5} {:<8} {:<6} {:<21} {:<21} {:<21} {:<21} {}\n",
        "node", "pid", "rack", "kafka", "aws", "admin", "inter-node", "data dir"
    ));
    for r in nodes {
        let n = &r.node;
        out.push_str(&format!(
            "{:<5} {:<8} {:<6} {:<21} {:<21} {:<21} {:<21} {}\n",
            n.id,
            r.pid,
            n.rack,
            n.kafka.to_string(),
            n.aws.to_string(),
            n.admin.to_string(),
            n.cluster.to_string(),
            n.dir.display()
        ));
    }
    out.push_str("\nrestart a stopped node with:\n");
    for r in nodes {
        out.push_str(&format!(
            "  node {}: {} serve --config {}\n",
            r.node.id,
            shell_quote(&exe.display().to_string()),
            shell_quote(&r.node.config_path.display().to_string())
        ));
    }
    let join = |f: fn(&DevNode) -> String| {
        nodes
            .iter()
            .map(|r| f(&r.node))
            .collect::<Vec<_>>()
            .join(",")
    };
    out.push_str("\nclient settings:\n");
    out.push_str(&format!(
        "  Kafka:   bootstrap.servers={}\n",
        join(|n| dialable(n.kafka).to_string())
    ));
    out.push_str(&format!(
        "  AWS API: AWS_ENDPOINT_URL=http://{} (any node: {})\n",
        dialable(nodes[0].node.aws),
        join(|n| format!("http://{}", dialable(n.aws)))
    ));
    out.push_str("\nCtrl-C (SIGINT) or SIGTERM stops every node.\n\n");
    // Not `print!`, which panics when stdout is a closed pipe: the nodes must still be supervised and stopped.
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(out.as_bytes());
    // Flushed now: a pipe (a test, `| tee`) would otherwise hold the table until much later output.
    let _ = stdout.flush();
}

/// Quotes `s` for a POSIX shell when it holds anything but safe characters.
fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+:=@,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
