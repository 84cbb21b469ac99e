//! SaslHandshake (v1) and SaslAuthenticate (v0–2): the pluggable authentication step, with PLAIN implemented.
//!
//! When the broker has SASL users configured, a connection must complete SaslHandshake + SaslAuthenticate before
//! any API but ApiVersions (the dispatcher closes it otherwise, as Kafka does). SaslHandshake v0 (raw SASL tokens
//! outside Kafka framing) was removed in Kafka 4.0 and is not offered. SCRAM, OAUTHBEARER and AWS_MSK_IAM plug in
//! here as further [`Mechanism`]s.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;

pub use crate::session::{Mechanism, SaslState};

fn enabled(ctx: &Ctx<'_>) -> Vec<Mechanism> {
    if ctx.broker.config().sasl_plain_users.is_empty() {
        Vec::new()
    } else {
        vec![Mechanism::Plain]
    }
}

pub fn handshake(ctx: &mut Ctx<'_>, req: SaslHandshakeRequest) -> SaslHandshakeResponse {
    let enabled = enabled(ctx);
    let names = enabled
        .iter()
        .map(|m| StrBytes::from_static_str(m.name()))
        .collect();
    let resp = SaslHandshakeResponse::default().with_mechanisms(names);
    if ctx.session.sasl != SaslState::Start {
        return resp.with_error_code(ResponseError::IllegalSaslState.code());
    }
    match Mechanism::parse(&req.mechanism).filter(|m| enabled.contains(m)) {
        Some(m) => {
            ctx.session.sasl = SaslState::Negotiated(m);
            resp
        }
        None => resp.with_error_code(ResponseError::UnsupportedSaslMechanism.code()),
    }
}

pub fn authenticate(ctx: &mut Ctx<'_>, req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    let fail = |code: ResponseError, msg: &str| {
        SaslAuthenticateResponse::default()
            .with_error_code(code.code())
            .with_error_message(Some(StrBytes::from_string(msg.to_string())))
    };
    let SaslState::Negotiated(mechanism) = ctx.session.sasl.clone() else {
        return fail(
            ResponseError::IllegalSaslState,
            "SaslAuthenticate without a successful SaslHandshake",
        );
    };
    match mechanism {
        Mechanism::Plain => match plain(ctx, &req.auth_bytes) {
            Some(user) => {
                tracing::info!(user = %user, "SASL/PLAIN authentication succeeded");
                ctx.session.principal = strait_access::Principal::user(
                    user.clone(),
                    strait_access::AuthMechanism::SaslPlain,
                );
                ctx.session.sasl = SaslState::Authenticated(user);
                SaslAuthenticateResponse::default()
            }
            None => {
                metrics::counter!("strait_kafka_sasl_failures_total").increment(1);
                ctx.session.sasl = SaslState::Failed;
                fail(
                    ResponseError::SaslAuthenticationFailed,
                    "Authentication failed: Invalid username or password",
                )
            }
        },
    }
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`. An authzid, if given, must equal the authcid (no impersonation).
fn plain(ctx: &Ctx<'_>, token: &[u8]) -> Option<String> {
    let mut parts = token.split(|b| *b == 0);
    let (authzid, user, pass) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || (!authzid.is_empty() && authzid != user) {
        return None;
    }
    let user = std::str::from_utf8(user).ok()?;
    let expected = ctx.broker.config().sasl_plain_users.get(user)?;
    constant_time_eq(expected.as_bytes(), pass).then(|| user.to_string())
}

/// Compares without an early exit, so the time taken does not reveal how much of a password matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}
