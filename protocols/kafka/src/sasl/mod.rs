//! SASL mechanisms beyond the handshake plumbing of `api::sasl`: SCRAM (`scram`) with its credential store
//! (`credentials`), OAUTHBEARER (`oauth`), and the settings they share, including re-authentication (KIP-368).
//!
//! Each mechanism turns one SaslAuthenticate token into a [`Step`]; `api::sasl` owns the session state machine
//! and turns a finished step into a login.

pub mod credentials;
pub mod oauth;
pub mod scram;

use std::sync::Arc;
use std::time::SystemTime;

use credentials::BootstrapUser;

/// SASL settings of the broker (beyond `BrokerConfig::sasl_plain_users`).
#[derive(Debug, Clone, Default)]
pub struct SaslConfig {
    /// SCRAM users from the configuration (see `credentials` for how they combine with stored ones).
    pub scram_users: Vec<BootstrapUser>,
    /// Kafka's `connections.max.reauth.ms`: a session lasts at most this long unless the client re-authenticates
    /// (SaslAuthenticate v1+ tells it `session_lifetime_ms`). 0: sessions do not expire on this account.
    pub max_reauth_ms: u64,
    /// OAUTHBEARER, when configured (its JWKS already loaded).
    pub oauthbearer: Option<Arc<oauth::OAuthValidator>>,
}

/// What one SaslAuthenticate token led to.
#[derive(Debug)]
pub enum Step {
    /// Another round: send these bytes; the mechanism has updated the session state.
    Continue(Vec<u8>),
    /// Authenticated as `user`. `reply` is the last server message (may be empty); `expires` is when the
    /// credential itself stops being valid (an OAUTHBEARER token's `exp`).
    Done {
        user: String,
        reply: Vec<u8>,
        expires: Option<SystemTime>,
    },
    /// Refused, with the message for the client.
    Fail(String),
}
