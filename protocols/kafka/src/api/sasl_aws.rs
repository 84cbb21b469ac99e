//! AWS identities over SASL: the `AWS_MSK_IAM` mechanism, and the MSK-signer token that OAUTHBEARER hands over
//! when it is not a JWT. Verification itself is the server's [`strait_access::AwsIdentityVerifier`] (the AWS
//! access-key table, implemented in strait-aws, which this crate may not depend on), so an access key is the
//! same principal here as on the AWS port.

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::SaslAuthenticateResponse;
use kafka_protocol::protocol::StrBytes;
use strait_access::{AwsIdentityError, Principal};

use super::Ctx;
use crate::session::{Login, Mechanism, SaslState};

/// SaslAuthenticate for `AWS_MSK_IAM`: on success the principal the access key maps to, and the reply
/// `aws-msk-iam-auth` expects (`AuthenticationResponse.java`): `{"version":"2020_10_22","request-id":"<uuid>"}`.
pub(super) fn msk_iam(ctx: &mut Ctx<'_>, payload: &[u8]) -> SaslAuthenticateResponse {
    let verified = match &ctx.broker.config().aws_identity {
        Some(v) => v.verify_msk_iam(payload),
        // The handshake only offers the mechanism with a verifier; kept total rather than trusted.
        None => Err(AwsIdentityError {
            message: "AWS_MSK_IAM is not enabled".into(),
        }),
    };
    match verified {
        Ok(principal) => {
            let reply = serde_json::json!({
                "version": "2020_10_22",
                "request-id": uuid::Uuid::new_v4().to_string(),
            });
            authenticated(ctx, principal, Mechanism::AwsMskIam);
            SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(reply.to_string()))
        }
        Err(e) => failed(ctx, "AWS_MSK_IAM", &e),
    }
}

/// A refused attempt: counted, and the connection gets no second try (Kafka closes it).
fn failed(
    ctx: &mut Ctx<'_>,
    mechanism: &'static str,
    e: &AwsIdentityError,
) -> SaslAuthenticateResponse {
    metrics::counter!("strait_kafka_sasl_failures_total").increment(1);
    tracing::debug!(error = %e, mechanism, "SASL authentication failed");
    ctx.session.sasl = SaslState::Failed;
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::SaslAuthenticationFailed.code())
        .with_error_message(Some(StrBytes::from_string(format!(
            "Authentication failed: {e}"
        ))))
}

/// SaslAuthenticate for OAUTHBEARER, as far as AWS identities go: the client's first message (RFC 7628
/// `n,,\x01auth=Bearer <token>\x01\x01`) must carry an MSK-signer token. JWTs are validated by
/// `crate::sasl::oauth` (`api::sasl` hands only tokens that are not JWTs here, when AWS identities are on).
pub(super) fn oauthbearer(ctx: &mut Ctx<'_>, message: &[u8]) -> SaslAuthenticateResponse {
    let verified = match bearer_token(message) {
        None => Err(AwsIdentityError {
            message: "Invalid OAUTHBEARER message: expected n,,\\x01auth=Bearer <token>\\x01\\x01"
                .into(),
        }),
        Some(token) if token.split('.').count() == 3 => Err(AwsIdentityError {
            message:
                "JWT bearer tokens are not accepted by this broker; only MSK IAM signer tokens are"
                    .into(),
        }),
        Some(token) => verify_msk_signer_token(ctx, token).unwrap_or_else(|| {
            Err(AwsIdentityError {
                message: "OAUTHBEARER is not enabled".into(),
            })
        }),
    };
    match verified {
        Ok(principal) => {
            authenticated(ctx, principal, Mechanism::OAuthBearer);
            SaslAuthenticateResponse::default()
        }
        Err(e) => failed(ctx, "OAUTHBEARER", &e),
    }
}

/// The token of an RFC 7628 client first message: the GS2 header, then `\x01`-separated `key=value` pairs, one of
/// them `auth=Bearer <token>`.
fn bearer_token(message: &[u8]) -> Option<&str> {
    let text = std::str::from_utf8(message).ok()?;
    let mut parts = text.split('\x01');
    let gs2 = parts.next()?;
    if !gs2.starts_with("n,") && !gs2.starts_with("y,") {
        return None;
    }
    let auth = parts.find_map(|kv| kv.strip_prefix("auth="))?;
    let (scheme, token) = auth.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("Bearer") && !token.trim().is_empty()).then_some(token.trim())
}

/// For OAUTHBEARER: verifies a token that is not a JWT as an MSK-signer token (base64url presigned URL). `None`
/// when AWS identities are not enabled on this broker.
pub fn verify_msk_signer_token(
    ctx: &Ctx<'_>,
    token: &str,
) -> Option<Result<Principal, AwsIdentityError>> {
    ctx.broker
        .config()
        .aws_identity
        .as_ref()
        .map(|v| v.verify_msk_signer_token(token))
}

/// Records a successful AWS authentication on the connection.
pub(super) fn authenticated(ctx: &mut Ctx<'_>, principal: Principal, mechanism: Mechanism) {
    tracing::info!(principal = %principal, mechanism = mechanism.name(), "SASL authentication succeeded");
    ctx.session.sasl = SaslState::Authenticated(principal.name.clone());
    // No session lifetime: KIP-368 re-authentication of AWS identities is not built (the token's 15 minutes are
    // not enforced on a connection).
    ctx.session.login = Some(Login {
        user: principal.name.clone(),
        mechanism,
        expires: None,
    });
    ctx.session.principal = principal;
}
