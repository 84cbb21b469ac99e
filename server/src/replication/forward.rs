//! Appends forwarded to a partition's leader: a Kinesis PutRecord(s) may arrive at any node (AWS SDKs talk to one
//! endpoint), and a replica that does not lead hands the append to the leader ([`AppendForwarder`], the
//! `AppendForward` of every replicated log here), which appends it as its own ([`serve_append`]) and answers with
//! the offsets. Kafka never forwards (its clients route to leaders themselves).
//!
//! Request: `u16` topic length, topic (UTF-8), `u32` partition, then the record batches as they are (big endian).
//! Answer: a JSON [`Reply`] (a few dozen bytes).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};
use strait_cluster::{CallError, RemoteError, Transport};
use strait_engine::partition::LogFuture;
use strait_engine::{AppendInfo, AppendOptions, Engine, EngineError};
use strait_raft::{AppendForward, RaftNodeId};

/// The transport method of a forwarded append (beside Raft's 1..=5 and the controller forward, 100).
pub(super) const APPEND_METHOD: u16 = 101;
/// Error code of a request that does not decode.
const BAD_REQUEST: u16 = 4;

/// A forwarded append's outcome on the leader.
#[derive(Debug, Serialize, Deserialize)]
enum Reply {
    Appended {
        base_offset: i64,
        last_offset: i64,
        log_append_time: i64,
        log_start_offset: i64,
    },
    /// The receiver does not lead (any more); it names the leader it knows.
    NotLeader {
        leader: Option<i32>,
    },
    Sealed,
    UnknownTopic,
    UnknownPartition,
    ShuttingDown,
    /// Anything else, with the leader's message (a full disk, a failed partition, an invalid batch).
    Failed {
        message: String,
    },
}

/// Sends appends to leaders over the transport.
pub(super) struct AppendForwarder {
    transport: Transport,
    /// An append waits for a Raft commit and an fsync on a majority: longer than any heartbeat.
    timeout: Duration,
}

impl AppendForwarder {
    pub(super) fn new(transport: Transport, timeout: Duration) -> Arc<AppendForwarder> {
        Arc::new(AppendForwarder { transport, timeout })
    }
}

impl AppendForward for AppendForwarder {
    fn forward(
        &self,
        leader: RaftNodeId,
        topic: String,
        partition: u32,
        records: Bytes,
    ) -> LogFuture<'static, Result<AppendInfo, EngineError>> {
        let transport = self.transport.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let not_leader = |leader: Option<i32>| EngineError::NotLeader {
                topic: topic.clone(),
                partition,
                leader,
            };
            let Ok(peer) = i32::try_from(leader) else {
                return Err(not_leader(None));
            };
            let Ok(topic_len) = u16::try_from(topic.len()) else {
                return Err(EngineError::UnknownTopic(topic));
            };
            let mut req = BytesMut::with_capacity(6 + topic.len() + records.len());
            req.put_u16(topic_len);
            req.put_slice(topic.as_bytes());
            req.put_u32(partition);
            req.put_slice(&records);
            // The Router recognises forwarded appends by method; the group id is not looked at.
            let group = 0;
            let answer = transport
                .call(
                    peer,
                    group,
                    strait_cluster::Method(APPEND_METHOD),
                    req.freeze(),
                    timeout,
                )
                .await;
            let raw = match answer {
                Ok(raw) => raw,
                // Unreachable, timed out, or the leader failed to answer: the outcome may be unknown, and the
                // client's retry (Kinesis writes are at-least-once) finds the leader again.
                Err(e @ (CallError::Timeout | CallError::Remote(_))) => {
                    tracing::debug!(%topic, partition, leader = peer, error = %e, "forwarded append failed");
                    return Err(not_leader(Some(peer)));
                }
                Err(
                    e @ (CallError::Unreachable(_)
                    | CallError::UnknownPeer(_)
                    | CallError::Refused { .. }
                    | CallError::FrameTooLarge { .. }
                    | CallError::Shutdown),
                ) => {
                    tracing::debug!(%topic, partition, leader = peer, error = %e, "cannot forward an append");
                    return Err(not_leader(None));
                }
            };
            let reply: Reply = serde_json::from_slice(&raw).map_err(|e| EngineError::Io {
                path: format!("<append forwarded to node {peer}>").into(),
                source: io::Error::other(format!("undecodable answer: {e}")),
            })?;
            match reply {
                Reply::Appended {
                    base_offset,
                    last_offset,
                    log_append_time,
                    log_start_offset,
                } => Ok(AppendInfo {
                    base_offset,
                    last_offset,
                    log_append_time,
                    log_start_offset,
                }),
                Reply::NotLeader { leader } => Err(not_leader(leader)),
                Reply::Sealed => Err(EngineError::PartitionSealed { topic, partition }),
                Reply::UnknownTopic => Err(EngineError::UnknownTopic(topic)),
                Reply::UnknownPartition => Err(EngineError::UnknownPartition { topic, partition }),
                Reply::ShuttingDown => Err(not_leader(None)),
                Reply::Failed { message } => Err(EngineError::Io {
                    path: format!("<append forwarded to node {peer}>").into(),
                    source: io::Error::other(message),
                }),
            }
        })
    }
}

/// Appends a forwarded request on this node (as its own append: never forwarded again) and answers.
pub(super) async fn serve_append(
    engine: &Engine,
    mut payload: Bytes,
) -> Result<Bytes, RemoteError> {
    let bad = |what: &str| RemoteError {
        code: BAD_REQUEST,
        message: format!("malformed forwarded append: {what}"),
    };
    if payload.len() < 2 {
        return Err(bad("no topic"));
    }
    let topic_len = usize::from(payload.get_u16());
    if payload.len() < topic_len + 4 {
        return Err(bad("truncated"));
    }
    let topic = String::from_utf8(payload.split_to(topic_len).to_vec())
        .map_err(|_| bad("topic is not UTF-8"))?;
    let partition = payload.get_u32();
    let reply = match engine.partition(&topic, partition) {
        Err(e) => reply_of(e),
        Ok(p) => {
            let opts = AppendOptions {
                forward: false,
                ..AppendOptions::default()
            };
            match p.append(payload, opts).await {
                Ok(a) => Reply::Appended {
                    base_offset: a.base_offset,
                    last_offset: a.last_offset,
                    log_append_time: a.log_append_time,
                    log_start_offset: a.log_start_offset,
                },
                Err(e) => reply_of(e),
            }
        }
    };
    serde_json::to_vec(&reply)
        .map(Bytes::from)
        .map_err(|e| RemoteError {
            code: BAD_REQUEST,
            message: format!("cannot encode the answer: {e}"),
        })
}

fn reply_of(e: EngineError) -> Reply {
    match e {
        EngineError::NotLeader { leader, .. } => Reply::NotLeader { leader },
        EngineError::PartitionSealed { .. } => Reply::Sealed,
        EngineError::UnknownTopic(_) => Reply::UnknownTopic,
        EngineError::UnknownPartition { .. } => Reply::UnknownPartition,
        EngineError::ShuttingDown => Reply::ShuttingDown,
        e => Reply::Failed {
            message: e.to_string(),
        },
    }
}
