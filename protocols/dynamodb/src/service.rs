//! The entry point: [`DynamoDb::handle`] takes the `X-Amz-Target` value and the body and returns the full
//! response (status, headers including `x-amz-crc32`, body). Every change is one commit to the engine's metadata
//! store (so a transaction is atomic on disk too); the in-memory tables follow the committed changes, so a change
//! is visible once it is durable.

use serde_json::Value as Json;
use strait_access::{Decision, Resource};
use strait_aws::{ErrorEnvelope, RequestContext};

pub use crate::db::{Clock, DynamoConfig, DynamoDb, ManualClock, SystemClock};
use crate::error::DynamoError;
use crate::hook::ItemHook;
use crate::operation::{Operation, required, tables_named};
use crate::ops;

/// `X-Amz-Target` prefix of DynamoDB requests.
pub const TARGET_PREFIX: &str = "DynamoDB_20120810.";

/// Content type of DynamoDB requests and responses (AWS JSON 1.0).
pub const CONTENT_TYPE: &str = "application/x-amz-json-1.0";

/// Whether an `X-Amz-Target` value addresses DynamoDB (the server routes on this).
pub fn is_dynamodb_target(target: &str) -> bool {
    target.starts_with(TARGET_PREFIX)
}

/// A complete response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    /// `Content-Type`, `x-amz-crc32`, `x-amzn-RequestId` (and `x-amzn-ErrorType` for errors).
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
    /// The error's short name (`ConditionalCheckFailedException`) for metrics, `None` on success.
    pub error: Option<&'static str>,
}

impl Response {
    fn new(status: u16, body: Vec<u8>, error_type: Option<&'static str>) -> Response {
        // The Java SDK v2 verifies this CRC32 (of the body bytes as sent) on every DynamoDB response.
        let crc = crc32fast::hash(&body);
        let mut headers = vec![
            ("content-type", CONTENT_TYPE.to_string()),
            ("x-amz-crc32", crc.to_string()),
            (
                "x-amzn-requestid",
                uuid::Uuid::new_v4().simple().to_string().to_uppercase(),
            ),
        ];
        let error = error_type.map(|t| t.rsplit('#').next().unwrap_or(t));
        if let Some(e) = error {
            headers.push(("x-amzn-errortype", e.to_string()));
        }
        Response {
            status,
            headers,
            body,
            error,
        }
    }

    /// A response another node rendered, rebuilt from what travelled between nodes (a request forwarded to the
    /// node that serialises DynamoDB writes): the same status and body, and the error type by its short name
    /// (`ConditionalCheckFailedException`); a fresh CRC and request id, as for any response of this node.
    pub fn relayed(status: u16, body: Vec<u8>, error: Option<&str>) -> Response {
        let error_type = error.map(|short| {
            DynamoError::TYPE_NAMES
                .iter()
                .copied()
                .find(|t| t.rsplit('#').next() == Some(short))
                .unwrap_or("com.amazonaws.dynamodb.v20120810#InternalServerError")
        });
        Response::new(status, body, error_type)
    }

    /// The rendering of `err`.
    pub fn error(err: &DynamoError) -> Response {
        Response::new(
            err.status(),
            err.body().to_string().into_bytes(),
            Some(err.type_name()),
        )
    }

    /// An envelope decided outside the crate (a failed signature check, through
    /// [`strait_aws::SigV4Error::to_envelope`]), in JSON 1.0.
    pub fn from_envelope(env: &ErrorEnvelope) -> Response {
        Response::error(&DynamoError::Auth(env.clone()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl DynamoDb {
    /// Answers one request. `target` is the `X-Amz-Target` header value.
    pub async fn handle(
        &self,
        ctx: &RequestContext,
        target: Option<&str>,
        body: &[u8],
    ) -> Response {
        let op = target
            .and_then(|t| t.strip_prefix(TARGET_PREFIX))
            .unwrap_or("");
        match self.call(ctx, op, body).await {
            Ok(v) => Response::new(200, v.to_string().into_bytes(), None),
            Err(e) => {
                match &e {
                    DynamoError::StorageUnavailable(m) => {
                        tracing::debug!(operation = op, error = %m, "DynamoDB request refused");
                    }
                    DynamoError::Internal(m) => {
                        tracing::warn!(operation = op, error = %m, "DynamoDB request failed internally");
                    }
                    _ => {}
                }
                Response::error(&e)
            }
        }
    }

    /// Decodes the body, asks the authorizer and runs operation `op` (the part of the target after the prefix).
    pub async fn call(
        &self,
        ctx: &RequestContext,
        op: &str,
        body: &[u8],
    ) -> Result<Json, DynamoError> {
        let Some(operation) = Operation::from_name(op) else {
            return Err(DynamoError::UnknownOperation);
        };
        let body: Json = if body.is_empty() {
            Json::Object(Default::default())
        } else {
            serde_json::from_slice(body).map_err(|e| {
                // serde_json stops at 128 levels; the only deep structure a DynamoDB request has is a nested
                // attribute value, so the answer is the one for a value nested too deeply.
                if e.to_string().starts_with("recursion limit exceeded") {
                    crate::value::too_deep()
                } else {
                    DynamoError::Serialization(
                        "Start of structure or map found where not expected".into(),
                    )
                }
            })?
        };
        if !body.is_object() {
            return Err(DynamoError::Serialization(
                "Start of structure or map found where not expected".into(),
            ));
        }
        self.authorize(ctx, operation, &body)?;
        let mut out = ops::dispatch(self, op, &body).await?;
        if let Some(hook) = self.inner.hook.get() {
            returned_items(hook.as_ref(), op, &body, &mut out).await;
        }
        Ok(out)
    }

    /// The authorization question(s) of `op` ([`required`]): the account, or each table the request names.
    fn authorize(
        &self,
        ctx: &RequestContext,
        op: Operation,
        req: &Json,
    ) -> Result<(), DynamoError> {
        let (acl, subject) = required(op);
        let cfg = &self.inner.cfg;
        let denied = |resource: String| {
            Err(DynamoError::AccessDenied(ctx.denied_message(
                &cfg.account_id,
                op.iam_action(),
                &resource,
            )))
        };
        match subject {
            crate::operation::Subject::Cluster => {
                match ctx.authorize(acl, Resource::Cluster, op.iam_action()) {
                    Decision::Allow => Ok(()),
                    Decision::Deny => denied(format!(
                        "arn:aws:dynamodb:{}:{}:table/*",
                        cfg.region, cfg.account_id
                    )),
                }
            }
            crate::operation::Subject::Tables => {
                for table in tables_named(req) {
                    match ctx.authorize(acl, Resource::Table(&table), op.iam_action()) {
                        Decision::Allow => {}
                        Decision::Deny => return denied(self.table_arn(&table)),
                    }
                }
                Ok(())
            }
        }
    }
}

/// Passes every item a read operation returns through the hook.
async fn returned_items(hook: &dyn ItemHook, op: &str, req: &Json, out: &mut Json) {
    let table = req.get("TableName").and_then(Json::as_str).unwrap_or("");
    match op {
        "GetItem" => {
            if let Some(item) = out.get_mut("Item") {
                hook.before_return(table, item).await;
            }
        }
        "Scan" | "Query" => {
            if let Some(Json::Array(items)) = out.get_mut("Items") {
                for item in items {
                    hook.before_return(table, item).await;
                }
            }
        }
        "BatchGetItem" => {
            if let Some(Json::Object(by_table)) = out.get_mut("Responses") {
                for (table, items) in by_table.iter_mut() {
                    for item in items.as_array_mut().into_iter().flatten() {
                        hook.before_return(table, item).await;
                    }
                }
            }
        }
        "TransactGetItems" => {
            let tables: Vec<String> = req
                .get("TransactItems")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .map(|t| {
                    t.pointer("/Get/TableName")
                        .and_then(Json::as_str)
                        .unwrap_or("")
                        .to_string()
                })
                .collect();
            if let Some(Json::Array(responses)) = out.get_mut("Responses") {
                for (r, table) in responses.iter_mut().zip(tables) {
                    if let Some(item) = r.get_mut("Item") {
                        hook.before_return(&table, item).await;
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relayed_error_keeps_its_type_and_an_unknown_one_becomes_internal() {
        let r = Response::relayed(400, b"{}".to_vec(), Some("ConditionalCheckFailedException"));
        assert_eq!(r.status, 400);
        assert_eq!(r.error, Some("ConditionalCheckFailedException"));
        assert_eq!(
            r.header("x-amzn-errortype"),
            Some("ConditionalCheckFailedException")
        );
        assert_eq!(
            r.header("x-amz-crc32"),
            Some(crc32fast::hash(b"{}").to_string().as_str())
        );
        let r = Response::relayed(500, b"{}".to_vec(), Some("NoSuchThing"));
        assert_eq!(r.error, Some("InternalServerError"));
        assert_eq!(Response::relayed(200, b"{}".to_vec(), None).error, None);
    }

    #[test]
    fn every_type_name_is_listed_for_relaying() {
        for e in [
            DynamoError::UnknownOperation,
            DynamoError::ConditionalCheckFailed { item: None },
            DynamoError::Internal("x".into()),
        ] {
            assert!(DynamoError::TYPE_NAMES.contains(&e.type_name()), "{e:?}");
        }
    }
}
