//! End-to-end: runs the real `strait` binary, checks every listener, stops it with SIGTERM and restarts it.

mod common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use common::{assert_no_streams, http1, list_streams_headers, wait_healthy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running `strait` process; killed (by its PID) if a test fails before stopping it.
struct Node {
    child: Child,
    kafka: SocketAddr,
    aws: SocketAddr,
    admin: SocketAddr,
}

impl Node {
    fn start(data_dir: &Path, log: &Path) -> Node {
        let [kafka, aws, admin] = free_ports();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_strait"));
        cmd.arg("dev")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--kafka-addr", &kafka.to_string()])
            .args(["--aws-addr", &aws.to_string()])
            .args(["--admin-addr", &admin.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(
                std::fs::File::options()
                    .create(true)
                    .append(true)
                    .open(log)
                    .expect("log file"),
            );
        // The node must see only what the test gives it.
        for (k, _) in std::env::vars() {
            if k.starts_with("STRAIT_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RUST_LOG", "info");
        Node {
            child: cmd.spawn().expect("spawn strait"),
            kafka,
            aws,
            admin,
        }
    }

    fn terminate(&mut self) -> ExitStatus {
        let pid = rustix::process::Pid::from_child(&self.child);
        rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("SIGTERM");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "strait did not exit within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Three distinct free loopback ports: bound together (so they differ) and released for the node to take.
fn free_ports() -> [SocketAddr; 3] {
    let ls: Vec<TcpListener> = (0..3)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind"))
        .collect();
    let addrs: Vec<SocketAddr> = ls.iter().map(|l| l.local_addr().expect("addr")).collect();
    [addrs[0], addrs[1], addrs[2]]
}

fn logs(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_node_serves_stops_cleanly_and_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let log = dir.path().join("strait.log");

    let mut node = Node::start(&data, &log);
    assert!(
        wait_healthy(node.admin, Duration::from_secs(30)).await,
        "never healthy; logs:\n{}",
        logs(&log)
    );

    let metrics = http1(node.admin, "GET", "/metrics", &[], b"")
        .await
        .expect("metrics");
    assert_eq!(metrics.status, 200);
    let text = metrics.text();
    assert!(text.contains("strait_engine_topics 0"), "metrics:\n{text}");
    assert!(text.contains("strait_node_ready 1"), "metrics:\n{text}");
    assert_eq!(
        http1(node.admin, "GET", "/nope", &[], b"")
            .await
            .expect("404")
            .status,
        404
    );

    let reply = http1(node.aws, "POST", "/", &list_streams_headers(), b"{}")
        .await
        .expect("aws");
    assert_no_streams(&reply);

    // The Kafka front end answers ApiVersions v0 (key 18, correlation id 7, null client id)...
    let mut kafka = tokio::net::TcpStream::connect(node.kafka)
        .await
        .expect("kafka connect");
    kafka
        .write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])
        .await
        .expect("frame");
    let mut head = [0u8; 10];
    tokio::time::timeout(Duration::from_secs(10), kafka.read_exact(&mut head))
        .await
        .expect("answered in time")
        .expect("read");
    assert_eq!(&head[4..8], &7i32.to_be_bytes(), "correlation id echoed");
    assert_eq!(&head[8..10], &[0, 0], "no error");
    drop(kafka);
    // ...and a frame too short to be a request closes the connection.
    let mut kafka = tokio::net::TcpStream::connect(node.kafka)
        .await
        .expect("kafka connect");
    kafka.write_all(&[0, 0, 0, 2, 0, 18]).await.expect("frame");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(10), kafka.read(&mut buf))
        .await
        .expect("closed in time");
    assert_eq!(n.expect("read"), 0, "expected the connection to be closed");

    let status = node.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; logs:\n{}",
        logs(&log)
    );
    assert!(
        data.join(".clean-shutdown").exists(),
        "no clean-shutdown marker; logs:\n{}",
        logs(&log)
    );
    let out = logs(&log);
    assert!(
        out.contains("too short for a request header"),
        "logs:\n{out}"
    );

    let mut node = Node::start(&data, &log);
    assert!(
        wait_healthy(node.admin, Duration::from_secs(30)).await,
        "restart never healthy; logs:\n{}",
        logs(&log)
    );
    let status = node.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "exit status {status}; logs:\n{}",
        logs(&log)
    );
}

#[test]
fn config_commands_print_valid_toml() {
    let exe = env!("CARGO_BIN_EXE_strait");
    let default = Command::new(exe)
        .args(["config", "default"])
        .output()
        .expect("config default");
    assert!(default.status.success());
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("strait.toml");
    std::fs::write(&file, &default.stdout).expect("write");
    let mut show = Command::new(exe);
    show.args(["config", "show", "--config"]).arg(&file);
    for (k, _) in std::env::vars() {
        if k.starts_with("STRAIT_") {
            show.env_remove(k);
        }
    }
    // `config show` answers for `strait serve`, which verifies SigV4 by default and so needs access keys; the
    // example has none.
    let refused = show.output().expect("config show");
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("aws.auth"));
    show.env("STRAIT_AWS__AUTH", "none");
    let shown = show.output().expect("config show");
    assert!(
        shown.status.success(),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    let shown = String::from_utf8(shown.stdout).expect("utf-8");
    assert!(shown.contains("listen = \"127.0.0.1:9092\""), "{shown}");

    let missing = Command::new(exe)
        .args(["serve", "--config"])
        .arg(dir.path().join("nope.toml"))
        .output()
        .expect("serve");
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("does not exist"));
}
