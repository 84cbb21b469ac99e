//! SubscribeToShard end to end inside the crate: a real engine in a temporary directory, requests through the
//! same decoding and validation as the server's, and every message read back with the SDKs' own event-stream
//! decoder (aws-smithy-eventstream).

use std::sync::Arc;
use std::time::Duration;

use aws_smithy_eventstream::frame::read_message_from;
use aws_smithy_types::event_stream::{HeaderValue, Message};
use strait_engine::{Engine, EngineConfig};

use super::{EfoConfig, FanOut, Subscription};
use crate::clock::{Clock, ManualClock, SystemClock};
use crate::codec;
use crate::envelope::WireFormat;
use crate::error::KinesisError;
use crate::operation::Operation;
use crate::state::{Kinesis, KinesisConfig};
use crate::value::Value;

struct Fixture {
    _dir: tempfile::TempDir,
    k: Kinesis,
    _engine: Engine,
}

impl Fixture {
    async fn new() -> Fixture {
        Fixture::with(Duration::ZERO, Arc::new(SystemClock)).await
    }

    async fn with(status_delay: Duration, clock: Arc<dyn Clock>) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let engine = Engine::open(EngineConfig {
            data_dir: dir.path().to_path_buf(),
            ..EngineConfig::default()
        })
        .await
        .expect("engine");
        let cfg = KinesisConfig {
            status_delay,
            ..KinesisConfig::default()
        };
        let k = Kinesis::open(engine.clone(), cfg, clock)
            .await
            .expect("kinesis");
        Fixture {
            _dir: dir,
            k,
            _engine: engine,
        }
    }

    async fn call(&self, op: Operation, v: serde_json::Value) -> Value {
        self.k
            .call(
                &crate::RequestContext::allow_all(),
                op,
                WireFormat::Json,
                v.to_string().as_bytes(),
            )
            .await
            .unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    /// A one-shard stream and an ACTIVE consumer of it; returns the consumer ARN.
    async fn stream_with_consumer(&self, name: &str) -> String {
        self.call(
            Operation::CreateStream,
            serde_json::json!({"StreamName": name, "ShardCount": 1}),
        )
        .await;
        let arn = format!("arn:aws:kinesis:us-east-1:000000000000:stream/{name}");
        let c = self
            .call(
                Operation::RegisterStreamConsumer,
                serde_json::json!({"StreamARN": arn, "ConsumerName": "c"}),
            )
            .await;
        c.get("Consumer")
            .and_then(|c| c.str("ConsumerARN"))
            .expect("ConsumerARN")
            .to_string()
    }

    async fn put(&self, name: &str, data: &str) -> String {
        let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, data);
        let r = self
            .call(
                Operation::PutRecord,
                serde_json::json!({"StreamName": name, "PartitionKey": "p", "Data": data}),
            )
            .await;
        r.string("SequenceNumber").expect("SequenceNumber")
    }
}

fn quick() -> EfoConfig {
    EfoConfig {
        lifetime: Duration::from_secs(30),
        heartbeat: Duration::from_millis(300),
        takeover_window: Duration::from_millis(400),
        close_check: Duration::from_millis(50),
        max_event_bytes: 1024 * 1024,
    }
}

fn request(arn: &str, position: serde_json::Value) -> Vec<u8> {
    serde_json::json!({"ConsumerARN": arn, "ShardId": "shardId-000000000000", "StartingPosition": position})
        .to_string()
        .into_bytes()
}

fn header(m: &Message, name: &str) -> String {
    m.headers()
        .iter()
        .find(|h| h.name().as_str() == name)
        .map(|h| match h.value() {
            HeaderValue::String(s) => s.as_str().to_string(),
            other => panic!("{name}: {other:?}"),
        })
        .unwrap_or_else(|| panic!("no header {name}"))
}

/// The next message, decoded: (message type, event or exception type, payload as a Value).
async fn next(s: &mut Subscription, format: WireFormat) -> Option<(String, String, Value)> {
    let bytes = tokio::time::timeout(Duration::from_secs(10), s.next_message())
        .await
        .expect("a message or the end within 10 s")?;
    let mut buf = bytes;
    let m = read_message_from(&mut buf).expect("a valid event-stream message");
    assert!(buf.is_empty(), "exactly one message per chunk");
    let kind = header(&m, ":message-type");
    let name = if kind == "event" {
        header(&m, ":event-type")
    } else {
        header(&m, ":exception-type")
    };
    let v = codec::decode(format, m.payload()).expect("payload in the request's format");
    Some((kind, name, v))
}

fn records(v: &Value) -> Vec<(String, Vec<u8>)> {
    v.list("Records")
        .iter()
        .map(|r| {
            let data = match r.get("Data") {
                Some(Value::Blob(b)) => b.clone(),
                Some(Value::Str(s)) => {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, s)
                        .expect("base64")
                }
                other => panic!("Data: {other:?}"),
            };
            (r.string("SequenceNumber").expect("seq"), data)
        })
        .collect()
}

#[tokio::test]
async fn initial_response_then_records_in_order_then_heartbeats() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s1").await;
    let mut sent = Vec::new();
    for i in 0..3 {
        sent.push(f.put("s1", &format!("old-{i}")).await);
    }
    let fo = FanOut::new(f.k.clone(), quick());
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    let (kind, name, v) = next(&mut s, WireFormat::Json)
        .await
        .expect("initial response");
    assert_eq!(
        (kind.as_str(), name.as_str(), v),
        ("event", "initial-response", Value::map())
    );
    let (_, name, ev) = next(&mut s, WireFormat::Json).await.expect("first event");
    assert_eq!(name, "SubscribeToShardEvent");
    let got = records(&ev);
    assert_eq!(got.iter().map(|r| r.0.clone()).collect::<Vec<_>>(), sent);
    assert_eq!(got[2].1, b"old-2");
    assert_eq!(ev.str("ContinuationSequenceNumber"), Some(sent[2].as_str()));
    assert_eq!(ev.int("MillisBehindLatest"), Some(0));
    assert!(ev.get("ChildShards").is_none());

    // Nothing new: an empty event within the heartbeat, still continuing from the last record.
    let t = tokio::time::Instant::now();
    let (_, _, hb) = next(&mut s, WireFormat::Json).await.expect("heartbeat");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(records(&hb).is_empty());
    assert_eq!(hb.str("ContinuationSequenceNumber"), Some(sent[2].as_str()));

    // A record written while the subscription waits is pushed without waiting for the heartbeat.
    let waiter = tokio::spawn(async move {
        let r = next(&mut s, WireFormat::Json).await;
        (s, r)
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let new = f.put("s1", "new-0").await;
    let (mut s, r) = waiter.await.expect("join");
    let (_, _, ev) = r.expect("event");
    let got = records(&ev);
    if got.is_empty() {
        // The heartbeat raced the write; the record is in the next event.
        let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
        assert_eq!(records(&ev)[0].0, new);
    } else {
        assert_eq!(got[0].0, new);
        assert_eq!(ev.str("ContinuationSequenceNumber"), Some(new.as_str()));
    }
    drop(s);
    assert_eq!(
        fo.live_subscriptions(),
        0,
        "a dropped subscription frees its shard"
    );
}

#[tokio::test]
async fn positions_after_and_at_sequence_number_latest_and_continuation_resumes() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s2").await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(f.put("s2", &format!("r{i}")).await);
    }
    let mut cfg = quick();
    cfg.takeover_window = Duration::ZERO;
    let fo = FanOut::new(f.k.clone(), cfg);
    for (pos, want) in [
        (
            serde_json::json!({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sent[1]}),
            &sent[2..],
        ),
        (
            serde_json::json!({"Type": "AT_SEQUENCE_NUMBER", "SequenceNumber": sent[3]}),
            &sent[3..],
        ),
    ] {
        let mut s = fo
            .subscribe(WireFormat::Json, &request(&arn, pos))
            .await
            .expect("subscribed");
        next(&mut s, WireFormat::Json).await.expect("initial");
        let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
        assert_eq!(
            records(&ev).into_iter().map(|r| r.0).collect::<Vec<_>>(),
            want
        );
    }
    // LATEST: nothing old; the empty event's continuation resumes (AFTER_SEQUENCE_NUMBER) at the next record.
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "LATEST"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    assert!(records(&ev).is_empty());
    assert_eq!(ev.str("ContinuationSequenceNumber"), Some(sent[4].as_str()));
    drop(s);
    let newer = f.put("s2", "r5").await;
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(
                &arn,
                serde_json::json!({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": sent[4]}),
            ),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    assert_eq!(
        records(&ev).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![newer]
    );
}

#[tokio::test]
async fn takeover_rule_and_the_old_stream_ends_with_resource_in_use() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s3").await;
    let fo = FanOut::new(f.k.clone(), quick());
    let req = request(&arn, serde_json::json!({"Type": "LATEST"}));
    let mut first = fo.subscribe(WireFormat::Json, &req).await.expect("first");
    next(&mut first, WireFormat::Json).await.expect("initial");
    match fo.subscribe(WireFormat::Json, &req).await {
        Err(KinesisError::ResourceInUse(_)) => {}
        Err(e) => panic!("expected ResourceInUseException, got {e:?}"),
        Ok(_) => panic!("a second subscription within the window must be refused"),
    }
    // Another spelling of the same consumer's ARN (the region is not part of its identity) is the same consumer.
    let respelled = request(
        &arn.replace(":us-east-1:", ":eu-west-1:"),
        serde_json::json!({"Type": "LATEST"}),
    );
    assert!(matches!(
        fo.subscribe(WireFormat::Json, &respelled).await,
        Err(KinesisError::ResourceInUse(_))
    ));
    tokio::time::sleep(Duration::from_millis(450)).await;
    let mut second = fo
        .subscribe(WireFormat::Json, &req)
        .await
        .expect("takes over");
    // The old stream may still deliver an event it had ready; then it ends with the exception.
    loop {
        let (kind, name, v) = next(&mut first, WireFormat::Json).await.expect("a message");
        if kind == "exception" {
            assert_eq!(name, "ResourceInUseException");
            assert!(v.str("message").is_some_and(|m| m.contains("took over")));
            break;
        }
    }
    assert!(
        next(&mut first, WireFormat::Json).await.is_none(),
        "nothing after the exception"
    );
    next(&mut second, WireFormat::Json).await.expect("initial");
    assert_eq!(fo.live_subscriptions(), 1);
}

#[tokio::test]
async fn split_shard_ends_with_child_shards_and_no_continuation() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s4").await;
    let seq = f.put("s4", "x").await;
    let fo = FanOut::new(f.k.clone(), quick());
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    assert_eq!(records(&ev)[0].0, seq);
    f.call(
        Operation::SplitShard,
        serde_json::json!({"StreamName": "s4", "ShardToSplit": "shardId-000000000000",
                           "NewStartingHashKey": (1u128 << 127).to_string()}),
    )
    .await;
    let last = loop {
        let (kind, _, ev) = next(&mut s, WireFormat::Json)
            .await
            .expect("events until shard end");
        assert_eq!(kind, "event");
        if ev.member("ChildShards").is_some() {
            break ev;
        }
        assert!(
            ev.str("ContinuationSequenceNumber").is_some(),
            "open shard: continuation set"
        );
    };
    assert!(last.member("ContinuationSequenceNumber").is_none());
    let mut children: Vec<String> = last
        .list("ChildShards")
        .iter()
        .map(|c| {
            assert_eq!(
                c.strings("ParentShards"),
                vec!["shardId-000000000000".to_string()]
            );
            c.string("ShardId").expect("ShardId")
        })
        .collect();
    children.sort();
    assert_eq!(
        children,
        vec!["shardId-000000000001", "shardId-000000000002"]
    );
    assert!(
        next(&mut s, WireFormat::Json).await.is_none(),
        "the body ends at shard end"
    );
}

#[tokio::test]
async fn cbor_clients_get_cbor_payloads() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s5").await;
    let seq = f.put("s5", "bin").await;
    let fo = FanOut::new(f.k.clone(), quick());
    let body = codec::encode(
        WireFormat::Cbor,
        &Value::map()
            .with("ConsumerARN", arn.as_str())
            .with("ShardId", "shardId-000000000000")
            .with(
                "StartingPosition",
                Value::map().with("Type", "TRIM_HORIZON"),
            ),
    );
    let mut s = fo
        .subscribe(WireFormat::Cbor, &body)
        .await
        .expect("subscribed");
    let bytes = s.next_message().await.expect("initial");
    let mut buf = bytes;
    let m = read_message_from(&mut buf).expect("message");
    assert_eq!(header(&m, ":content-type"), "application/x-amz-cbor-1.1");
    assert_eq!(&m.payload()[..], &[0xa0], "an empty CBOR map");
    let (_, _, ev) = next(&mut s, WireFormat::Cbor).await.expect("event");
    let r = &ev.list("Records")[0];
    assert_eq!(
        r.get("Data"),
        Some(&Value::Blob(b"bin".to_vec())),
        "blobs are CBOR byte strings"
    );
    assert!(matches!(
        r.get("ApproximateArrivalTimestamp"),
        Some(Value::Timestamp(_))
    ));
    assert_eq!(r.str("SequenceNumber"), Some(seq.as_str()));
}

#[tokio::test]
async fn request_errors_are_ordinary_responses() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s6").await;
    let fo = FanOut::new(f.k.clone(), quick());
    let err = |r: Result<Subscription, KinesisError>| match r {
        Err(e) => e,
        Ok(_) => panic!("expected an error"),
    };
    let e = err(fo
        .subscribe(
            WireFormat::Json,
            &request(
                &arn.replace("/consumer/c:", "/consumer/other:"),
                serde_json::json!({"Type": "LATEST"}),
            ),
        )
        .await);
    assert!(matches!(e, KinesisError::ResourceNotFound(_)), "{e:?}");
    let body = serde_json::json!({"ConsumerARN": arn, "ShardId": "shardId-000000000009",
                                  "StartingPosition": {"Type": "LATEST"}});
    let e = err(fo
        .subscribe(WireFormat::Json, body.to_string().as_bytes())
        .await);
    assert!(matches!(e, KinesisError::ResourceNotFound(_)), "{e:?}");
    let e = err(fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "AT_SEQUENCE_NUMBER"})),
        )
        .await);
    assert!(matches!(e, KinesisError::InvalidArgument(_)), "{e:?}");
    let e = err(fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "NOPE"})),
        )
        .await);
    assert!(matches!(e, KinesisError::Validation(_)), "{e:?}");
    let e = err(fo.subscribe(WireFormat::Json, b"{\"ShardId\":").await);
    assert!(matches!(e, KinesisError::UnreadableBody(_)), "{e:?}");
}

#[tokio::test]
async fn a_consumer_still_creating_is_in_use() {
    let clock = ManualClock::new(1_800_000_000_000);
    let f = Fixture::with(Duration::from_secs(1), Arc::new(clock.clone())).await;
    f.call(
        Operation::CreateStream,
        serde_json::json!({"StreamName": "s8", "ShardCount": 1}),
    )
    .await;
    clock.advance(Duration::from_secs(2));
    let c = f
        .call(
            Operation::RegisterStreamConsumer,
            serde_json::json!({"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s8", "ConsumerName": "c"}),
        )
        .await;
    let arn = c
        .get("Consumer")
        .and_then(|c| c.string("ConsumerARN"))
        .expect("arn");
    let fo = FanOut::new(f.k.clone(), quick());
    let req = request(&arn, serde_json::json!({"Type": "LATEST"}));
    match fo.subscribe(WireFormat::Json, &req).await {
        Err(KinesisError::ResourceInUse(_)) => {}
        Err(e) => panic!("expected ResourceInUseException, got {e:?}"),
        Ok(_) => panic!("a CREATING consumer cannot subscribe"),
    }
    clock.advance(Duration::from_secs(2));
    fo.subscribe(WireFormat::Json, &req)
        .await
        .expect("ACTIVE now");
}

#[tokio::test]
async fn lifetime_and_shutdown_end_the_body() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s7").await;
    let mut cfg = quick();
    cfg.lifetime = Duration::from_millis(700);
    cfg.takeover_window = Duration::ZERO;
    let fo = FanOut::new(f.k.clone(), cfg);
    let req = request(&arn, serde_json::json!({"Type": "LATEST"}));
    let t = tokio::time::Instant::now();
    let mut s = fo
        .subscribe(WireFormat::Json, &req)
        .await
        .expect("subscribed");
    let mut events = 0;
    while let Some((kind, _, _)) = next(&mut s, WireFormat::Json).await {
        assert_eq!(kind, "event");
        events += 1;
    }
    assert!(t.elapsed() >= Duration::from_millis(700) && t.elapsed() < Duration::from_secs(3));
    assert!(events >= 3, "initial response and heartbeats: {events}");

    let mut s = fo
        .subscribe(WireFormat::Json, &req)
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    next(&mut s, WireFormat::Json).await.expect("first event");
    let waiting = tokio::spawn(async move { next(&mut s, WireFormat::Json).await.is_none() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    fo.shutdown();
    let ended = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("ends promptly on shutdown")
        .expect("join");
    assert!(ended, "shutdown ends the body without another message");
    assert_eq!(fo.live_subscriptions(), 0);
}

#[tokio::test]
async fn an_empty_shard_continues_from_its_start_without_skipping_the_first_record() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s9").await;
    let mut cfg = quick();
    cfg.takeover_window = Duration::ZERO;
    let fo = FanOut::new(f.k.clone(), cfg);
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    let cont = ev
        .string("ContinuationSequenceNumber")
        .expect("continuation");
    // The shard's StartingSequenceNumber: offset -1, below the first record.
    assert_eq!(
        strait_shard_map::SequenceNumber::decode(&cont).map(|n| n.offset),
        Ok(-1)
    );
    drop(s);
    let first = f.put("s9", "first").await;
    // KCL resubscribes with AFTER_SEQUENCE_NUMBER and the last continuation.
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(
                &arn,
                serde_json::json!({"Type": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": cont}),
            ),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    assert_eq!(
        records(&ev).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![first]
    );
}

#[tokio::test]
async fn at_timestamp_starts_at_the_first_record_written_at_or_after_it() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s10").await;
    f.put("s10", "before").await;
    tokio::time::sleep(Duration::from_millis(20)).await;
    let ts_ms = SystemClock.now_ms();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = f.put("s10", "after").await;
    let fo = FanOut::new(f.k.clone(), quick());
    // Epoch seconds, as the JSON SDKs send timestamps.
    let pos = serde_json::json!({"Type": "AT_TIMESTAMP", "Timestamp": ts_ms as f64 / 1000.0});
    let mut s = fo
        .subscribe(WireFormat::Json, &request(&arn, pos))
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
    assert_eq!(
        records(&ev).into_iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![after]
    );
    drop(s);
    let mut cfg = quick();
    cfg.takeover_window = Duration::ZERO;
    let fo = FanOut::new(f.k.clone(), cfg);
    let e = match fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "AT_TIMESTAMP"})),
        )
        .await
    {
        Err(e) => e,
        Ok(_) => panic!("AT_TIMESTAMP needs a Timestamp"),
    };
    assert!(matches!(e, KinesisError::InvalidArgument(_)), "{e:?}");
}

#[tokio::test]
async fn events_are_bounded_in_bytes_and_a_deleted_stream_ends_with_resource_not_found() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s11").await;
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(f.put("s11", &format!("{i}").repeat(400)).await);
    }
    let mut cfg = quick();
    // Two records (401 bytes each with the key) fit, a third does not.
    cfg.max_event_bytes = 1000;
    let fo = FanOut::new(f.k.clone(), cfg);
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let mut got = Vec::new();
    while got.len() < 5 {
        let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
        let rs = records(&ev);
        assert!(rs.len() <= 2, "{} records in one event", rs.len());
        if let Some(last) = rs.last() {
            assert_eq!(ev.str("ContinuationSequenceNumber"), Some(last.0.as_str()));
            assert!(ev.int("MillisBehindLatest").is_some());
        }
        got.extend(rs.into_iter().map(|r| r.0));
    }
    assert_eq!(got, sent);

    f.call(
        Operation::DeleteStream,
        serde_json::json!({"StreamName": "s11", "EnforceConsumerDeletion": true}),
    )
    .await;
    loop {
        let (kind, name, v) = next(&mut s, WireFormat::Json)
            .await
            .expect("a message before the end");
        if kind == "exception" {
            assert_eq!(name, "ResourceNotFoundException");
            assert!(v.str("message").is_some());
            break;
        }
    }
    assert!(next(&mut s, WireFormat::Json).await.is_none());
}

#[tokio::test]
async fn with_aws_limits_a_subscription_reads_at_most_2_mib_per_second() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("s12").await;
    let big = "x".repeat(700 * 1024);
    let mut sent = Vec::new();
    for _ in 0..6 {
        sent.push(f.put("s12", &big).await);
    }
    // The same engine and metadata, served with AWS's limits on (writing 4 MiB through it would be throttled).
    let limited = Kinesis::open(
        f._engine.clone(),
        KinesisConfig {
            status_delay: Duration::ZERO,
            enforce_limits: true,
            ..KinesisConfig::default()
        },
        Arc::new(SystemClock),
    )
    .await
    .expect("kinesis");
    let fo = FanOut::new(limited, quick());
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json).await.expect("initial");
    let t = tokio::time::Instant::now();
    let mut got = Vec::new();
    while got.len() < 6 {
        let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
        got.extend(records(&ev).into_iter().map(|r| r.0));
    }
    assert_eq!(got, sent);
    // 4.2 MiB at 2 MiB/s: the third second's window starts at least 1 s after the first.
    assert!(
        t.elapsed() >= Duration::from_millis(950),
        "read 4.2 MiB in {:?}",
        t.elapsed()
    );
}

/// A Kafka transactional batch of `values` by `pid`, or with `marker` its COMMIT (true) / ABORT marker.
fn txn_batch(pid: i64, values: &[&str], marker: Option<bool>) -> bytes::BytesMut {
    use strait_engine::batch::{BatchBuilder, RecordInput};
    let mut b = BatchBuilder::new()
        .producer(pid, 0, if marker.is_some() { -1 } else { 0 })
        .transactional(marker.is_some());
    let key = [0, 0, 0, u8::from(marker == Some(true))];
    let control = [(&key[..], &[0u8, 0, 0, 0, 0, 0][..])];
    let data: Vec<(&[u8], &[u8])> = values.iter().map(|v| (&b"p"[..], v.as_bytes())).collect();
    let rows: &[(&[u8], &[u8])] = if marker.is_some() { &control } else { &data };
    for (k, v) in rows {
        b.push(RecordInput {
            key: Some(k),
            value: Some(v),
            headers: &[],
            timestamp_ms: 1_795_622_869_000,
        });
    }
    b.finish()
}

#[tokio::test]
async fn a_subscription_skips_aborted_transactions_and_waits_at_an_open_one() {
    let f = Fixture::new().await;
    let arn = f.stream_with_consumer("tx").await;
    let p = f._engine.partition("tx", 0).expect("partition");
    let append = |b: bytes::BytesMut| {
        let p = p.clone();
        async move {
            p.append(b.into(), Default::default())
                .await
                .expect("append")
        }
    };
    append(txn_batch(7, &["aborted"], None)).await;
    append(txn_batch(7, &[], Some(false))).await;
    let before = f.put("tx", "before").await;
    append(txn_batch(8, &["committed"], None)).await;
    f.put("tx", "after").await;
    let fo = FanOut::new(f.k.clone(), quick());
    let mut s = fo
        .subscribe(
            WireFormat::Json,
            &request(&arn, serde_json::json!({"Type": "TRIM_HORIZON"})),
        )
        .await
        .expect("subscribed");
    next(&mut s, WireFormat::Json)
        .await
        .expect("initial response");
    let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("first event");
    let got: Vec<Vec<u8>> = records(&ev).into_iter().map(|r| r.1).collect();
    assert_eq!(
        got,
        vec![b"before".to_vec()],
        "aborted records and markers are dropped"
    );
    // At the open transaction: heartbeats only (the reader waits there, it does not skip).
    let (_, _, hb) = next(&mut s, WireFormat::Json).await.expect("heartbeat");
    assert!(records(&hb).is_empty());
    assert_eq!(hb.str("ContinuationSequenceNumber"), Some(before.as_str()));
    assert_eq!(hb.int("MillisBehindLatest"), Some(0));
    append(txn_batch(8, &[], Some(true))).await;
    let mut got = Vec::new();
    while got.len() < 2 {
        let (_, _, ev) = next(&mut s, WireFormat::Json).await.expect("event");
        got.extend(records(&ev).into_iter().map(|r| r.1));
    }
    assert_eq!(got, vec![b"committed".to_vec(), b"after".to_vec()]);
}
