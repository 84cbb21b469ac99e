//! PutRecord(s), GetShardIterator and GetRecords: routing, ordering, iterator types and their errors, expiry,
//! throttling, and records written by Kafka producers (compressed batches).

mod common;

use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use common::*;
use serde_json::json;

fn b64(s: &[u8]) -> String {
    STANDARD.encode(s)
}

#[tokio::test]
async fn records_route_by_md5_and_read_back_in_order() {
    let h = open().await;
    h.stream("s", 2).await;
    let mut by_shard: std::collections::BTreeMap<String, Vec<Vec<u8>>> = Default::default();
    let mut last_seq: std::collections::BTreeMap<String, num_like::Big> = Default::default();
    for i in 0..40 {
        let key = format!("key-{}", i % 7);
        let data = format!("record-{i}");
        let (shard, seq) = h.put("s", &key, data.as_bytes()).await;
        // Each partition key always lands on the shard its MD5 hash selects.
        let hash = strait_shard_map::hash_key(key.as_bytes());
        let want = if hash < (1u128 << 127) {
            "shardId-000000000000"
        } else {
            "shardId-000000000001"
        };
        assert_eq!(shard, want, "{key}");
        // Sequence numbers increase strictly per shard, compared as big integers.
        let n = num_like::Big::parse(&seq);
        if let Some(prev) = last_seq.get(&shard) {
            assert!(n > *prev, "{seq} after {prev:?}");
        }
        last_seq.insert(shard.clone(), n);
        by_shard.entry(shard).or_default().push(data.into_bytes());
    }
    for (shard, want) in by_shard {
        let it = h.iterator("s", &shard, "TRIM_HORIZON").await;
        let (got, last) = h.drain(&it).await;
        assert_eq!(got, want);
        assert_eq!(last["MillisBehindLatest"], 0);
        assert!(
            last["NextShardIterator"].is_string(),
            "open shards always continue"
        );
        assert!(last.get("ChildShards").is_none());
    }
}

#[tokio::test]
async fn put_records_answers_in_request_order_with_explicit_hash_keys() {
    let h = open().await;
    h.stream("s", 4).await;
    let r = h
        .ok(
            "PutRecords",
            json!({"StreamName": "s", "Records": [
                {"Data": b64(b"a"), "PartitionKey": "x", "ExplicitHashKey": "0"},
                {"Data": b64(b"b"), "PartitionKey": "x", "ExplicitHashKey": "340282366920938463463374607431768211455"},
                {"Data": b64(b"c"), "PartitionKey": "x", "ExplicitHashKey": "170141183460469231731687303715884105728"},
                {"Data": b64(b"d"), "PartitionKey": "x", "ExplicitHashKey": "0"},
            ]}),
        )
        .await;
    assert_eq!(r["FailedRecordCount"], 0);
    let shards: Vec<&str> = r["Records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|x| x["ShardId"].as_str().expect("shard"))
        .collect();
    assert_eq!(
        shards,
        [
            "shardId-000000000000",
            "shardId-000000000003",
            "shardId-000000000002",
            "shardId-000000000000"
        ]
    );
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    assert_eq!(h.drain(&it).await.0, vec![b"a".to_vec(), b"d".to_vec()]);
    let m = h
        .err(
            "PutRecord",
            json!({"StreamName": "s", "Data": "", "PartitionKey": "k", "ExplicitHashKey": "340282366920938463463374607431768211456"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was 340282366920938463463374607431768211456"
    );
}

#[tokio::test]
async fn iterator_types_and_their_errors() {
    let h = open().await;
    h.stream("s", 1).await;
    h.stream("t", 2).await;
    let shard = "shardId-000000000000";
    let mut seqs = Vec::new();
    for i in 0..5u8 {
        seqs.push(h.put("s", "k", &[i]).await.1);
        h.clock.advance(Duration::from_secs(1));
    }
    let at = h
        .ok(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[2]}),
        )
        .await;
    let (got, _) = h.drain(at["ShardIterator"].as_str().expect("it")).await;
    assert_eq!(got, vec![vec![2], vec![3], vec![4]]);
    let after = h
        .ok(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": seqs[2]}),
        )
        .await;
    assert_eq!(
        h.drain(after["ShardIterator"].as_str().expect("it"))
            .await
            .0,
        vec![vec![3], vec![4]]
    );
    // AT_TIMESTAMP: the first record at or after the time (records were written one second apart).
    let ts = (1_795_622_869_000i64 + DELAY.as_millis() as i64 + 1 + 3000) as f64 / 1000.0;
    let at_ts = h
        .ok(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_TIMESTAMP", "Timestamp": ts}),
        )
        .await;
    assert_eq!(
        h.drain(at_ts["ShardIterator"].as_str().expect("it"))
            .await
            .0,
        vec![vec![3], vec![4]]
    );
    // LATEST sees only what comes after it.
    let latest = h.iterator("s", shard, "LATEST").await;
    h.put("s", "k", b"new").await;
    assert_eq!(h.drain(&latest).await.0, vec![b"new".to_vec()]);

    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified AT_SEQUENCE_NUMBER and no StartingSequenceNumber."
    );
    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_TIMESTAMP"}),
            "InvalidArgumentException",
        )
        .await;
    assert!(
        m.starts_with("Must specify timestampInMillis parameter"),
        "{m}"
    );
    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": "12345"}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        "StartingSequenceNumber 12345 used in GetShardIterator on shard shardId-000000000000 in stream s under account 000000000000 is invalid."
    );
    // A number from another stream.
    let (t_shard, t_seq) = h.put("t", "k", b"x").await;
    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": shard, "ShardIteratorType": "AT_SEQUENCE_NUMBER", "StartingSequenceNumber": t_seq}),
            "InvalidArgumentException",
        )
        .await;
    assert!(
        m.ends_with("is invalid because it did not come from this stream."),
        "{m}"
    );
    // A number from another shard of the same stream.
    let other = if t_shard == "shardId-000000000000" {
        "shardId-000000000001"
    } else {
        "shardId-000000000000"
    };
    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "t", "ShardId": other, "ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": t_seq}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(
        m,
        format!(
            "Invalid StartingSequenceNumber. It encodes {t_shard}, while it was used in a call to a shard with {other}"
        )
    );
    let m = h
        .err(
            "GetShardIterator",
            json!({"StreamName": "s", "ShardId": "shardId-000000000009", "ShardIteratorType": "LATEST"}),
            "ResourceNotFoundException",
        )
        .await;
    assert_eq!(
        m,
        "Shard shardId-000000000009 in stream s under account 000000000000 does not exist"
    );
}

#[tokio::test]
async fn iterators_expire_and_resist_tampering() {
    let h = open().await;
    h.stream("s", 1).await;
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    h.ok("GetRecords", json!({"ShardIterator": it})).await;
    h.clock.advance(Duration::from_millis(300_001));
    let m = h
        .err(
            "GetRecords",
            json!({"ShardIterator": it}),
            "ExpiredIteratorException",
        )
        .await;
    assert!(
        m.starts_with("Iterator expired. The iterator was created at time "),
        "{m}"
    );
    assert!(
        m.ends_with(
            "which is further in the future than the tolerated delay of 300000 milliseconds."
        ),
        "{m}"
    );
    let mut raw = STANDARD.decode(&it).expect("base64");
    raw[10] ^= 0x40;
    let m = h
        .err(
            "GetRecords",
            json!({"ShardIterator": STANDARD.encode(raw)}),
            "InvalidArgumentException",
        )
        .await;
    assert_eq!(m, "Invalid ShardIterator.");
    // An iterator of a deleted and re-created stream of the same name is refused.
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    h.ok("DeleteStream", json!({"StreamName": "s"})).await;
    h.settle();
    h.clock.advance(Duration::from_millis(3));
    h.stream("s", 1).await;
    h.err(
        "GetRecords",
        json!({"ShardIterator": it}),
        "ResourceNotFoundException",
    )
    .await;
}

#[tokio::test]
async fn limit_and_millis_behind_latest() {
    let h = open().await;
    h.stream("s", 1).await;
    for i in 0..10u8 {
        h.put("s", "k", &[i]).await;
    }
    h.clock.advance(Duration::from_secs(5));
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let r = h
        .ok("GetRecords", json!({"ShardIterator": it, "Limit": 3}))
        .await;
    assert_eq!(r["Records"].as_array().expect("records").len(), 3);
    assert_eq!(r["MillisBehindLatest"], 5000);
    let rec = &r["Records"][0];
    assert_eq!(rec["PartitionKey"], "k");
    assert_eq!(rec["Data"], b64(&[0]));
    assert!(rec["ApproximateArrivalTimestamp"].is_number());
    let (rest, last) = h
        .drain(r["NextShardIterator"].as_str().expect("next"))
        .await;
    assert_eq!(rest.len(), 7);
    assert_eq!(last["MillisBehindLatest"], 0);
}

#[tokio::test]
async fn throughput_limits_when_enforced() {
    let cfg = strait_kinesis::KinesisConfig {
        enforce_limits: true,
        ..config()
    };
    let h = open_with(
        cfg,
        tempfile::tempdir().expect("dir"),
        strait_kinesis::ManualClock::new(1_795_622_869_000),
    )
    .await;
    h.stream("s", 1).await;
    let big = b64(&vec![7u8; 600 * 1024]);
    h.ok(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": big}),
    )
    .await;
    let m = h
        .err(
            "PutRecord",
            json!({"StreamName": "s", "PartitionKey": "k", "Data": big}),
            "ProvisionedThroughputExceededException",
        )
        .await;
    assert_eq!(
        m,
        "Rate exceeded for shard shardId-000000000000 in stream s under account 000000000000."
    );
    let r = h
        .ok(
            "PutRecords",
            json!({"StreamName": "s", "Records": [{"PartitionKey": "k", "Data": big}]}),
        )
        .await;
    assert_eq!(r["FailedRecordCount"], 1);
    assert_eq!(
        r["Records"][0]["ErrorCode"],
        "ProvisionedThroughputExceededException"
    );
    h.clock.advance(Duration::from_secs(1));
    h.ok(
        "PutRecord",
        json!({"StreamName": "s", "PartitionKey": "k", "Data": big}),
    )
    .await;
    let it = h
        .iterator("s", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    for _ in 0..4 {
        h.ok("GetRecords", json!({"ShardIterator": it, "Limit": 1}))
            .await;
    }
    h.err(
        "GetRecords",
        json!({"ShardIterator": it}),
        "ProvisionedThroughputExceededException",
    )
    .await;
}

#[tokio::test]
async fn reads_batches_written_by_kafka_producers_including_compressed() {
    use strait_engine::batch::{BatchBuilder, Compression, RecordInput};
    let h = open().await;
    h.engine
        .create_topic("k", 1, Default::default())
        .await
        .expect("topic");
    // What a Kafka producer writes: the same records, gzip-compressed and plain.
    for compression in [Compression::Gzip, Compression::None] {
        let mut b = BatchBuilder::new().compression(compression);
        for i in 0..3i64 {
            let (key, value) = (format!("pk{i}"), format!("value{i}"));
            b.push(RecordInput {
                key: Some(key.as_bytes()),
                value: Some(value.as_bytes()),
                headers: &[],
                timestamp_ms: 1_795_622_869_000 + i,
            });
        }
        let buf = b.try_finish().expect("encode");
        let p = h.engine.partition("k", 0).expect("partition");
        p.append(buf.freeze(), Default::default())
            .await
            .expect("append");
    }
    let it = h
        .iterator("k", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    let r = h.ok("GetRecords", json!({"ShardIterator": it})).await;
    let recs = r["Records"].as_array().expect("records");
    assert_eq!(recs.len(), 6);
    assert_eq!(recs[1]["PartitionKey"], "pk1");
    assert_eq!(recs[4]["Data"], b64(b"value1"));
    let seq = |i: usize| {
        strait_shard_map::SequenceNumber::decode(recs[i]["SequenceNumber"].as_str().expect("seq"))
            .expect("ours")
            .offset
    };
    assert_eq!((seq(0), seq(5)), (0, 5));
}

/// A transactional (Kafka KIP-98) batch of `values` by `pid`, or with `marker` a COMMIT (true) / ABORT marker.
fn txn_batch(pid: i64, values: &[&str], marker: Option<bool>) -> bytes::BytesMut {
    use strait_engine::batch::{BatchBuilder, RecordInput};
    let mut b = BatchBuilder::new()
        .producer(pid, 0, if marker.is_some() { -1 } else { 0 })
        .transactional(marker.is_some());
    let key = [0, 0, 0, u8::from(marker == Some(true))];
    for v in values {
        b.push(RecordInput {
            key: Some(b"pk"),
            value: Some(v.as_bytes()),
            headers: &[],
            timestamp_ms: 1_795_622_869_000,
        });
    }
    if marker.is_some() {
        b.push(RecordInput {
            key: Some(&key),
            value: Some(&[0, 0, 0, 0, 0, 0]),
            headers: &[],
            timestamp_ms: 1_795_622_869_000,
        });
    }
    b.finish()
}

#[tokio::test]
async fn reads_see_only_committed_kafka_transactions() {
    let h = open().await;
    h.engine
        .create_topic("k", 1, Default::default())
        .await
        .expect("topic");
    let p = h.engine.partition("k", 0).expect("partition");
    let put = |b: bytes::BytesMut| {
        let p = p.clone();
        async move {
            p.append(b.into(), Default::default())
                .await
                .expect("append")
        }
    };
    put(txn_batch(7, &["aborted-0", "aborted-1"], None)).await; // 0..2
    put(txn_batch(7, &[], Some(false))).await; // 2: ABORT
    put(txn_batch(8, &["committed"], None)).await; // 3, still open
    let (_, plain) = h.put("k", "pk", b"plain").await; // 4
    assert!(!plain.is_empty());
    let it = h
        .iterator("k", "shardId-000000000000", "TRIM_HORIZON")
        .await;
    // Aborted records and the marker are dropped; the open transaction holds the reader at offset 3.
    let r = h.ok("GetRecords", json!({"ShardIterator": it})).await;
    assert_eq!(r["Records"].as_array().expect("records").len(), 0);
    assert_eq!(r["MillisBehindLatest"], 0);
    let next = r["NextShardIterator"].as_str().expect("next").to_string();
    let r = h.ok("GetRecords", json!({"ShardIterator": next})).await;
    assert_eq!(r["Records"].as_array().expect("records").len(), 0);
    let next = r["NextShardIterator"].as_str().expect("next").to_string();
    // LATEST does not skip past the open transaction either.
    let latest = h.iterator("k", "shardId-000000000000", "LATEST").await;
    put(txn_batch(8, &[], Some(true))).await; // 5: COMMIT
    let (data, _) = h.drain(&next).await;
    assert_eq!(data, vec![b"committed".to_vec(), b"plain".to_vec()]);
    let (data, _) = h.drain(&latest).await;
    assert_eq!(data, vec![b"committed".to_vec(), b"plain".to_vec()]);
}

/// Just enough big-integer comparison for decimal sequence numbers.
mod num_like {
    #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
    pub(super) struct Big(usize, String);
    impl Big {
        pub(super) fn parse(s: &str) -> Big {
            assert!(s.bytes().all(|b| b.is_ascii_digit()), "{s}");
            Big(s.len(), s.to_string())
        }
    }
}
