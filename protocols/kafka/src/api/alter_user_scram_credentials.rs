//! AlterUserScramCredentials (v0): creates, replaces and deletes SCRAM credentials, as Kafka does. An upsertion
//! carries the salt, the iteration count and the SaltedPassword (the client derived it; the password never
//! travels); the broker stores StoredKey and ServerKey derived from it. Needs ALTER on the CLUSTER (a denial is
//! every user's error). One result per user: a user all of whose changes are valid has them committed together
//! (one metadata batch for the whole request, replicated on a cluster); a user with any invalid change gets that
//! error and none of its changes:
//!
//! - the same user and mechanism twice in the request: DUPLICATE_RESOURCE;
//! - an unknown mechanism: UNSUPPORTED_SASL_MECHANISM;
//! - an empty name, iterations outside 4096..=16384, an empty salt or salted password: UNACCEPTABLE_CREDENTIAL;
//! - deleting a credential that does not exist: RESOURCE_NOT_FOUND.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_user_scram_credentials_response::AlterUserScramCredentialsResult;
use kafka_protocol::messages::{
    AlterUserScramCredentialsRequest, AlterUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};
use strait_engine::MetaOp;

use super::Ctx;
use super::authz;
use crate::error::{ApiError, engine_error_code};
use crate::sasl::credentials::ScramStore;
use crate::sasl::scram::{MAX_ITERATIONS, MIN_ITERATIONS, ScramCredential, ScramHash};

/// One requested change, in request order.
enum Change<'a> {
    Delete {
        mechanism: i8,
    },
    Upsert {
        mechanism: i8,
        iterations: i32,
        salt: &'a [u8],
        salted_password: &'a [u8],
    },
}

impl Change<'_> {
    fn mechanism(&self) -> i8 {
        match self {
            Change::Delete { mechanism } | Change::Upsert { mechanism, .. } => *mechanism,
        }
    }
}

fn err(code: ResponseError, message: impl Into<String>) -> ApiError {
    ApiError::new(code, message)
}

/// The metadata op for one change of `user`, or why it is refused.
fn validate(store: &ScramStore, user: &str, change: &Change<'_>) -> Result<MetaOp, ApiError> {
    let hash = ScramHash::from_wire_type(change.mechanism()).ok_or_else(|| {
        err(
            ResponseError::UnsupportedSaslMechanism,
            format!("Unknown SCRAM mechanism {}", change.mechanism()),
        )
    })?;
    if user.is_empty() {
        return Err(err(
            ResponseError::UnacceptableCredential,
            "Username must not be empty",
        ));
    }
    if user.contains('\0') {
        return Err(err(
            ResponseError::UnacceptableCredential,
            "Username must not contain NUL",
        ));
    }
    match change {
        Change::Delete { .. } => {
            let stored = store
                .is_stored(user, hash)
                .map_err(|e| err(engine_error_code(&e), e.to_string()))?;
            if stored {
                Ok(ScramStore::delete_op(user, hash))
            } else if store.is_bootstrap(user, hash) {
                Err(err(
                    ResponseError::InvalidRequest,
                    format!(
                        "the {} credential of {user} comes from the broker configuration \
                         (kafka.sasl.scram_users); remove it there",
                        hash.mechanism_name()
                    ),
                ))
            } else {
                Err(err(
                    ResponseError::ResourceNotFound,
                    "Attempt to delete a user credential that does not exist",
                ))
            }
        }
        Change::Upsert {
            iterations,
            salt,
            salted_password,
            ..
        } => {
            let iterations = u32::try_from(*iterations).unwrap_or(0);
            if iterations < MIN_ITERATIONS {
                return Err(err(
                    ResponseError::UnacceptableCredential,
                    format!(
                        "Iterations {iterations} is less than the minimum {MIN_ITERATIONS} required for {}",
                        hash.mechanism_name()
                    ),
                ));
            }
            if iterations > MAX_ITERATIONS {
                return Err(err(
                    ResponseError::UnacceptableCredential,
                    format!(
                        "Iterations {iterations} is more than the maximum {MAX_ITERATIONS} allowed for {}",
                        hash.mechanism_name()
                    ),
                ));
            }
            if salt.is_empty() || salted_password.is_empty() {
                return Err(err(
                    ResponseError::UnacceptableCredential,
                    "Salt and salted password must not be empty",
                ));
            }
            let cred =
                ScramCredential::from_salted(hash, salt.to_vec(), iterations, salted_password);
            Ok(ScramStore::put_op(user, hash, &cred))
        }
    }
}

fn result(user: &str, outcome: Result<(), &ApiError>) -> AlterUserScramCredentialsResult {
    let r = AlterUserScramCredentialsResult::default()
        .with_user(StrBytes::from_string(user.to_string()));
    match outcome {
        Ok(()) => r,
        Err(e) => r
            .with_error_code(e.code.code())
            .with_error_message(Some(StrBytes::from_string(e.message.clone()))),
    }
}

pub async fn handle(
    ctx: &mut Ctx<'_>,
    req: AlterUserScramCredentialsRequest,
) -> AlterUserScramCredentialsResponse {
    let mut changes: Vec<(String, Change<'_>)> = Vec::new();
    for d in &req.deletions {
        changes.push((
            d.name.to_string(),
            Change::Delete {
                mechanism: d.mechanism,
            },
        ));
    }
    for u in &req.upsertions {
        changes.push((
            u.name.to_string(),
            Change::Upsert {
                mechanism: u.mechanism,
                iterations: u.iterations,
                salt: &u.salt,
                salted_password: &u.salted_password,
            },
        ));
    }
    // Users in order of first appearance.
    let mut users: Vec<String> = Vec::new();
    for (u, _) in &changes {
        if !users.contains(u) {
            users.push(u.clone());
        }
    }
    if !authz::allowed(ctx, Operation::Alter, Resource::Cluster) {
        let denied = err(
            ResponseError::ClusterAuthorizationFailed,
            format!("{} may not Alter the cluster", ctx.session.principal),
        );
        return AlterUserScramCredentialsResponse::default()
            .with_results(users.iter().map(|u| result(u, Err(&denied))).collect());
    }
    let store = ctx.broker.scram();
    let mut outcomes: Vec<(String, Result<Vec<MetaOp>, ApiError>)> = Vec::new();
    for user in &users {
        let mine: Vec<&Change<'_>> = changes
            .iter()
            .filter(|(u, _)| u == user)
            .map(|(_, c)| c)
            .collect();
        let duplicate = mine
            .iter()
            .enumerate()
            .any(|(i, c)| mine[..i].iter().any(|o| o.mechanism() == c.mechanism()));
        let outcome = if duplicate {
            Err(err(
                ResponseError::DuplicateResource,
                "A user credential cannot be altered twice in the same request",
            ))
        } else {
            mine.iter().map(|c| validate(store, user, c)).collect()
        };
        outcomes.push((user.clone(), outcome));
    }
    let ops: Vec<MetaOp> = outcomes
        .iter()
        .filter_map(|(_, o)| o.as_ref().ok())
        .flatten()
        .cloned()
        .collect();
    let committed = store
        .commit(ops)
        .await
        .map_err(|e| err(engine_error_code(&e), e.to_string()));
    let results = outcomes
        .iter()
        .map(|(user, outcome)| match (outcome, &committed) {
            (Err(e), _) | (Ok(_), Err(e)) => result(user, Err(e)),
            (Ok(_), Ok(())) => {
                tracing::info!(user = %user, principal = %ctx.session.principal, "SCRAM credentials altered");
                result(user, Ok(()))
            }
        })
        .collect();
    AlterUserScramCredentialsResponse::default().with_results(results)
}
