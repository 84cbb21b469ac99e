//! DynamoDB requests (KCL lease tables) served by one node: the controller leader. A lease is taken with a
//! conditional write, and a condition is only as good as the state it is checked against: two nodes checking
//! `leaseOwner = A` against their own copies and both committing would hand one lease to two workers. The
//! controller leader applies every metadata commit first, so serving all DynamoDB requests there (the others
//! forward them, after authenticating locally) makes each check-and-write see every earlier one.
//!
//! Request and answer travel as JSON ([`Forwarded`], [`Relayed`]); bodies are small (lease items).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use strait_access::{AuthMechanism, Principal, SharedAuthorizer};
use strait_cluster::{RemoteError, Transport};
use strait_dynamodb::{DynamoDb, RequestContext, Response};
use strait_raft::RaftMeta;

/// The transport method of a forwarded DynamoDB request (beside Raft's 1..=5, 100 and 101).
pub(super) const DYNAMO_METHOD: u16 = 102;
const BAD_REQUEST: u16 = 4;

#[derive(Debug, Serialize, Deserialize)]
struct Forwarded {
    /// The principal the receiving node authenticated (`None`: anonymous); the AWS port knows only SigV4.
    principal: Option<String>,
    peer: Option<SocketAddr>,
    request_id: String,
    target: String,
    body: Vec<u8>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Relayed {
    status: u16,
    body: Vec<u8>,
    /// The error's short name (`ConditionalCheckFailedException`).
    error: Option<String>,
}

/// Decides where a DynamoDB request is served and forwards it there.
pub struct DynamoRouter {
    node: i32,
    controller: RaftMeta,
    transport: Transport,
    timeout: Duration,
}

impl std::fmt::Debug for DynamoRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoRouter")
            .field("node", &self.node)
            .field("serving", &self.elsewhere())
            .finish_non_exhaustive()
    }
}

impl DynamoRouter {
    pub(super) fn new(node: i32, controller: RaftMeta, transport: Transport) -> Arc<DynamoRouter> {
        Arc::new(DynamoRouter {
            node,
            controller,
            transport,
            // A lease write is one controller commit; a slow disk on a majority may take seconds.
            timeout: Duration::from_secs(10),
        })
    }

    /// The node that serves DynamoDB requests, if it is another one. While no controller leader is known (an
    /// election), this node serves: its commit then waits for (or fails without) a leader as any other does.
    pub fn elsewhere(&self) -> Option<i32> {
        let leader = self.controller.group().leader().0?;
        i32::try_from(leader).ok().filter(|&l| l != self.node)
    }

    /// Has node `to` serve the request and returns its answer; an unreachable node or a timeout is answered
    /// with DynamoDB's retriable `InternalServerError`.
    pub async fn forward(
        &self,
        to: i32,
        ctx: &RequestContext,
        target: &str,
        body: &[u8],
    ) -> Response {
        let req = Forwarded {
            principal: (!ctx.principal.is_anonymous()).then(|| ctx.principal.name.clone()),
            peer: ctx.peer,
            request_id: ctx.request_id.clone(),
            target: target.to_string(),
            body: body.to_vec(),
        };
        let failed = |why: String| {
            tracing::debug!(node = to, %why, "forwarded DynamoDB request failed");
            let body = serde_json::json!({
                "__type": "com.amazonaws.dynamodb.v20120810#InternalServerError",
                "message": format!("the node serving DynamoDB requests did not answer: {why}"),
            });
            Response::relayed(
                500,
                body.to_string().into_bytes(),
                Some("InternalServerError"),
            )
        };
        let payload = match serde_json::to_vec(&req) {
            Ok(p) => Bytes::from(p),
            Err(e) => return failed(e.to_string()),
        };
        let answer = self
            .transport
            .call(
                to,
                0,
                strait_cluster::Method(DYNAMO_METHOD),
                payload,
                self.timeout,
            )
            .await;
        match answer
            .map_err(|e| e.to_string())
            .and_then(|raw| serde_json::from_slice::<Relayed>(&raw).map_err(|e| e.to_string()))
        {
            Ok(r) => Response::relayed(r.status, r.body, r.error.as_deref()),
            Err(why) => failed(why),
        }
    }
}

/// Serves a request another node forwarded, as this node's own (never forwarded again).
pub(super) async fn serve(
    dynamodb: &DynamoDb,
    authorizer: SharedAuthorizer,
    payload: &[u8],
) -> Result<Bytes, RemoteError> {
    let bad = |e: serde_json::Error| RemoteError {
        code: BAD_REQUEST,
        message: format!("malformed forwarded DynamoDB request: {e}"),
    };
    let req: Forwarded = serde_json::from_slice(payload).map_err(bad)?;
    let principal = req.principal.map_or_else(Principal::anonymous, |name| {
        Principal::user(name, AuthMechanism::AwsSigV4)
    });
    let ctx = RequestContext::new(principal, req.peer, req.request_id, authorizer);
    let r = dynamodb.handle(&ctx, Some(&req.target), &req.body).await;
    let relayed = Relayed {
        status: r.status,
        body: r.body,
        error: r.error.map(str::to_string),
    };
    serde_json::to_vec(&relayed).map(Bytes::from).map_err(bad)
}
