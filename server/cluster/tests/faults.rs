//! Failures: a peer restarting, a peer from another cluster, raw garbage on the listener, a silent peer.

#![allow(clippy::unwrap_used)] // tests fail loudly

mod common;

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use common::*;
use strait_cluster::wire::{
    self, FRAME_VERSION, HEADER_LEN, Header, Hello, Kind, PROTOCOL_VERSION,
};
use strait_cluster::{CallError, Transport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_restart_fails_fast_then_reconnects() {
    let a = start(1, "c").await;
    let b = start(2, "c").await;
    let b_addr = b.local_addr();
    mesh(&[&a, &b]);
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    // A call in flight when the peer goes away fails with Unreachable, promptly.
    let pending = a
        .send(
            2,
            1,
            SLEEP,
            sleep_ms(5000),
            strait_cluster::Lane::Concurrent,
        )
        .await
        .unwrap();
    b.shutdown().await;
    let started = Instant::now();
    assert_eq!(
        pending.response(T).await.unwrap_err(),
        CallError::Unreachable(2)
    );
    // While it is down, calls fail with Unreachable instead of hanging until their timeout.
    for _ in 0..20 {
        assert_eq!(
            a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap_err(),
            CallError::Unreachable(2)
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(a.in_flight(), 0);
    let status = a.peer_status();
    assert_eq!(status.len(), 1);
    assert!(
        !status[0].connected && status[0].failed_attempts >= 1,
        "{status:?}"
    );
    // Same address again: calls succeed once the backoff allows a new attempt (≤ 200 ms here).
    let mut cfg = config(2, "c");
    cfg.listen_addr = b_addr;
    let b = Transport::start(cfg, basic_handler()).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match a.call(2, 1, ECHO, Bytes::from_static(b"back"), T).await {
            Ok(got) => {
                assert_eq!(&got[..], b"back");
                break;
            }
            Err(CallError::Unreachable(2)) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            Err(e) => panic!("no reconnect: {e}"),
        }
    }
    let status = a.peer_status();
    assert!(
        status[0].connected && status[0].failed_attempts == 0,
        "{status:?}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_cluster_is_refused_and_the_node_keeps_serving() {
    let b = start(2, "blue").await;
    let stranger = start(1, "green").await;
    let friend = start(3, "blue").await;
    mesh(&[&stranger, &b]);
    match stranger.call(2, 1, ECHO, Bytes::new(), T).await {
        Err(CallError::Refused { peer: 2, reason }) => {
            assert!(reason.contains("cluster id mismatch"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    mesh(&[&friend, &b]);
    assert_eq!(
        &friend
            .call(2, 1, ECHO, Bytes::from_static(b"hi"), T)
            .await
            .unwrap()[..],
        b"hi"
    );
    // The dialler also checks who answered: a peer map pointing node 4 at node 2's address is refused.
    friend.set_peers([(4, b.local_addr())].into_iter().collect());
    match friend.call(4, 1, ECHO, Bytes::new(), T).await {
        Err(CallError::Refused { peer: 4, reason }) => {
            assert!(reason.contains("node 2 answered"), "{reason}")
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    for t in [b, stranger, friend] {
        t.shutdown().await;
    }
}

/// Reads until EOF or error; true if the server closed the connection within 3 s.
async fn closed_by_server(s: &mut TcpStream) -> bool {
    let mut buf = [0u8; 256];
    let until = Instant::now() + Duration::from_secs(3);
    loop {
        match tokio::time::timeout_at(until.into(), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

/// A raw connection that has completed the Hello exchange as node `node` of cluster "c".
async fn raw_after_hello(addr: std::net::SocketAddr, node: i32) -> TcpStream {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let hello = Hello {
        protocol_version: PROTOCOL_VERSION,
        node,
        max_frame: 1 << 20,
        cluster_id: "c".into(),
    };
    let mut buf = BytesMut::new();
    wire::encode(&Header::control(Kind::Hello, 0), &hello.encode(), &mut buf);
    s.write_all(&buf).await.unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest[1], Kind::Hello as u8);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_closes_only_that_connection() {
    let b = start(2, "c").await;
    let a = start(1, "c").await;
    mesh(&[&a, &b]);
    a.call(2, 1, ECHO, Bytes::new(), T).await.unwrap();
    let addr = b.local_addr();

    // Not our protocol at all (read as a huge first-frame length).
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert!(closed_by_server(&mut s).await, "HTTP bytes");
    // A well-sized first frame with a bad magic.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut buf = BytesMut::new();
    wire::encode(
        &Header::control(Kind::Hello, 0),
        &[0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 0, 0, 0, 0, 0],
        &mut buf,
    );
    s.write_all(&buf).await.unwrap();
    assert!(closed_by_server(&mut s).await, "bad magic");
    // Random bytes.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let junk: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let _ = s.write_all(&junk).await;
    assert!(closed_by_server(&mut s).await, "random bytes");

    // After a valid Hello: oversize length, truncated header, unknown kind, bad version, a second Hello.
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("oversize length", vec![0x7f, 0xff, 0xff, 0xff]),
        (
            "length shorter than the header",
            vec![0, 0, 0, 5, 1, 2, 3, 4, 5],
        ),
    ];
    let mut frame = BytesMut::new();
    wire::encode(&Header::control(Kind::Ping, 1), b"", &mut frame);
    let mut unknown = frame.to_vec();
    unknown[5] = 200;
    cases.push(("unknown kind", unknown));
    let mut version = frame.to_vec();
    version[4] = FRAME_VERSION + 1;
    cases.push(("bad version", version));
    let mut hello = BytesMut::new();
    let h = Hello {
        protocol_version: PROTOCOL_VERSION,
        node: 9,
        max_frame: 1 << 20,
        cluster_id: "c".into(),
    };
    wire::encode(&Header::control(Kind::Hello, 0), &h.encode(), &mut hello);
    cases.push(("second hello", hello.to_vec()));
    let mut bad_error = BytesMut::new();
    wire::encode(&Header::control(Kind::Error, 1), &[1], &mut bad_error);
    cases.push(("truncated error payload", bad_error.to_vec()));
    for (name, bytes) in cases {
        let mut s = raw_after_hello(addr, 9).await;
        s.write_all(&bytes).await.unwrap();
        assert!(closed_by_server(&mut s).await, "{name}");
        // The well-behaved peer is unaffected.
        assert_eq!(
            &a.call(2, 1, ECHO, Bytes::from_static(b"fine"), T)
                .await
                .unwrap()[..],
            b"fine",
            "{name}"
        );
    }
    let stats = b.stats();
    assert_eq!(
        stats.handshakes_refused, 3,
        "HTTP, bad magic, random bytes: {stats:?}"
    );
    assert_eq!(stats.malformed_closes, 6, "{stats:?}");
    // A raw peer that speaks correctly is served (requests from unknown senders are fine: mTLS authenticates).
    let mut s = raw_after_hello(addr, 9).await;
    let mut req = BytesMut::new();
    let header = Header {
        kind: Kind::Request,
        flags: 0,
        correlation: 77,
        group: 3,
        method: ECHO.0,
    };
    wire::encode(&header, b"raw", &mut req);
    s.write_all(&req).await.unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await.unwrap();
    let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut rest).await.unwrap();
    assert_eq!(rest[1], Kind::Response as u8);
    assert_eq!(u64::from_be_bytes(rest[3..11].try_into().unwrap()), 77);
    assert_eq!(&rest[HEADER_LEN..], b"raw");
    a.shutdown().await;
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_detected_by_the_keepalive() {
    // A fake node 2 that completes the Hello and then never sends another byte (a hung process, a black hole).
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await.unwrap();
        let mut len = [0u8; 4];
        s.read_exact(&mut len).await.unwrap();
        let mut rest = vec![0u8; u32::from_be_bytes(len) as usize];
        s.read_exact(&mut rest).await.unwrap();
        let hello = Hello {
            protocol_version: PROTOCOL_VERSION,
            node: 2,
            max_frame: 1 << 20,
            cluster_id: "c".into(),
        };
        let mut buf = BytesMut::new();
        wire::encode(&Header::control(Kind::Hello, 0), &hello.encode(), &mut buf);
        s.write_all(&buf).await.unwrap();
        let mut sink = vec![0u8; 1 << 16];
        while let Ok(n) = s.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    });
    let mut cfg = config(1, "c");
    cfg.keepalive_interval = Duration::from_millis(100);
    let a = Transport::start(cfg, basic_handler()).await.unwrap();
    a.set_peers([(2, fake)].into_iter().collect());
    let started = Instant::now();
    let err = a
        .call(2, 1, ECHO, Bytes::new(), Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err, CallError::Unreachable(2));
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(250) && took < Duration::from_secs(5),
        "took {took:?}"
    );
    a.shutdown().await;
    server.await.unwrap();
}
