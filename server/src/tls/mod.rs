//! TLS on the listeners: rustls on the aws-lc-rs provider, certificates from PEM files reloaded when they change
//! ([`ReloadingCert`]), optional or required client certificates against a CA file (mutual TLS), and the
//! Kafka principal of a client certificate ([`PrincipalMapper`]).
//!
//! The handshake runs in the connection's own task, bounded by [`HANDSHAKE_TIMEOUT`], so a client that connects
//! and sends nothing (or plain Kafka or HTTP bytes) costs one connection slot for a few seconds and never blocks
//! the accept loop. The Kafka listener sets no ALPN (Kafka clients send none); the HTTP listeners offer `h2` and
//! `http/1.1`. `strait dev --tls` makes its certificates with [`dev`].

pub mod dev;
mod reload;
pub mod stream;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::crypto::CryptoProvider;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::CertificateDer;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

pub use crate::cert_principal::{PrincipalError, PrincipalMapper, RuleError, subject_dn};
pub use reload::ReloadingCert;
pub use stream::MaybeTls;

use crate::config::{ClientAuth, TlsConfig};

/// How long a client has to complete the TLS handshake after connecting.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// ALPN protocols of the HTTP listeners, in preference order.
pub const HTTP_ALPN: &[&[u8]] = &[b"h2", b"http/1.1"];

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read TLS certificates from {}: {reason}", path.display())]
    Certificates { path: PathBuf, reason: String },
    // The reason comes from the PEM parser or rustls and never quotes the key's bytes.
    #[error("cannot use the TLS private key in {}: {reason}", path.display())]
    Key { path: PathBuf, reason: String },
    #[error("cannot trust the client CA certificates in {}: {reason}", path.display())]
    ClientCa { path: PathBuf, reason: String },
    #[error("TLS configuration refused: {0}")]
    Rustls(#[from] rustls::Error),
    #[error("kafka.principal_mapping_rules: {0}")]
    PrincipalRules(#[from] RuleError),
    #[error("cannot generate development certificates: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Makes aws-lc-rs the process's rustls provider. `main` calls it first: with a second provider compiled in
/// (a dependency may pull ring), rustls could not pick one by itself.
pub fn install_default_provider() {
    // Err means one is already installed, which is what was asked for.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

fn provider() -> Arc<CryptoProvider> {
    CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
}

/// The server side of one TLS listener.
#[derive(Clone)]
pub struct ServerTls {
    listener: &'static str,
    acceptor: TlsAcceptor,
    cert: Arc<ReloadingCert>,
    /// Kafka only: how a client certificate becomes the connection's principal.
    mapper: Option<Arc<PrincipalMapper>>,
}

// By hand: the acceptor is not `Debug`, and the listener name is what a reader of a `Debug` dump needs.
impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("listener", &self.listener)
            .field("maps_principals", &self.mapper.is_some())
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// The TLS side of `listener` from its `[*.tls]` section, or `None` when TLS is off. Starts the task that
    /// reloads the certificate when its files change (when called inside a Tokio runtime).
    pub fn from_config(
        listener: &'static str,
        cfg: &TlsConfig,
        alpn: &[&[u8]],
    ) -> Result<Option<ServerTls>, TlsError> {
        if !cfg.enabled {
            return Ok(None);
        }
        // Validation makes both present when TLS is on; a missing one reads as an unreadable file.
        let cert_file = cfg.cert_file.clone().unwrap_or_default();
        let key_file = cfg.key_file.clone().unwrap_or_default();
        let provider = provider();
        let cert = Arc::new(ReloadingCert::load(
            &cert_file,
            &key_file,
            provider.clone(),
        )?);
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match (cfg.client_auth, &cfg.client_ca_file) {
            (ClientAuth::None, _) | (_, None) => builder.with_no_client_auth(),
            (auth, Some(ca)) => {
                let ca_error = |reason: String| TlsError::ClientCa {
                    path: ca.clone(),
                    reason,
                };
                let mut roots = RootCertStore::empty();
                for c in reload::load_certs(ca)? {
                    roots.add(c).map_err(|e| ca_error(e.to_string()))?;
                }
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
                let verifier = if auth == ClientAuth::Requested {
                    verifier.allow_unauthenticated()
                } else {
                    verifier
                };
                builder.with_client_cert_verifier(
                    verifier.build().map_err(|e| ca_error(e.to_string()))?,
                )
            }
        };
        let mut config = builder.with_cert_resolver(cert.clone());
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        if tokio::runtime::Handle::try_current().is_ok() {
            cert.watch(listener, Duration::from_millis(cfg.reload_interval_ms));
        }
        Ok(Some(ServerTls {
            listener,
            acceptor: TlsAcceptor::from(Arc::new(config)),
            cert,
            mapper: None,
        }))
    }

    /// Maps client certificates to principals with `mapper` (the Kafka listener).
    pub fn with_principal_mapper(mut self, mapper: PrincipalMapper) -> ServerTls {
        self.mapper = Some(Arc::new(mapper));
        self
    }

    /// The certificate resolver, to reload by hand (tests).
    pub fn certificate(&self) -> &Arc<ReloadingCert> {
        &self.cert
    }

    /// Runs the server handshake on an accepted connection, within [`HANDSHAKE_TIMEOUT`].
    pub async fn accept(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, std::io::Error> {
        let done = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp)).await;
        let result = match done {
            Ok(r) => r,
            Err(_) => Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "TLS handshake timed out",
            )),
        };
        if let Err(e) = &result {
            metrics::counter!("strait_tls_handshake_failures_total", "listener" => self.listener)
                .increment(1);
            crate::log_limited!(
                info,
                "tls_handshake_failed",
                listener = self.listener,
                error = %e,
                "TLS handshake failed"
            );
        }
        result
    }

    /// The principal name of the connection's client certificate, `None` without one (or on a listener without
    /// a mapper).
    pub fn principal_of(
        &self,
        stream: &TlsStream<TcpStream>,
    ) -> Option<Result<String, PrincipalError>> {
        let mapper = self.mapper.as_ref()?;
        let leaf: &CertificateDer<'_> = stream.get_ref().1.peer_certificates()?.first()?;
        Some(mapper.map_certificate(leaf))
    }
}
