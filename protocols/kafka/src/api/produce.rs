//! Produce (v3–13): one record batch per partition, stored as received (compressed batches stay compressed; the
//! engine checks the CRC, walks every record as Kafka's LogValidator does, and assigns offsets), with
//! idempotent-producer checks and acks 0 / 1 / -1. A
//! transactional batch is accepted only for a partition its producer added to its ongoing transaction.
//!
//! acks=-1 waits until the batch is durable (with `fsync = always`; under `fsync = interval` durability is the
//! background flush's job, as in Kafka). The append itself never waits, so an idempotent producer's partition
//! lock is held only for check + write, and the fsyncs of all partitions in a request overlap.
// #[PerformanceCriticalPath]

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_request::PartitionProduceData;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse,
    TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse};
use kafka_protocol::protocol::StrBytes;
use strait_access::Operation;
use strait_engine::batch::BatchHeader;
use strait_engine::{AppendInfo, AppendOptions, EngineError, FsyncPolicy, Partition, TopicInfo};
use tokio::time::Instant;

use super::Ctx;
use super::closed_partitions;
use super::resolve;
use crate::broker::Broker;
use crate::coordinator::producer::{BatchMeta, ProducerBatch, Verdict};
use crate::error::{ApiError, KafkaError};

/// Where a batch is (or, for an acknowledged retry, already was) in the log.
struct Appended {
    partition: Arc<Partition>,
    base_offset: i64,
    /// Offset after the batch: what must be durable before acks=-1 is answered.
    end: i64,
    log_append_time: i64,
    log_start: i64,
}

impl Appended {
    fn new(partition: Arc<Partition>, i: AppendInfo) -> Appended {
        Appended {
            partition,
            base_offset: i.base_offset,
            end: i.last_offset + 1,
            log_append_time: i.log_append_time,
            log_start: i.log_start_offset,
        }
    }
}

/// What the append phase of a Produce request leaves to do.
pub enum Accepted {
    /// acks=0: no response.
    NoResponse,
    /// Nothing to wait for (acks=1, `fsync = interval`, or every partition failed).
    Ready(ProduceResponse),
    /// acks=-1: the batches are in the log; the response waits until they are durable.
    Durability(PendingProduce),
}

/// The durability wait of an acks=-1 Produce, owned so it can run while the connection appends the next request.
pub struct PendingProduce {
    broker: Broker,
    version: i16,
    topics: Vec<TopicProduceResponse>,
    waits: Vec<(usize, usize, Arc<Partition>, i64)>,
    deadline: Option<Instant>,
    timeout_ms: i32,
}

/// The append phase: validates and appends every batch in request order (idempotence checks included), and
/// returns what remains. Connections run this phase strictly in order and may overlap the durability waits.
pub async fn accept(ctx: &mut Ctx<'_>, req: ProduceRequest) -> Result<Accepted, KafkaError> {
    let b = ctx.broker;
    let version = ctx.version();
    let acks = req.acks;
    let deadline =
        (req.timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(req.timeout_ms as u64));
    let must_sync = acks == -1 && b.engine().config().fsync == FsyncPolicy::Always;
    let mut topics = Vec::with_capacity(req.topic_data.len());
    let mut waits = Vec::new();
    let mut failures: Vec<ApiError> = Vec::new();
    // A transactional producer also needs TRANSACTIONAL_ID WRITE; without it every partition is refused.
    let txn_denied = req
        .transactional_id
        .as_ref()
        .and_then(|id| super::authz::transactional_id(ctx, Operation::Write, id).err());
    for td in req.topic_data {
        let topic: Result<TopicInfo, ApiError> = if let Some(e) = &txn_denied {
            Err(e.clone())
        } else if !matches!(acks, -1..=1) {
            Err(ApiError::new(
                ResponseError::InvalidRequiredAcks,
                format!("acks must be -1, 0 or 1, not {acks}"),
            ))
        } else if version >= 13 {
            b.topic_ids()
                .lookup(b.engine(), &td.topic_id)
                .and_then(|t| super::authz::topic(ctx, Operation::Write, &t.name).map(|()| t))
        } else {
            // Authorized before auto-creation, as Kafka does: a denied principal learns nothing and creates nothing.
            match super::authz::topic(ctx, Operation::Write, &td.name) {
                Ok(()) => resolve::topic_or_create(b, &td.name).await,
                Err(e) => Err(e),
            }
        };
        let mut parts = Vec::with_capacity(td.partition_data.len());
        for pd in td.partition_data {
            let index = pd.index;
            let res = match &topic {
                Ok(t) => append(b, t, pd, version).await,
                Err(e) => Err(Refusal::from(e.clone())),
            };
            parts.push(match res {
                Ok(a) => {
                    if must_sync {
                        waits.push((topics.len(), parts.len(), a.partition.clone(), a.end));
                    }
                    PartitionProduceResponse::default()
                        .with_index(index)
                        .with_base_offset(a.base_offset)
                        .with_log_append_time_ms(a.log_append_time)
                        .with_log_start_offset(a.log_start)
                }
                Err(e) => {
                    let r = error_response(index, &e.error, e.record);
                    failures.push(e.error);
                    r
                }
            });
        }
        topics.push(
            TopicProduceResponse::default()
                .with_name(td.name)
                .with_topic_id(td.topic_id)
                .with_partition_responses(parts),
        );
    }
    if acks == 0 {
        return match failures.first() {
            None => Ok(Accepted::NoResponse),
            Some(e) => Err(KafkaError::AcksZeroProduceFailed {
                failed: failures.len(),
                first_error: e.message.clone(),
            }),
        };
    }
    if waits.is_empty() {
        return Ok(Accepted::Ready(response(b, version, topics)));
    }
    Ok(Accepted::Durability(PendingProduce {
        broker: b.clone(),
        version,
        topics,
        waits,
        deadline,
        timeout_ms: req.timeout_ms,
    }))
}

impl PendingProduce {
    /// Waits until every appended batch is durable (or the request's timeout passes) and builds the response.
    pub async fn finish(self) -> ProduceResponse {
        let PendingProduce {
            broker,
            version,
            mut topics,
            waits,
            deadline,
            timeout_ms,
        } = self;
        for (t, p, partition, end) in waits {
            let done = match deadline {
                Some(d) => tokio::time::timeout_at(d, partition.wait_durable(end)).await,
                None => Ok(partition.wait_durable(end).await),
            };
            let err = match done {
                Ok(Ok(())) => continue,
                Ok(Err(e)) => ApiError::from(e),
                // The batch is in the log but not yet durable: the client may retry (idempotent producers then
                // get the original offsets back).
                Err(_) => ApiError::new(
                    ResponseError::RequestTimedOut,
                    format!("the batch was not durable within {timeout_ms} ms"),
                ),
            };
            let slot = &mut topics[t].partition_responses[p];
            *slot = error_response(slot.index, &err, None);
        }
        response(&broker, version, topics)
    }
}

/// The response, with KIP-951's leader hints from v10 on, as Kafka adds them: every partition refused with
/// NOT_LEADER_OR_FOLLOWER names its current leader and epoch, and the response lists those leaders' endpoints.
fn response(b: &Broker, version: i16, mut topics: Vec<TopicProduceResponse>) -> ProduceResponse {
    let not_leader = ResponseError::NotLeaderOrFollower.code();
    let mut leaders: Vec<i32> = Vec::new();
    if version >= 10 {
        for t in &mut topics {
            if !t
                .partition_responses
                .iter()
                .any(|p| p.error_code == not_leader)
            {
                continue;
            }
            // v13 names topics by id only.
            let name = if version >= 13 {
                match b.topic_ids().lookup(b.engine(), &t.topic_id) {
                    Ok(info) => info.name,
                    Err(_) => continue,
                }
            } else {
                t.name.0.to_string()
            };
            for p in t
                .partition_responses
                .iter_mut()
                .filter(|p| p.error_code == not_leader)
            {
                let hint = super::cluster::leader_hint(b, &name, p.index);
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(hint.id)
                    .with_leader_epoch(hint.epoch);
                if hint.node.is_some() && !leaders.contains(&hint.id.0) {
                    leaders.push(hint.id.0);
                }
            }
        }
    }
    leaders.sort_unstable();
    let endpoints = leaders
        .into_iter()
        .filter_map(|id| super::cluster::broker(b, id))
        .map(|n| {
            NodeEndpoint::default()
                .with_node_id(n.id)
                .with_host(StrBytes::from_string(n.host))
                .with_port(n.port)
                .with_rack(n.rack.map(StrBytes::from_string))
        })
        .collect();
    ProduceResponse::default()
        .with_responses(topics)
        .with_node_endpoints(endpoints)
}

/// A refused partition: the error and, when the refusal is about one record, that record's index in the batch
/// (Produce v8+ `record_errors`, which clients report with the record).
struct Refusal {
    error: ApiError,
    record: Option<i32>,
}

impl From<ApiError> for Refusal {
    fn from(error: ApiError) -> Self {
        Refusal {
            error,
            record: None,
        }
    }
}

impl From<EngineError> for Refusal {
    fn from(e: EngineError) -> Self {
        let record = match &e {
            EngineError::InvalidBatch(b) => b.record_index(),
            _ => None,
        };
        Refusal {
            error: ApiError::from(e),
            record,
        }
    }
}

/// An append's refusal: a partition closed by a reshard says why (closed_partitions); any other engine error keeps
/// the index of the record it is about.
fn refusal(b: &Broker, t: &TopicInfo, e: EngineError) -> Refusal {
    match e {
        EngineError::PartitionSealed { .. } => {
            closed_partitions::produce_error(b.engine(), t, e).into()
        }
        e => Refusal::from(e),
    }
}

fn error_response(index: i32, e: &ApiError, record: Option<i32>) -> PartitionProduceResponse {
    let record_errors = record.map(|i| {
        BatchIndexAndErrorMessage::default()
            .with_batch_index(i)
            .with_batch_index_error_message(Some(StrBytes::from_string(e.message.clone())))
    });
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(e.code.code())
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_record_errors(record_errors.into_iter().collect())
        .with_error_message(Some(StrBytes::from_string(e.message.clone())))
}

async fn append(
    b: &Broker,
    t: &TopicInfo,
    pd: PartitionProduceData,
    version: i16,
) -> Result<Appended, Refusal> {
    let p = resolve::partition(b, t, pd.index)?;
    let records = pd.records.unwrap_or_default();
    let h = check_batch(&records, version)?;
    let opts = AppendOptions {
        leader_epoch: resolve::leader_epoch(b, &p),
        wait_durable: false,
        forward: false,
    };
    // A slice of the request buffer, shared with the other partitions' batches: the engine stamps offsets and
    // epoch into its own copy of each batch header and writes the rest from here, uncopied.
    let data = records;
    let Some(pb) = ProducerBatch::from_header(&h) else {
        let info = p.append(data, opts).await.map_err(|e| refusal(b, t, e))?;
        metrics::counter!("strait_kafka_produced_bytes_total").increment(h.total_len() as u64);
        return Ok(Appended::new(p, info));
    };
    let mut st = b.producers().lock(b.engine(), &p).await?;
    match st.check(&pb) {
        Verdict::Reject(code, message) => Err(ApiError::new(code, message).into()),
        Verdict::Duplicate(m) => {
            metrics::counter!("strait_kafka_produce_duplicates_total").increment(1);
            Ok(Appended {
                base_offset: m.first_offset,
                end: m.last_offset + 1,
                log_append_time: m.log_append_time,
                log_start: p.log_start(),
                partition: p,
            })
        }
        Verdict::Append => {
            if h.is_transactional() {
                // The partition must be in the producer's ongoing transaction (checked under the producer lock,
                // which marker writes take too). The engine opens the transaction in the partition (LSO) when the
                // batch is appended.
                b.txns()
                    .verify_produce(pb.producer_id, pb.epoch, &t.name, pd.index)?;
            }
            let info = p.append(data, opts).await.map_err(|e| refusal(b, t, e))?;
            metrics::counter!("strait_kafka_produced_bytes_total").increment(h.total_len() as u64);
            let meta = BatchMeta {
                first_seq: pb.first_seq,
                last_seq: pb.last_seq,
                first_offset: info.base_offset,
                last_offset: info.last_offset,
                log_append_time: info.log_append_time,
            };
            st.appended(&pb, meta, &h);
            st.snapshot_if_due(b.engine());
            Ok(Appended::new(p, info))
        }
    }
}

/// What Kafka checks before the log sees a batch (`ProduceRequest.validateRecords` and `LogValidator`); the CRC
/// and the records are left to the engine (`batch::validate_for_append`), which reads every byte anyway.
fn check_batch(records: &[u8], version: i16) -> Result<BatchHeader, ApiError> {
    let invalid = |m: String| ApiError::new(ResponseError::InvalidRecord, m);
    if records.is_empty() {
        return Err(invalid(
            "a produce request must carry one record batch per partition".into(),
        ));
    }
    if let Some(&magic) = records.get(16)
        && magic != 2
    {
        return Err(invalid(format!(
            "only v2 record batches are accepted, not magic {magic}"
        )));
    }
    let h = BatchHeader::parse(records)
        .map_err(|e| ApiError::new(ResponseError::CorruptMessage, e.to_string()))?;
    if h.total_len() < records.len() {
        return Err(invalid(
            "a produce request must carry exactly one record batch per partition".into(),
        ));
    }
    if h.total_len() > records.len() {
        return Err(ApiError::new(
            ResponseError::CorruptMessage,
            format!(
                "record batch truncated: {} of {} bytes",
                records.len(),
                h.total_len()
            ),
        ));
    }
    match h.compression() {
        0..=3 => {}
        4 if version >= 7 => {}
        c => {
            return Err(ApiError::new(
                ResponseError::UnsupportedCompressionType,
                format!("compression codec {c} is not allowed in produce v{version}"),
            ));
        }
    }
    if h.is_control() {
        return Err(invalid("clients may not produce control batches".into()));
    }
    if h.is_transactional() && h.producer_id < 0 {
        return Err(invalid(
            "a transactional batch must carry a producer id".into(),
        ));
    }
    if h.producer_id >= 0 && h.base_sequence < 0 {
        return Err(invalid(format!(
            "idempotent batch of producer {} has no sequence number",
            h.producer_id
        )));
    }
    Ok(h)
}
