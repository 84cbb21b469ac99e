//! Dispatch: one module per Kafka API, each a thin translation onto the engine.
//!
//! [`SUPPORTED`] is what ApiVersions advertises: only APIs that are implemented, with the version ranges they
//! implement (a subset of Kafka 4.x's; clients negotiate down). A request for anything else closes the
//! connection, as Apache Kafka does for an API it does not know.

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use crate::broker::{Broker, Session};
use crate::codec;
use crate::error::KafkaError;

mod api_name;
pub mod api_versions;
pub mod authz;
mod authz_gate;
pub(crate) mod cluster;
pub(crate) mod coordinator_gate;
pub mod fetch;
pub mod init_producer_id;
pub use crate::topics::internal as internal_topic;
pub mod list_offsets;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod produce;
pub(crate) mod resolve;
pub mod sasl;
pub mod sasl_aws;

// SASL/SCRAM credential management.
pub mod alter_user_scram_credentials;
pub mod describe_user_scram_credentials;

// Admin APIs and the topic-config helpers they share.
pub mod alter_configs;
pub mod closed_partitions;
pub mod config_catalog;
pub mod config_resources;
pub mod create_partitions;
pub mod create_topics;
pub mod delete_records;
pub mod delete_topics;
pub mod describe_cluster;
pub mod describe_configs;
pub mod describe_log_dirs;
pub mod describe_topic_partitions;
pub mod group_configs;
pub mod hash_key_ranges;
pub mod incremental_alter_configs;
pub mod topic_configs;

// ACLs (KIP-11/KIP-290), stored in the cluster metadata and enforced by the node's authorizer.
pub mod create_acls;
pub mod delete_acls;
pub mod describe_acls;

// Consumer groups (classic protocol) and committed offsets.
pub mod delete_groups;
pub mod describe_groups;
pub mod find_coordinator;
pub mod heartbeat;
pub mod join_group;
pub mod leave_group;
pub mod list_groups;
pub mod offset_commit;
pub mod offset_delete;
pub mod offset_fetch;
pub mod sync_group;

// KIP-848 consumer-protocol groups.
pub mod consumer_group_describe;
pub mod consumer_group_heartbeat;

// Share groups (KIP-932).
pub mod alter_share_group_offsets;
pub mod delete_share_group_offsets;
pub mod describe_share_group_offsets;
pub mod share_acknowledge;
mod share_authz;
pub mod share_fetch;
pub mod share_group_describe;
pub mod share_group_heartbeat;

// Transactions (KIP-98).
pub mod add_offsets_to_txn;
pub mod add_partitions_to_txn;
pub mod describe_producers;
pub mod describe_transactions;
pub mod end_txn;
pub mod list_transactions;
pub mod txn_offset_commit;

/// `(api, min version, max version)` for every implemented API.
pub const SUPPORTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeLogDirs, 1, 4),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::DescribeAcls, 1, 3),
    (ApiKey::CreateAcls, 1, 3),
    (ApiKey::DeleteAcls, 1, 3),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 9),
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::AddPartitionsToTxn, 0, 3),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::EndTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::ListTransactions, 0, 2),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    (ApiKey::ShareGroupHeartbeat, 1, 1),
    (ApiKey::ShareGroupDescribe, 1, 1),
    (ApiKey::ShareFetch, 1, 2),
    (ApiKey::ShareAcknowledge, 1, 2),
    (ApiKey::DescribeShareGroupOffsets, 0, 0),
    (ApiKey::AlterShareGroupOffsets, 0, 0),
    (ApiKey::DeleteShareGroupOffsets, 0, 0),
    (ApiKey::SaslHandshake, 1, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::DescribeUserScramCredentials, 0, 0),
    (ApiKey::AlterUserScramCredentials, 0, 0),
];

pub fn supported_range(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|(_, lo, hi)| (*lo, *hi))
}

/// Context handed to every handler.
pub struct Ctx<'a> {
    pub broker: &'a Broker,
    pub header: &'a RequestHeader,
    pub session: &'a mut Session,
}

impl Ctx<'_> {
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
    /// The request's API name (`Produce`, ...); the header's key was checked before the handler ran.
    pub fn api_name(&self) -> &'static str {
        ApiKey::try_from(self.header.request_api_key).map_or("Unknown", api_name::api_name)
    }
}

/// A response still being produced after its request's ordered work is done.
pub type Deferred =
    Pin<Box<dyn Future<Output = Result<Option<Bytes>, KafkaError>> + Send + 'static>>;

/// What handling a request yields.
pub enum Reply {
    /// The response (or `None`: acks=0 Produce) is ready.
    Now(Option<codec::Frame>),
    /// An acks=-1 Produce whose batches are appended and whose response waits for durability. The connection may
    /// append further Produce requests meanwhile, as long as responses go out in request order.
    Later(Deferred),
}

impl Broker {
    /// Handles one request frame (without its length prefix). Returns the response (also without), or `None`
    /// when the protocol sends none (Produce with acks=0). An error means the connection must be closed.
    pub async fn handle(
        &self,
        session: &mut Session,
        frame: Bytes,
    ) -> Result<Option<Bytes>, KafkaError> {
        match dispatch(self, session, frame).await? {
            Reply::Now(r) => Ok(r.map(codec::Frame::into_bytes)),
            Reply::Later(f) => f.await,
        }
    }

    /// Like [`handle`](Self::handle), but an acks=-1 Produce comes back as [`Reply::Later`] once its batches are
    /// appended, so a connection can append its next Produce while this one waits for its fsync (Kafka clients
    /// keep up to five in flight). Responses must still be sent in request order.
    pub async fn handle_pipelined(
        &self,
        session: &mut Session,
        frame: Bytes,
    ) -> Result<Reply, KafkaError> {
        dispatch(self, session, frame).await
    }
}

/// Handles a request and records its latency by API (`strait_kafka_request_seconds`): until the response is
/// ready, so an acks=all Produce counts its wait for durability and a Fetch its long poll.
pub(crate) async fn dispatch(
    broker: &Broker,
    session: &mut Session,
    frame: Bytes,
) -> Result<Reply, KafkaError> {
    let started = std::time::Instant::now();
    let api = codec::peek(&frame)
        .ok()
        .and_then(|(key, _, _)| ApiKey::try_from(key).ok());
    let reply = dispatch_untimed(broker, session, frame).await;
    let Some(api) = api else {
        return reply;
    };
    match reply {
        Ok(Reply::Later(f)) => Ok(Reply::Later(Box::pin(async move {
            let r = f.await;
            observe_latency(api, started);
            r
        }))),
        other => {
            observe_latency(api, started);
            other
        }
    }
}

fn observe_latency(api: ApiKey, started: std::time::Instant) {
    let took = started.elapsed().as_secs_f64();
    with_api_metrics(api, |_, seconds| seconds.record(took));
}

/// API keys below this get cached metric handles (Kafka's highest key is in the 90s); others are looked up.
const CACHED_API_KEYS: usize = 128;

/// Hands `f` the request counter and latency histogram of `api`, registered with the recorder on first use and
/// then reused: every request updates both, and a labelled `counter!`/`histogram!` call hashes its key into the
/// registry each time. The node installs its recorder before the Kafka listener starts, so the cached handles are
/// the real ones.
fn with_api_metrics(api: ApiKey, f: impl FnOnce(&metrics::Counter, &metrics::Histogram)) {
    static CACHE: [OnceLock<(metrics::Counter, metrics::Histogram)>; CACHED_API_KEYS] =
        [const { OnceLock::new() }; CACHED_API_KEYS];
    let register = || {
        let name = api_name::api_name(api);
        (
            metrics::counter!("strait_kafka_requests_total", "api" => name),
            metrics::histogram!("strait_kafka_request_seconds", "api" => name),
        )
    };
    match usize::try_from(api as i16).ok().and_then(|i| CACHE.get(i)) {
        Some(cell) => {
            let (requests, seconds) = cell.get_or_init(register);
            f(requests, seconds)
        }
        // Not reached for any API Kafka defines today; looked up each time rather than cached.
        None => {
            let (requests, seconds) = register();
            f(&requests, &seconds)
        }
    }
}

async fn dispatch_untimed(
    broker: &Broker,
    session: &mut Session,
    frame: Bytes,
) -> Result<Reply, KafkaError> {
    let (key, version, correlation_id) = codec::peek(&frame)?;
    let api = ApiKey::try_from(key).map_err(|_| KafkaError::UnknownApiKey(key))?;
    let Some(range) = supported_range(api) else {
        return Err(KafkaError::UnknownApiKey(key));
    };
    // KIP-511: an ApiVersions request newer than we know is answered (in v0 format) with UNSUPPORTED_VERSION and
    // our ranges, so the client can retry with a version we speak.
    if api == ApiKey::ApiVersions && version > range.1 {
        let body = ResponseKind::ApiVersions(api_versions::unsupported());
        return codec::encode(api, 0, correlation_id, &body).map(|b| Reply::Now(Some(b.into())));
    }
    // ShareFetch and ShareAcknowledge v2 are newer than the generated codec: decoded by hand (share::wire).
    if matches!(api, ApiKey::ShareFetch | ApiKey::ShareAcknowledge) {
        return share_dispatch(broker, session, frame, api, version, range).await;
    }
    let decoded = codec::decode(frame, range)?;
    if session.client_id.is_none() {
        session.client_id = decoded.header.client_id.as_ref().map(|s| s.to_string());
    }
    let header = decoded.header;
    check_authenticated(broker, session, api)?;
    with_api_metrics(api, |requests, _| requests.increment(1));
    let mut ctx = Ctx {
        broker,
        header: &header,
        session,
    };
    if let Some(denied) = authz_gate::check(&ctx, &decoded.request) {
        return codec::encode_frame(api, version, header.correlation_id, &denied)
            .map(|f| Reply::Now(Some(f)));
    }
    if let Some(refused) = coordinator_gate::check(&ctx, &decoded.request) {
        return codec::encode_frame(api, version, header.correlation_id, &refused)
            .map(|f| Reply::Now(Some(f)));
    }
    let response = match decoded.request {
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_versions::handle(&mut ctx, r)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(&mut ctx, r).await),
        RequestKind::SaslHandshake(r) => ResponseKind::SaslHandshake(sasl::handshake(&mut ctx, r)),
        RequestKind::SaslAuthenticate(r) => {
            ResponseKind::SaslAuthenticate(sasl::authenticate(&mut ctx, r))
        }
        RequestKind::DescribeUserScramCredentials(r) => ResponseKind::DescribeUserScramCredentials(
            describe_user_scram_credentials::handle(&mut ctx, r),
        ),
        RequestKind::AlterUserScramCredentials(r) => ResponseKind::AlterUserScramCredentials(
            alter_user_scram_credentials::handle(&mut ctx, r).await,
        ),
        RequestKind::Produce(r) => match produce::accept(&mut ctx, r).await? {
            produce::Accepted::Ready(resp) => ResponseKind::Produce(resp),
            // acks=0: Kafka sends nothing back.
            produce::Accepted::NoResponse => return Ok(Reply::Now(None)),
            produce::Accepted::Durability(pending) => {
                let correlation_id = header.correlation_id;
                return Ok(Reply::Later(Box::pin(async move {
                    let body = ResponseKind::Produce(pending.finish().await);
                    codec::encode(api, version, correlation_id, &body).map(Some)
                })));
            }
        },
        RequestKind::Fetch(r) => ResponseKind::Fetch(fetch::handle(&mut ctx, r).await),
        RequestKind::ListOffsets(r) => {
            ResponseKind::ListOffsets(list_offsets::handle(&mut ctx, r).await)
        }
        RequestKind::OffsetForLeaderEpoch(r) => {
            ResponseKind::OffsetForLeaderEpoch(offset_for_leader_epoch::handle(&mut ctx, r))
        }
        RequestKind::InitProducerId(r) => {
            ResponseKind::InitProducerId(init_producer_id::handle(&mut ctx, r).await)
        }
        RequestKind::CreateTopics(r) => {
            ResponseKind::CreateTopics(create_topics::handle(&mut ctx, r).await)
        }
        RequestKind::DeleteTopics(r) => {
            ResponseKind::DeleteTopics(delete_topics::handle(&mut ctx, r).await)
        }
        RequestKind::CreatePartitions(r) => {
            ResponseKind::CreatePartitions(create_partitions::handle(&mut ctx, r).await)
        }
        RequestKind::DeleteRecords(r) => {
            ResponseKind::DeleteRecords(delete_records::handle(&mut ctx, r).await)
        }
        RequestKind::DescribeConfigs(r) => {
            ResponseKind::DescribeConfigs(describe_configs::handle(&mut ctx, r).await)
        }
        RequestKind::AlterConfigs(r) => {
            ResponseKind::AlterConfigs(alter_configs::handle(&mut ctx, r).await)
        }
        RequestKind::IncrementalAlterConfigs(r) => ResponseKind::IncrementalAlterConfigs(
            incremental_alter_configs::handle(&mut ctx, r).await,
        ),
        RequestKind::DescribeLogDirs(r) => {
            ResponseKind::DescribeLogDirs(describe_log_dirs::handle(&mut ctx, r).await)
        }
        RequestKind::DescribeCluster(r) => {
            ResponseKind::DescribeCluster(describe_cluster::handle(&mut ctx, r))
        }
        RequestKind::DescribeTopicPartitions(r) => {
            ResponseKind::DescribeTopicPartitions(describe_topic_partitions::handle(&mut ctx, r))
        }
        RequestKind::DescribeProducers(r) => {
            ResponseKind::DescribeProducers(describe_producers::handle(&mut ctx, r).await)
        }
        RequestKind::DescribeAcls(r) => {
            ResponseKind::DescribeAcls(describe_acls::handle(&mut ctx, r))
        }
        RequestKind::CreateAcls(r) => {
            ResponseKind::CreateAcls(create_acls::handle(&mut ctx, r).await)
        }
        RequestKind::DeleteAcls(r) => {
            ResponseKind::DeleteAcls(delete_acls::handle(&mut ctx, r).await)
        }
        RequestKind::FindCoordinator(r) => {
            ResponseKind::FindCoordinator(find_coordinator::handle(&mut ctx, r))
        }
        RequestKind::JoinGroup(r) => ResponseKind::JoinGroup(join_group::handle(&mut ctx, r).await),
        RequestKind::SyncGroup(r) => ResponseKind::SyncGroup(sync_group::handle(&mut ctx, r).await),
        RequestKind::Heartbeat(r) => ResponseKind::Heartbeat(heartbeat::handle(&mut ctx, r)),
        RequestKind::LeaveGroup(r) => ResponseKind::LeaveGroup(leave_group::handle(&mut ctx, r)),
        RequestKind::OffsetCommit(r) => {
            ResponseKind::OffsetCommit(offset_commit::handle(&mut ctx, r).await)
        }
        RequestKind::OffsetFetch(r) => ResponseKind::OffsetFetch(offset_fetch::handle(&mut ctx, r)),
        RequestKind::OffsetDelete(r) => {
            ResponseKind::OffsetDelete(offset_delete::handle(&mut ctx, r).await)
        }
        RequestKind::ListGroups(r) => ResponseKind::ListGroups(list_groups::handle(&mut ctx, r)),
        RequestKind::DescribeGroups(r) => {
            ResponseKind::DescribeGroups(describe_groups::handle(&mut ctx, r))
        }
        RequestKind::DeleteGroups(r) => {
            ResponseKind::DeleteGroups(delete_groups::handle(&mut ctx, r).await)
        }
        RequestKind::DescribeTransactions(r) => {
            ResponseKind::DescribeTransactions(describe_transactions::handle(&mut ctx, r).await)
        }
        RequestKind::ListTransactions(r) => {
            ResponseKind::ListTransactions(list_transactions::handle(&mut ctx, r).await)
        }
        RequestKind::ConsumerGroupHeartbeat(r) => {
            ResponseKind::ConsumerGroupHeartbeat(consumer_group_heartbeat::handle(&mut ctx, r))
        }
        RequestKind::ConsumerGroupDescribe(r) => {
            ResponseKind::ConsumerGroupDescribe(consumer_group_describe::handle(&mut ctx, r))
        }
        RequestKind::ShareGroupHeartbeat(r) => {
            ResponseKind::ShareGroupHeartbeat(share_group_heartbeat::handle(&mut ctx, r))
        }
        RequestKind::ShareGroupDescribe(r) => {
            ResponseKind::ShareGroupDescribe(share_group_describe::handle(&mut ctx, r))
        }
        RequestKind::DescribeShareGroupOffsets(r) => ResponseKind::DescribeShareGroupOffsets(
            describe_share_group_offsets::handle(&mut ctx, r),
        ),
        RequestKind::AlterShareGroupOffsets(r) => {
            ResponseKind::AlterShareGroupOffsets(alter_share_group_offsets::handle(&mut ctx, r))
        }
        RequestKind::DeleteShareGroupOffsets(r) => {
            ResponseKind::DeleteShareGroupOffsets(delete_share_group_offsets::handle(&mut ctx, r))
        }
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(add_partitions_to_txn::handle(&mut ctx, r).await)
        }
        RequestKind::AddOffsetsToTxn(r) => {
            ResponseKind::AddOffsetsToTxn(add_offsets_to_txn::handle(&mut ctx, r).await)
        }
        RequestKind::EndTxn(r) => ResponseKind::EndTxn(end_txn::handle(&mut ctx, r).await),
        RequestKind::TxnOffsetCommit(r) => {
            ResponseKind::TxnOffsetCommit(txn_offset_commit::handle(&mut ctx, r).await)
        }
        other => {
            // Anyone can send this, so it is not a warning here: the listener logs the closed connection, rate
            // limited (server/src/ratelimit.rs).
            tracing::debug!(
                ?api,
                "request decoded for an API without a handler: {other:?}"
            );
            return Err(KafkaError::UnknownApiKey(key));
        }
    };
    codec::encode_frame(api, version, header.correlation_id, &response).map(|f| Reply::Now(Some(f)))
}

/// With SASL configured, nothing but the handshake (and ApiVersions, which clients send first) is served to a
/// connection that has not authenticated; Kafka closes such connections too. A connection whose session
/// lifetime ended (KIP-368) is closed on its next request unless that request re-authenticates.
fn check_authenticated(broker: &Broker, session: &Session, api: ApiKey) -> Result<(), KafkaError> {
    if !broker.config().sasl_required()
        || matches!(api, ApiKey::SaslHandshake | ApiKey::SaslAuthenticate)
    {
        return Ok(());
    }
    match &session.login {
        None if api == ApiKey::ApiVersions => Ok(()),
        None => Err(KafkaError::NotAuthenticated(api as i16)),
        Some(_) if session.logged_in(std::time::Instant::now()) => Ok(()),
        Some(_) => Err(KafkaError::SessionExpired(api as i16)),
    }
}

/// ShareFetch / ShareAcknowledge: the header through the generated codec, the body through `share::wire`.
async fn share_dispatch(
    broker: &Broker,
    session: &mut Session,
    frame: Bytes,
    api: ApiKey,
    version: i16,
    range: (i16, i16),
) -> Result<Reply, KafkaError> {
    let (header, body) = codec::decode_header(frame, api, version, range)?;
    if session.client_id.is_none() {
        session.client_id = header.client_id.as_ref().map(|s| s.to_string());
    }
    check_authenticated(broker, session, api)?;
    with_api_metrics(api, |requests, _| requests.increment(1));
    let mut buf = bytes::BytesMut::with_capacity(256);
    codec::encode_header(&mut buf, api, version, header.correlation_id)?;
    let ctx = Ctx {
        broker,
        header: &header,
        session,
    };
    if api == ApiKey::ShareFetch {
        let req = crate::codec::share_wire::decode_share_fetch(&body, version)
            .map_err(KafkaError::ShareWire)?;
        let mut resp = match share_authz::check(&ctx, req) {
            share_authz::Checked::Refused(r) => r,
            share_authz::Checked::Proceed(req, refused) => {
                let mut r = share_fetch::handle(broker, req).await;
                r.topics.extend(refused);
                r
            }
        };
        cluster::share_leader_hints(broker, &mut resp);
        crate::codec::share_wire::encode_share_fetch_response(&mut buf, &resp);
    } else {
        let req = crate::codec::share_wire::decode_share_acknowledge(&body, version)
            .map_err(KafkaError::ShareWire)?;
        let mut resp = match share_authz::check(&ctx, req) {
            share_authz::Checked::Refused(r) => r,
            share_authz::Checked::Proceed(req, refused) => {
                let mut r = share_acknowledge::handle(broker, req);
                r.topics.extend(refused);
                r
            }
        };
        cluster::share_leader_hints(broker, &mut resp);
        crate::codec::share_wire::encode_share_acknowledge_response(&mut buf, &resp, version);
    }
    Ok(Reply::Now(Some(buf.freeze().into())))
}
