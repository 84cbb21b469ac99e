//! The AWS SDK for Rust (`aws-sdk-kinesis`) against a real `strait dev`: stream lifecycle, put/get, a PutRecords
//! batch, ListShards hash ranges, and AWS's modelled errors arriving as the SDK's typed error variants.
//!
//! Expectations come from the Kinesis API reference, not from Strait: that is how deviations show up.

mod common;

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::client::Waiters;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType, StreamStatus};
use common::Strait;

/// Creates a provisioned stream and waits with the SDK's own `StreamExists` waiter (DescribeStream until ACTIVE).
async fn create_active_stream(client: &Client, name: &str, shards: i32) {
    client
        .create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    client
        .wait_until_stream_exists()
        .stream_name(name)
        .wait(Duration::from_secs(60))
        .await
        .expect("StreamExists waiter");
    let summary = client
        .describe_stream_summary()
        .stream_name(name)
        .send()
        .await
        .expect("DescribeStreamSummary");
    let summary = summary
        .stream_description_summary()
        .expect("StreamDescriptionSummary");
    assert_eq!(summary.stream_status(), &StreamStatus::Active);
    assert_eq!(summary.open_shard_count(), shards);
    assert_eq!(
        summary.retention_period_hours(),
        24,
        "AWS default retention"
    );
}

async fn iterator(client: &Client, stream: &str, shard: &str) -> String {
    client
        .get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator()
        .expect("ShardIterator")
        .to_string()
}

#[tokio::test]
async fn put_get_batch_and_list_shards() {
    let strait = Strait::start();
    let client = strait.client();
    create_active_stream(&client, "rust-sdk", 2).await;

    // ListShards: two open shards whose hash-key ranges tile 0..2^128-1 without gap or overlap.
    let listed = client
        .list_shards()
        .stream_name("rust-sdk")
        .send()
        .await
        .expect("ListShards");
    let shards = listed.shards();
    assert_eq!(shards.len(), 2);
    assert_eq!(shards[0].shard_id(), "shardId-000000000000");
    assert_eq!(shards[1].shard_id(), "shardId-000000000001");
    let mut next: u128 = 0;
    for s in shards {
        let range = s.hash_key_range().expect("HashKeyRange");
        let start: u128 = range.starting_hash_key().parse().expect("decimal hash key");
        let end: u128 = range.ending_hash_key().parse().expect("decimal hash key");
        assert_eq!(start, next, "ranges are contiguous");
        assert!(end >= start);
        next = end.wrapping_add(1);
        let seq = s.sequence_number_range().expect("SequenceNumberRange");
        assert!(seq.ending_sequence_number().is_none(), "open shard");
    }
    assert_eq!(next, 0, "the last range ends at 2^128-1");

    // PutRecord routes by ExplicitHashKey: hash key 0 is always in the first shard.
    let put = client
        .put_record()
        .stream_name("rust-sdk")
        .partition_key("pk-single")
        .explicit_hash_key("0")
        .data(Blob::new(b"hello from rust".to_vec()))
        .send()
        .await
        .expect("PutRecord");
    assert_eq!(put.shard_id(), "shardId-000000000000");
    let single_seq = put.sequence_number().to_string();
    assert!(
        single_seq == "0"
            || (!single_seq.starts_with('0') && single_seq.bytes().all(|b| b.is_ascii_digit())),
        "sequence number {single_seq} matches 0|([1-9]\\d{{0,128}})"
    );

    // PutRecords: results come back in request order, one per entry, all pinned to shard 0.
    let entries: Vec<PutRecordsRequestEntry> = (0..10)
        .map(|i| {
            PutRecordsRequestEntry::builder()
                .partition_key(format!("pk-{i}"))
                .explicit_hash_key("1")
                .data(Blob::new(format!("batch-{i}").into_bytes()))
                .build()
                .expect("entry")
        })
        .collect();
    let batch = client
        .put_records()
        .stream_name("rust-sdk")
        .set_records(Some(entries))
        .send()
        .await
        .expect("PutRecords");
    assert_eq!(batch.failed_record_count(), Some(0));
    assert_eq!(batch.records().len(), 10);
    // Sequence numbers are decimal strings of up to 129 digits (AWS's are 56: beyond u128), compared as integers
    // (KCL uses BigInteger). Without leading zeros, (length, text) orders them the same way.
    let numeric = |s: &str| (s.len(), s.to_string());
    let mut previous = numeric(&single_seq);
    for r in batch.records() {
        assert_eq!(r.shard_id(), Some("shardId-000000000000"));
        assert!(r.error_code().is_none());
        let seq = numeric(r.sequence_number().expect("SequenceNumber"));
        assert!(seq > previous, "sequence numbers increase within a shard");
        previous = seq;
    }

    // GetRecords from TRIM_HORIZON returns the 11 records in order with their data and keys.
    let it = iterator(&client, "rust-sdk", "shardId-000000000000").await;
    let got = client
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .expect("GetRecords");
    let records = got.records();
    assert_eq!(records.len(), 11);
    assert_eq!(records[0].data().as_ref(), b"hello from rust");
    assert_eq!(records[0].partition_key(), Some("pk-single"));
    assert_eq!(records[0].sequence_number(), single_seq);
    assert!(records[0].approximate_arrival_timestamp().is_some());
    for (i, r) in records[1..].iter().enumerate() {
        assert_eq!(r.data().as_ref(), format!("batch-{i}").as_bytes());
        assert_eq!(r.partition_key(), Some(format!("pk-{i}").as_str()));
        assert_eq!(
            Some(r.sequence_number()),
            batch.records()[i].sequence_number()
        );
    }
    assert_eq!(got.millis_behind_latest(), Some(0), "caught up");
    assert!(
        got.next_shard_iterator().is_some(),
        "open shard: always a next iterator"
    );
    assert!(got.child_shards().is_empty());

    // Limit caps the batch; the next iterator continues where it stopped.
    let it = iterator(&client, "rust-sdk", "shardId-000000000000").await;
    let first = client
        .get_records()
        .shard_iterator(&it)
        .limit(4)
        .send()
        .await
        .expect("GetRecords Limit");
    assert_eq!(first.records().len(), 4);
    let rest = client
        .get_records()
        .shard_iterator(first.next_shard_iterator().expect("next"))
        .send()
        .await
        .expect("GetRecords next");
    assert_eq!(rest.records().len(), 7);
    assert_eq!(
        rest.records()[0].sequence_number(),
        records[4].sequence_number()
    );

    // The other shard is empty.
    let it = iterator(&client, "rust-sdk", "shardId-000000000001").await;
    let empty = client
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .expect("GetRecords empty shard");
    assert!(empty.records().is_empty());
    assert!(empty.next_shard_iterator().is_some());

    client
        .delete_stream()
        .stream_name("rust-sdk")
        .send()
        .await
        .expect("DeleteStream");
}

#[tokio::test]
async fn modelled_errors_arrive_as_typed_variants() {
    let strait = Strait::start();
    let client = strait.client();

    let missing = client
        .describe_stream_summary()
        .stream_name("no-such-stream")
        .send()
        .await
        .expect_err("a missing stream is an error")
        .into_service_error();
    assert!(
        missing.is_resource_not_found_exception(),
        "DescribeStreamSummary: {missing:?}"
    );
    let msg = missing.meta().message().unwrap_or_default().to_string();
    assert!(
        msg.contains("no-such-stream"),
        "AWS names the stream in the message: {msg}"
    );

    let missing = client
        .put_record()
        .stream_name("no-such-stream")
        .partition_key("k")
        .data(Blob::new(b"x".to_vec()))
        .send()
        .await
        .expect_err("put to a missing stream")
        .into_service_error();
    assert!(
        missing.is_resource_not_found_exception(),
        "PutRecord: {missing:?}"
    );

    create_active_stream(&client, "rust-errors", 1).await;
    let dup = client
        .create_stream()
        .stream_name("rust-errors")
        .shard_count(1)
        .send()
        .await
        .expect_err("CreateStream of an existing name")
        .into_service_error();
    assert!(dup.is_resource_in_use_exception(), "CreateStream: {dup:?}");

    let bad_shard = client
        .get_shard_iterator()
        .stream_name("rust-errors")
        .shard_id("shardId-000000000007")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect_err("GetShardIterator of a missing shard")
        .into_service_error();
    assert!(
        bad_shard.is_resource_not_found_exception(),
        "GetShardIterator: {bad_shard:?}"
    );

    let bad_iterator = client
        .get_records()
        .shard_iterator("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
        .send()
        .await
        .expect_err("GetRecords with a forged iterator")
        .into_service_error();
    assert!(
        bad_iterator.is_invalid_argument_exception(),
        "GetRecords: {bad_iterator:?}"
    );

    let retention = client
        .decrease_stream_retention_period()
        .stream_name("rust-errors")
        .retention_period_hours(12)
        .send()
        .await
        .expect_err("retention below 24 h")
        .into_service_error();
    assert!(
        retention.is_invalid_argument_exception(),
        "DecreaseStreamRetentionPeriod: {retention:?}"
    );

    let split = client
        .split_shard()
        .stream_name("rust-errors")
        .shard_to_split("shardId-000000000000")
        .new_starting_hash_key("0")
        .send()
        .await
        .expect_err("split at the shard's own starting hash key")
        .into_service_error();
    assert!(
        split.is_invalid_argument_exception(),
        "SplitShard: {split:?}"
    );
}

#[tokio::test]
async fn sigv4_verification_with_the_sdk_signer() {
    let keys =
        r#"[{access_key_id="AKIDRUSTSIGV4", secret_access_key="rust/sigv4+secret000000000000"}]"#;
    let strait = Strait::start_with(&[
        ("STRAIT_AWS__AUTH", "sigv4"),
        ("STRAIT_AWS__ACCESS_KEYS", keys),
        // Kafka stays open on purpose (this test is about the AWS API); a node refuses that unless told.
        ("STRAIT_SECURITY__ALLOW_UNAUTHENTICATED_KAFKA", "true"),
    ]);
    let good = strait.client_with_keys("AKIDRUSTSIGV4", "rust/sigv4+secret000000000000");
    // Signed calls go through (no waiter here: the SDK's polls every 10 s, and the other tests cover it).
    good.create_stream()
        .stream_name("rust-signed")
        .shard_count(1)
        .send()
        .await
        .expect("signed CreateStream");
    let listed = good
        .list_streams()
        .send()
        .await
        .expect("signed ListStreams");
    assert!(listed.stream_names().iter().any(|n| n == "rust-signed"));

    let wrong = strait.client_with_keys("AKIDRUSTSIGV4", "not-the-secret");
    let err = wrong
        .list_streams()
        .send()
        .await
        .expect_err("a wrong secret is refused")
        .into_service_error();
    assert_eq!(
        err.meta().code(),
        Some("InvalidSignatureException"),
        "{err:?}"
    );

    let unknown = strait.client_with_keys("AKIDUNKNOWN", "rust/sigv4+secret000000000000");
    let err = unknown
        .list_streams()
        .send()
        .await
        .expect_err("an unknown key is refused")
        .into_service_error();
    assert_eq!(
        err.meta().code(),
        Some("UnrecognizedClientException"),
        "{err:?}"
    );
}
