//! `[tiering]`: the object store sealed segments of tiered topics go to (issue 17). Absent (the default): no
//! tiering, and `remote.storage.enable=true` is refused. Which topics tier, and how long uploaded data also stays
//! on local disk, are topic configs (`remote.storage.enable`, `local.retention.ms`, `local.retention.bytes`, with
//! node defaults in `[engine.topic_defaults]`); Kinesis streams always tier on a node with `[tiering]`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where tiered segments are stored, and how the node talks to the store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TieringConfig {
    /// An S3-compatible endpoint such as `http://127.0.0.1:19000` (moto, MinIO). Default none: AWS S3 itself in
    /// `region`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Signing region. Default `us-east-1`.
    pub region: String,
    /// The bucket (it must exist). Required.
    pub bucket: String,
    /// Prefix of every object key. Default `strait/`.
    pub prefix: String,
    /// Static credentials. Default none: the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
    /// the shared profile, web identity, ECS and EC2 instance roles).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// Path-style requests (`endpoint/bucket/key`), which most S3-compatible stores need. Default false
    /// (virtual-hosted style, AWS's preference); `strait dev --tier-endpoint` turns it on.
    pub path_style: bool,
    /// Bytes of segment indexes and data chunks kept in memory for remote reads. Default 268435456 (256 MiB).
    pub cache_bytes: u64,
    /// Size of the chunks remote reads fetch and cache. Default 1048576 (1 MiB).
    pub chunk_bytes: u64,
    /// How often the uploader looks for segments to upload and hand over. Default 10000 (10 s); while the store
    /// fails, the wait doubles up to 5 minutes.
    pub upload_interval_ms: u64,
    /// Time limit of one attempt of one S3 request; a call with its retries gets three times this. Default 30000.
    pub request_timeout_ms: u64,
    /// Segments larger than this are uploaded in parts. Default 16777216 (16 MiB).
    pub multipart_threshold_bytes: u64,
    /// Part size of multipart uploads (S3's minimum is 5 MiB). Default 8388608 (8 MiB).
    pub multipart_part_bytes: u64,
    /// Objects under a tiered partition's prefix that no segment owns (an upload whose hand-over a crash or
    /// restart cut off) are deleted once older than this; 0 turns the collector off. Default 86400000 (24 h).
    pub orphan_min_age_ms: u64,
}

impl Default for TieringConfig {
    fn default() -> Self {
        TieringConfig {
            endpoint: None,
            region: "us-east-1".into(),
            bucket: String::new(),
            prefix: "strait/".into(),
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
            path_style: false,
            cache_bytes: 256 << 20,
            chunk_bytes: 1 << 20,
            upload_interval_ms: 10_000,
            request_timeout_ms: 30_000,
            multipart_threshold_bytes: 16 << 20,
            multipart_part_bytes: 8 << 20,
            orphan_min_age_ms: 86_400_000,
        }
    }
}

impl TieringConfig {
    /// What the types cannot express; `Err((key, reason))`.
    pub fn check(&self) -> Result<(), (&'static str, String)> {
        if self.bucket.is_empty() {
            return Err((
                "tiering.bucket",
                "must be set (the bucket must exist)".into(),
            ));
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            return Err((
                "tiering.access_key_id",
                "access_key_id and secret_access_key go together".into(),
            ));
        }
        for (key, n) in [
            ("tiering.upload_interval_ms", self.upload_interval_ms),
            ("tiering.request_timeout_ms", self.request_timeout_ms),
            ("tiering.chunk_bytes", self.chunk_bytes),
        ] {
            if n == 0 {
                return Err((key, "must be at least 1".into()));
            }
        }
        if self.multipart_part_bytes < strait_tier::MIN_PART_BYTES {
            return Err((
                "tiering.multipart_part_bytes",
                format!(
                    "must be at least {} (S3's minimum part)",
                    strait_tier::MIN_PART_BYTES
                ),
            ));
        }
        if self.multipart_threshold_bytes < self.multipart_part_bytes {
            return Err((
                "tiering.multipart_threshold_bytes",
                "must not be below multipart_part_bytes".into(),
            ));
        }
        Ok(())
    }

    /// The tiering crate's view of these settings.
    pub fn settings(&self) -> strait_tier::S3Settings {
        strait_tier::S3Settings {
            endpoint: self.endpoint.clone(),
            region: self.region.clone(),
            bucket: self.bucket.clone(),
            prefix: self.prefix.clone(),
            credentials: match (&self.access_key_id, &self.secret_access_key) {
                (Some(id), Some(secret)) => Some(strait_tier::StaticCredentials {
                    access_key_id: id.clone(),
                    secret_access_key: secret.clone(),
                    session_token: self.session_token.clone(),
                }),
                _ => None,
            },
            path_style: self.path_style,
            cache_bytes: self.cache_bytes,
            chunk_bytes: self.chunk_bytes,
            request_timeout: Duration::from_millis(self.request_timeout_ms),
            multipart_threshold_bytes: self.multipart_threshold_bytes,
            multipart_part_bytes: self.multipart_part_bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_default_shows_the_tiering_section_commented_out() {
        let example = crate::config::EXAMPLE_TOML;
        let start = example.find("\n# [tiering]\n").expect("documented");
        let end = start + example[start..].find("\n\n").expect("block ends");
        let block: String = example[start + 1..end]
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: crate::config::Config =
            toml::from_str(&block).expect("uncommented block parses");
        let t = parsed.tiering.expect("section");
        t.check().expect("valid");
        let d = TieringConfig::default();
        assert_eq!(
            (
                t.cache_bytes,
                t.chunk_bytes,
                t.upload_interval_ms,
                t.request_timeout_ms
            ),
            (
                d.cache_bytes,
                d.chunk_bytes,
                d.upload_interval_ms,
                d.request_timeout_ms
            ),
            "the example shows the defaults"
        );
        assert_eq!(
            (
                t.multipart_threshold_bytes,
                t.multipart_part_bytes,
                t.orphan_min_age_ms,
                t.prefix,
                t.region
            ),
            (
                d.multipart_threshold_bytes,
                d.multipart_part_bytes,
                d.orphan_min_age_ms,
                d.prefix,
                d.region
            )
        );
    }

    #[test]
    fn refused_on_a_cluster_and_secrets_redacted() {
        let text =
            "[tiering]\nbucket = \"b\"\nsecret_access_key = \"s3cret\"\naccess_key_id = \"k\"\n";
        let cfg: crate::config::Config = toml::from_str(text).expect("parses");
        cfg.validate().expect("valid on a single node");
        let shown = toml::to_string(&cfg.redacted()).expect("serialises");
        assert!(
            !shown.contains("s3cret") && shown.contains("access_key_id = \"k\""),
            "{shown}"
        );
        let clustered = format!("{text}[cluster]\nnode_id = 1\ncluster_id = \"c\"\n");
        let cfg: crate::config::Config = toml::from_str(&clustered).expect("parses");
        let err = cfg.validate().expect_err("refused").to_string();
        assert!(err.contains("tiering"), "{err}");
    }

    #[test]
    fn needs_a_bucket_and_sane_parts() {
        let mut t = TieringConfig::default();
        assert_eq!(t.check().map_err(|e| e.0), Err("tiering.bucket"));
        t.bucket = "b".into();
        assert!(t.check().is_ok());
        t.multipart_part_bytes = 1 << 20;
        assert_eq!(
            t.check().map_err(|e| e.0),
            Err("tiering.multipart_part_bytes")
        );
        t.multipart_part_bytes = 8 << 20;
        t.access_key_id = Some("k".into());
        assert_eq!(t.check().map_err(|e| e.0), Err("tiering.access_key_id"));
        t.secret_access_key = Some("s".into());
        let s = t.settings();
        assert_eq!(
            s.credentials.map(|c| c.secret_access_key),
            Some("s".to_string())
        );
    }
}
