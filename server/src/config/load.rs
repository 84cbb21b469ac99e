//! Layering and validation: defaults → TOML file → `STRAIT_*` environment → command-line flags.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::Serialize;

use super::{AwsAuth, Config};

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
    #[error("invalid setting {key}: {reason}")]
    Invalid { key: &'static str, reason: String },
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

/// Builds the effective configuration and validates it.
pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Config::default()));
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
    let mut cfg: Config = figment.extract().map_err(Box::new)?;
    take_engine_data_dir_from_node(&mut cfg)?;
    cfg.validate()?;
    Ok(cfg)
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
        if self.aws.auth == AwsAuth::Sigv4 && self.aws.access_keys.is_empty() {
            return invalid(
                "aws.auth",
                "\"sigv4\" needs at least one [[aws.access_keys]] entry to verify against",
            );
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
        let addrs = [
            ("kafka.listen", self.kafka.listen),
            ("aws.listen", self.aws.listen),
            ("admin.listen", self.admin.listen),
        ];
        for (i, (key, a)) in addrs.iter().enumerate() {
            // Port 0 asks the OS for a free port, so equal port-0 addresses never collide.
            if a.port() != 0 && addrs[..i].iter().any(|(_, b)| b == a) {
                return invalid(key, &format!("{a} is already used by another listener"));
            }
        }
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log.level) {
            return invalid("log.level", &e.to_string());
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
    fn example_file_lists_every_setting_at_its_default() {
        let example: toml::Table = toml::from_str(EXAMPLE_TOML).expect("example parses as TOML");
        let mut defaults = toml::Table::try_from(Config::default()).expect("defaults serialise");
        // The example leaves engine.data_dir out on purpose: node.data_dir is the single source.
        if let Some(toml::Value::Table(engine)) = defaults.get_mut("engine") {
            engine.remove("data_dir");
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
                 [aws.kinesis]\nenforce_limits = true\nstatus_delay_ms = 0\n",
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
}
