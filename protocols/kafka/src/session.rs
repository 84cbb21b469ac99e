//! Per-connection state: who the client is (its principal, once SASL has run) and where it is in the SASL
//! exchange. Below the API handlers, which read and update it.

use strait_access::Principal;

/// Per-connection state (client identity, SASL progress).
#[derive(Debug)]
pub struct Session {
    pub client_id: Option<String>,
    pub peer: Option<std::net::SocketAddr>,
    /// SASL progress; only consulted when the broker requires authentication.
    pub sasl: SaslState,
    /// Who the connection acts as for the authorizer: `User:ANONYMOUS` until (or without) SASL, then the
    /// authenticated user.
    pub principal: Principal,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            client_id: None,
            peer: None,
            sasl: SaslState::default(),
            principal: Principal::anonymous(),
        }
    }
}

/// A SASL mechanism this broker can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
}

impl Mechanism {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            _ => None,
        }
    }
}

/// Where a connection is in the SASL exchange.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SaslState {
    #[default]
    Start,
    /// Handshake done; the next SaslAuthenticate uses this mechanism.
    Negotiated(Mechanism),
    /// Authenticated as this principal.
    Authenticated(String),
    /// A failed attempt: the connection gets no second try (Kafka closes it).
    Failed,
}
