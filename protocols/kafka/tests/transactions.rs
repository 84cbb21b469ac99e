//! Transactions (KIP-98) through the wire: the coordinator's producer ids and epochs, fencing, adding partitions
//! and offsets, commit/abort markers, READ_COMMITTED fetches (LSO and aborted ranges), offsets that become
//! visible only on commit, the timeout, and state surviving a restart.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use common::TestBroker;
use common::records::{fetch, fetch_partition, list_offsets, name, produce, txn_batch};
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kafka_protocol::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, CreateTopicsRequest, EndTxnRequest,
    FetchResponse, FindCoordinatorRequest, InitProducerIdRequest, OffsetFetchRequest, ProducerId,
    TransactionalId, TxnOffsetCommitRequest,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::RecordBatchDecoder;
use strait_kafka::BrokerConfig;
use strait_kafka::txn::TxnConfig;

const TOPIC: &str = "txn-topic";

fn txn_id(s: &str) -> TransactionalId {
    TransactionalId(StrBytes::from_string(s.into()))
}

async fn create_topic(t: &mut TestBroker, topic: &str, partitions: i32) {
    let r = t
        .call(
            7,
            &CreateTopicsRequest::default()
                .with_topics(vec![
                    CreatableTopic::default()
                        .with_name(name(topic))
                        .with_num_partitions(partitions)
                        .with_replication_factor(1),
                ])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(r.topics[0].error_code, 0);
}

/// (error, producer id, epoch)
async fn init(t: &mut TestBroker, id: &str, timeout_ms: i32, prev: (i64, i16)) -> (i16, i64, i16) {
    let r = t
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(Some(txn_id(id)))
                .with_transaction_timeout_ms(timeout_ms)
                .with_producer_id(ProducerId(prev.0))
                .with_producer_epoch(prev.1),
        )
        .await;
    (r.error_code, r.producer_id.0, r.producer_epoch)
}

async fn add_partitions(
    t: &mut TestBroker,
    id: &str,
    pid: i64,
    epoch: i16,
    topic: &str,
    parts: Vec<i32>,
) -> Vec<i16> {
    let r = t
        .call(
            3,
            &AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn_id(id))
                .with_v3_and_below_producer_id(ProducerId(pid))
                .with_v3_and_below_producer_epoch(epoch)
                .with_v3_and_below_topics(vec![
                    AddPartitionsToTxnTopic::default()
                        .with_name(name(topic))
                        .with_partitions(parts),
                ]),
        )
        .await;
    r.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect()
}

async fn end(
    t: &mut TestBroker,
    version: i16,
    id: &str,
    pid: i64,
    epoch: i16,
    commit: bool,
) -> i16 {
    t.call(
        version,
        &EndTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_committed(commit),
    )
    .await
    .error_code
}

/// Produces a transactional batch to TOPIC-`partition`; (error, base offset).
async fn send(
    t: &mut TestBroker,
    partition: i32,
    values: &[&str],
    pid: i64,
    epoch: i16,
    seq: i32,
) -> (i16, i64) {
    let r = t
        .call(
            9,
            &produce(TOPIC, partition, txn_batch(values, pid, epoch, seq), -1),
        )
        .await;
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

async fn fetch_at(
    t: &mut TestBroker,
    partition: i32,
    offset: i64,
    committed: bool,
) -> FetchResponse {
    let req = fetch(TOPIC, vec![fetch_partition(partition, offset, 1 << 20)])
        .with_isolation_level(if committed { 1 } else { 0 });
    t.call(12, &req).await
}

/// What a READ_COMMITTED client hands its application: data records minus aborted ranges (the Java consumer's
/// rule: a batch of a producer with an aborted transaction starting at or before it is skipped until that
/// producer's ABORT marker), plus which control markers it saw.
fn consumed(r: &FetchResponse) -> (Vec<String>, Vec<(i64, bool)>) {
    let p = &r.responses[0].partitions[0];
    let mut aborted: HashMap<i64, Vec<i64>> = HashMap::new();
    for a in p.aborted_transactions.clone().unwrap_or_default() {
        aborted
            .entry(a.producer_id.0)
            .or_default()
            .push(a.first_offset);
    }
    let mut open_aborted: BTreeMap<i64, ()> = BTreeMap::new();
    let mut out = Vec::new();
    let mut markers = Vec::new();
    let mut bytes = p.records.clone().unwrap_or_default();
    let sets = RecordBatchDecoder::decode_all(&mut bytes).expect("decode");
    for set in sets {
        let Some(first) = set.records.first() else {
            continue;
        };
        let pid = first.producer_id;
        if first.control {
            let commit = first.key.as_ref().is_some_and(|k| k.get(3) == Some(&1));
            markers.push((first.offset, commit));
            if !commit {
                open_aborted.remove(&pid);
            }
            continue;
        }
        if first.transactional
            && let Some(firsts) = aborted.get_mut(&pid)
            && let Some(i) = firsts.iter().position(|f| *f <= first.offset)
        {
            firsts.remove(i);
            open_aborted.insert(pid, ());
        }
        if open_aborted.contains_key(&pid) {
            continue;
        }
        for r in &set.records {
            out.push(String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned());
        }
    }
    (out, markers)
}

async fn lso(t: &mut TestBroker, partition: i32) -> i64 {
    let req = list_offsets(TOPIC, partition, -1).with_isolation_level(1);
    t.call(7, &req).await.topics[0].partitions[0].offset
}

async fn hw(t: &mut TestBroker, partition: i32) -> i64 {
    t.call(7, &list_offsets(TOPIC, partition, -1)).await.topics[0].partitions[0].offset
}

#[tokio::test]
async fn find_coordinator_answers_for_transactions() {
    let mut t = TestBroker::new().await;
    let r = t
        .call(
            3,
            &FindCoordinatorRequest::default()
                .with_key(StrBytes::from_static_str("tx"))
                .with_key_type(1),
        )
        .await;
    assert_eq!(r.error_code, 0);
    assert_eq!(r.node_id.0, 1);
}

#[tokio::test]
async fn init_producer_id_bumps_epochs_and_fences() {
    let mut t = TestBroker::new().await;
    let (e, pid, epoch) = init(&mut t, "a", 60_000, (-1, -1)).await;
    assert_eq!((e, epoch), (0, 0));
    let (e, pid2, epoch2) = init(&mut t, "a", 60_000, (-1, -1)).await;
    assert_eq!((e, pid2, epoch2), (0, pid, 1), "same id, next epoch");
    // Another transactional id gets another producer id.
    let (_, other, _) = init(&mut t, "b", 60_000, (-1, -1)).await;
    assert_ne!(other, pid);
    // KIP-360: the current instance may re-init with its id and epoch; a retry of that (previous epoch) gets the
    // same answer; anything else is fenced.
    let (e, _, epoch3) = init(&mut t, "a", 60_000, (pid, 1)).await;
    assert_eq!((e, epoch3), (0, 2));
    let (e, _, epoch_retry) = init(&mut t, "a", 60_000, (pid, 1)).await;
    assert_eq!((e, epoch_retry), (0, 2));
    let (e, _, _) = init(&mut t, "a", 60_000, (pid, 0)).await;
    assert_eq!(e, ResponseError::ProducerFenced.code());
    // Bad timeouts.
    for bad in [0, -5, 900_001] {
        let (e, _, _) = init(&mut t, "c", bad, (-1, -1)).await;
        assert_eq!(
            e,
            ResponseError::InvalidTransactionTimeout.code(),
            "timeout {bad}"
        );
    }
    // Old epochs are fenced on every transactional API; unknown ids are not mapped.
    create_topic(&mut t, TOPIC, 1).await;
    let errs = add_partitions(&mut t, "a", pid, 1, TOPIC, vec![0]).await;
    assert_eq!(errs, vec![ResponseError::ProducerFenced.code()]);
    let errs = add_partitions(&mut t, "a", pid, 0, TOPIC, vec![0]).await;
    assert_eq!(errs, vec![ResponseError::ProducerFenced.code()]);
    let errs = add_partitions(&mut t, "nope", pid, 2, TOPIC, vec![0]).await;
    assert_eq!(errs, vec![ResponseError::InvalidProducerIdMapping.code()]);
    assert_eq!(
        end(&mut t, 3, "a", pid, 1, true).await,
        ResponseError::ProducerFenced.code()
    );
    assert_eq!(
        end(&mut t, 1, "a", pid, 1, true).await,
        ResponseError::InvalidProducerEpoch.code()
    );
    assert_eq!(
        end(&mut t, 3, "a", other, 2, true).await,
        ResponseError::InvalidProducerIdMapping.code()
    );
    // Nothing to end.
    assert_eq!(
        end(&mut t, 3, "a", pid, 2, true).await,
        ResponseError::InvalidTxnState.code()
    );
    // Unknown partitions fail the whole add, the rest are not attempted.
    let errs = add_partitions(&mut t, "a", pid, 2, TOPIC, vec![0, 7]).await;
    assert_eq!(
        errs,
        vec![
            ResponseError::OperationNotAttempted.code(),
            ResponseError::UnknownTopicOrPartition.code()
        ]
    );
}

#[tokio::test]
async fn commit_and_abort_with_read_committed() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, TOPIC, 1).await;
    let (_, pid, epoch) = init(&mut t, "p", 60_000, (-1, -1)).await;

    // Transactional data for a partition not added to the transaction is refused.
    let (e, _) = send(&mut t, 0, &["x"], pid, epoch, 0).await;
    assert_eq!(e, ResponseError::InvalidTxnState.code());

    assert_eq!(
        add_partitions(&mut t, "p", pid, epoch, TOPIC, vec![0]).await,
        vec![0]
    );
    assert_eq!(
        send(&mut t, 0, &["c1", "c2", "c3"], pid, epoch, 0).await,
        (0, 0)
    );
    // Open transaction: READ_UNCOMMITTED sees it, READ_COMMITTED stops at the LSO.
    assert_eq!((hw(&mut t, 0).await, lso(&mut t, 0).await), (3, 0));
    let r = fetch_at(&mut t, 0, 0, true).await;
    assert_eq!(r.responses[0].partitions[0].last_stable_offset, 0);
    assert_eq!(consumed(&r).0, Vec::<String>::new());
    assert_eq!(
        consumed(&fetch_at(&mut t, 0, 0, false).await).0,
        vec!["c1", "c2", "c3"]
    );

    assert_eq!(end(&mut t, 3, "p", pid, epoch, true).await, 0);
    // A retried EndTxn of the same outcome succeeds; the other outcome is refused.
    assert_eq!(end(&mut t, 3, "p", pid, epoch, true).await, 0);
    assert_eq!(
        end(&mut t, 3, "p", pid, epoch, false).await,
        ResponseError::InvalidTxnState.code()
    );
    // The COMMIT marker is offset 3.
    assert_eq!((hw(&mut t, 0).await, lso(&mut t, 0).await), (4, 4));
    let (vals, markers) = consumed(&fetch_at(&mut t, 0, 0, true).await);
    assert_eq!(vals, vec!["c1", "c2", "c3"]);
    assert_eq!(markers, vec![(3, true)]);

    // Second transaction, aborted: the data stays in the log but READ_COMMITTED readers drop it.
    assert_eq!(
        add_partitions(&mut t, "p", pid, epoch, TOPIC, vec![0]).await,
        vec![0]
    );
    assert_eq!(send(&mut t, 0, &["a1", "a2"], pid, epoch, 3).await, (0, 4));
    assert_eq!(end(&mut t, 3, "p", pid, epoch, false).await, 0);
    assert_eq!((hw(&mut t, 0).await, lso(&mut t, 0).await), (7, 7));
    let r = fetch_at(&mut t, 0, 0, true).await;
    let aborted = r.responses[0].partitions[0]
        .aborted_transactions
        .clone()
        .unwrap_or_default();
    assert_eq!(aborted.len(), 1);
    assert_eq!(
        (aborted[0].producer_id.0, aborted[0].first_offset),
        (pid, 4)
    );
    let (vals, markers) = consumed(&r);
    assert_eq!(vals, vec!["c1", "c2", "c3"]);
    assert_eq!(markers, vec![(3, true), (6, false)]);
    // Fetching past the aborted range reports nothing aborted.
    let r = fetch_at(&mut t, 0, 7, true).await;
    assert!(
        r.responses[0].partitions[0]
            .aborted_transactions
            .clone()
            .unwrap_or_default()
            .is_empty()
    );
    // READ_UNCOMMITTED sees everything.
    assert_eq!(
        consumed(&fetch_at(&mut t, 0, 0, false).await).0,
        vec!["c1", "c2", "c3", "a1", "a2"]
    );

    // A new instance fences the old one: its data and EndTxn are refused.
    let (_, pid2, epoch2) = init(&mut t, "p", 60_000, (-1, -1)).await;
    assert_eq!((pid2, epoch2), (pid, epoch + 1));
    let (e, _) = send(&mut t, 0, &["late"], pid, epoch, 5).await;
    assert_eq!(e, ResponseError::InvalidProducerEpoch.code());
}

#[tokio::test]
async fn concurrent_transactions_hold_the_lso_at_the_earliest() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, TOPIC, 1).await;
    let (_, a, ea) = init(&mut t, "A", 60_000, (-1, -1)).await;
    let (_, b, eb) = init(&mut t, "B", 60_000, (-1, -1)).await;
    add_partitions(&mut t, "A", a, ea, TOPIC, vec![0]).await;
    add_partitions(&mut t, "B", b, eb, TOPIC, vec![0]).await;
    assert_eq!(send(&mut t, 0, &["a1"], a, ea, 0).await, (0, 0));
    assert_eq!(send(&mut t, 0, &["b1"], b, eb, 0).await, (0, 1));
    assert_eq!(send(&mut t, 0, &["a2"], a, ea, 1).await, (0, 2));
    // B commits first: A is still open from offset 0.
    assert_eq!(end(&mut t, 3, "B", b, eb, true).await, 0);
    assert_eq!(lso(&mut t, 0).await, 0);
    assert!(consumed(&fetch_at(&mut t, 0, 0, true).await).0.is_empty());
    // A aborts: everything is stable, only B's record is committed.
    assert_eq!(end(&mut t, 3, "A", a, ea, false).await, 0);
    assert_eq!(lso(&mut t, 0).await, 5);
    assert_eq!(consumed(&fetch_at(&mut t, 0, 0, true).await).0, vec!["b1"]);
}

async fn fetch_offset(t: &mut TestBroker, group: &str, require_stable: bool) -> (i16, i64) {
    let r = t
        .call(
            7,
            &OffsetFetchRequest::default()
                .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(
                    group.into(),
                )))
                .with_require_stable(require_stable)
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partition_indexes(vec![0]),
                ])),
        )
        .await;
    let p = &r.topics[0].partitions[0];
    (p.error_code, p.committed_offset)
}

async fn txn_commit_offset(
    t: &mut TestBroker,
    id: &str,
    group: &str,
    pid: i64,
    epoch: i16,
    offset: i64,
) -> i16 {
    let r = t
        .call(
            3,
            &TxnOffsetCommitRequest::default()
                .with_transactional_id(txn_id(id))
                .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(
                    group.into(),
                )))
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
    r.topics[0].partitions[0].error_code
}

async fn add_offsets(t: &mut TestBroker, id: &str, group: &str, pid: i64, epoch: i16) -> i16 {
    t.call(
        3,
        &AddOffsetsToTxnRequest::default()
            .with_transactional_id(txn_id(id))
            .with_producer_id(ProducerId(pid))
            .with_producer_epoch(epoch)
            .with_group_id(kafka_protocol::messages::GroupId(StrBytes::from_string(
                group.into(),
            ))),
    )
    .await
    .error_code
}

#[tokio::test]
async fn transactional_offsets_appear_only_on_commit() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, TOPIC, 1).await;
    let (_, pid, epoch) = init(&mut t, "o", 60_000, (-1, -1)).await;
    // TxnOffsetCommit before AddOffsetsToTxn is out of order.
    assert_eq!(
        txn_commit_offset(&mut t, "o", "g", pid, epoch, 5).await,
        ResponseError::InvalidTxnState.code()
    );
    assert_eq!(add_offsets(&mut t, "o", "g", pid, epoch).await, 0);
    assert_eq!(
        add_offsets(&mut t, "o", "g", pid, epoch - 1).await,
        ResponseError::ProducerFenced.code()
    );
    assert_eq!(txn_commit_offset(&mut t, "o", "g", pid, epoch, 5).await, 0);
    // Pending: invisible, and unstable for clients that ask for stable offsets.
    assert_eq!(fetch_offset(&mut t, "g", false).await, (0, -1));
    assert_eq!(
        fetch_offset(&mut t, "g", true).await.0,
        ResponseError::UnstableOffsetCommit.code()
    );
    assert_eq!(end(&mut t, 3, "o", pid, epoch, true).await, 0);
    assert_eq!(fetch_offset(&mut t, "g", true).await, (0, 5));

    // Aborted: the committed offset stays where it was.
    assert_eq!(add_offsets(&mut t, "o", "g", pid, epoch).await, 0);
    assert_eq!(txn_commit_offset(&mut t, "o", "g", pid, epoch, 9).await, 0);
    assert_eq!(end(&mut t, 3, "o", pid, epoch, false).await, 0);
    assert_eq!(fetch_offset(&mut t, "g", true).await, (0, 5));
}

#[tokio::test]
async fn transactions_survive_a_restart() {
    let mut t = TestBroker::new().await;
    create_topic(&mut t, TOPIC, 2).await;
    let (_, pid, epoch) = init(&mut t, "r", 60_000, (-1, -1)).await;
    add_partitions(&mut t, "r", pid, epoch, TOPIC, vec![0]).await;
    assert_eq!(send(&mut t, 0, &["committed"], pid, epoch, 0).await.0, 0);
    assert_eq!(end(&mut t, 3, "r", pid, epoch, true).await, 0);
    add_partitions(&mut t, "r", pid, epoch, TOPIC, vec![0, 1]).await;
    assert_eq!(send(&mut t, 0, &["open"], pid, epoch, 1).await.0, 0);
    assert_eq!(send(&mut t, 1, &["open1"], pid, epoch, 0).await.0, 0);
    assert_eq!(lso(&mut t, 0).await, 2);

    let mut t = t.restart().await;
    // The open transaction still holds the LSO and the producer can finish it (abort here).
    assert_eq!(lso(&mut t, 0).await, 2);
    assert_eq!(lso(&mut t, 1).await, 0);
    assert_eq!(
        consumed(&fetch_at(&mut t, 0, 0, true).await).0,
        vec!["committed"]
    );
    assert_eq!(end(&mut t, 3, "r", pid, epoch, false).await, 0);
    assert_eq!((lso(&mut t, 0).await, lso(&mut t, 1).await), (4, 2));

    let mut t = t.restart().await;
    // After another restart the aborted range is still known.
    assert_eq!(
        consumed(&fetch_at(&mut t, 0, 0, true).await).0,
        vec!["committed"]
    );
    assert!(consumed(&fetch_at(&mut t, 1, 0, true).await).0.is_empty());
    // And the transactional id kept its producer id: the next instance gets the next epoch.
    let (_, pid2, epoch2) = init(&mut t, "r", 60_000, (-1, -1)).await;
    assert_eq!((pid2, epoch2), (pid, epoch + 1));
}

#[tokio::test]
async fn timed_out_transactions_are_aborted_and_fenced() {
    let mut t = TestBroker::with_config(BrokerConfig {
        transactions: TxnConfig {
            abort_check_interval: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    create_topic(&mut t, TOPIC, 1).await;
    let (_, pid, epoch) = init(&mut t, "slow", 300, (-1, -1)).await;
    add_partitions(&mut t, "slow", pid, epoch, TOPIC, vec![0]).await;
    assert_eq!(send(&mut t, 0, &["doomed"], pid, epoch, 0).await.0, 0);
    assert_eq!(lso(&mut t, 0).await, 0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while lso(&mut t, 0).await == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the transaction was not aborted"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(lso(&mut t, 0).await, 2, "data + ABORT marker");
    assert!(consumed(&fetch_at(&mut t, 0, 0, true).await).0.is_empty());
    // The late producer is fenced.
    assert_eq!(
        end(&mut t, 3, "slow", pid, epoch, true).await,
        ResponseError::ProducerFenced.code()
    );
}

#[tokio::test]
async fn describe_and_list_transactions() {
    use kafka_protocol::messages::{DescribeTransactionsRequest, ListTransactionsRequest};
    let mut t = TestBroker::new().await;
    create_topic(&mut t, TOPIC, 2).await;
    let (_, pid, epoch) = init(&mut t, "desc-1", 30_000, (-1, -1)).await;
    let (_, other, _) = init(&mut t, "desc-2", 30_000, (-1, -1)).await;
    add_partitions(&mut t, "desc-1", pid, epoch, TOPIC, vec![1, 0]).await;

    let r = t
        .call(
            0,
            &DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![txn_id("desc-1"), txn_id("nope")]),
        )
        .await;
    let d = &r.transaction_states[0];
    assert_eq!((d.error_code, &*d.transaction_state), (0, "Ongoing"));
    assert_eq!(
        (d.producer_id.0, d.producer_epoch, d.transaction_timeout_ms),
        (pid, epoch, 30_000)
    );
    assert!(d.transaction_start_time_ms > 0);
    assert_eq!(d.topics.len(), 1);
    assert_eq!(d.topics[0].partitions, vec![0, 1]);
    assert_eq!(
        r.transaction_states[1].error_code,
        ResponseError::TransactionalIdNotFound.code()
    );

    let list = |req: ListTransactionsRequest| req;
    let r = t
        .call(
            1,
            &list(ListTransactionsRequest::default().with_duration_filter(-1)),
        )
        .await;
    assert_eq!(r.transaction_states.len(), 2);
    let r = t
        .call(
            1,
            &list(
                ListTransactionsRequest::default()
                    .with_state_filters(vec![
                        StrBytes::from_static_str("Ongoing"),
                        StrBytes::from_static_str("Bogus"),
                    ])
                    .with_duration_filter(-1),
            ),
        )
        .await;
    assert_eq!(r.transaction_states.len(), 1);
    assert_eq!(&*r.transaction_states[0].transactional_id.0, "desc-1");
    assert_eq!(
        r.unknown_state_filters,
        vec![StrBytes::from_static_str("Bogus")]
    );
    let r = t
        .call(
            1,
            &list(
                ListTransactionsRequest::default()
                    .with_producer_id_filters(vec![ProducerId(other)])
                    .with_duration_filter(-1),
            ),
        )
        .await;
    assert_eq!(&*r.transaction_states[0].transactional_id.0, "desc-2");
    let r = t
        .call(
            2,
            &list(
                ListTransactionsRequest::default()
                    .with_transactional_id_pattern(Some(StrBytes::from_static_str("desc-[2-9]")))
                    .with_duration_filter(-1),
            ),
        )
        .await;
    assert_eq!(r.transaction_states.len(), 1);
    let r = t
        .call(
            2,
            &list(
                ListTransactionsRequest::default()
                    .with_transactional_id_pattern(Some(StrBytes::from_static_str("(")))
                    .with_duration_filter(-1),
            ),
        )
        .await;
    assert_eq!(r.error_code, ResponseError::InvalidRegularExpression.code());
}

#[tokio::test]
async fn aborted_ranges_below_the_log_start_are_forgotten() {
    use kafka_protocol::messages::DeleteRecordsRequest;
    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsTopic,
    };
    let mut t = TestBroker::with_config(BrokerConfig {
        transactions: TxnConfig {
            abort_check_interval: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    create_topic(&mut t, TOPIC, 1).await;
    let (_, pid, epoch) = init(&mut t, "prune", 60_000, (-1, -1)).await;
    add_partitions(&mut t, "prune", pid, epoch, TOPIC, vec![0]).await;
    send(&mut t, 0, &["gone"], pid, epoch, 0).await;
    assert_eq!(end(&mut t, 3, "prune", pid, epoch, false).await, 0);
    let aborted = |r: &FetchResponse| {
        r.responses[0].partitions[0]
            .aborted_transactions
            .clone()
            .unwrap_or_default()
            .len()
    };
    assert_eq!(aborted(&fetch_at(&mut t, 0, 0, true).await), 1);
    let r = t
        .call(
            2,
            &DeleteRecordsRequest::default()
                .with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            DeleteRecordsPartition::default()
                                .with_partition_index(0)
                                .with_offset(2),
                        ]),
                ])
                .with_timeout_ms(5000),
        )
        .await;
    assert_eq!(r.topics[0].partitions[0].error_code, 0);
    // The engine drops the range (data and marker are below the new log start), also after a restart.
    assert_eq!(aborted(&fetch_at(&mut t, 0, 2, true).await), 0);
    let mut t = t.restart().await;
    assert_eq!(aborted(&fetch_at(&mut t, 0, 2, true).await), 0);
}
