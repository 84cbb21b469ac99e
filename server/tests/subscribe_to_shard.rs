//! SubscribeToShard over real HTTP/2 (prior knowledge, as the Java and JS SDKs connect) and HTTP/1.1 against the
//! AWS-API listener in-process: the event stream, the takeover rule, release on client disconnect, and a
//! shutdown that ends open streams instead of waiting for them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::{HeaderValue, Message};
use bytes::{Buf, Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::{Value, json};
use strait::aws::{self, Auth};
use strait_engine::{Engine, EngineConfig};
use strait_kinesis::{Kinesis, KinesisConfig, SystemClock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A well-formed SigV4 header: the listener runs with `auth = "none"`, which checks the form only.
const AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/kinesis/aws4_request, \
                    SignedHeaders=host;x-amz-date;x-amz-target, Signature=0123456789abcdef";

struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<()>,
    _dir: tempfile::TempDir,
    engine: Engine,
}

async fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let engine = Engine::open(EngineConfig {
        data_dir: dir.path().to_path_buf(),
        ..EngineConfig::default()
    })
    .await
    .expect("engine");
    let kinesis = Kinesis::open(
        engine.clone(),
        KinesisConfig {
            status_delay: Duration::ZERO,
            ..KinesisConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .expect("kinesis");
    let dynamodb = strait_dynamodb::DynamoDb::open(
        engine.clone(),
        strait_dynamodb::DynamoConfig::default(),
        Arc::new(strait_dynamodb::SystemClock),
    )
    .expect("dynamodb");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(aws::serve(
        listener,
        kinesis,
        dynamodb,
        Auth::WellFormed,
        strait_cloudwatch::CloudWatchConfig::default(),
        Arc::new(SystemClock),
        aws::Guards::default(),
        // Long on purpose: shutdown must not need it while streams are open.
        Duration::from_secs(30),
        async move {
            let _ = rx.await;
        },
    ));
    Server {
        addr,
        stop: Some(tx),
        task,
        _dir: dir,
        engine,
    }
}

fn request(op: &str, body: &Value) -> Request<Full<Bytes>> {
    Request::builder()
        .method("POST")
        .uri("http://127.0.0.1/")
        .header("content-type", "application/x-amz-json-1.1")
        .header("x-amz-target", format!("Kinesis_20131202.{op}"))
        .header("x-amz-date", "20260101T000000Z")
        .header("authorization", AUTH)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

type H2 = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

async fn h2(addr: SocketAddr) -> H2 {
    let tcp = TcpStream::connect(addr).await.expect("connect");
    let (send, conn) =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(tcp))
            .await
            .expect("h2 handshake");
    tokio::spawn(conn);
    send
}

/// A unary call over HTTP/2; returns (status, JSON body).
async fn call(c: &mut H2, op: &str, body: Value) -> (u16, Value) {
    let resp = c.send_request(request(op, &body)).await.expect(op);
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("JSON body")
    };
    (status, v)
}

/// Reads event-stream messages off a streamed body.
struct Events {
    body: Incoming,
    buf: BytesMut,
}

impl Events {
    fn new(resp: Response<Incoming>) -> Events {
        assert_eq!(resp.status(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/vnd.amazon.eventstream")
        );
        assert!(resp.headers().contains_key("x-amzn-requestid"));
        Events {
            body: resp.into_body(),
            buf: BytesMut::new(),
        }
    }

    /// The next message, or `None` when the body ends.
    async fn next(&mut self) -> Option<Message> {
        loop {
            if self.buf.len() >= 4 {
                let total = u32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]])
                    as usize;
                if self.buf.len() >= total {
                    let mut one = self.buf.split_to(total).freeze();
                    let m = read_message_from(&mut one).expect("valid message");
                    assert!(!one.has_remaining());
                    return Some(m);
                }
            }
            let frame = tokio::time::timeout(Duration::from_secs(10), self.body.frame())
                .await
                .expect("a frame within 10 s");
            match frame {
                None => {
                    assert!(self.buf.is_empty(), "body ended inside a message");
                    return None;
                }
                Some(f) => {
                    if let Ok(data) = f.expect("body frame").into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
            }
        }
    }
}

fn header(m: &Message, name: &str) -> String {
    match m
        .headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .map(|h| h.value())
    {
        Some(HeaderValue::String(s)) => s.as_str().to_string(),
        other => panic!("{name}: {other:?}"),
    }
}

fn payload(m: &Message) -> Value {
    serde_json::from_slice(m.payload()).expect("JSON payload")
}

async fn setup(c: &mut H2, stream: &str) -> String {
    assert_eq!(
        call(
            c,
            "CreateStream",
            json!({"StreamName": stream, "ShardCount": 1})
        )
        .await
        .0,
        200
    );
    let arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{stream}");
    let (status, v) = call(
        c,
        "RegisterStreamConsumer",
        json!({"StreamARN": arn, "ConsumerName": "c"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["Consumer"]["ConsumerARN"]
        .as_str()
        .expect("ConsumerARN")
        .to_string()
}

async fn put(c: &mut H2, stream: &str, data: &str) -> String {
    let (status, v) = call(
        c,
        "PutRecord",
        json!({"StreamName": stream, "PartitionKey": "p", "Data": base64(data.as_bytes())}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    v["SequenceNumber"].as_str().expect("seq").to_string()
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for ch in b.chunks(3) {
        let n = (u32::from(ch[0]) << 16)
            | (u32::from(*ch.get(1).unwrap_or(&0)) << 8)
            | u32::from(*ch.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= ch.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn subscribe_body(consumer: &str, position: Value) -> Value {
    json!({"ConsumerARN": consumer, "ShardId": "shardId-000000000000", "StartingPosition": position})
}

#[tokio::test]
async fn subscribe_over_http2_streams_events_and_frees_the_shard_on_disconnect() {
    let server = start().await;
    let mut c = h2(server.addr).await;
    let consumer = setup(&mut c, "efo-h2").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(put(&mut c, "efo-h2", &format!("r{i}")).await);
    }
    let sub = subscribe_body(&consumer, json!({"Type": "TRIM_HORIZON"}));
    let resp = c
        .send_request(request("SubscribeToShard", &sub))
        .await
        .expect("subscribe");
    let mut ev = Events::new(resp);
    let first = ev.next().await.expect("initial response");
    assert_eq!(header(&first, ":message-type"), "event");
    assert_eq!(header(&first, ":event-type"), "initial-response");
    assert_eq!(payload(&first), json!({}));
    let e = ev.next().await.expect("event");
    assert_eq!(header(&e, ":event-type"), "SubscribeToShardEvent");
    let v = payload(&e);
    let seqs: Vec<&str> = v["Records"]
        .as_array()
        .expect("Records")
        .iter()
        .map(|r| r["SequenceNumber"].as_str().expect("seq"))
        .collect();
    assert_eq!(seqs, sent);
    assert_eq!(v["Records"][1]["Data"], base64(b"r1"));
    assert_eq!(v["ContinuationSequenceNumber"], sent[2].as_str());
    assert_eq!(v["MillisBehindLatest"], 0);

    // Pushed as it is written, on the same HTTP/2 connection as the write.
    let newer = put(&mut c, "efo-h2", "live").await;
    loop {
        let v = payload(&ev.next().await.expect("event"));
        if let Some(r) = v["Records"].as_array().and_then(|r| r.first()) {
            assert_eq!(r["SequenceNumber"], newer.as_str());
            break;
        }
    }

    // A second subscription of the same consumer and shard right away: ResourceInUseException, as on AWS.
    let (status, v) = call(&mut c, "SubscribeToShard", sub.clone()).await;
    assert_eq!(status, 400);
    assert_eq!(v["__type"], "ResourceInUseException");

    // The client goes away (stream reset): the server drops the subscription and frees the shard at once, so a
    // new subscription within AWS's 5 s takeover window is accepted.
    drop(ev);
    let t = tokio::time::Instant::now();
    let resp = loop {
        let resp = c
            .send_request(request("SubscribeToShard", &sub))
            .await
            .expect("subscribe");
        if resp.status() == 200 {
            break resp;
        }
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "the shard was not released after the client left"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let mut ev = Events::new(resp);
    assert_eq!(
        header(&ev.next().await.expect("initial"), ":event-type"),
        "initial-response"
    );

    // Errors before the stream starts are ordinary responses.
    let (status, v) = call(
        &mut c,
        "SubscribeToShard",
        json!({"ConsumerARN": consumer, "ShardId": "shardId-000000000007", "StartingPosition": {"Type": "LATEST"}}),
    )
    .await;
    assert_eq!(
        (status, v["__type"].as_str()),
        (400, Some("ResourceNotFoundException"))
    );

    // Shutdown ends open streams at once rather than waiting out the 30 s grace period.
    let mut server = server;
    let t = tokio::time::Instant::now();
    drop(server.stop.take());
    while let Some(m) = ev.next().await {
        assert_eq!(header(&m, ":message-type"), "event");
    }
    tokio::time::timeout(Duration::from_secs(5), server.task)
        .await
        .expect("the listener stops promptly")
        .expect("join");
    assert!(t.elapsed() < Duration::from_secs(5));
    server.engine.shutdown().await.expect("engine shutdown");
}

#[tokio::test]
async fn subscribe_over_http1_streams_with_chunked_encoding() {
    let server = start().await;
    let mut c = h2(server.addr).await;
    let consumer = setup(&mut c, "efo-h1").await;
    let seq = put(&mut c, "efo-h1", "one").await;
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let (mut send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("h1 handshake");
    tokio::spawn(conn);
    let resp = send
        .send_request(request(
            "SubscribeToShard",
            &subscribe_body(&consumer, json!({"Type": "TRIM_HORIZON"})),
        ))
        .await
        .expect("subscribe");
    assert_eq!(
        resp.headers()
            .get("transfer-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("chunked")
    );
    let mut ev = Events::new(resp);
    assert_eq!(
        header(&ev.next().await.expect("initial"), ":event-type"),
        "initial-response"
    );
    let v = payload(&ev.next().await.expect("event"));
    assert_eq!(v["Records"][0]["SequenceNumber"], seq.as_str());
    assert_eq!(v["Records"][0]["Data"], base64(b"one"));
    // The heartbeat keeps coming while nothing is written (AWS: at least one event every 5 s).
    let t = tokio::time::Instant::now();
    let v = payload(&ev.next().await.expect("heartbeat"));
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(v["Records"], json!([]));
    assert_eq!(v["ContinuationSequenceNumber"], seq.as_str());

    // The client hangs up: the connection closes and the server frees the shard within AWS's 5 s takeover
    // window, so subscribing again is accepted (a subscription still held would be ResourceInUseException).
    drop(ev);
    drop(send);
    let t = tokio::time::Instant::now();
    loop {
        let resp = c
            .send_request(request(
                "SubscribeToShard",
                &subscribe_body(&consumer, json!({"Type": "LATEST"})),
            ))
            .await
            .expect("subscribe");
        if resp.status() == 200 {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_millis(4500),
            "the HTTP/1.1 subscription was not released after the client hung up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
