//! Decoder fuzzing through the whole request path: random frames, and valid frames of every advertised API and
//! version with random bytes flipped, truncated or appended. Whatever arrives, the broker answers or refuses the
//! frame (closing the connection); it never panics. Runs a bounded number of cases in CI
//! (`PROPTEST_CASES` raises it for longer local runs).

mod support;

// The same allocator as the server binary: kafka-protocol preallocates arrays from untrusted counts, and only an
// allocator that reserves lazily (see server/src/main.rs) turns that into a decode error instead of an abort.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use strait_kafka::Session;
use strait_kafka::api::SUPPORTED;
use support::TestBroker;

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
