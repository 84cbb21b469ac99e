//! DescribeUserScramCredentials (v0): each user's SCRAM mechanisms and iteration counts (never salts or keys),
//! as Kafka answers it. Needs DESCRIBE on the CLUSTER (a denial is the top-level error). A missing or empty user
//! list describes every user with a credential; a named user without one is RESOURCE_NOT_FOUND, a user named
//! twice DUPLICATE_RESOURCE.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_user_scram_credentials_response::{
    CredentialInfo, DescribeUserScramCredentialsResult,
};
use kafka_protocol::messages::{
    DescribeUserScramCredentialsRequest, DescribeUserScramCredentialsResponse,
};
use kafka_protocol::protocol::StrBytes;
use strait_access::{Operation, Resource};

use super::Ctx;
use super::authz;
use crate::error::engine_error_code;

fn top_level(code: ResponseError, message: String) -> DescribeUserScramCredentialsResponse {
    DescribeUserScramCredentialsResponse::default()
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

fn user_result(
    user: &str,
    code: ResponseError,
    message: String,
) -> DescribeUserScramCredentialsResult {
    DescribeUserScramCredentialsResult::default()
        .with_user(StrBytes::from_string(user.to_string()))
        .with_error_code(code.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

pub fn handle(
    ctx: &mut Ctx<'_>,
    req: DescribeUserScramCredentialsRequest,
) -> DescribeUserScramCredentialsResponse {
    if !authz::allowed(ctx, Operation::Describe, Resource::Cluster) {
        return top_level(
            ResponseError::ClusterAuthorizationFailed,
            format!("{} may not Describe the cluster", ctx.session.principal),
        );
    }
    let store = ctx.broker.scram();
    let named: Vec<String> = req
        .users
        .unwrap_or_default()
        .iter()
        .map(|u| u.name.to_string())
        .collect();
    let (users, all) = if named.is_empty() {
        match store.users() {
            Ok(u) => (u, true),
            Err(e) => return top_level(engine_error_code(&e), e.to_string()),
        }
    } else {
        (named, false)
    };
    let mut results = Vec::with_capacity(users.len());
    for (i, user) in users.iter().enumerate() {
        if users[..i].contains(user) {
            continue;
        }
        if users[i + 1..].contains(user) {
            results.push(user_result(
                user,
                ResponseError::DuplicateResource,
                format!("Cannot describe SCRAM credentials for the same user twice in a single request: {user}"),
            ));
            continue;
        }
        let infos = match store.describe(user) {
            Ok(i) => i,
            Err(e) => {
                results.push(user_result(user, engine_error_code(&e), e.to_string()));
                continue;
            }
        };
        if infos.is_empty() {
            if !all {
                results.push(user_result(
                    user,
                    ResponseError::ResourceNotFound,
                    format!("Attempt to describe a user credential that does not exist: {user}"),
                ));
            }
            continue;
        }
        results.push(
            DescribeUserScramCredentialsResult::default()
                .with_user(StrBytes::from_string(user.clone()))
                .with_credential_infos(
                    infos
                        .into_iter()
                        .map(|(hash, iterations)| {
                            CredentialInfo::default()
                                .with_mechanism(hash.wire_type())
                                .with_iterations(i32::try_from(iterations).unwrap_or(i32::MAX))
                        })
                        .collect(),
                ),
        );
    }
    DescribeUserScramCredentialsResponse::default().with_results(results)
}
