//! Layering and validation: defaults → TOML file → `STRAIT_*` environment → command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use super::{AwsAuth, ClusterConfigError, Config};

/// Environment variables `STRAIT_<SECTION>__<KEY>` override settings; `__` separates nesting levels because
/// keys themselves contain single underscores (`STRAIT_ENGINE__TOPIC_DEFAULTS__RETENTION_MS`).
pub const ENV_PREFIX: &str = "STRAIT_";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // Checked up front because figment treats a missing file as an empty one, which would start a deployment
    // on defaults after a typo in its path.
    #[error("config file {} does not exist", .0.display())]
    MissingFile(PathBuf),
    // Boxed: figment's error is large and would bloat every `Result` on the happy path.
    #[error("invalid configuration: {0}")]
    Parse(#[from] Box<figment::Error>),
    /// A `STRAIT_…` variable that does not parse, named as the operator wrote it (figment names the setting's
    /// dotted path instead, which the operator has to translate back).
    #[error("invalid environment variable {var}: {reason}")]
    Env { var: String, reason: String },
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
    #[error("invalid [cluster] section: {0}")]
    Cluster(#[from] ClusterConfigError),
    #[error("invalid setting {key}: {reason}")]
    InvalidTls { key: String, reason: String },
    #[error(
        "refusing to start the {listener} listener on {addr} without TLS or authentication: it is reachable from \
         other machines, where anyone could read and write every stream. Either {fix}, listen on a loopback \
         address, or set {listener}.insecure = true to run this way knowingly"
    )]
    Insecure {
        listener: &'static str,
        addr: std::net::SocketAddr,
        fix: &'static str,
    },
}

/// The highest-precedence layer: values given as command-line flags, by dotted key.
pub struct Overrides(Figment);

impl Default for Overrides {
    fn default() -> Self {
        Overrides(Figment::new())
    }
}

impl Overrides {
    /// Sets `key` (dotted, e.g. `kafka.listen`) to `value`.
    pub fn set<T: Serialize>(self, key: &str, value: T) -> Self {
        Overrides(self.0.merge(Serialized::default(key, value)))
    }
}

/// Builds the effective configuration of `strait dev` (and of in-process tests) and validates it.
pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
    load_layers(
        Figment::from(Serialized::defaults(Config::default())),
        file,
        overrides,
    )
}

/// Builds the effective configuration of `strait serve` (and `strait config show`) and validates it: as
/// [`load`], but AWS requests are verified (`aws.auth = "sigv4"`) unless the file, the environment or a flag
/// says otherwise. A server that accepted any key by default would be open the moment it left localhost.
pub fn load_serve(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
    let defaults = Figment::from(Serialized::defaults(Config::default()))
        .merge(Serialized::default("aws.auth", super::AwsAuth::Sigv4));
    load_layers(defaults, file, overrides)
}

fn load_layers(
    mut figment: Figment,
    file: Option<&Path>,
    overrides: Overrides,
) -> Result<Config, ConfigError> {
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError::MissingFile(path.to_path_buf()));
        }
        figment = figment.merge(Toml::file(path));
    }
    let figment = figment
        // Only `STRAIT_<SECTION>__<KEY>` variables are settings; other STRAIT_* variables (STRAIT_BIN in test
        // scripts, say) belong to someone else and must not fail startup as unknown keys.
        .merge(
            Env::prefixed(ENV_PREFIX)
                .filter(|k| k.as_str().contains("__"))
                .split("__"),
        )
        .merge(overrides.0);
    let mut cfg: Config = figment.extract().map_err(explain)?;
    take_engine_data_dir_from_node(&mut cfg)?;
    take_kafka_identity_from_cluster(&mut cfg)?;
    cfg.validate()?;
    Ok(cfg)
}

/// A configuration error, naming the environment variable when one caused it.
fn explain(e: figment::Error) -> ConfigError {
    let from_env = e
        .metadata
        .as_ref()
        .is_some_and(|m| m.name.contains("environment variable"));
    if !from_env || e.path.is_empty() {
        return ConfigError::Parse(Box::new(e));
    }
    let var = format!("{ENV_PREFIX}{}", e.path.join("__").to_ascii_uppercase());
    ConfigError::Env {
        var,
        reason: e.kind.to_string(),
    }
}

/// `node.data_dir` is the one place the data directory is configured. An `engine.data_dir` is tolerated only
/// when it says the same (as `strait config show` prints it), so a stray one cannot split the data.
fn take_engine_data_dir_from_node(cfg: &mut Config) -> Result<(), ConfigError> {
    let untouched = Config::default().engine.data_dir;
    if cfg.engine.data_dir != untouched && cfg.engine.data_dir != cfg.node.data_dir {
        return Err(ConfigError::Invalid {
            key: "engine.data_dir",
            reason: "set node.data_dir instead; the engine always uses node.data_dir".to_string(),
        });
    }
    cfg.engine.data_dir = cfg.node.data_dir.clone();
    Ok(())
}

/// With a `[cluster]` section, `cluster.node_id` and `cluster.cluster_id` are the broker id and cluster id
/// Kafka clients see. `kafka.node_id`/`kafka.cluster_id` are tolerated only at their defaults or when equal, so a
/// leftover single-node setting cannot make Kafka report another identity than the cluster uses.
fn take_kafka_identity_from_cluster(cfg: &mut Config) -> Result<(), ConfigError> {
    let Some(cluster) = &cfg.cluster else {
        return Ok(());
    };
    let defaults = super::KafkaConfig::default();
    if cfg.kafka.node_id != defaults.node_id && cfg.kafka.node_id != cluster.node_id {
        return Err(ClusterConfigError::KafkaIdentity {
            key: "kafka.node_id",
            value: cfg.kafka.node_id.to_string(),
            cluster_key: "node_id",
            cluster_value: cluster.node_id.to_string(),
        }
        .into());
    }
    if cfg.kafka.cluster_id != defaults.cluster_id && cfg.kafka.cluster_id != cluster.cluster_id {
        return Err(ClusterConfigError::KafkaIdentity {
            key: "kafka.cluster_id",
            value: cfg.kafka.cluster_id.clone(),
            cluster_key: "cluster_id",
            cluster_value: cluster.cluster_id.clone(),
        }
        .into());
    }
    cfg.kafka.node_id = cluster.node_id;
    cfg.kafka.cluster_id = cluster.cluster_id.clone();
    Ok(())
}

impl Config {
    /// Checks what the types cannot express.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, reason: &str| {
            Err(ConfigError::Invalid {
                key,
                reason: reason.to_string(),
            })
        };
        // Kafka frames carry an i32 length.
        if self.kafka.max_request_bytes == 0 || self.kafka.max_request_bytes > i32::MAX as u32 {
            return invalid(
                "kafka.max_request_bytes",
                "must be between 1 and 2147483647",
            );
        }
        if self.kafka.idle_timeout_ms == 0 {
            return invalid("kafka.idle_timeout_ms", "must be at least 1");
        }
        if let Err(reason) = self.kafka.sasl.check() {
            return invalid("kafka.sasl", &reason);
        }
        if self.kafka.pre_auth_max_request_bytes == 0 {
            return invalid("kafka.pre_auth_max_request_bytes", "must be at least 1");
        }
        for (key, n) in [
            ("kafka.max_connections", self.kafka.max_connections),
            ("aws.max_connections", self.aws.max_connections),
            ("admin.max_connections", self.admin.max_connections),
        ] {
            if n == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.node.max_inflight_request_bytes == 0 {
            return invalid("node.max_inflight_request_bytes", "must be at least 1");
        }
        for (key, ms) in [
            (
                "http.header_read_timeout_ms",
                self.http.header_read_timeout_ms,
            ),
            ("http.body_read_timeout_ms", self.http.body_read_timeout_ms),
            ("http.idle_timeout_ms", self.http.idle_timeout_ms),
            (
                "http.h2_keepalive_interval_ms",
                self.http.h2_keepalive_interval_ms,
            ),
        ] {
            if ms == 0 {
                return invalid(key, "must be at least 1");
            }
        }
        if self.security.auth_failure_max_delay_ms < self.security.auth_failure_delay_ms {
            return invalid(
                "security.auth_failure_max_delay_ms",
                "must not be below security.auth_failure_delay_ms",
            );
        }
        if self.aws.auth == AwsAuth::Sigv4 && self.aws.access_keys.is_empty() {
            return invalid(
                "aws.auth",
                "\"sigv4\" (the default under `strait serve`) needs at least one [[aws.access_keys]] entry to \
                 verify against; set aws.auth = \"none\" to accept any key, as `strait dev` does",
            );
        }
        if self.kafka.aws_msk_iam && self.aws.access_keys.is_empty() {
            return invalid(
                "kafka.aws_msk_iam",
                "needs at least one [[aws.access_keys]] entry to verify AWS_MSK_IAM against",
            );
        }
        self.check_cross_protocol_auth()?;
        let not_principal = |p: &str| {
            !p.split_once(':')
                .is_some_and(|(t, n)| !t.is_empty() && !n.is_empty())
        };
        let principals = self
            .security
            .super_users
            .iter()
            .map(|p| ("security.super_users", p.as_str()))
            .chain(
                self.aws
                    .access_keys
                    .iter()
                    .filter_map(|k| k.principal.as_deref())
                    .map(|p| ("aws.access_keys.principal", p)),
            );
        for (key, p) in principals {
            if not_principal(p) {
                return invalid(
                    key,
                    &format!("{p:?} is not a principal of the form Type:name, such as User:alice"),
                );
            }
        }
        if self.aws.account_id.len() != 12
            || !self.aws.account_id.bytes().all(|b| b.is_ascii_digit())
        {
            return invalid(
                "aws.account_id",
                "must be 12 digits, like an AWS account id",
            );
        }
        if self.aws.region.is_empty() {
            return invalid("aws.region", "must not be empty");
        }
        if self.aws.kinesis.iterator_ttl_ms == 0 {
            return invalid("aws.kinesis.iterator_ttl_ms", "must be at least 1");
        }
        if self.aws.kinesis.shard_limit == 0 {
            return invalid("aws.kinesis.shard_limit", "must be at least 1");
        }
        let mut addrs = vec![
            ("kafka.listen", self.kafka.listen),
            ("aws.listen", self.aws.listen),
            ("admin.listen", self.admin.listen),
        ];
        if let Some(cluster) = &self.cluster {
            addrs.push(("cluster.listen", cluster.listen));
        }
        for (i, (key, a)) in addrs.iter().enumerate() {
            // Port 0 asks the OS for a free port, so equal port-0 addresses never collide.
            if a.port() != 0 && addrs[..i].iter().any(|(_, b)| b == a) {
                return invalid(key, &format!("{a} is already used by another listener"));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return invalid("log.level", &e.to_string());
        }
        if let Some(cluster) = &self.cluster {
            cluster.validate(&self.kafka, &self.aws)?;
        }
        if let Some(t) = &self.tiering {
            if let Err((key, reason)) = t.check() {
                return invalid(key, &reason);
            }
            // Uploads and hand-overs are a partition leader's job, agreed through its Raft group: not built yet.
            if self.cluster.is_some() {
                return invalid(
                    "tiering",
                    "tiering runs on a single node for now; remove [tiering] or [cluster]",
                );
            }
        }
        self.validate_tls()?;
        Ok(())
    }

    /// Both protocols reach the same topics and there are no ACLs yet: authentication on one protocol means
    /// nothing while the other is open, so that combination needs the operator's explicit consent.
    fn check_cross_protocol_auth(&self) -> Result<(), ConfigError> {
        let kafka_auth = self.kafka_sasl_required();
        let aws_auth = self.aws.auth == AwsAuth::Sigv4;
        if kafka_auth && !aws_auth && !self.security.allow_unauthenticated_aws {
            return Err(ConfigError::Invalid {
                key: "aws.auth",
                reason: "Kafka requires SASL authentication (kafka.sasl_plain_users, kafka.sasl.scram_users, kafka.sasl.oauthbearer or kafka.aws_msk_iam is set), but aws.auth = \"none\" \
                         lets any AWS key read and delete the same topics through the Kinesis API. Set aws.auth = \
                         \"sigv4\" with [[aws.access_keys]], or set security.allow_unauthenticated_aws = true to \
                         run this way knowingly"
                    .to_string(),
            });
        }
        if aws_auth && !kafka_auth && !self.security.allow_unauthenticated_kafka {
            return Err(ConfigError::Invalid {
                key: "kafka.sasl_plain_users",
                reason: "the AWS API requires SigV4 (aws.auth = \"sigv4\"), but Kafka has no SASL users, so any \
                         Kafka client can read and delete the same streams. Configure [kafka.sasl_plain_users] or \
                         kafka.aws_msk_iam = true, \
                         or set security.allow_unauthenticated_kafka = true to run this way knowingly"
                    .to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
// `Jail` closures must return `figment::Result`, whose error is large; that signature is figment's, not ours.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;
    use crate::config::EXAMPLE_TOML;
    use figment::Jail;
    use strait_engine::FsyncPolicy;

    // Every test that calls `load` runs inside a `Jail`: it serialises them and restores the environment, so one
    // test's `STRAIT_*` variables never leak into another's result.

    #[test]
    fn the_production_example_turns_acls_on() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "prod.toml",
                include_str!("../../../deploy/strait.production.toml"),
            )?;
            let cfg = load(Some(Path::new("prod.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(cfg.security.authorizer, crate::config::AuthorizerKind::Acl);
            assert!(!cfg.security.allow_everyone_if_no_acl_found);
            assert_eq!(cfg.security.super_users, ["User:admin"]);
            assert_eq!(
                cfg.aws.access_keys[0].principal.as_deref(),
                Some("User:alice")
            );
            Ok(())
        });
    }

    #[test]
    fn principals_must_be_type_and_name() {
        Jail::expect_with(|_jail| {
            let bad = Overrides::default().set("security.super_users", vec!["admin"]);
            let err = load(None, bad).map(|_| ()).expect_err("no type");
            assert!(err.to_string().contains("security.super_users"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn example_file_lists_every_setting_at_its_default() {
        let example: toml::Table = toml::from_str(EXAMPLE_TOML).expect("example parses as TOML");
        let mut defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
        // The example leaves engine.data_dir out on purpose: node.data_dir is the single source. It comments
        // aws.auth out: its default depends on the command (sigv4 for serve, none for dev).
        if let Some(toml::Value::Table(engine)) = defaults.get_mut("engine") {
            engine.remove("data_dir");
        }
        if let Some(toml::Value::Table(aws)) = defaults.get_mut("aws") {
            aws.remove("auth");
        }
        assert_eq!(
            example, defaults,
            "deploy/strait.example.toml drifted from Config::default()"
        );
        Jail::expect_with(|jail| {
            jail.create_file("strait.toml", EXAMPLE_TOML)?;
            load(Some(Path::new("strait.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn serve_verifies_sigv4_by_default_and_dev_does_not() {
        Jail::expect_with(|jail| {
            jail.create_file("example.toml", EXAMPLE_TOML)?;
            let example = Path::new("example.toml");
            assert_eq!(
                load(Some(example), Overrides::default())
                    .map_err(|e| e.to_string())?
                    .aws
                    .auth,
                AwsAuth::None
            );
            let refused = load_serve(Some(example), Overrides::default())
                .expect_err("serve without keys")
                .to_string();
            assert!(
                refused.contains("aws.auth") && refused.contains("strait serve"),
                "{refused}"
            );
            jail.create_file(
                "keys.toml",
                "[kafka]\naws_msk_iam = true\n[[aws.access_keys]]\naccess_key_id = \"AKID\"\n\
                 secret_access_key = \"s\"\nsession_token = \"t\"\nprincipal = \"User:app\"\n",
            )?;
            let cfg = load_serve(Some(Path::new("keys.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(cfg.aws.auth, AwsAuth::Sigv4);
            assert_eq!(cfg.aws.access_keys[0].session_token.as_deref(), Some("t"));
            assert_eq!(
                cfg.aws.access_keys[0].principal.as_deref(),
                Some("User:app")
            );
            // AWS_MSK_IAM counts as Kafka authentication for the cross-protocol rule.
            assert!(cfg.kafka.aws_msk_iam);
            // A file or the environment may still say "none" under serve.
            jail.create_file("open.toml", "[aws]\nauth = \"none\"\n")?;
            let open = load_serve(Some(Path::new("open.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(open.aws.auth, AwsAuth::None);
            jail.set_env("STRAIT_AWS__AUTH", "none");
            let env = load_serve(Some(example), Overrides::default()).map_err(|e| e.to_string())?;
            assert_eq!(env.aws.auth, AwsAuth::None);
            Ok(())
        });
    }

    #[test]
    fn aws_msk_iam_needs_access_keys() {
        Jail::expect_with(|jail| {
            jail.create_file("iam.toml", "[kafka]\naws_msk_iam = true\n")?;
            let e = load(Some(Path::new("iam.toml")), Overrides::default())
                .expect_err("no keys")
                .to_string();
            assert!(e.contains("kafka.aws_msk_iam"), "{e}");
            Ok(())
        });
    }

    #[test]
    fn an_invalid_environment_override_is_named_as_written() {
        Jail::expect_with(|jail| {
            jail.set_env("STRAIT_ENGINE__TOPIC_DEFAULTS__RETENTION_MS", "soon");
            let e = load(None, Overrides::default())
                .expect_err("not a number")
                .to_string();
            assert!(
                e.starts_with(
                    "invalid environment variable STRAIT_ENGINE__TOPIC_DEFAULTS__RETENTION_MS: "
                ),
                "{e}"
            );
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_flags_override_environment() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "strait.toml",
                "[kafka]\nlisten = \"127.0.0.1:29092\"\nidle_timeout_ms = 5\n",
            )?;
            jail.set_env("STRAIT_KAFKA__LISTEN", "127.0.0.1:19092");
            jail.set_env("STRAIT_ENGINE__FSYNC", "interval");
            jail.set_env("STRAIT_ENGINE__TOPIC_DEFAULTS__RETENTION_MS", "1000");
            jail.set_env("STRAIT_NODE__DATA_DIR", "/var/lib/strait");
            // not a setting (no SECTION__KEY form): ignored rather than an unknown-key error
            jail.set_env("STRAIT_BIN", "/usr/local/bin/strait");
            let flags = Overrides::default().set("admin.listen", "127.0.0.1:19644");
            let cfg = load(Some(Path::new("strait.toml")), flags).map_err(|e| e.to_string())?;
            assert_eq!(cfg.kafka.listen.to_string(), "127.0.0.1:19092");
            assert_eq!(cfg.kafka.idle_timeout_ms, 5);
            assert_eq!(cfg.engine.fsync, FsyncPolicy::Interval);
            assert_eq!(cfg.engine.topic_defaults.retention_ms, 1000);
            assert_eq!(cfg.engine.data_dir, Path::new("/var/lib/strait"));
            assert_eq!(cfg.admin.listen.to_string(), "127.0.0.1:19644");

            let flags = Overrides::default().set("kafka.listen", "127.0.0.1:39092");
            let cfg = load(Some(Path::new("strait.toml")), flags).map_err(|e| e.to_string())?;
            assert_eq!(cfg.kafka.listen.to_string(), "127.0.0.1:39092");
            Ok(())
        });
    }

    #[test]
    fn mistakes_are_errors_not_defaults() {
        Jail::expect_with(|jail| {
            let err = |jail: &mut Jail, toml: &str| {
                jail.create_file("bad.toml", toml)
                    .map_err(|e| e.to_string())?;
                match load(Some(Path::new("bad.toml")), Overrides::default()) {
                    Ok(_) => Err(format!("accepted {toml:?}")),
                    Err(e) => Ok(e.to_string()),
                }
            };
            assert!(err(jail, "[kafka]\nlisten_addr = \"127.0.0.1:1\"\n")?.contains("listen_addr"));
            assert!(err(jail, "[engine]\nfsync = \"sometimes\"\n")?.contains("sometimes"));
            assert!(err(jail, "[aws]\nauth = \"sigv4\"\n")?.contains("aws.auth"));
            assert!(err(jail, "[engine]\ndata_dir = \"elsewhere\"\n")?.contains("engine.data_dir"));
            assert!(err(jail, "[admin]\nlisten = \"127.0.0.1:9092\"\n")?.contains("admin.listen"));
            assert!(err(jail, "[log]\nlevel = \"strait=loudest\"\n")?.contains("log.level"));
            let missing = load(Some(Path::new("nope.toml")), Overrides::default());
            assert!(matches!(missing, Err(ConfigError::MissingFile(_))));
            Ok(())
        });
    }

    #[test]
    fn sigv4_loads_with_access_keys() {
        Jail::expect_with(|jail| {
            jail.create_file(
                "strait.toml",
                "[aws]\nauth = \"sigv4\"\nregion = \"eu-west-1\"\naccount_id = \"123456789012\"\n\n\
                 [[aws.access_keys]]\naccess_key_id = \"AKID\"\nsecret_access_key = \"secret\"\n\n\
                 [aws.kinesis]\nenforce_limits = true\nstatus_delay_ms = 0\n\n\
                 [security]\nallow_unauthenticated_kafka = true\n",
            )?;
            let cfg = load(Some(Path::new("strait.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(cfg.aws.auth, AwsAuth::Sigv4);
            assert_eq!(cfg.aws.access_keys[0].access_key_id, "AKID");
            assert_eq!(cfg.aws.account_id, "123456789012");
            assert!(cfg.aws.kinesis.enforce_limits);
            assert_eq!(cfg.aws.kinesis.status_delay_ms, 0);
            jail.create_file("bad.toml", "[aws]\naccount_id = \"12\"\n")?;
            let err = load(Some(Path::new("bad.toml")), Overrides::default())
                .map(|_| ())
                .expect_err("short account id");
            assert!(err.to_string().contains("aws.account_id"));
            Ok(())
        });
    }

    #[test]
    fn shown_config_loads_back_unchanged() {
        Jail::expect_with(|jail| {
            let flags = Overrides::default().set("node.data_dir", "/srv/strait");
            let cfg = load(None, flags).map_err(|e| e.to_string())?;
            let shown = toml::to_string_pretty(&cfg).map_err(|e| e.to_string())?;
            jail.create_file("shown.toml", &shown)?;
            let again = load(Some(Path::new("shown.toml")), Overrides::default())
                .map_err(|e| e.to_string())?;
            assert_eq!(
                toml::to_string_pretty(&again).map_err(|e| e.to_string())?,
                shown
            );
            Ok(())
        });
    }

    #[test]
    fn one_protocol_authenticated_and_the_other_open_needs_consent() {
        Jail::expect_with(|jail| {
            jail.set_env("STRAIT_KAFKA__SASL_PLAIN_USERS__alice", "alice-secret");
            let err = load(None, Overrides::default())
                .map(|_| ())
                .expect_err("SASL users with aws.auth = none");
            let msg = err.to_string();
            assert!(
                msg.contains("aws.auth") && msg.contains("allow_unauthenticated_aws"),
                "{msg}"
            );
            let ok = Overrides::default().set("security.allow_unauthenticated_aws", true);
            load(None, ok).map_err(|e| e.to_string())?;
            // SCRAM bootstrap users require SASL just as PLAIN users do.
            jail.clear_env();
            jail.set_env(
                "STRAIT_KAFKA__SASL__SCRAM_USERS",
                r#"[{name="bob",password="pw",mechanism="SCRAM-SHA-256"}]"#,
            );
            let err = load(None, Overrides::default())
                .map(|_| ())
                .expect_err("SCRAM users with aws.auth = none");
            assert!(err.to_string().contains("scram_users"), "{err}");
            let cfg = load(
                None,
                Overrides::default().set("security.allow_unauthenticated_aws", true),
            )
            .map_err(|e| e.to_string())?;
            assert_eq!(
                cfg.kafka.sasl.scram_users[0].iterations, 8192,
                "default count"
            );

            let both = Overrides::default().set("aws.auth", "sigv4").set(
                "aws.access_keys",
                vec![crate::config::AwsAccessKey {
                    access_key_id: "AKID".into(),
                    secret_access_key: "s".into(),
                    session_token: None,
                    principal: None,
                }],
            );
            load(None, both).map_err(|e| e.to_string())?;
            Ok(())
        });
        Jail::expect_with(|_jail| {
            let sigv4_only = || {
                Overrides::default().set("aws.auth", "sigv4").set(
                    "aws.access_keys",
                    vec![crate::config::AwsAccessKey {
                        access_key_id: "AKID".into(),
                        secret_access_key: "s".into(),
                        session_token: None,
                        principal: None,
                    }],
                )
            };
            let err = load(None, sigv4_only())
                .map(|_| ())
                .expect_err("sigv4 without SASL");
            assert!(err.to_string().contains("allow_unauthenticated_kafka"));
            let ok = sigv4_only().set("security.allow_unauthenticated_kafka", true);
            load(None, ok).map_err(|e| e.to_string())?;
            // Neither protocol authenticated: `strait dev` as always.
            load(None, Overrides::default()).map_err(|e| e.to_string())?;
            Ok(())
        });
    }

    #[test]
    fn redacted_config_hides_secrets_but_keeps_names() {
        let mut cfg = Config::default();
        cfg.kafka
            .sasl_plain_users
            .insert("alice".into(), "alice-secret".into());
        cfg.aws.access_keys.push(crate::config::AwsAccessKey {
            access_key_id: "AKIDSHOWN".into(),
            secret_access_key: "wJalrHIDDEN".into(),
            session_token: None,
            principal: None,
        });
        cfg.kafka.sasl.scram_users.push(crate::config::ScramUser {
            name: "scrammer".into(),
            password: "scram-HIDDEN".into(),
            mechanism: crate::config::ScramMechanism::ScramSha512,
            iterations: 4096,
        });
        let shown = toml::to_string_pretty(&cfg.redacted()).expect("renders");
        assert!(
            !shown.contains("alice-secret")
                && !shown.contains("wJalrHIDDEN")
                && !shown.contains("scram-HIDDEN"),
            "{shown}"
        );
        assert!(
            shown.contains("alice") && shown.contains("AKIDSHOWN") && shown.contains("scrammer")
        );
        assert!(shown.contains(crate::config::REDACTED));
    }
}
