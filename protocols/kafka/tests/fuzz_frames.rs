//! Decoder fuzzing through the whole request path: random frames, and valid frames of every advertised API and
//! version with random bytes flipped, truncated or appended. Whatever arrives, the broker answers or refuses the
//! frame (closing the connection); it never panics. Runs a bounded number of cases in CI
//! (`PROPTEST_CASES` raises it for longer local runs). Frames with huge counts for every API and version also run
//! in a child process under an address-space limit, where an oversized allocation aborts instead of succeeding.

mod common;

// The same allocator as the server binary. It used to be what kept kafka-protocol's preallocation from untrusted
// counts from aborting (it reserves lazily under overcommit); the decoders are now bounded by the bytes remaining
// (vendor/kafka-protocol/PATCHES.md), and `huge_counts_under_an_address_space_limit` shows lazy reservation is no
// longer relied on.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use bytes::{BufMut, Bytes, BytesMut};
use common::TestBroker;
use proptest::prelude::*;
use strait_kafka::Session;
use strait_kafka::api::SUPPORTED;

/// A syntactically plausible frame: a supported (key, version), a correlation id, a client id, then `body`.
fn frame(idx: usize, version_pick: u16, body: &[u8]) -> Bytes {
    let (key, lo, hi) = SUPPORTED[idx % SUPPORTED.len()];
    let version = lo + (version_pick % ((hi - lo + 1) as u16)) as i16;
    let mut b = BytesMut::new();
    b.put_i16(key as i16);
    b.put_i16(version);
    b.put_i32(7);
    b.put_i16(4);
    b.put_slice(b"fuzz");
    b.put_u8(0); // empty tagged fields, for flexible header versions
    b.put_slice(body);
    b.freeze()
}

fn run(frames: Vec<Bytes>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let t = TestBroker::new().await;
        for f in frames {
            let mut s = Session::default();
            // Long-poll APIs could wait for their timeouts: bound each call, the property is "no panic".
            let _ = tokio::time::timeout(
                std::time::Duration::from_millis(200),
                t.broker.handle(&mut s, f),
            )
            .await;
        }
        t.shutdown().await;
    });
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..256), 1..16)) {
        run(frames.into_iter().map(Bytes::from).collect());
    }

    #[test]
    fn plausible_headers_with_random_bodies_never_panic(
        reqs in proptest::collection::vec((any::<usize>(), any::<u16>(), proptest::collection::vec(any::<u8>(), 0..512)), 1..24)
    ) {
        run(reqs.iter().map(|(i, v, body)| frame(*i, *v, body)).collect());
    }
}

/// Frames whose array counts ask for far more elements than the frame holds: each must be refused cleanly.
#[test]
fn impossible_array_counts_are_refused_not_fatal() {
    let mut v12 = BytesMut::new();
    v12.put_i16(3); // Metadata
    v12.put_i16(12);
    v12.put_i32(1);
    v12.put_i16(-1); // null client id
    v12.put_u8(0); // header tagged fields
    v12.put_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]); // compact array of 2^32 - 2 topics, then nothing
    let frames = vec![
        // Metadata v0 claiming 54,265,856 topics in 8 bytes (kafka-protocol-rs PR 152's reproducer)
        Bytes::from_static(&[0x00, 0x03, 0x00, 0x00, 0x03, 0x3c, 0x0c, 0x00, 0xb6]),
        Bytes::from_static(&[0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
        v12.freeze(),
    ];
    run(frames.clone());
    // and the broker still answers afterwards
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut t = TestBroker::new().await;
        for f in frames {
            let mut s = Session::default();
            assert!(t.broker.handle(&mut s, f).await.is_err(), "refused");
        }
        let r = t
            .call(3, &kafka_protocol::messages::ApiVersionsRequest::default())
            .await;
        assert_eq!(r.error_code, 0);
        t.shutdown().await;
    });
}

/// Set in the child process that `huge_counts_under_an_address_space_limit` starts.
const AS_LIMIT_CHILD: &str = "STRAIT_FUZZ_AS_LIMIT_CHILD";
/// How far above its size at start the child may grow: far less than any count-sized reservation (2^31 - 1
/// elements of even 4 bytes is 8 GiB), far more than decoding and a broker over an empty engine need.
const AS_HEADROOM: u64 = 1 << 30;
/// Fields before the first array: the longest run of fixed fields is ShareFetch v2's ~30 bytes.
const MAX_PREFIX: usize = 48;

/// Requests without any array field, at these versions (from Kafka's message specs), in `SUPPORTED` order.
const ARRAY_FREE: &[(kafka_protocol::messages::ApiKey, i16, i16)] = {
    use kafka_protocol::messages::ApiKey;
    &[
        (ApiKey::ApiVersions, 0, 4),
        (ApiKey::InitProducerId, 0, 5),
        (ApiKey::DescribeCluster, 0, 2),
        (ApiKey::DescribeAcls, 1, 3),
        (ApiKey::FindCoordinator, 0, 3),
        (ApiKey::Heartbeat, 0, 4),
        (ApiKey::LeaveGroup, 0, 2),
        (ApiKey::ListGroups, 0, 3),
        (ApiKey::AddOffsetsToTxn, 0, 4),
        (ApiKey::EndTxn, 0, 4),
        (ApiKey::SaslHandshake, 1, 1),
        (ApiKey::SaslAuthenticate, 0, 2),
    ]
};

/// For every supported (key, version): frames whose body is `k` filler bytes then an array count of 0x7fffffff,
/// for each `k` up to [`MAX_PREFIX`]. Filler bytes decode as the smallest valid value of any field (0 for
/// classic encodings: empty strings and arrays, zero numbers; 1 for flexible ones: empty compact strings and
/// arrays), so for some `k` the count lands exactly on the first array, whatever fields precede it; other `k`
/// put it in strings, byte fields and numbers.
fn huge_count_frames() -> Vec<(kafka_protocol::messages::ApiKey, i16, Bytes)> {
    let mut out = Vec::new();
    for &(api, lo, hi) in SUPPORTED {
        for version in lo..=hi {
            let flexible = api.request_header_version(version) >= 2;
            for k in 0..=MAX_PREFIX {
                let mut b = BytesMut::new();
                b.put_i16(api as i16);
                b.put_i16(version);
                b.put_i32(k as i32);
                b.put_i16(-1); // null client id
                if flexible {
                    b.put_u8(0); // no header tagged fields
                    b.put_bytes(1, k);
                    // compact count n + 1 = 2^31: 0x7fffffff elements
                    b.put_slice(&[0x80, 0x80, 0x80, 0x80, 0x08]);
                } else {
                    b.put_bytes(0, k);
                    b.put_i32(0x7fff_ffff);
                }
                out.push((api, version, b.freeze()));
            }
        }
    }
    out
}

/// Caps this process's address space at its current size plus [`AS_HEADROOM`], and checks the cap bites.
fn limit_address_space() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    let vm_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmSize:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmSize in /proc/self/status");
    let limit = vm_kib * 1024 + AS_HEADROOM;
    let maximum = getrlimit(Resource::As).maximum;
    setrlimit(
        Resource::As,
        Rlimit {
            current: Some(limit),
            maximum,
        },
    )
    .expect("setrlimit RLIMIT_AS");
    let mut probe: Vec<u8> = Vec::new();
    assert!(
        probe.try_reserve(2 * AS_HEADROOM as usize).is_err(),
        "the address-space limit does not stop a large reservation"
    );
}

/// Runs the frames of [`huge_count_frames`] through the broker under an address-space limit, in a child process
/// (the test binary re-run for this test alone) so the limit cannot disturb other tests and an abort shows up as
/// the child's exit status. Every frame must be refused or answered; the broker must answer afterwards.
#[test]
fn huge_counts_under_an_address_space_limit() {
    if std::env::var_os(AS_LIMIT_CHILD).is_some() {
        return huge_counts_child();
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "huge_counts_under_an_address_space_limit",
            "--test-threads=1",
            "--nocapture",
        ])
        .env(AS_LIMIT_CHILD, "1")
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child under RLIMIT_AS failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    for line in stdout
        .lines()
        .filter(|l| l.contains("refused a huge count"))
    {
        println!("child: {line}");
    }
}

fn huge_counts_child() {
    limit_address_space();
    let frames = huge_count_frames();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut t = TestBroker::new().await;
        // (api, version) pairs where some frame's count reached a count check and was refused by it.
        let mut refused = std::collections::BTreeSet::new();
        for (api, version, f) in frames {
            let mut s = Session::default();
            let r = tokio::time::timeout(
                std::time::Duration::from_millis(200),
                t.broker.handle(&mut s, f),
            )
            .await;
            if let Ok(Err(e)) = r {
                // The whole chain: the decoder's message is under kafka-protocol's "failed to decode" context.
                let mut msg = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    msg = format!("{msg}: {s}");
                    source = s.source();
                }
                if msg.contains("claims") || msg.contains("share request truncated") {
                    refused.insert((api as i16, version));
                }
            }
        }
        let without: Vec<String> = SUPPORTED
            .iter()
            .flat_map(|&(api, lo, hi)| (lo..=hi).map(move |v| (api, v)))
            .filter(|&(api, v)| !refused.contains(&(api as i16, v)))
            .map(|(api, v)| format!("{api:?} v{v}"))
            .collect();
        println!(
            "{} of the supported (api, version) pairs refused a huge count; none refused (no array, or the \
             filler is not valid before it): {}",
            refused.len(),
            without.join(", ")
        );
        // Every (api, version) whose request has an array must have refused one; these have none.
        assert_eq!(
            without.join(", "),
            ARRAY_FREE
                .iter()
                .flat_map(|&(api, lo, hi)| (lo..=hi).map(move |v| format!("{api:?} v{v}")))
                .collect::<Vec<_>>()
                .join(", "),
            "requests with an array where no huge count was refused by a count check (or a list to update)"
        );
        let r = t
            .call(3, &kafka_protocol::messages::ApiVersionsRequest::default())
            .await;
        assert_eq!(r.error_code, 0);
        t.shutdown().await;
    });
}
