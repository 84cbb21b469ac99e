//! The wire: CBOR requests and responses (byte strings, tag-1 millisecond timestamps), error bodies in both
//! formats, SerializationException and ValidationException texts.

mod common;

use common::*;
use minicbor::data::{Tag, Type};
use serde_json::json;
use strait_kinesis::{Operation, RequestContext, WireFormat};

/// A CBOR map of text keys to values written by `f`.
fn cbor_map(n: u64, f: impl FnOnce(&mut minicbor::Encoder<&mut Vec<u8>>)) -> Vec<u8> {
    let mut out = Vec::new();
    let mut e = minicbor::Encoder::new(&mut out);
    e.map(n).expect("map");
    f(&mut e);
    out
}

#[tokio::test]
async fn cbor_put_and_get_use_byte_strings_and_millisecond_timestamps() {
    let h = open().await;
    h.stream("c", 1).await;
    let put = cbor_map(3, |e| {
        e.str("StreamName").expect("k").str("c").expect("v");
        e.str("PartitionKey").expect("k").str("pk").expect("v");
        e.str("Data").expect("k").bytes(&[0, 159, 255]).expect("v");
    });
    let r =
        h.k.handle(
            &RequestContext::allow_all(),
            Operation::PutRecord,
            WireFormat::Cbor,
            &put,
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, Some("application/x-amz-cbor-1.1"));
    let it = h
        .iterator("c", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let get = cbor_map(1, |e| {
        e.str("ShardIterator").expect("k").str(&it).expect("v");
    });
    let r =
        h.k.handle(
            &RequestContext::allow_all(),
            Operation::GetRecords,
            WireFormat::Cbor,
            &get,
        )
        .await;
    assert_eq!(r.status, 200);
    // Walk the response: Records[0].Data must be a byte string and the arrival time tag 1 + integer millis.
    let mut d = minicbor::Decoder::new(&r.body);
    let n = d.map().expect("map").expect("definite");
    let mut seen_data = false;
    let mut seen_ts = false;
    for _ in 0..n {
        let key = d.str().expect("key").to_string();
        if key != "Records" {
            d.skip().expect("skip");
            continue;
        }
        assert_eq!(d.array().expect("array"), Some(1));
        let fields = d.map().expect("record").expect("definite");
        for _ in 0..fields {
            match d.str().expect("field") {
                "Data" => {
                    assert_eq!(d.datatype().expect("type"), Type::Bytes);
                    assert_eq!(d.bytes().expect("bytes"), &[0, 159, 255]);
                    seen_data = true;
                }
                "ApproximateArrivalTimestamp" => {
                    assert_eq!(d.tag().expect("tag"), Tag::new(1));
                    let ms = d.u64().expect("integer millis");
                    assert_eq!(ms, 1_795_622_869_000 + DELAY.as_millis() as u64 + 1);
                    seen_ts = true;
                }
                _ => d.skip().expect("skip"),
            }
        }
    }
    assert!(seen_data && seen_ts);
    // Timestamps in CBOR requests: tag 1 + milliseconds, as the Java SDK sends them.
    let at = cbor_map(4, |e| {
        e.str("StreamName").expect("k").str("c").expect("v");
        e.str("ShardId")
            .expect("k")
            .str("shardId-000000000000")
            .expect("v");
        e.str("ShardIteratorType")
            .expect("k")
            .str("AT_TIMESTAMP")
            .expect("v");
        e.str("Timestamp")
            .expect("k")
            .tag(Tag::new(1))
            .expect("t")
            .u64(1_000)
            .expect("v");
    });
    let r =
        h.k.handle(
            &RequestContext::allow_all(),
            Operation::GetShardIterator,
            WireFormat::Cbor,
            &at,
        )
        .await;
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
}

#[tokio::test]
async fn errors_render_in_the_request_format() {
    let h = open().await;
    let body = cbor_map(1, |e| {
        e.str("StreamName").expect("k").str("missing").expect("v");
    });
    let r =
        h.k.handle(
            &RequestContext::allow_all(),
            Operation::DescribeStream,
            WireFormat::Cbor,
            &body,
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_type, Some("ResourceNotFoundException"));
    let mut d = minicbor::Decoder::new(&r.body);
    assert_eq!(d.map().expect("map"), Some(2));
    assert_eq!(d.str().expect("k"), "__type");
    assert_eq!(d.str().expect("v"), "ResourceNotFoundException");
    assert_eq!(d.str().expect("k"), "message");
    assert_eq!(
        d.str().expect("v"),
        "Stream missing under account 000000000000 not found."
    );
}

#[tokio::test]
async fn malformed_bodies_are_serialization_exceptions() {
    let h = open().await;
    for (format, body) in [
        (WireFormat::Json, &b"{\"StreamName\":"[..]),
        (WireFormat::Json, b"[1,2]"),
        (WireFormat::Cbor, &[0xa1, 0x61]),
    ] {
        let r =
            h.k.handle(
                &RequestContext::allow_all(),
                Operation::ListStreams,
                format,
                body,
            )
            .await;
        assert_eq!(r.status, 400);
        assert_eq!(r.error_type, Some("SerializationException"), "{body:?}");
    }
    let r = h
        .call(
            "CreateStream",
            json!({"StreamName": "x", "ShardCount": "two"}),
        )
        .await;
    assert_eq!(r.error_type, Some("SerializationException"));
    assert_eq!(
        r.body["Message"],
        "STRING_VALUE can not be converted to an Integer"
    );
}

#[tokio::test]
async fn validation_messages_match_aws() {
    let h = open().await;
    let m = h
        .err(
            "CreateStream",
            json!({"StreamName": "bad name!", "ShardCount": 0}),
            "ValidationException",
        )
        .await;
    assert_eq!(
        m,
        "2 validation errors detected: Value 'bad name!' at 'streamName' failed to satisfy constraint: Member \
         must satisfy regular expression pattern: [a-zA-Z0-9_.-]+; Value '0' at 'shardCount' failed to satisfy \
         constraint: Member must have value greater than or equal to 1"
    );
    let m = h
        .err(
            "GetRecords",
            json!({"ShardIterator": "x", "Limit": 10001}),
            "ValidationException",
        )
        .await;
    assert_eq!(
        m,
        "1 validation error detected: Value '10001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 10000"
    );
    let records: Vec<_> = (0..501)
        .map(|_| json!({"Data": "", "PartitionKey": "k"}))
        .collect();
    let m = h
        .err(
            "PutRecords",
            json!({"StreamName": "s", "Records": records}),
            "ValidationException",
        )
        .await;
    assert!(m.starts_with("1 validation error detected: Value '[") && m.ends_with("at 'records' failed to satisfy constraint: Member must have length less than or equal to 500"), "{m}");
    let m = h
        .err(
            "EnableEnhancedMonitoring",
            json!({"StreamName": "s", "ShardLevelMetrics": ["Bogus"]}),
            "ValidationException",
        )
        .await;
    assert!(m.contains("at 'shardLevelMetrics' failed to satisfy constraint: Member must satisfy constraint: [Member must satisfy enum value set: ["), "{m}");
    let m = h
        .err("DescribeStream", json!({}), "InvalidArgumentException")
        .await;
    assert_eq!(m, "Either StreamName or StreamARN must be provided.");
}

#[tokio::test]
async fn subscribe_to_shard_is_left_to_the_event_stream_glue() {
    let h = open().await;
    let r = h.call("SubscribeToShard", json!({"ConsumerARN": "arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/c:1", "ShardId": "shardId-000000000000", "StartingPosition": {"Type": "LATEST"}})).await;
    assert_eq!(r.error_type, Some("UnknownOperationException"));
}

#[tokio::test]
async fn no_operation_panics_on_hostile_bodies() {
    let h = open().await;
    h.stream("s", 1).await;
    let hostile: Vec<Vec<u8>> = vec![
        b"".to_vec(),
        b"{}".to_vec(),
        b"null".to_vec(),
        b"{\"StreamName\":{}}".to_vec(),
        b"{\"StreamName\":\"s\",\"Limit\":-9223372036854775808,\"ShardCount\":1e308}".to_vec(),
        b"{\"StreamName\":\"s\",\"ShardIterator\":\"AAAA\",\"Records\":[null,1,\"x\"]}".to_vec(),
        b"{\"StreamARN\":\"arn:aws:kinesis:us-east-1:000000000000:stream/s/consumer/x:y\",\"ResourceARN\":\"arn:aws:kinesis:::\"}".to_vec(),
        b"{\"StreamName\":\"s\",\"Timestamp\":-1e300,\"ShardId\":\"shardId-99999999999999999999\",\"ShardIteratorType\":\"AT_TIMESTAMP\"}".to_vec(),
        vec![0xbf; 64],
        vec![0x9f; 4096],
        vec![0xff, 0x00, 0x7f],
    ];
    for op in Operation::ALL {
        for body in &hostile {
            for format in [WireFormat::Json, WireFormat::Cbor] {
                let r =
                    h.k.handle(&RequestContext::allow_all(), *op, format, body)
                        .await;
                assert!(
                    r.status == 200 || (400..500).contains(&r.status),
                    "{op} {format:?} {body:?}: {} {}",
                    r.status,
                    String::from_utf8_lossy(&r.body)
                );
            }
        }
    }
}
