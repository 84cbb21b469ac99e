//! Partition-log behaviour through the public engine API.

mod common;

use std::time::Duration;

use common::*;
use strait_engine::{AppendOptions, Engine, EngineError, FsyncPolicy};

#[tokio::test]
async fn append_read_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 2, overrides(&[]))
        .await
        .expect("create");
    assert!(matches!(
        e.create_topic("t", 1, overrides(&[])).await,
        Err(EngineError::TopicExists(_))
    ));
    let p = e.partition("t", 1).expect("partition");
    let a = append(&p, "a", 3, 1000).await;
    let b = append(&p, "b", 2, 2000).await;
    assert_eq!(
        (a.base_offset, a.last_offset, b.base_offset, b.last_offset),
        (0, 2, 3, 4)
    );
    assert_eq!(p.offsets().high_watermark, 5);
    let all = read_all(&p).await;
    assert_eq!(
        all.iter().map(|r| r.0).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    assert_eq!(all[3].1, "b-0");
    // a read from inside a batch returns the whole batch (as Kafka does)
    let r = p.read(1, 1).await.expect("read");
    assert_eq!(
        strait_engine::batch::BatchHeader::parse(&r.records)
            .expect("hdr")
            .base_offset,
        0
    );
    assert!(matches!(
        p.read(6, 100).await,
        Err(EngineError::OffsetOutOfRange { .. })
    ));
    assert!(p.read(5, 100).await.expect("at hw").records.is_empty());
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    assert!(dir.path().join(".clean-shutdown").exists());

    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let p = e.partition("t", 1).expect("partition");
    assert_eq!(read_all(&p).await.len(), 5);
    assert_eq!(append(&p, "c", 1, 3000).await.base_offset, 5);
    assert_eq!(e.topic("t").expect("topic").partitions, 2);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn second_process_cannot_open_the_same_dir() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    assert!(matches!(
        Engine::open(config(dir.path())).await,
        Err(EngineError::DataDirLocked(_))
    ));
    e.shutdown().await.expect("shutdown");
}

/// Strait's own logs (a cluster's controller log) are out of every front end's reach: a client can neither
/// create a topic under a reserved name nor find, read, write, grow or delete one, and they are not listed.
#[tokio::test]
async fn reserved_topics_are_hidden_from_front_ends() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    assert!(matches!(
        e.create_topic("__strait_controller", 1, overrides(&[]))
            .await,
        Err(EngineError::InvalidTopicName { .. })
    ));
    assert!(matches!(
        e.create_reserved_topic("plain", 1).await,
        Err(EngineError::InvalidTopicName { .. })
    ));
    e.create_reserved_topic("__strait_controller", 1)
        .await
        .expect("reserved");
    e.create_topic("visible", 1, overrides(&[]))
        .await
        .expect("create");
    let listed: Vec<String> = e.list_topics().into_iter().map(|t| t.name).collect();
    assert_eq!(listed, ["visible"]);
    assert!(e.topic("__strait_controller").is_none());
    let unknown = |r: &Result<_, EngineError>| matches!(r, Err(EngineError::UnknownTopic(_)));
    assert!(unknown(&e.partition("__strait_controller", 0).map(|_| ())));
    assert!(unknown(&e.partitions("__strait_controller").map(|_| ())));
    assert!(unknown(&e.delete_topic("__strait_controller").await));
    assert!(unknown(
        &e.create_partitions("__strait_controller", 2)
            .await
            .map(|_| ())
    ));
    // The node's own subsystems still reach it, across a restart.
    e.shutdown().await.expect("shutdown");
    drop(e);
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    assert!(e.local_partition("__strait_controller", 0).is_ok());
    assert!(e.topic("__strait_controller").is_none());
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn invalid_input_is_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    assert!(matches!(
        e.create_topic("bad/name", 1, overrides(&[])).await,
        Err(EngineError::InvalidTopicName { .. })
    ));
    assert!(matches!(
        e.create_topic("zero", 0, overrides(&[])).await,
        Err(EngineError::InvalidPartitions { .. })
    ));
    assert!(matches!(
        e.create_topic("cfg", 1, overrides(&[("retention.ms", "x")]))
            .await,
        Err(EngineError::InvalidConfig { .. })
    ));
    e.create_topic("t", 1, overrides(&[("max.message.bytes", "200")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    let mut corrupt = batch("x", 1, 0);
    let n = corrupt.len();
    corrupt[n - 1] ^= 1;
    assert!(matches!(
        p.append(corrupt.into(), AppendOptions::default()).await,
        Err(EngineError::InvalidBatch(_))
    ));
    let big = batch("much-too-large-for-two-hundred-bytes", 10, 0);
    assert!(matches!(
        p.append(big.into(), AppendOptions::default()).await,
        Err(EngineError::MessageTooLarge { .. })
    ));
    assert_eq!(p.offsets().log_end, 0, "nothing was appended");
    assert!(matches!(
        e.partition("t", 1),
        Err(EngineError::UnknownPartition { .. })
    ));
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn topics_grow_change_config_and_delete() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    append(&e.partition("t", 0).expect("p"), "a", 1, 0).await;
    assert!(matches!(
        e.create_partitions("t", 1).await,
        Err(EngineError::InvalidPartitions { .. })
    ));
    assert_eq!(
        e.create_partitions("t", 3).await.expect("grow").partitions,
        3
    );
    append(&e.partition("t", 2).expect("p2"), "b", 1, 0).await;
    let info = e
        .set_topic_config("t", overrides(&[("retention.ms", "60000")]))
        .await
        .expect("alter");
    assert_eq!(info.config.retention_ms, 60_000);
    e.shutdown().await.expect("shutdown");
    drop(e);
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let info = e.topic("t").expect("t");
    assert_eq!((info.partitions, info.config.retention_ms), (3, 60_000));
    e.delete_topic("t").await.expect("delete");
    assert!(e.topic("t").is_none());
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("recreate");
    assert_eq!(
        e.partition("t", 0).expect("p").offsets().log_end,
        0,
        "a recreated topic starts empty"
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn segments_roll_and_retention_deletes_whole_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic(
        "t",
        1,
        overrides(&[("segment.bytes", "2048"), ("retention.bytes", "4096")]),
    )
    .await
    .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..120 {
        append(&p, &format!("rec{i:03}"), 5, 1000 + i).await;
    }
    let before = segment_files(dir.path(), "t", 0, "log").len();
    assert!(before > 4, "small segments rolled: {before}");
    e.run_retention();
    let after = segment_files(dir.path(), "t", 0, "log").len();
    assert!(
        after < before,
        "retention deleted segments ({before} -> {after})"
    );
    assert!(
        p.size_bytes() <= 4096 + 2048,
        "size bound honoured: {}",
        p.size_bytes()
    );
    let start = p.log_start();
    assert!(start > 0);
    let all = read_all(&p).await;
    assert_eq!(all.first().map(|r| r.0), Some(start));
    assert_eq!(all.last().map(|r| r.0), Some(599));
    assert!(matches!(
        p.read(0, 100).await,
        Err(EngineError::OffsetOutOfRange { .. })
    ));

    // time retention: everything but the active segment is older than 1 ms
    e.set_topic_config(
        "t",
        overrides(&[("segment.bytes", "2048"), ("retention.ms", "1")]),
    )
    .await
    .expect("alter");
    e.run_retention();
    assert_eq!(segment_files(dir.path(), "t", 0, "log").len(), 1);
    let start = p.log_start();
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let p = e.partition("t", 0).expect("p");
    assert_eq!(p.log_start(), start, "log start survives restart");
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn delete_records_moves_log_start_durably() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..20 {
        append(&p, &format!("r{i}"), 4, i).await;
    }
    assert!(matches!(
        p.delete_records(81).await,
        Err(EngineError::OffsetOutOfRange { .. })
    ));
    assert_eq!(p.delete_records(50).await.expect("delete"), 50);
    assert_eq!(read_all(&p).await.first().map(|r| r.0), Some(50));
    crash(e).await;
    drop(p);
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    assert_eq!(e.partition("t", 0).expect("p").log_start(), 50);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn timestamps_index_and_log_append_time() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for i in 0..50 {
        append(&p, "x", 2, 10_000 + i * 100).await;
    }
    let (h, _) = p
        .find_by_timestamp(12_050)
        .await
        .expect("lookup")
        .expect("found");
    assert_eq!((h.base_offset, h.max_timestamp), (42, 12_100));
    assert!(p.find_by_timestamp(99_999).await.expect("lookup").is_none());
    let (h, _) = p.max_timestamp_batch().await.expect("max").expect("some");
    assert_eq!((h.base_offset, h.max_timestamp), (98, 14_900));

    e.create_topic(
        "lat",
        1,
        overrides(&[("message.timestamp.type", "LogAppendTime")]),
    )
    .await
    .expect("create");
    let q = e.partition("lat", 0).expect("q");
    let info = append(&q, "y", 1, 5).await;
    assert!(info.log_append_time > 1_600_000_000_000);
    let r = q.read(0, 1000).await.expect("read");
    let h = strait_engine::batch::validate(&r.records).expect("crc valid after restamp");
    assert!(h.is_log_append_time());
    assert_eq!(h.max_timestamp, info.log_append_time);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn truncate_suffix_and_epochs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[("segment.bytes", "1024")]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    for epoch in [1, 1, 2, 2, 2, 5] {
        for _ in 0..5 {
            p.append(
                batch("e", 3, 0).into(),
                strait_engine::AppendOptions {
                    leader_epoch: epoch,
                    wait_durable: true,
                    forward: false,
                },
            )
            .await
            .expect("append");
        }
    }
    assert_eq!(p.offsets().log_end, 90);
    assert_eq!(p.end_offset_for_epoch(1), Some((1, 30)));
    assert_eq!(p.end_offset_for_epoch(4), Some((2, 75)));
    assert_eq!(p.end_offset_for_epoch(0), None);
    assert!(matches!(
        p.truncate_after(40).await,
        Err(EngineError::NotBatchBoundary(40))
    ));
    p.truncate_after(41).await.expect("truncate");
    assert_eq!(p.offsets().log_end, 42);
    assert_eq!(p.offsets().high_watermark, 42);
    assert_eq!(p.latest_epoch(), Some(2));
    assert_eq!(read_all(&p).await.len(), 42);
    let info = p
        .append(
            batch("n", 1, 0).into(),
            strait_engine::AppendOptions {
                leader_epoch: 7,
                wait_durable: true,
                forward: false,
            },
        )
        .await
        .expect("append");
    assert_eq!(info.base_offset, 42);
    crash(e).await;
    drop(p);
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let p = e.partition("t", 0).expect("p");
    assert_eq!(p.end_offset_for_epoch(7), Some((7, 43)));
    assert_eq!(p.end_offset_for_epoch(2), Some((2, 42)));
    // the uncommitted-read path sees the same data here (everything is durable)
    assert_eq!(
        p.read_uncommitted(0, 1 << 20)
            .await
            .expect("read")
            .records
            .len(),
        p.read(0, 1 << 20).await.expect("read").records.len()
    );
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn long_poll_wakes_on_append_and_times_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("t", 1, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("t", 0).expect("p");
    let started = std::time::Instant::now();
    assert_eq!(p.wait_for_data(0, Duration::from_millis(100)).await, 0);
    assert!(started.elapsed() >= Duration::from_millis(100));
    let waiter = {
        let p = p.clone();
        tokio::spawn(async move { p.wait_for_data(0, Duration::from_secs(30)).await })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    append(&p, "a", 2, 0).await;
    let hw = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("woken")
        .expect("join");
    assert_eq!(hw, 2);
    e.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn concurrent_producers_share_fsyncs_and_interval_mode_works() {
    for policy in [FsyncPolicy::Always, FsyncPolicy::Interval] {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut cfg = config(dir.path());
        cfg.fsync = policy;
        cfg.flush_interval_ms = 20;
        let e = Engine::open(cfg).await.expect("open");
        e.create_topic("t", 1, overrides(&[]))
            .await
            .expect("create");
        let p = e.partition("t", 0).expect("p");
        let mut tasks = Vec::new();
        for w in 0..8 {
            let p = p.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..25 {
                    append(&p, &format!("w{w}-{i}"), 2, 0).await;
                }
            }));
        }
        for t in tasks {
            t.await.expect("join");
        }
        assert_eq!(p.offsets().high_watermark, 400, "{policy:?}");
        assert_eq!(read_all(&p).await.len(), 400, "{policy:?}");
        e.shutdown().await.expect("shutdown");
    }
}

/// A record set of many batches, sliced out of a larger shared buffer as the Kafka front end hands it over:
/// written uncopied in vectored writes (more slices than one pwritev takes), stamped, and read back intact,
/// also after a reopen.
#[tokio::test]
async fn shared_record_sets_of_many_batches_append_uncopied() {
    let dir = tempfile::tempdir().expect("tempdir");
    let e = Engine::open(config(dir.path())).await.expect("open");
    e.create_topic("v", 1, overrides(&[]))
        .await
        .expect("create");
    let p = e.partition("v", 0).expect("partition");
    append(&p, "first", 2, 1000).await;
    let mut buf = bytes::BytesMut::from(&b"request-prefix"[..]);
    for i in 0..700 {
        buf.extend_from_slice(&batch(&format!("b{i}"), 1 + i % 3, 2000 + i as i64));
    }
    let shared = buf.freeze();
    let records = shared.slice(b"request-prefix".len()..);
    let info = p
        .append(records, strait_engine::AppendOptions::default())
        .await
        .expect("append");
    assert_eq!(info.base_offset, 2);
    let expected: Vec<(i64, String)> = std::iter::once((0, "first-0".to_string()))
        .chain(std::iter::once((1, "first-1".to_string())))
        .chain(
            (0..700)
                .flat_map(|i| (0..1 + i % 3).map(move |j| format!("b{i}-{j}")))
                .enumerate()
                .map(|(k, v)| (k as i64 + 2, v)),
        )
        .collect();
    assert_eq!(info.last_offset, expected.len() as i64 - 1);
    assert_eq!(read_all(&p).await, expected);
    e.shutdown().await.expect("shutdown");
    drop((p, e));
    let e = Engine::open(config(dir.path())).await.expect("reopen");
    let p = e.partition("v", 0).expect("partition");
    assert_eq!(read_all(&p).await, expected);
    e.shutdown().await.expect("shutdown");
}
