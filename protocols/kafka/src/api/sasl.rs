//! SaslHandshake (v1) and SaslAuthenticate (v0–2): the pluggable authentication step and re-authentication
//! (KIP-368).
//!
//! When the broker requires SASL ([`BrokerConfig::sasl_required`](crate::BrokerConfig::sasl_required)), a
//! connection must complete SaslHandshake + SaslAuthenticate before any API but ApiVersions (the dispatcher
//! closes it otherwise, as Kafka does). SaslHandshake v0 (raw SASL tokens outside Kafka framing) was removed in
//! Kafka 4.0 and is not offered. Mechanisms: PLAIN (here), SCRAM-SHA-256/512 (`crate::sasl::scram`),
//! OAUTHBEARER (`crate::sasl::oauth`); each
//! turns a token into a [`Step`], and this module turns a finished step into the connection's login.
//!
//! Re-authentication: an authenticated connection may send SaslHandshake again with the same mechanism and
//! authenticate as the same principal; the session's lifetime restarts. A session past its lifetime is closed
//! on its next request other than the re-authentication itself (`api::check_authenticated`).

use std::time::{Duration, Instant, SystemTime};

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::Ctx;
use crate::sasl::Step;
use crate::sasl::scram::{self, ScramExchange, ScramHash};
use crate::session::Login;

pub use crate::session::{Mechanism, SaslState};

fn enabled(ctx: &Ctx<'_>) -> Vec<Mechanism> {
    let cfg = ctx.broker.config();
    if !cfg.sasl_required() {
        return Vec::new();
    }
    let mut m = Vec::new();
    if !cfg.sasl_plain_users.is_empty() {
        m.push(Mechanism::Plain);
    }
    // SCRAM users may be created through AlterUserScramCredentials at any time, so SCRAM is always offered.
    m.push(Mechanism::Scram(ScramHash::Sha256));
    m.push(Mechanism::Scram(ScramHash::Sha512));
    if cfg.aws_identity.is_some() {
        m.push(Mechanism::AwsMskIam);
    }
    // OAUTHBEARER carries JWTs (with a validator configured) and the MSK IAM signer libraries' tokens.
    if cfg.sasl.oauthbearer.is_some() || cfg.aws_identity.is_some() {
        m.push(Mechanism::OAuthBearer);
    }
    m
}

pub fn handshake(ctx: &mut Ctx<'_>, req: SaslHandshakeRequest) -> SaslHandshakeResponse {
    let enabled = enabled(ctx);
    let names = enabled
        .iter()
        .map(|m| StrBytes::from_static_str(m.name()))
        .collect();
    let resp = SaslHandshakeResponse::default().with_mechanisms(names);
    // A first handshake, or a re-authentication of a logged-in connection (KIP-368).
    let reauth = matches!(ctx.session.sasl, SaslState::Authenticated(_));
    if ctx.session.sasl != SaslState::Start && !reauth {
        return resp.with_error_code(ResponseError::IllegalSaslState.code());
    }
    let requested = Mechanism::parse(&req.mechanism).filter(|m| enabled.contains(m));
    let same_as_login = |m: &Mechanism| {
        ctx.session
            .login
            .as_ref()
            .is_none_or(|l| !reauth || l.mechanism == *m)
    };
    match requested.filter(same_as_login) {
        Some(m) => {
            ctx.session.sasl = SaslState::Negotiated(m);
            resp
        }
        None => {
            if reauth {
                // Kafka refuses a change of mechanism on re-authentication and then closes the connection.
                fail_session(ctx);
            }
            resp.with_error_code(ResponseError::UnsupportedSaslMechanism.code())
        }
    }
}

pub fn authenticate(ctx: &mut Ctx<'_>, req: SaslAuthenticateRequest) -> SaslAuthenticateResponse {
    let (mechanism, step) = match ctx.session.sasl.clone() {
        SaslState::Negotiated(m @ Mechanism::Plain) => (m, plain(ctx, &req.auth_bytes)),
        SaslState::Negotiated(m @ Mechanism::Scram(hash)) => {
            (m, scram_first(ctx, hash, &req.auth_bytes))
        }
        SaslState::Scram(ex) => (
            Mechanism::Scram(ex.hash()),
            scram_final(&ex, &req.auth_bytes),
        ),
        SaslState::Negotiated(Mechanism::AwsMskIam) => {
            return super::sasl_aws::msk_iam(ctx, &req.auth_bytes);
        }
        // The MSK IAM signer libraries send a presigned URL, not a JWT, inside OAUTHBEARER.
        SaslState::Negotiated(Mechanism::OAuthBearer)
            if ctx.broker.config().aws_identity.is_some() && !carries_jwt(&req.auth_bytes) =>
        {
            return super::sasl_aws::oauthbearer(ctx, &req.auth_bytes);
        }
        SaslState::Negotiated(m @ Mechanism::OAuthBearer) => (m, oauthbearer(ctx, &req.auth_bytes)),
        SaslState::OAuthRefused(message) => (Mechanism::OAuthBearer, Step::Fail(message)),
        SaslState::Start | SaslState::Authenticated(_) | SaslState::Failed => {
            return SaslAuthenticateResponse::default()
                .with_error_code(ResponseError::IllegalSaslState.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "SaslAuthenticate without a successful SaslHandshake",
                )));
        }
    };
    match step {
        Step::Continue(bytes) => SaslAuthenticateResponse::default().with_auth_bytes(bytes.into()),
        Step::Done {
            user,
            reply,
            expires,
        } => login(ctx, mechanism, user, reply, expires),
        Step::Fail(message) => fail(ctx, message),
    }
}

/// Records a successful authentication (or re-authentication) and answers it with the session's lifetime.
fn login(
    ctx: &mut Ctx<'_>,
    mechanism: Mechanism,
    user: String,
    reply: Vec<u8>,
    credential_expires: Option<SystemTime>,
) -> SaslAuthenticateResponse {
    if let Some(previous) = &ctx.session.login
        && previous.user != user
    {
        let message = format!(
            "Cannot change principals during re-authentication from User:{} to User:{user}",
            previous.user
        );
        return fail(ctx, message);
    }
    let lifetime = session_lifetime(ctx.broker.config().sasl.max_reauth_ms, credential_expires);
    let reauth = ctx.session.login.is_some();
    tracing::info!(user = %user, mechanism = mechanism.name(), reauth, "SASL authentication succeeded");
    ctx.session.principal =
        strait_access::Principal::user(user.clone(), mechanism.auth_mechanism());
    ctx.session.login = Some(Login {
        user: user.clone(),
        mechanism,
        expires: lifetime.map(|d| Instant::now() + d),
    });
    ctx.session.sasl = SaslState::Authenticated(user);
    let resp = SaslAuthenticateResponse::default().with_auth_bytes(reply.into());
    if ctx.version() >= 1 {
        let ms = lifetime.map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        resp.with_session_lifetime_ms(ms)
    } else {
        resp
    }
}

/// Kafka's rule (`SaslServerAuthenticator`): the lesser of `connections.max.reauth.ms` (when > 0) and the time
/// left on the credential (when it expires); `None` when neither applies. A credential already expired gives a
/// zero lifetime: the connection must re-authenticate before its next request.
fn session_lifetime(
    max_reauth_ms: u64,
    credential_expires: Option<SystemTime>,
) -> Option<Duration> {
    let by_config = (max_reauth_ms > 0).then(|| Duration::from_millis(max_reauth_ms));
    let by_credential = credential_expires.map(|e| {
        e.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO)
    });
    match (by_config, by_credential) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Whether an OAUTHBEARER client first message carries a JWT (three dot-separated parts) rather than another
/// kind of bearer token.
fn carries_jwt(message: &[u8]) -> bool {
    std::str::from_utf8(message)
        .ok()
        .and_then(|t| t.split('\x01').find_map(|kv| kv.strip_prefix("auth=")))
        .and_then(|auth| auth.split_once(' '))
        .is_some_and(|(_, token)| token.trim().split('.').count() == 3)
}

/// A failed attempt: counted, throttled by the listener, and the connection gets no second try.
fn fail(ctx: &mut Ctx<'_>, message: String) -> SaslAuthenticateResponse {
    metrics::counter!("strait_kafka_sasl_failures_total").increment(1);
    tracing::debug!(%message, "SASL authentication failed");
    fail_session(ctx);
    SaslAuthenticateResponse::default()
        .with_error_code(ResponseError::SaslAuthenticationFailed.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

fn fail_session(ctx: &mut Ctx<'_>) {
    ctx.session.sasl = SaslState::Failed;
    ctx.session.login = None;
    ctx.session.principal = strait_access::Principal::anonymous();
}

/// RFC 4616: `[authzid] NUL authcid NUL passwd`. An authzid, if given, must equal the authcid (no impersonation).
fn plain(ctx: &Ctx<'_>, token: &[u8]) -> Step {
    let refused = || Step::Fail("Authentication failed: Invalid username or password".into());
    let mut parts = token.split(|b| *b == 0);
    let (Some(authzid), Some(user), Some(pass)) = (parts.next(), parts.next(), parts.next()) else {
        return refused();
    };
    if parts.next().is_some() || (!authzid.is_empty() && authzid != user) {
        return refused();
    }
    let Ok(user) = std::str::from_utf8(user) else {
        return refused();
    };
    match ctx.broker.config().sasl_plain_users.get(user) {
        Some(expected) if constant_time_eq(expected.as_bytes(), pass) => Step::Done {
            user: user.to_string(),
            reply: Vec::new(),
            expires: None,
        },
        _ => refused(),
    }
}

/// SCRAM round one: look the user up and answer with salt, iterations and the combined nonce.
fn scram_first(ctx: &mut Ctx<'_>, hash: ScramHash, token: &[u8]) -> Step {
    let first = match scram::parse_client_first(token) {
        Ok(f) => f,
        Err(e) => return Step::Fail(e.to_string()),
    };
    let credential = match ctx.broker.scram().lookup(&first.user, hash) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read SCRAM credentials");
            return Step::Fail("Authentication failed: credentials unavailable".into());
        }
    };
    let (exchange, reply) = ScramExchange::start(hash, first, credential);
    ctx.session.sasl = SaslState::Scram(Box::new(exchange));
    Step::Continue(reply)
}

/// SCRAM round two: check the proof and answer with the server signature.
fn scram_final(exchange: &ScramExchange, token: &[u8]) -> Step {
    match exchange.finish(token) {
        Ok(reply) => Step::Done {
            user: exchange.user().to_string(),
            reply,
            expires: None,
        },
        Err(e) => Step::Fail(e.to_string()),
    }
}

/// OAUTHBEARER's single client message. A refused token gets RFC 7628's error challenge first; the client's
/// `%x01` answer then ends the exchange with the failure.
fn oauthbearer(ctx: &mut Ctx<'_>, token: &[u8]) -> Step {
    let Some(validator) = ctx.broker.config().sasl.oauthbearer.clone() else {
        return Step::Fail("OAUTHBEARER is not configured".into());
    };
    match validator.validate_message(token) {
        Ok(v) => Step::Done {
            user: v.principal,
            reply: Vec::new(),
            expires: Some(v.expires),
        },
        Err(reason) => {
            ctx.session.sasl = SaslState::OAuthRefused(format!(
                "Authentication failed: {} ({reason})",
                String::from_utf8_lossy(&crate::sasl::oauth::error_challenge())
            ));
            Step::Continue(crate::sasl::oauth::error_challenge())
        }
    }
}

/// Compares without an early exit, so the time taken does not reveal how much of a password matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        diff |= usize::from(a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0));
    }
    diff == 0
}
