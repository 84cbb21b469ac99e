//! The coordinators' mirrors of metadata rows are functions of the committed change stream: a broker is driven
//! through transactions (committed, aborted, left open), idempotent and transactional producer ids, share-group
//! fetches, acknowledgements and configs, and plain and transactional offset commits, while a `Tables::All` tap
//! records every committed batch. Then
//! - a second metadata store, with the same coordinator caches following it, fed the recorded batches, and
//!   caches registered on it only afterwards (fed its contents), hold the same state;
//! - the broker reopened on the same data directory holds the same state, and rebuilds the same idempotent-
//!   producer state from its logs.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::TestBroker;
use common::records::{batch, name, produce, txn_batch};
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, AlterableConfig,
};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, EndTxnRequest, GroupId,
    IncrementalAlterConfigsRequest, InitProducerIdRequest, OffsetCommitRequest, ProducerId,
    ShareGroupHeartbeatRequest, TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::Compression;
use strait_engine::{MetaOp, MetaStore, Tables};
use strait_kafka::GroupOffsets;
use strait_kafka::producer::{BatchMeta, ProducerStates};
use strait_kafka::share::wire::{AckBatch, PartitionReq, ShareRequest, TopicReq};
use strait_kafka::share::{ShareConfig, ShareCoordinator, ShareSnapshot};
use strait_kafka::txn::cache::TxnSnapshot;
use strait_kafka::txn::{TxnConfig, TxnCoordinator};

const TOPIC: &str = "replayed";
const SHARED: &str = "shared";

fn s(v: &str) -> StrBytes {
    StrBytes::from_string(v.to_string())
}

/// Every coordinator cache that mirrors metadata rows, in comparable form.
#[derive(Debug, PartialEq)]
struct Mirrors {
    txns: TxnSnapshot,
    reserved_ids: i64,
    shares: ShareSnapshot,
}

fn mirrors(
    txns: &TxnCoordinator,
    producers: &ProducerStates,
    shares: &ShareCoordinator,
) -> Mirrors {
    Mirrors {
        txns: txns.snapshot(),
        reserved_ids: producers.ids().reserved_end().expect("reservation"),
        shares: shares.snapshot(),
    }
}

fn of_broker(t: &TestBroker) -> Mirrors {
    let b = &t.broker;
    mirrors(b.txns(), b.producers(), b.shares())
}

/// The same caches over another store.
struct Follower {
    txns: TxnCoordinator,
    producers: ProducerStates,
    shares: ShareCoordinator,
}

impl Follower {
    fn of(meta: &MetaStore) -> Follower {
        Follower {
            txns: TxnCoordinator::new(meta.clone(), TxnConfig::default()),
            producers: ProducerStates::new(meta.clone(), None),
            shares: ShareCoordinator::new(meta.clone(), ShareConfig::default()),
        }
    }

    fn mirrors(&self) -> Mirrors {
        mirrors(&self.txns, &self.producers, &self.shares)
    }
}

async fn init(t: &mut TestBroker, txn: Option<&str>) -> (i64, i16) {
    let r = t
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(txn.map(|id| TransactionalId(s(id))))
                .with_transaction_timeout_ms(600_000)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        )
        .await;
    assert_eq!(r.error_code, 0);
    (r.producer_id.0, r.producer_epoch)
}

async fn add_partitions(t: &mut TestBroker, txn: &str, (pid, epoch): (i64, i16), p: i32) {
    let r = t
        .call(
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(TransactionalId(s(txn)))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![
                    AddPartitionsToTxnTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![p]),
                ]),
        )
        .await;
    assert_eq!(
        r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
        0
    );
}

async fn add_offsets_and_commit(
    t: &mut TestBroker,
    txn: &str,
    (pid, epoch): (i64, i16),
    group: &str,
    offset: i64,
) {
    let r = t
        .call(
            3,
            &AddOffsetsToTxnRequest::default()
                .with_transactional_id(TransactionalId(s(txn)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_group_id(GroupId(s(group))),
        )
        .await;
    assert_eq!(r.error_code, 0);
    let r = t
        .call(
            3,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(TransactionalId(s(txn)))
                .with_group_id(GroupId(s(group)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![
                    TxnOffsetCommitRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(-1),
                        ]),
                ]),
        )
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
}

async fn end(t: &mut TestBroker, txn: &str, (pid, epoch): (i64, i16), commit: bool) {
    let r = t
        .call(
            3,
            &EndTxnRequest::default()
                .with_transactional_id(TransactionalId(s(txn)))
                .with_producer_id(ProducerId(pid))
                .with_producer_epoch(epoch)
                .with_committed(commit),
        )
        .await;
    assert_eq!(r.error_code, 0);
}

async fn send(t: &mut TestBroker, topic: &str, p: i32, records: Bytes) {
    let r = t.call(9, &produce(topic, p, records, -1)).await;
    assert_eq!(r.responses[0].partition_responses[0].error_code, 0);
}

async fn offset_commit(t: &mut TestBroker, group: &str, p: i32, offset: i64) {
    let r = t
        .call(
            8,
            &OffsetCommitRequest::default()
                .with_group_id(GroupId(s(group)))
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(p)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(-1),
                        ]),
                ]),
        )
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
}

async fn set_group_config(t: &mut TestBroker, group: &str, key: &str, value: &str) {
    let req = IncrementalAlterConfigsRequest::default().with_resources(vec![
        AlterConfigsResource::default()
            .with_resource_type(32)
            .with_resource_name(s(group))
            .with_configs(vec![
                AlterableConfig::default()
                    .with_name(s(key))
                    .with_config_operation(0)
                    .with_value(Some(s(value))),
            ]),
    ]);
    assert_eq!(t.call(1, &req).await.responses[0].error_code, 0);
}

/// A ShareFetch (`fetch`) or ShareAcknowledge v2; returns the acquired (first, last) ranges and the
/// acknowledgement error.
async fn share_call(t: &mut TestBroker, fetch: bool, q: &ShareRequest) -> (Vec<(i64, i64)>, i16) {
    let r = common::share::share_call(t, fetch, q).await;
    let p = &r.topics[0].partitions[0];
    let acquired = p
        .acquired
        .iter()
        .map(|a| (a.first_offset, a.last_offset))
        .collect();
    (acquired, p.ack_error_code)
}

fn share_req(epoch: i32, topic: uuid::Uuid, acks: Vec<AckBatch>) -> ShareRequest {
    ShareRequest {
        group_id: Some("sg".into()),
        member_id: Some("m1".into()),
        session_epoch: epoch,
        max_wait_ms: 50,
        min_bytes: 1,
        max_bytes: 1 << 20,
        max_records: 500,
        batch_size: 500,
        topics: vec![TopicReq {
            topic_id: topic,
            partitions: vec![PartitionReq { partition: 0, acks }],
        }],
        ..Default::default()
    }
}

/// Idempotent-producer state of TOPIC's partitions (rebuilt from the logs after a restart).
async fn producer_states(t: &TestBroker) -> Vec<BTreeMap<i64, (i16, Vec<BatchMeta>)>> {
    let b = &t.broker;
    let mut out = Vec::new();
    for p in b.engine().partitions(TOPIC).expect("partitions") {
        let st = b.producers().lock(b.engine(), &p).await.expect("producers");
        out.push(st.snapshot());
    }
    out
}

/// Drives every coordinator that keeps rows in the metadata store.
async fn drive(t: &mut TestBroker) {
    let engine = t.broker.engine().clone();
    engine
        .create_topic(TOPIC, 2, BTreeMap::new())
        .await
        .expect("create");
    // Idempotent producer: a producer id from the reservation, producer state from the appends.
    let idem = init(t, None).await;
    send(
        t,
        TOPIC,
        0,
        batch(&["a", "b"], Compression::None, Some((idem.0, idem.1, 0))),
    )
    .await;
    send(
        t,
        TOPIC,
        1,
        batch(&["c"], Compression::None, Some((idem.0, idem.1, 0))),
    )
    .await;
    send(
        t,
        TOPIC,
        0,
        batch(&["d"], Compression::None, Some((idem.0, idem.1, 2))),
    )
    .await;

    // A committed transaction with data and offsets, an aborted one, and one left open.
    let committed = init(t, Some("tx-commit")).await;
    add_partitions(t, "tx-commit", committed, 0).await;
    send(
        t,
        TOPIC,
        0,
        txn_batch(&["t1", "t2"], committed.0, committed.1, 0),
    )
    .await;
    add_offsets_and_commit(t, "tx-commit", committed, "txn-group", 3).await;
    end(t, "tx-commit", committed, true).await;
    let aborted = init(t, Some("tx-abort")).await;
    add_partitions(t, "tx-abort", aborted, 1).await;
    send(t, TOPIC, 1, txn_batch(&["x"], aborted.0, aborted.1, 0)).await;
    end(t, "tx-abort", aborted, false).await;
    // Re-initialised: a new epoch for the same id.
    let again = init(t, Some("tx-abort")).await;
    assert_eq!((again.0, again.1), (aborted.0, aborted.1 + 1));
    let open = init(t, Some("tx-open")).await;
    add_partitions(t, "tx-open", open, 1).await;
    send(t, TOPIC, 1, txn_batch(&["o"], open.0, open.1, 0)).await;
    add_offsets_and_commit(t, "tx-open", open, "open-group", 1).await;

    // Share group: a config, a fetch and an acknowledgement that moves the start offset.
    let shared = engine
        .create_topic(SHARED, 1, BTreeMap::new())
        .await
        .expect("create");
    send(
        t,
        SHARED,
        0,
        batch(&["s0", "s1", "s2", "s3"], Compression::None, None),
    )
    .await;
    set_group_config(t, "sg", "share.auto.offset.reset", "earliest").await;
    set_group_config(t, "sg", "share.record.lock.duration.ms", "20000").await;
    let hb = t
        .call(
            1,
            &ShareGroupHeartbeatRequest::default()
                .with_group_id(GroupId(s("sg")))
                .with_member_id(s("m1"))
                .with_member_epoch(0)
                .with_subscribed_topic_names(Some(vec![name(SHARED)])),
        )
        .await;
    assert_eq!(hb.error_code, 0);
    let (acquired, _) = share_call(t, true, &share_req(0, shared.id, vec![])).await;
    assert_eq!(acquired, vec![(0, 3)]);
    let ack = AckBatch {
        first_offset: 0,
        last_offset: 1,
        types: vec![1],
    };
    let (_, err) = share_call(t, false, &share_req(1, shared.id, vec![ack])).await;
    assert_eq!(err, 0);

    // A plain offset commit. It is awaited, and the meta store commits in order, so the share start offset
    // written in the background before it has landed too.
    offset_commit(t, "plain", 1, 7).await;
}

#[tokio::test]
async fn caches_follow_the_committed_changes_on_a_replica_and_after_a_restart() {
    let mut t = TestBroker::new().await;
    let tap: Arc<Mutex<Vec<Vec<MetaOp>>>> = Arc::default();
    let sink = tap.clone();
    t.broker
        .engine()
        .meta()
        .watch(
            Tables::All,
            Arc::new(move |ops: &[MetaOp]| sink.lock().expect("lock").push(ops.to_vec())),
        )
        .expect("tap");
    drive(&mut t).await;
    let want = of_broker(&t);
    // The drive reached every mirror.
    assert_eq!(
        want.txns.txns.keys().collect::<Vec<_>>(),
        ["tx-abort", "tx-commit", "tx-open"]
    );
    assert!(
        want.txns
            .producers
            .values()
            .any(|p| p.ongoing && !p.pending.is_empty())
    );
    assert_eq!(want.reserved_ids, 1000);
    assert_eq!(want.shares.starts.values().collect::<Vec<_>>(), [&2]);
    assert_eq!(want.shares.configs["sg"].len(), 2);
    let producers = producer_states(&t).await;
    assert!(producers.iter().all(|p| !p.is_empty()));

    // (a) A second store with the same caches, fed the recorded changes; and caches that start following it
    // only afterwards (fed its contents, as after a restart).
    let other = tempfile::tempdir().expect("tempdir");
    let replica = MetaStore::open(&other.path().join("meta.redb"), 1 << 20).expect("open");
    let follower = Follower::of(&replica);
    let batches = tap.lock().expect("lock").clone();
    for ops in batches {
        replica.commit(ops).await.expect("replay");
    }
    assert_eq!(follower.mirrors(), want, "a second store fed the changes");
    assert_eq!(
        Follower::of(&replica).mirrors(),
        want,
        "caches fed its contents"
    );
    let offsets = |meta: &MetaStore, group: &str| {
        GroupOffsets::new(meta.clone())
            .committed_in_group(group)
            .expect("offsets")
    };
    for group in ["plain", "txn-group", "open-group"] {
        assert_eq!(
            offsets(&replica, group),
            offsets(t.broker.engine().meta(), group),
            "{group}"
        );
    }
    replica.close().await;

    // (b) A restart over the same data directory.
    let t = t.restart().await;
    assert_eq!(of_broker(&t), want, "a restart");
    assert_eq!(
        producer_states(&t).await,
        producers,
        "producer state from the logs"
    );
    t.shutdown().await;
}
