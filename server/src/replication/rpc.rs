//! Raft RPCs over the inter-node transport: [`TransportRpc`] is the `RaftRpc` every group of this node sends
//! through, and [`Router`] the transport handler that hands each incoming request to its group.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use strait_cluster::{CallError, Handler, HandlerFuture, Lane, RemoteError, Transport};
use strait_raft::{
    CONTROLLER_GROUP, DataGroup, GroupId, MetaForward, Method, RaftMeta, RaftNodeId, RaftRpc,
    RpcFailure, RpcFuture,
};

/// Error codes a [`Router`] answers with (below the transport's own range).
const UNKNOWN_GROUP: u16 = 1;
const UNKNOWN_METHOD: u16 = 2;
const GROUP_FAILED: u16 = 3;

/// Sends a group's RPCs on the transport: appends (and snapshots) on the group's ordered lane, so a follower
/// handles them in the order the leader sent them; votes on the concurrent lane.
pub struct TransportRpc {
    transport: Transport,
    timeout: Duration,
}

impl TransportRpc {
    pub fn new(transport: Transport, timeout: Duration) -> Arc<TransportRpc> {
        Arc::new(TransportRpc { transport, timeout })
    }
}

impl RaftRpc for TransportRpc {
    fn call(&self, to: RaftNodeId, group: GroupId, method: Method, body: Bytes) -> RpcFuture {
        let transport = self.transport.clone();
        let timeout = self.timeout;
        Box::pin(async move {
            let peer = i32::try_from(to)
                .map_err(|_| RpcFailure::Unreachable(to, "not a node id".into()))?;
            let lane = if method.ordered() {
                Lane::Ordered
            } else {
                Lane::Concurrent
            };
            transport
                .call_on(
                    peer,
                    group,
                    strait_cluster::Method(method as u16),
                    body,
                    lane,
                    timeout,
                )
                .await
                .map_err(|e| failure(to, e))
        })
    }
}

/// The transport method of a controller commit forwarded to the controller leader (beside Raft's own, 1..=5).
pub const FORWARD_METHOD: u16 = 100;

/// Forwards controller commits to the controller leader on the concurrent lane.
pub struct TransportForward {
    rpc: Arc<TransportRpc>,
}

impl TransportForward {
    pub fn new(rpc: Arc<TransportRpc>) -> Arc<TransportForward> {
        Arc::new(TransportForward { rpc })
    }
}

impl MetaForward for TransportForward {
    fn forward(&self, to: RaftNodeId, body: Bytes) -> RpcFuture {
        let transport = self.rpc.transport.clone();
        let timeout = self.rpc.timeout;
        Box::pin(async move {
            let peer = i32::try_from(to)
                .map_err(|_| RpcFailure::Unreachable(to, "not a node id".into()))?;
            transport
                .call(
                    peer,
                    CONTROLLER_GROUP,
                    strait_cluster::Method(FORWARD_METHOD),
                    body,
                    timeout,
                )
                .await
                .map_err(|e| failure(to, e))
        })
    }
}

fn failure(to: RaftNodeId, e: CallError) -> RpcFailure {
    match e {
        CallError::Timeout => RpcFailure::Timeout,
        CallError::Remote(r) => RpcFailure::Remote(r.to_string()),
        e @ (CallError::Unreachable(_)
        | CallError::UnknownPeer(_)
        | CallError::Refused { .. }
        | CallError::FrameTooLarge { .. }
        | CallError::Shutdown) => RpcFailure::Unreachable(to, e.to_string()),
    }
}

/// The groups this node hosts, by id (the controller's included); the transport's handler.
#[derive(Default)]
pub struct Router {
    groups: RwLock<HashMap<GroupId, Arc<DataGroup>>>,
    controller: RwLock<Option<RaftMeta>>,
    /// Where forwarded appends land (see `forward`); unset until the node's engine is wired in.
    engine: RwLock<Option<strait_engine::Engine>>,
    /// Where forwarded DynamoDB requests are served (see `dynamo`), with the node's authorizer.
    dynamodb: RwLock<Option<(strait_dynamodb::DynamoDb, strait_access::SharedAuthorizer)>>,
    /// When each node last sent this node a controller-group RPC: a follower hears its leader's heartbeats, so
    /// silence says the leader it still names (Raft's pre-vote keeps the name) is gone.
    controller_heard: Mutex<HashMap<i32, Instant>>,
}

impl Router {
    /// How long ago `node` last sent this node a controller-group RPC (`None`: never).
    pub fn controller_silence(&self, node: i32) -> Option<Duration> {
        self.controller_heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&node)
            .map(Instant::elapsed)
    }

    /// Serves DynamoDB requests forwarded by other nodes with `dynamodb`, asking `authorizer`.
    pub fn set_dynamodb(
        &self,
        dynamodb: strait_dynamodb::DynamoDb,
        authorizer: strait_access::SharedAuthorizer,
    ) {
        *self
            .dynamodb
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some((dynamodb, authorizer));
    }

    /// Serves appends forwarded by other nodes into `engine`.
    pub fn set_engine(&self, engine: strait_engine::Engine) {
        *self.engine.write().unwrap_or_else(PoisonError::into_inner) = Some(engine);
    }

    /// Routes the controller group's Raft RPCs and forwarded commits to `meta`.
    pub fn set_controller(&self, meta: RaftMeta) {
        *self
            .controller
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Some(meta);
    }

    /// Forgets every group and the controller (at shutdown): connections that outlive the transport's
    /// shutdown must not keep the node's stores open through this handler.
    pub fn clear(&self) {
        self.controller
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.engine
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.dynamodb
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        self.groups
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    pub fn insert(&self, g: Arc<DataGroup>) {
        self.groups
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(g.group(), g);
    }

    pub fn remove(&self, id: GroupId) -> Option<Arc<DataGroup>> {
        self.groups
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&id)
    }

    pub fn get(&self, id: GroupId) -> Option<Arc<DataGroup>> {
        self.groups
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub fn all(&self) -> Vec<Arc<DataGroup>> {
        self.groups
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }
}

impl Router {
    /// The controller group's Raft RPCs and the commits other nodes forward to it.
    fn controller_call(&self, method: strait_cluster::Method, payload: Bytes) -> HandlerFuture {
        let meta = self
            .controller
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Box::pin(async move {
            let Some(meta) = meta else {
                return Err(RemoteError {
                    code: UNKNOWN_GROUP,
                    message: "the controller is not open on this node yet".into(),
                });
            };
            let answer = if method.0 == FORWARD_METHOD {
                meta.serve_forward(&payload).await
            } else {
                let Some(m) = Method::from_u16(method.0) else {
                    return Err(RemoteError {
                        code: UNKNOWN_METHOD,
                        message: format!("unknown controller method {}", method.0),
                    });
                };
                meta.group().handle(m, &payload).await
            };
            answer.map_err(|e| RemoteError {
                code: GROUP_FAILED,
                message: e.to_string(),
            })
        })
    }
}

impl Handler for Router {
    fn handle(
        &self,
        from: i32,
        group: GroupId,
        method: strait_cluster::Method,
        payload: Bytes,
    ) -> HandlerFuture {
        if method.0 == super::forward::APPEND_METHOD {
            let engine = self
                .engine
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            return Box::pin(async move {
                let Some(engine) = engine else {
                    return Err(RemoteError {
                        code: UNKNOWN_GROUP,
                        message: "this node does not serve appends yet".into(),
                    });
                };
                super::forward::serve_append(&engine, payload).await
            });
        }
        if method.0 == super::dynamo::DYNAMO_METHOD {
            let served = self
                .dynamodb
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            return Box::pin(async move {
                let Some((dynamodb, authorizer)) = served else {
                    return Err(RemoteError {
                        code: UNKNOWN_GROUP,
                        message: "this node does not serve DynamoDB yet".into(),
                    });
                };
                super::dynamo::serve(&dynamodb, authorizer, &payload).await
            });
        }
        if group == CONTROLLER_GROUP {
            self.controller_heard
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(from, Instant::now());
            return self.controller_call(method, payload);
        }
        let g = self.get(group);
        Box::pin(async move {
            let Some(g) = g else {
                // A group not open here (yet): the sender retries; openraft treats it as unreachable.
                return Err(RemoteError {
                    code: UNKNOWN_GROUP,
                    message: format!("group {group} is not hosted on this node"),
                });
            };
            let Some(m) = Method::from_u16(method.0) else {
                return Err(RemoteError {
                    code: UNKNOWN_METHOD,
                    message: format!("unknown raft method {}", method.0),
                });
            };
            g.handle(m, &payload).await.map_err(|e| RemoteError {
                code: GROUP_FAILED,
                message: e.to_string(),
            })
        })
    }
}
