//! `strait dev --tls`: a development CA, a server certificate for `localhost`/`127.0.0.1`/`::1` and a client
//! certificate, generated into `<data dir>/tls/` on first use and reused afterwards (clients keep trusting the
//! same CA across restarts). The CA key is kept (owner-only, like every file here) so more certificates can be
//! issued for tests; nothing here is meant for production.

use std::io::Write;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SerialNumber,
};

use super::TlsError;

/// The files of a development PKI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevCerts {
    pub dir: PathBuf,
    pub ca: PathBuf,
    pub ca_key: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

/// The subject of the generated client certificate; its Kafka principal is `User:CN=strait-dev-client,OU=dev`.
pub const CLIENT_DN: &str = "CN=strait-dev-client,OU=dev";

impl DevCerts {
    /// Where the files live under `data_dir` (whether or not they exist yet).
    pub fn paths(data_dir: &Path) -> DevCerts {
        let dir = data_dir.join("tls");
        DevCerts {
            ca: dir.join("ca.pem"),
            ca_key: dir.join("ca-key.pem"),
            server_cert: dir.join("server.pem"),
            server_key: dir.join("server-key.pem"),
            client_cert: dir.join("client.pem"),
            client_key: dir.join("client-key.pem"),
            dir,
        }
    }

    fn all(&self) -> [&PathBuf; 6] {
        [
            &self.ca,
            &self.ca_key,
            &self.server_cert,
            &self.server_key,
            &self.client_cert,
            &self.client_key,
        ]
    }

    /// Reuses the files under `data_dir/tls` when they are all there, otherwise generates a new set (with a new
    /// CA).
    pub fn ensure(data_dir: &Path) -> Result<(DevCerts, bool), TlsError> {
        let certs = DevCerts::paths(data_dir);
        if certs.all().iter().all(|p| p.is_file()) {
            return Ok((certs, false));
        }
        create_private_dir(&certs.dir).map_err(|source| TlsError::Write {
            path: certs.dir.clone(),
            source,
        })?;
        let ca_key = KeyPair::generate()?;
        let mut ca = params(&[], "Strait development CA", None)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, &ca_key);

        let server_key = KeyPair::generate()?;
        let mut server = params(&["localhost", "127.0.0.1", "::1"], "localhost", None)?;
        server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let server_cert = server.signed_by(&server_key, &issuer)?;

        let client_key = KeyPair::generate()?;
        let mut client = params(&[], "strait-dev-client", Some("dev"))?;
        client.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client.signed_by(&client_key, &issuer)?;

        write_file(&certs.ca, ca_cert.pem().as_bytes())?;
        write_file(&certs.ca_key, ca_key.serialize_pem().as_bytes())?;
        write_file(&certs.server_cert, server_cert.pem().as_bytes())?;
        write_file(&certs.server_key, server_key.serialize_pem().as_bytes())?;
        write_file(&certs.client_cert, client_cert.pem().as_bytes())?;
        write_file(&certs.client_key, client_key.serialize_pem().as_bytes())?;
        Ok((certs, true))
    }

    /// What to give clients, for the startup banner.
    pub fn client_settings(&self, kafka: &str, aws: &str, admin: &str) -> String {
        let (ca, cert, key) = (
            self.ca.display(),
            self.client_cert.display(),
            self.client_key.display(),
        );
        format!(
            "TLS is on (strait dev --tls); certificates in {dir}\n\
             \n\
             Kafka, librdkafka (confluent-kafka, kcat):\n\
             \x20 bootstrap.servers={kafka}\n\
             \x20 security.protocol=ssl\n\
             \x20 ssl.ca.location={ca}\n\
             \x20 # mutual TLS (principal User:{CLIENT_DN}):\n\
             \x20 ssl.certificate.location={cert}\n\
             \x20 ssl.key.location={key}\n\
             \n\
             Kafka, Java client:\n\
             \x20 security.protocol=SSL\n\
             \x20 ssl.truststore.type=PEM\n\
             \x20 ssl.truststore.location={ca}\n\
             \x20 # mutual TLS: ssl.keystore.type=PEM with ssl.keystore.certificate.chain and ssl.keystore.key set\n\
             \x20 # to the contents of {cert} and {key}\n\
             \n\
             AWS SDKs and CLI:\n\
             \x20 AWS_ENDPOINT_URL=https://{aws} AWS_CA_BUNDLE={ca}\n\
             \n\
             curl:\n\
             \x20 curl --cacert {ca} https://{admin}/healthz\n",
            dir = self.dir.display(),
        )
    }
}

fn params(
    sans: &[&str],
    common_name: &str,
    unit: Option<&str>,
) -> Result<CertificateParams, TlsError> {
    let mut p = CertificateParams::new(sans.iter().map(|s| s.to_string()).collect::<Vec<_>>())?;
    let mut dn = DistinguishedName::new();
    if let Some(unit) = unit {
        dn.push(DnType::OrganizationalUnitName, unit);
    }
    dn.push(DnType::CommonName, common_name);
    p.distinguished_name = dn;
    // A random positive serial, so a regenerated certificate is told apart from the old one.
    let mut serial = *uuid::Uuid::new_v4().as_bytes();
    serial[0] &= 0x7f;
    p.serial_number = Some(SerialNumber::from_slice(&serial));
    Ok(p)
}

/// Creates `dir` and its missing parents, readable by the owner only. Also used for the node's data directory
/// (segments hold every stream's records).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir)
}

/// Writes a file readable by the owner only (private keys among them).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), TlsError> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let write = || -> std::io::Result<()> {
        let mut f = o.open(path)?;
        f.write_all(bytes)?;
        f.sync_all()
    };
    write().map_err(|source| TlsError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generates_once_then_reuses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (certs, fresh) = DevCerts::ensure(dir.path()).expect("generate");
        assert!(fresh);
        let first = std::fs::read(&certs.server_cert).expect("read");
        let (again, fresh) = DevCerts::ensure(dir.path()).expect("reuse");
        assert!(!fresh);
        assert_eq!(again, certs);
        assert_eq!(std::fs::read(&certs.server_cert).expect("read"), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode(&certs.dir), 0o700);
            assert_eq!(mode(&certs.server_key), 0o600);
        }
        let client = <rustls_pki_types::CertificateDer<'static> as rustls_pki_types::pem::PemObject>::from_pem_file(
            &certs.client_cert,
        )
        .expect("client PEM");
        assert_eq!(
            crate::cert_principal::subject_dn(&client).expect("DN"),
            CLIENT_DN
        );
    }
}
