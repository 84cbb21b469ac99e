//! A real `strait dev` process on free loopback ports, and an SDK client pointed at it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_kinesis::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kinesis::{Client, Config};

/// The server binary: `STRAIT_BIN` (what scripts/test.sh and the other suites use), else the `strait` that
/// `cargo test --workspace` builds next to this test's own executable (the server's integration tests need it).
/// Missing, it is a loud failure: building it from inside `cargo test` would wait on the lock cargo holds.
fn strait_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("STRAIT_BIN") {
        let bin = PathBuf::from(bin);
        assert!(bin.is_file(), "STRAIT_BIN={} does not exist", bin.display());
        return bin;
    }
    // target/<profile>/deps/<this test> -> target/<profile>/strait
    let exe = std::env::current_exe().expect("own executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in target/<profile>/deps")
        .join("strait");
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p strait` (or `cargo test --workspace`, which builds it) or set \
         STRAIT_BIN",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("bind a free loopback port")
        .port()
}

/// One `strait dev`; stopped with SIGTERM by PID when dropped, even when a test panics.
pub(crate) struct Strait {
    child: Child,
    dir: tempfile::TempDir,
    pub(crate) aws_port: u16,
}

impl Strait {
    pub(crate) fn start() -> Strait {
        Strait::start_with(&[])
    }

    /// Starts with extra `STRAIT_*` settings in the environment.
    pub(crate) fn start_with(env: &[(&str, &str)]) -> Strait {
        let dir = tempfile::Builder::new()
            .prefix("strait-kinesis-rust-")
            .tempdir()
            .expect("temp dir");
        let (kafka, aws, admin) = (free_port(), free_port(), free_port());
        let log = std::fs::File::create(dir.path().join("strait.log")).expect("log file");
        let child = Command::new(strait_bin())
            .arg("dev")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .args(["--kafka-addr", &format!("127.0.0.1:{kafka}")])
            .args(["--aws-addr", &format!("127.0.0.1:{aws}")])
            .args(["--admin-addr", &format!("127.0.0.1:{admin}")])
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log handle"))
            .stderr(log)
            .spawn()
            .expect("spawn strait dev");
        let mut s = Strait {
            child,
            dir,
            aws_port: aws,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !healthy(admin) {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("strait exited early ({status}):\n{}", s.log());
            }
            assert!(
                Instant::now() < deadline,
                "strait did not become healthy in 30 s:\n{}",
                s.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("strait.log")).unwrap_or_default()
    }

    /// An SDK client configured as a user would for a local endpoint: region, static keys, endpoint URL. The
    /// HTTP client is the SDK's own hyper client without TLS (see Cargo.toml for why).
    pub(crate) fn client(&self) -> Client {
        self.client_with_keys("AKIDSTRAITTEST", "strait-test-secret")
    }

    pub(crate) fn client_with_keys(&self, access_key: &str, secret: &str) -> Client {
        let config = Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(
                access_key,
                secret,
                None,
                None,
                "compat-test",
            ))
            .endpoint_url(format!("http://127.0.0.1:{}", self.aws_port))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .build();
        Client::from_conf(config)
    }
}

impl Drop for Strait {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        if rustix::process::kill_process(pid, rustix::process::Signal::TERM).is_ok() {
            let deadline = Instant::now() + Duration::from_secs(20);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn healthy(admin_port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", admin_port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    if s.write_all(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.ends_with(b"200")
}
