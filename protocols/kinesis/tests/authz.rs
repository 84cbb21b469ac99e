//! Every Kinesis operation asks the request's authorizer before it runs: under a deny-all authorizer each one,
//! in both wire formats, answers AWS's AccessDeniedException and changes nothing.

mod common;

use std::sync::Arc;

use common::*;
use serde_json::json;
use strait_access::DenyAll;
use strait_kinesis::{Operation, RequestContext, WireFormat};

/// One body naming a stream, a consumer and a shard: enough for every operation to name its resource
/// (authorization comes before validation, so the rest of each operation's input does not matter).
fn body() -> serde_json::Value {
    json!({
        "StreamName": "orders",
        "ConsumerName": "app",
        "ShardId": "shardId-000000000000",
        "PartitionKey": "k",
        "Data": "aGk=",
        "ShardCount": 2,
    })
}

async fn state(h: &Harness) -> serde_json::Value {
    let streams = h.ok("ListStreams", json!({})).await;
    let stream = h
        .ok("DescribeStream", json!({"StreamName": "orders"}))
        .await;
    let consumers = h
        .ok(
            "ListStreamConsumers",
            json!({"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/orders"}),
        )
        .await;
    let it = h
        .iterator("orders", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let (records, _) = h.drain(&it).await;
    json!({"streams": streams, "stream": stream, "consumers": consumers, "records": records.len()})
}

#[tokio::test]
async fn deny_all_refuses_every_operation_and_changes_nothing() {
    let h = open().await;
    h.stream("orders", 1).await;
    h.put("orders", "k", b"before").await;
    let before = state(&h).await;
    let denied = RequestContext::anonymous(Arc::new(DenyAll));
    for format in [WireFormat::Json, WireFormat::Cbor] {
        let bytes = match format {
            WireFormat::Json => body().to_string().into_bytes(),
            WireFormat::Cbor => strait_kinesis::codec::encode(
                WireFormat::Cbor,
                &strait_kinesis::codec::decode(WireFormat::Json, body().to_string().as_bytes())
                    .expect("json"),
            ),
        };
        for op in Operation::ALL {
            let r = h.k.handle(&denied, *op, format, &bytes).await;
            if *op == Operation::ListStreams {
                // A listing is filtered, not refused (as Kafka's Metadata): nothing the principal may describe.
                assert_eq!(r.status, 200, "{format:?}");
                let v = strait_kinesis::codec::decode(format, &r.body).expect("decodes");
                assert_eq!(
                    v.get("StreamNames"),
                    Some(&strait_kinesis::value::Value::List(vec![]))
                );
                continue;
            }
            assert_eq!(r.status, 400, "{op} {format:?}");
            assert_eq!(r.error_type, Some("AccessDeniedException"), "{op}");
            assert_eq!(r.content_type, Some(format.content_type()), "{op}");
            if format == WireFormat::Json {
                let v: serde_json::Value = serde_json::from_slice(&r.body).expect("json");
                assert_eq!(v["__type"], "AccessDeniedException");
                let m = v["message"].as_str().expect("message");
                let action = format!("is not authorized to perform: kinesis:{op} on resource: ");
                assert!(
                    m.starts_with("User: anonymous ") && m.contains(&action),
                    "{m}"
                );
            }
        }
    }
    h.settle();
    assert_eq!(state(&h).await, before);
}

#[tokio::test]
async fn the_question_names_the_stream_and_the_acl_operation() {
    use std::sync::Mutex;
    use strait_access::{Access, Authorizer, Decision, Operation as Acl};

    /// Records each question and allows it.
    #[derive(Debug, Default)]
    struct Recorder(Mutex<Vec<(Acl, String)>>);
    impl Authorizer for Recorder {
        fn authorize(&self, a: &Access<'_>) -> Decision {
            let r = format!("{:?}", a.resource);
            self.0.lock().expect("lock").push((a.operation, r));
            Decision::Allow
        }
    }
    let h = open().await;
    let rec = Arc::new(Recorder::default());
    let ctx = RequestContext::anonymous(rec.clone());
    let put = json!({"StreamName": "orders", "PartitionKey": "k", "Data": "aGk="});
    for (op, body) in [
        (
            Operation::CreateStream,
            json!({"StreamName": "orders", "ShardCount": 1}),
        ),
        (Operation::PutRecord, put),
        (Operation::ListStreams, json!({})),
    ] {
        h.k.handle(&ctx, op, WireFormat::Json, body.to_string().as_bytes())
            .await;
        h.settle();
    }
    assert_eq!(
        *rec.0.lock().expect("lock"),
        vec![
            // CLUSTER CREATE is asked first; allowed, it is enough (else TOPIC CREATE).
            (Acl::Create, "Cluster".to_string()),
            (Acl::Write, "Topic(\"orders\")".to_string()),
            // ListStreams asks per stream, to show only what the principal may describe.
            (Acl::Describe, "Topic(\"orders\")".to_string()),
        ]
    );
}
