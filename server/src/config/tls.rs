//! TLS settings of a listener (`[kafka.tls]`, `[aws.tls]`, `[admin.tls]`) and the startup checks that keep a
//! listener reachable from other machines from running in the clear by accident.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{AwsAuth, Config, ConfigError};

/// Whether the listener asks clients for a certificate (Kafka's `ssl.client.auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// No client certificate is asked for. The default.
    #[default]
    None,
    /// A certificate is asked for; a client without one still connects (and is authenticated otherwise, or is
    /// anonymous), but a certificate that does not chain to `client_ca_file` fails the handshake.
    Requested,
    /// A certificate chaining to `client_ca_file` is required (mutual TLS).
    Required,
}

impl ClientAuth {
    /// The name used in configuration files.
    pub fn name(self) -> &'static str {
        match self {
            ClientAuth::None => "none",
            ClientAuth::Requested => "requested",
            ClientAuth::Required => "required",
        }
    }
}

/// TLS on one listener. Off by default; `strait dev --tls` turns it on with generated certificates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// Serve TLS (Kafka `SSL`/`SASL_SSL`, HTTPS) instead of plain TCP. Default false.
    pub enabled: bool,
    /// PEM file with the server's certificate chain, leaf first. Required when enabled.
    pub cert_file: Option<PathBuf>,
    /// PEM file with the server's private key (PKCS#8, PKCS#1 or SEC1). Required when enabled.
    pub key_file: Option<PathBuf>,
    /// See [`ClientAuth`]. Default `none`.
    pub client_auth: ClientAuth,
    /// PEM file with the CA certificates client certificates must chain to. Required unless `client_auth` is
    /// `none`.
    pub client_ca_file: Option<PathBuf>,
    /// How often the certificate and key files are checked for changes (by modification time); a change is
    /// loaded for new connections, open ones keep the certificate they started with. Default 10000 (10 s).
    pub reload_interval_ms: u64,
}

impl Default for TlsConfig {
    fn default() -> Self {
        TlsConfig {
            enabled: false,
            cert_file: None,
            key_file: None,
            client_auth: ClientAuth::None,
            client_ca_file: None,
            reload_interval_ms: 10_000,
        }
    }
}

/// The default of `kafka.principal_mapping_rules`: the subject DN as it is.
pub(super) fn default_principal_mapping_rules() -> Vec<String> {
    vec!["DEFAULT".to_string()]
}

impl TlsConfig {
    fn validate(&self, section: &'static str) -> Result<(), ConfigError> {
        let invalid = |field: &str, reason: String| {
            Err(ConfigError::InvalidTls {
                key: format!("{section}.tls.{field}"),
                reason,
            })
        };
        if !self.enabled {
            return Ok(());
        }
        if self.cert_file.is_none() || self.key_file.is_none() {
            return invalid(
                "cert_file",
                format!(
                    "{section}.tls.enabled = true needs both {section}.tls.cert_file and {section}.tls.key_file"
                ),
            );
        }
        if self.client_auth != ClientAuth::None && self.client_ca_file.is_none() {
            return invalid(
                "client_ca_file",
                format!(
                    "client_auth = \"{}\" needs {section}.tls.client_ca_file (the CA client certificates must \
                     chain to)",
                    self.client_auth.name()
                ),
            );
        }
        if self.reload_interval_ms == 0 {
            return invalid("reload_interval_ms", "must be at least 1".into());
        }
        Ok(())
    }
}

/// Whether a listen address is reachable only from this machine.
fn is_loopback(addr: SocketAddr) -> bool {
    addr.ip().is_loopback()
}

impl Config {
    /// Checks the `[*.tls]` sections, the principal mapping rules, and that no listener reachable from other
    /// machines runs without TLS or authentication unless its `insecure = true` says so.
    pub(super) fn validate_tls(&self) -> Result<(), ConfigError> {
        self.kafka.tls.validate("kafka")?;
        self.aws.tls.validate("aws")?;
        self.admin.tls.validate("admin")?;
        if let Err(e) =
            crate::cert_principal::PrincipalMapper::parse(&self.kafka.principal_mapping_rules)
        {
            return Err(ConfigError::Invalid {
                key: "kafka.principal_mapping_rules",
                reason: e.to_string(),
            });
        }
        let kafka_auth = self.kafka_sasl_required();
        let checks = [
            (
                "kafka",
                self.kafka.listen,
                self.kafka.tls.enabled || kafka_auth,
                self.kafka.insecure,
                "set kafka.tls (enabled, cert_file, key_file) or SASL users (kafka.sasl_plain_users, kafka.sasl)",
            ),
            (
                "aws",
                self.aws.listen,
                self.aws.tls.enabled || self.aws.auth == AwsAuth::Sigv4,
                self.aws.insecure,
                "set aws.tls (enabled, cert_file, key_file) or aws.auth = \"sigv4\"",
            ),
            (
                "admin",
                self.admin.listen,
                self.admin.tls.enabled,
                self.admin.insecure,
                "set admin.tls (enabled, cert_file, key_file)",
            ),
        ];
        for (name, addr, protected, insecure, fix) in checks {
            if !is_loopback(addr) && !protected && !insecure {
                return Err(ConfigError::Insecure {
                    listener: name,
                    addr,
                    fix,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(cfg: &Config) -> String {
        match cfg.validate() {
            Ok(()) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    fn with_files(tls: &mut TlsConfig) {
        tls.enabled = true;
        tls.cert_file = Some("server.pem".into());
        tls.key_file = Some("server-key.pem".into());
    }

    #[test]
    fn enabled_tls_needs_its_files_and_a_ca_for_client_auth() {
        let mut cfg = Config::default();
        cfg.aws.tls.enabled = true;
        assert!(error(&cfg).contains("aws.tls.cert_file"));
        with_files(&mut cfg.aws.tls);
        cfg.validate().expect("files given");
        cfg.aws.tls.client_auth = ClientAuth::Required;
        assert!(error(&cfg).contains("aws.tls.client_ca_file"));
        cfg.aws.tls.client_ca_file = Some("ca.pem".into());
        cfg.validate().expect("CA given");
        cfg.admin.tls.enabled = true;
        cfg.admin.tls.cert_file = Some("server.pem".into());
        assert!(error(&cfg).contains("admin.tls.cert_file"), "key missing");
    }

    #[test]
    fn principal_mapping_rules_are_checked_at_load() {
        let mut cfg = Config::default();
        cfg.kafka.principal_mapping_rules = vec!["RULE:^CN=(.*)$/$1/X".into()];
        assert!(error(&cfg).contains("kafka.principal_mapping_rules"));
        cfg.kafka.principal_mapping_rules =
            vec!["RULE:^CN=(.*?),.*$/$1/L".into(), "DEFAULT".into()];
        cfg.validate().expect("valid rules");
    }

    #[test]
    fn open_listeners_beyond_loopback_need_consent() {
        let everywhere = |port| SocketAddr::from(([0, 0, 0, 0], port));
        let mut cfg = Config::default();
        cfg.kafka.listen = everywhere(9092);
        let msg = error(&cfg);
        assert!(
            msg.contains("kafka listener on 0.0.0.0:9092") && msg.contains("kafka.insecure = true"),
            "{msg}"
        );
        cfg.kafka.insecure = true;
        cfg.validate().expect("insecure, knowingly");
        cfg.kafka.insecure = false;
        with_files(&mut cfg.kafka.tls);
        cfg.validate().expect("TLS protects it");
        cfg.kafka.tls = TlsConfig::default();
        cfg.kafka
            .sasl_plain_users
            .insert("alice".into(), "secret".into());
        cfg.security.allow_unauthenticated_aws = true;
        cfg.validate().expect("SASL protects it");

        let mut cfg = Config::default();
        cfg.aws.listen = everywhere(4566);
        assert!(error(&cfg).contains("aws.insecure"));
        with_files(&mut cfg.aws.tls);
        cfg.validate().expect("HTTPS protects it");

        let mut cfg = Config::default();
        cfg.admin.listen = everywhere(9644);
        assert!(error(&cfg).contains("admin.tls"));
        cfg.admin.insecure = true;
        cfg.validate().expect("insecure, knowingly");

        let mut cfg = Config::default();
        cfg.aws.listen = "[::1]:4566".parse().expect("addr");
        cfg.validate().expect("IPv6 loopback is loopback");
    }
}
