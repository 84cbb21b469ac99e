//! Per-connection state: who the client is (its principal, once SASL has run) and where it is in the SASL
//! exchange. Below the API handlers, which read and update it.

use strait_access::Principal;

use crate::sasl::scram::{ScramExchange, ScramHash};

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
    /// The current login: who, how, and until when (KIP-368). Kept while the client re-authenticates, cleared
    /// when an attempt fails.
    pub login: Option<Login>,
}

/// A completed SASL authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Login {
    pub user: String,
    pub mechanism: Mechanism,
    /// When the session ends unless the client re-authenticates first (`None`: never).
    pub expires: Option<std::time::Instant>,
}

impl Session {
    /// Whether the connection holds a login that has not expired at `now`.
    pub fn logged_in(&self, now: std::time::Instant) -> bool {
        self.login
            .as_ref()
            .is_some_and(|l| l.expires.is_none_or(|e| now < e))
    }
}

impl Default for Session {
    fn default() -> Self {
        Session {
            client_id: None,
            peer: None,
            sasl: SaslState::default(),
            principal: Principal::anonymous(),
            login: None,
        }
    }
}

/// A SASL mechanism this broker can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Scram(ScramHash),
    /// `aws-msk-iam-auth`'s mechanism: a SigV4-presigned JSON payload (`api::sasl_aws`).
    AwsMskIam,
    /// OAUTHBEARER (RFC 7628): a JWT checked against the configured keys (`sasl::oauth`), or a token of the MSK
    /// IAM signer libraries (`api::sasl_aws`), verified against the node's AWS keys.
    OAuthBearer,
}

impl Mechanism {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Scram(h) => h.mechanism_name(),
            Mechanism::AwsMskIam => "AWS_MSK_IAM",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    pub(crate) fn parse(name: &str) -> Option<Mechanism> {
        match name {
            "PLAIN" => Some(Mechanism::Plain),
            "AWS_MSK_IAM" => Some(Mechanism::AwsMskIam),
            "OAUTHBEARER" => Some(Mechanism::OAuthBearer),
            other => ScramHash::from_name(other).map(Mechanism::Scram),
        }
    }

    /// How the principal was established, for the authorizer.
    pub(crate) fn auth_mechanism(self) -> strait_access::AuthMechanism {
        match self {
            Mechanism::Plain => strait_access::AuthMechanism::SaslPlain,
            Mechanism::Scram(_) => strait_access::AuthMechanism::SaslScram,
            Mechanism::AwsMskIam => strait_access::AuthMechanism::AwsSigV4,
            Mechanism::OAuthBearer => strait_access::AuthMechanism::SaslOAuthBearer,
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
    /// SCRAM's first round is answered; the next SaslAuthenticate carries the client's proof.
    Scram(Box<ScramExchange>),
    /// OAUTHBEARER refused the token and sent RFC 7628's error challenge; the client's next SaslAuthenticate
    /// (`%x01`) is answered with this failure message.
    OAuthRefused(String),
    /// Authenticated as this principal.
    Authenticated(String),
    /// A failed attempt: the connection gets no second try (Kafka closes it).
    Failed,
}
