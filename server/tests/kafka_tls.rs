//! The Kafka listener over TLS, in-process on port 0: a client certificate's mapped principal reaches the
//! handler's session, a client without a certificate is refused when one is required, and a reloaded
//! certificate is presented to new connections only.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use strait::cert_principal::PrincipalMapper;
use strait::config::{ClientAuth, TlsConfig};
use strait::kafka::{self, KafkaHandler, Limits, Reply};
use strait::tls::ServerTls;
use strait::tls::dev::DevCerts;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsConnector;

/// Answers every frame with the session's certificate principal (or `-` without one).
struct WhoAmI;

#[derive(Debug, thiserror::Error)]
#[error("never")]
struct Never;

impl KafkaHandler for WhoAmI {
    type Error = Never;
    type Session = Option<String>;
    type Later = std::future::Ready<Result<Option<Bytes>, Never>>;

    fn open_session(&self, _peer: std::net::SocketAddr) -> Option<String> {
        None
    }

    fn certificate_principal(&self, session: &mut Option<String>, name: String) {
        *session = Some(name);
    }

    async fn handle(
        &self,
        session: &mut Option<String>,
        _frame: Bytes,
    ) -> Result<Reply<Self::Later>, Never> {
        let name = session.clone().unwrap_or_else(|| "-".into());
        Ok(Reply::Now(Some(Bytes::from(name).into())))
    }
}

async fn start(certs: &DevCerts, client_auth: ClientAuth) -> (std::net::SocketAddr, ServerTls) {
    let cfg = TlsConfig {
        enabled: true,
        cert_file: Some(certs.server_cert.clone()),
        key_file: Some(certs.server_key.clone()),
        client_auth,
        client_ca_file: Some(certs.ca.clone()),
        ..TlsConfig::default()
    };
    let mapper = PrincipalMapper::parse(&["RULE:^CN=([^,]+),OU=dev$/$1/U"]).expect("rules");
    let tls = ServerTls::from_config("kafka", &cfg, &[])
        .expect("TLS loads")
        .expect("enabled")
        .with_principal_mapper(mapper);
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(kafka::serve(
        listener,
        Arc::new(WhoAmI),
        Limits::default(),
        kafka::Guards {
            tls: Some(tls.clone()),
            ..kafka::Guards::default()
        },
        Duration::from_secs(1),
        std::future::pending(),
    ));
    (addr, tls)
}

fn connector(certs: &DevCerts, with_client_cert: bool) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from_pem_file(&certs.ca).expect("CA"))
        .expect("trusted");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots);
    let config = if with_client_cert {
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from_pem_file(&certs.client_cert).expect("cert")],
                PrivateKeyDer::from_pem_file(&certs.client_key).expect("key"),
            )
            .expect("client cert")
    } else {
        builder.with_no_client_auth()
    };
    TlsConnector::from(Arc::new(config))
}

/// Sends one frame and reads the answer's body; the server certificate's serial comes along.
async fn ask(
    addr: std::net::SocketAddr,
    connector: &TlsConnector,
) -> std::io::Result<(String, Vec<u8>)> {
    let tcp = TcpStream::connect(addr).await?;
    let name = ServerName::try_from("localhost").expect("name");
    let mut s = connector.connect(name, tcp).await?;
    let leaf = s.get_ref().1.peer_certificates().expect("server cert")[0].to_vec();
    s.write_all(&[0, 0, 0, 1, b'?']).await?;
    let mut len = [0u8; 4];
    s.read_exact(&mut len).await?;
    let mut body = vec![0; u32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).await?;
    Ok((String::from_utf8_lossy(&body).into_owned(), leaf))
}

#[tokio::test]
async fn the_client_certificate_is_the_sessions_principal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (certs, _) = DevCerts::ensure(dir.path()).expect("certs");
    let (addr, _tls) = start(&certs, ClientAuth::Requested).await;
    let (who, _) = ask(addr, &connector(&certs, true))
        .await
        .expect("with a certificate");
    assert_eq!(who, "STRAIT-DEV-CLIENT");
    let (who, _) = ask(addr, &connector(&certs, false))
        .await
        .expect("requested, not required");
    assert_eq!(who, "-");
}

#[tokio::test]
async fn a_required_certificate_is_required() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (certs, _) = DevCerts::ensure(dir.path()).expect("certs");
    let (addr, _tls) = start(&certs, ClientAuth::Required).await;
    assert!(
        ask(addr, &connector(&certs, false)).await.is_err(),
        "answered a client without a certificate"
    );
    let (who, _) = ask(addr, &connector(&certs, true))
        .await
        .expect("with a certificate");
    assert_eq!(who, "STRAIT-DEV-CLIENT");
}

#[tokio::test]
async fn a_reloaded_certificate_serves_new_connections() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (certs, _) = DevCerts::ensure(dir.path()).expect("certs");
    let (addr, tls) = start(&certs, ClientAuth::None).await;
    let (_, before) = ask(addr, &connector(&certs, false)).await.expect("first");
    // A second PKI's server pair, copied over the first: a different key and a different CA.
    let other = tempfile::tempdir().expect("tempdir");
    let (fresh, _) = DevCerts::ensure(other.path()).expect("certs");
    std::fs::copy(&fresh.server_key, &certs.server_key).expect("copy key");
    std::fs::copy(&fresh.server_cert, &certs.server_cert).expect("copy cert");
    tls.certificate().reload().expect("reloads");
    let (_, after) = ask(addr, &connector(&fresh, false)).await.expect("new CA");
    assert_ne!(before, after);
    assert_eq!(
        after,
        CertificateDer::from_pem_file(&fresh.server_cert)
            .expect("pem")
            .to_vec()
    );
    assert!(
        ask(addr, &connector(&certs, false)).await.is_err(),
        "old CA still trusted"
    );
}
