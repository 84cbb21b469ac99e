//! The server certificate, reloaded when its files change: a [`ResolvesServerCert`] whose key a small task swaps
//! after polling the files' modification times. New handshakes get the new certificate; open connections keep
//! the one they were made with. A file that fails to load (half written, say) keeps the old certificate in use
//! and is retried at the next change.

use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, SystemTime};

use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::TlsError;

/// The certificate and key every new handshake of one listener presents.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
    cert_file: PathBuf,
    key_file: PathBuf,
    provider: Arc<CryptoProvider>,
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

impl ReloadingCert {
    /// Loads the pair once; a failure here stops startup.
    pub fn load(
        cert_file: &Path,
        key_file: &Path,
        provider: Arc<CryptoProvider>,
    ) -> Result<ReloadingCert, TlsError> {
        let key = load_pair(cert_file, key_file, &provider)?;
        Ok(ReloadingCert {
            current: RwLock::new(Arc::new(key)),
            cert_file: cert_file.to_path_buf(),
            key_file: key_file.to_path_buf(),
            provider,
        })
    }

    pub fn current(&self) -> Arc<CertifiedKey> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Loads the files again and, if they form a valid pair, presents them from now on.
    pub fn reload(&self) -> Result<(), TlsError> {
        let key = load_pair(&self.cert_file, &self.key_file, &self.provider)?;
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(key);
        Ok(())
    }

    fn stamps(&self) -> (Option<SystemTime>, Option<SystemTime>) {
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        (mtime(&self.cert_file), mtime(&self.key_file))
    }

    /// Starts the task that polls the files every `interval`; it ends when the listener drops the resolver.
    pub fn watch(self: &Arc<Self>, listener: &'static str, interval: Duration) {
        let weak: Weak<ReloadingCert> = Arc::downgrade(self);
        let mut seen = self.stamps();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                let Some(this) = weak.upgrade() else { return };
                let now = this.stamps();
                if now == seen {
                    continue;
                }
                match this.reload() {
                    Ok(()) => {
                        seen = now;
                        metrics::counter!("strait_tls_cert_reloads_total", "listener" => listener)
                            .increment(1);
                        tracing::info!(
                            listener,
                            cert_file = %this.cert_file.display(),
                            "TLS certificate reloaded; new connections use it"
                        );
                    }
                    // Paths only: a key file's content never reaches the log.
                    Err(e) => tracing::warn!(
                        listener,
                        error = %e,
                        "TLS certificate files changed but do not load; keeping the previous certificate"
                    ),
                }
            }
        });
    }
}

fn load_pair(
    cert_file: &Path,
    key_file: &Path,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, TlsError> {
    let chain = load_certs(cert_file)?;
    let key = PrivateKeyDer::from_pem_file(key_file).map_err(|e| TlsError::Key {
        path: key_file.to_path_buf(),
        reason: e.to_string(),
    })?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| TlsError::Key {
        path: key_file.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Every certificate of a PEM file; at least one.
pub(super) fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let unreadable = |reason: String| TlsError::Certificates {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(e.to_string()))?;
    if certs.is_empty() {
        return Err(unreadable("no CERTIFICATE block in the file".into()));
    }
    Ok(certs)
}
