//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802 / RFC 7677) as Apache Kafka runs them: the server side of the
//! two-round exchange, and the derivation of stored credentials.
//!
//! The broker stores, per user and mechanism, only `(salt, iterations, StoredKey, ServerKey)` (RFC 5802 §3), never
//! the password. Kafka's variant: channel binding is never used (`n,,` only; `y`/`p` are refused), an authzid
//! is accepted only when it equals the user name, and the `tokenauth` extension (delegation tokens) is refused
//! because Strait has no delegation tokens.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256, Sha512};
use subtle::ConstantTimeEq;

/// Kafka's `ScramMechanism` minimum: fewer iterations are refused at creation.
pub const MIN_ITERATIONS: u32 = 4096;
/// Kafka's `ScramMechanism` maximum.
pub const MAX_ITERATIONS: u32 = 16384;
/// Length of the server's part of the nonce, in random bytes (base64-encoded on the wire).
const SERVER_NONCE_BYTES: usize = 24;

/// One of the two SCRAM hash functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub fn mechanism_name(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism's number in DescribeUserScramCredentials / AlterUserScramCredentials (0 is UNKNOWN).
    pub fn wire_type(self) -> i8 {
        match self {
            ScramHash::Sha256 => 1,
            ScramHash::Sha512 => 2,
        }
    }

    pub fn from_wire_type(t: i8) -> Option<ScramHash> {
        match t {
            1 => Some(ScramHash::Sha256),
            2 => Some(ScramHash::Sha512),
            _ => None,
        }
    }

    pub fn from_name(name: &str) -> Option<ScramHash> {
        match name {
            "SCRAM-SHA-256" => Some(ScramHash::Sha256),
            "SCRAM-SHA-512" => Some(ScramHash::Sha512),
            _ => None,
        }
    }

    fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
            // HMAC takes keys of any length, so this cannot fail.
            let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
            for p in parts {
                m.update(p);
            }
            m.finalize().into_bytes().to_vec()
        }
        match self {
            ScramHash::Sha256 => run::<Hmac<Sha256>>(key, parts),
            ScramHash::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramHash::Sha256 => Sha256::digest(data).to_vec(),
            ScramHash::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// RFC 5802 `Hi()`: PBKDF2 with this HMAC and a single output block (the output is one hash long).
    pub fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        let mut u = self.hmac(password, &[salt, &1u32.to_be_bytes()]);
        let mut out = u.clone();
        for _ in 1..iterations {
            u = self.hmac(password, &[&u]);
            for (o, x) in out.iter_mut().zip(&u) {
                *o ^= x;
            }
        }
        out
    }
}

/// What the broker keeps for one user and mechanism.
#[derive(Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScramCredential {
    pub salt: Vec<u8>,
    pub iterations: u32,
    pub stored_key: Vec<u8>,
    pub server_key: Vec<u8>,
}

impl std::fmt::Debug for ScramCredential {
    // The keys are password equivalents for an attacker who can also watch an exchange: never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramCredential")
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

impl ScramCredential {
    /// From a salted password (what AlterUserScramCredentials carries).
    pub fn from_salted(hash: ScramHash, salt: Vec<u8>, iterations: u32, salted: &[u8]) -> Self {
        let client_key = hash.hmac(salted, &[b"Client Key"]);
        ScramCredential {
            salt,
            iterations,
            stored_key: hash.hash(&client_key),
            server_key: hash.hmac(salted, &[b"Server Key"]),
        }
    }

    /// From a password (bootstrap users in the configuration), with a fresh random salt.
    pub fn from_password(hash: ScramHash, password: &str, iterations: u32) -> Self {
        let salt = rand::random::<[u8; 32]>().to_vec();
        let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
        Self::from_salted(hash, salt, iterations, &salted)
    }
}

/// Why an exchange failed. The message goes back to the client in SaslAuthenticate's `error_message`, so it
/// never says whether the user exists.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("Authentication failed: invalid SCRAM client-first message: {0}")]
    BadFirstMessage(&'static str),
    #[error("Authentication failed: invalid SCRAM client-final message: {0}")]
    BadFinalMessage(&'static str),
    #[error("Authentication failed: channel binding is not supported")]
    ChannelBinding,
    #[error(
        "Authentication failed: the tokenauth extension (delegation tokens) is not supported by this broker"
    )]
    TokenAuth,
    #[error(
        "Authentication failed: Client requested an authorization id that is different from username"
    )]
    AuthzId,
    #[error("Authentication failed: Invalid nonce")]
    Nonce,
    #[error("Authentication failed: Invalid user credentials")]
    InvalidCredentials,
}

/// The server's state between the two client messages.
#[derive(Clone, PartialEq, Eq)]
pub struct ScramExchange {
    hash: ScramHash,
    user: String,
    /// `None` for an unknown user: the exchange goes on with made-up parameters and fails at the proof, so the
    /// answer to the first message does not reveal whether the user exists (RFC 5802 §5.1).
    credential: Option<ScramCredential>,
    gs2_header: String,
    client_first_bare: String,
    server_first: String,
    nonce: String,
}

impl std::fmt::Debug for ScramExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramExchange")
            .field("hash", &self.hash)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// The parts of a client-first message.
#[derive(Debug, PartialEq, Eq)]
pub struct ClientFirst {
    pub user: String,
    pub nonce: String,
    gs2_header: String,
    bare: String,
}

/// Parses `gs2-header client-first-message-bare` (RFC 5802 §7, with Kafka's extensions after the nonce).
pub fn parse_client_first(msg: &[u8]) -> Result<ClientFirst, ScramError> {
    let msg = std::str::from_utf8(msg).map_err(|_| ScramError::BadFirstMessage("not UTF-8"))?;
    let (cbind, rest) = msg
        .split_once(',')
        .ok_or(ScramError::BadFirstMessage("no GS2 header"))?;
    match cbind {
        "n" => {}
        "y" | "p" => return Err(ScramError::ChannelBinding),
        _ if cbind.starts_with("p=") => return Err(ScramError::ChannelBinding),
        _ => return Err(ScramError::BadFirstMessage("bad channel-binding flag")),
    }
    let (authzid, bare) = rest
        .split_once(',')
        .ok_or(ScramError::BadFirstMessage("no GS2 header"))?;
    let gs2_header = format!("{cbind},{authzid},");
    let authzid = match authzid {
        "" => None,
        a => Some(
            a.strip_prefix("a=")
                .ok_or(ScramError::BadFirstMessage("bad authzid"))
                .and_then(|a| {
                    decode_saslname(a).ok_or(ScramError::BadFirstMessage("bad authzid"))
                })?,
        ),
    };
    let mut attrs = bare.split(',');
    let user = attrs
        .next()
        .and_then(|a| a.strip_prefix("n="))
        .ok_or(ScramError::BadFirstMessage("no user name"))?;
    let user = decode_saslname(user).ok_or(ScramError::BadFirstMessage("bad user name"))?;
    let nonce = attrs
        .next()
        .and_then(|a| a.strip_prefix("r="))
        .ok_or(ScramError::BadFirstMessage("no nonce"))?;
    if nonce.is_empty()
        || !nonce
            .bytes()
            .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
    {
        return Err(ScramError::BadFirstMessage("bad nonce"));
    }
    for ext in attrs {
        let (key, _) = ext
            .split_once('=')
            .ok_or(ScramError::BadFirstMessage("bad extension"))?;
        if key == "tokenauth" {
            return Err(ScramError::TokenAuth);
        }
        // Other extensions are ignored, as Kafka's ScramSaslServer does.
    }
    if user.is_empty() {
        return Err(ScramError::BadFirstMessage("empty user name"));
    }
    if authzid.is_some_and(|a| a != user) {
        return Err(ScramError::AuthzId);
    }
    Ok(ClientFirst {
        user,
        nonce: nonce.to_string(),
        gs2_header,
        bare: bare.to_string(),
    })
}

/// RFC 5802 saslname: `=2C` is `,` and `=3D` is `=`; any other `=` is invalid.
fn decode_saslname(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('=') {
        out.push_str(&rest[..i]);
        match rest.get(i..i + 3) {
            Some("=2C") => out.push(','),
            Some("=3D") => out.push('='),
            _ => return None,
        }
        rest = &rest[i + 3..];
    }
    out.push_str(rest);
    Some(out)
}

impl ScramExchange {
    /// Answers the client-first message: returns the exchange to keep and the server-first message.
    /// `credential` is the user's stored credential for `hash`, if any.
    pub fn start(
        hash: ScramHash,
        first: ClientFirst,
        credential: Option<ScramCredential>,
    ) -> (ScramExchange, Vec<u8>) {
        let server_nonce = B64.encode(rand::random::<[u8; SERVER_NONCE_BYTES]>());
        Self::start_with_nonce(hash, first, credential, &server_nonce)
    }

    /// [`start`](Self::start) with a chosen server nonce (the RFC test vectors fix it).
    pub(crate) fn start_with_nonce(
        hash: ScramHash,
        first: ClientFirst,
        credential: Option<ScramCredential>,
        server_nonce: &str,
    ) -> (ScramExchange, Vec<u8>) {
        let nonce = format!("{}{server_nonce}", first.nonce);
        // An unknown user gets a plausible salt and the minimum count; the proof check then fails.
        let (salt, iterations) = match &credential {
            Some(c) => (c.salt.clone(), c.iterations),
            None => (rand::random::<[u8; 32]>().to_vec(), MIN_ITERATIONS),
        };
        let server_first = format!("r={nonce},s={},i={iterations}", B64.encode(salt));
        let bytes = server_first.clone().into_bytes();
        (
            ScramExchange {
                hash,
                user: first.user,
                credential,
                gs2_header: first.gs2_header,
                client_first_bare: first.bare,
                server_first,
                nonce,
            },
            bytes,
        )
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn hash(&self) -> ScramHash {
        self.hash
    }

    /// Checks the client-final message; on success returns the server-final message (`v=ServerSignature`).
    pub fn finish(&self, msg: &[u8]) -> Result<Vec<u8>, ScramError> {
        let msg = std::str::from_utf8(msg).map_err(|_| ScramError::BadFinalMessage("not UTF-8"))?;
        let (without_proof, proof) = msg
            .rsplit_once(",p=")
            .ok_or(ScramError::BadFinalMessage("no proof"))?;
        let mut attrs = without_proof.split(',');
        let cbind = attrs
            .next()
            .and_then(|a| a.strip_prefix("c="))
            .ok_or(ScramError::BadFinalMessage("no channel binding"))?;
        let nonce = attrs
            .next()
            .and_then(|a| a.strip_prefix("r="))
            .ok_or(ScramError::BadFinalMessage("no nonce"))?;
        if B64.decode(cbind).ok().as_deref() != Some(self.gs2_header.as_bytes()) {
            return Err(ScramError::ChannelBinding);
        }
        if nonce != self.nonce {
            return Err(ScramError::Nonce);
        }
        let proof = B64
            .decode(proof)
            .map_err(|_| ScramError::BadFinalMessage("proof is not base64"))?;
        let Some(cred) = &self.credential else {
            return Err(ScramError::InvalidCredentials);
        };
        let auth_message = format!(
            "{},{},{without_proof}",
            self.client_first_bare, self.server_first
        );
        let client_signature = self.hash.hmac(&cred.stored_key, &[auth_message.as_bytes()]);
        if proof.len() != client_signature.len() {
            return Err(ScramError::InvalidCredentials);
        }
        let client_key: Vec<u8> = proof
            .iter()
            .zip(&client_signature)
            .map(|(p, s)| p ^ s)
            .collect();
        if !bool::from(self.hash.hash(&client_key).ct_eq(&cred.stored_key)) {
            return Err(ScramError::InvalidCredentials);
        }
        let server_signature = self.hash.hmac(&cred.server_key, &[auth_message.as_bytes()]);
        Ok(format!("v={}", B64.encode(server_signature)).into_bytes())
    }
}

#[cfg(test)]
#[path = "scram_tests.rs"]
mod tests;
