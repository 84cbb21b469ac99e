//! Raft RPCs over whatever moves bytes between nodes. The engine owns no sockets: a [`RaftRpc`] (the node's
//! multiplexed inter-node transport, or the simulated network of the tests) carries opaque bodies tagged with a
//! group id and a [`Method`]; this module encodes openraft's requests and responses (postcard: record batches
//! travel as raw byte strings) and dispatches incoming ones to the group's `Raft`.

use std::future::Future;
use std::io::Cursor;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use openraft::error::{
    NetworkError, RPCError, RaftError, ReplicationClosed, StreamingError, Unreachable,
};
use openraft::network::{RPCOption, RaftNetworkFactory, v2::RaftNetworkV2};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::RpcFailure;
use crate::machine::Raft;
use crate::types::{DataConfig, RaftNodeId, Snapshot, SnapshotMeta, Vote};

/// A Raft group's id on the wire: 0 is the controller group, the others are assigned per partition.
pub type GroupId = u64;

/// The Raft RPCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Method {
    Append = 1,
    Vote = 2,
    PreVote = 3,
    Snapshot = 4,
    TransferLeader = 5,
}

impl Method {
    pub fn from_u16(m: u16) -> Option<Method> {
        Some(match m {
            1 => Method::Append,
            2 => Method::Vote,
            3 => Method::PreVote,
            4 => Method::Snapshot,
            5 => Method::TransferLeader,
            _ => return None,
        })
    }

    /// Appends of one group must be handled in order on the receiver (openraft pipelines them).
    pub fn ordered(self) -> bool {
        matches!(self, Method::Append | Method::Snapshot)
    }
}

/// The future a [`RaftRpc`] call returns.
pub type RpcFuture = Pin<Box<dyn Future<Output = Result<Bytes, RpcFailure>> + Send>>;

/// Moves one request to `to` and its answer back.
pub trait RaftRpc: Send + Sync + 'static {
    fn call(&self, to: RaftNodeId, group: GroupId, method: Method, body: Bytes) -> RpcFuture;
}

fn encode<T: Serialize>(v: &T) -> Result<Bytes, RpcFailure> {
    postcard::to_stdvec(v)
        .map(Bytes::from)
        .map_err(|e| RpcFailure::Codec(e.to_string()))
}

fn decode<T: DeserializeOwned>(b: &[u8]) -> Result<T, RpcFailure> {
    postcard::from_bytes(b).map_err(|e| RpcFailure::Codec(e.to_string()))
}

/// Serves one incoming RPC for `raft`.
pub(crate) async fn serve(raft: &Raft, method: Method, body: &[u8]) -> Result<Bytes, RpcFailure> {
    match method {
        Method::Append => {
            let req: AppendEntriesRequest<DataConfig> = decode(body)?;
            encode(&raft.append_entries(req).await)
        }
        Method::Vote => encode(&raft.vote(decode(body)?).await),
        Method::PreVote => encode(&raft.pre_vote(decode(body)?).await),
        Method::Snapshot => {
            let (vote, meta, data): (Vote, SnapshotMeta, Vec<u8>) = decode(body)?;
            let snapshot = Snapshot {
                meta,
                snapshot: Cursor::new(data),
            };
            encode(&raft.install_full_snapshot(vote, snapshot).await)
        }
        Method::TransferLeader => {
            let req: TransferLeaderRequest<DataConfig> = decode(body)?;
            encode(&raft.handle_transfer_leader(req).await)
        }
    }
}

/// Builds one [`Peer`] per target for a group.
#[derive(Clone)]
pub(crate) struct NetworkFactory {
    rpc: Arc<dyn RaftRpc>,
    group: GroupId,
}

impl NetworkFactory {
    pub(crate) fn new(rpc: Arc<dyn RaftRpc>, group: GroupId) -> NetworkFactory {
        NetworkFactory { rpc, group }
    }
}

impl RaftNetworkFactory<DataConfig> for NetworkFactory {
    type Network = Peer;

    async fn new_client(&mut self, target: RaftNodeId, _node: &openraft::BasicNode) -> Peer {
        Peer {
            rpc: self.rpc.clone(),
            group: self.group,
            target,
        }
    }
}

/// One group's view of one peer.
pub(crate) struct Peer {
    rpc: Arc<dyn RaftRpc>,
    group: GroupId,
    target: RaftNodeId,
}

impl Peer {
    async fn call<Req, Resp>(&self, method: Method, req: &Req) -> Result<Resp, RPCError<DataConfig>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let body = encode(req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let answer = self
            .rpc
            .call(self.target, self.group, method, body)
            .await
            .map_err(|e| match e {
                RpcFailure::Unreachable(..) | RpcFailure::Timeout => {
                    RPCError::Unreachable(Unreachable::new(&e))
                }
                _ => RPCError::Network(NetworkError::new(&e)),
            })?;
        let result: Result<Resp, RaftError<DataConfig>> =
            decode(&answer).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| match e {
            RaftError::APIError(never) => match never {},
            // The peer's group stopped: to this one it is as good as unreachable.
            RaftError::Fatal(f) => RPCError::Unreachable(Unreachable::new(&f)),
        })
    }
}

impl RaftNetworkV2<DataConfig> for Peer {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<DataConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<DataConfig>, RPCError<DataConfig>> {
        self.call(Method::Append, &rpc).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<DataConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<DataConfig>, RPCError<DataConfig>> {
        self.call(Method::Vote, &rpc).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<DataConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<DataConfig>, RPCError<DataConfig>> {
        self.call(Method::PreVote, &rpc).await
    }

    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + Send + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<DataConfig>, StreamingError<DataConfig>> {
        let req = (vote, snapshot.meta, snapshot.snapshot.into_inner());
        let body = encode(&req).map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        let answer = self
            .rpc
            .call(self.target, self.group, Method::Snapshot, body)
            .await
            .map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        let result: Result<SnapshotResponse<DataConfig>, openraft::error::Fatal<DataConfig>> =
            decode(&answer).map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))?;
        result.map_err(|e| StreamingError::Unreachable(Unreachable::new(&e)))
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<DataConfig>,
        _option: RPCOption,
    ) -> Result<TransferLeaderResponse<DataConfig>, RPCError<DataConfig>> {
        let body = encode(&req).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let answer = self
            .rpc
            .call(self.target, self.group, Method::TransferLeader, body)
            .await
            .map_err(|e| RPCError::Unreachable(Unreachable::new(&e)))?;
        let result: Result<TransferLeaderResponse<DataConfig>, openraft::error::Fatal<DataConfig>> =
            decode(&answer).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::Network(NetworkError::new(&e)))
    }
}
