//! The node's configuration: one typed tree with documented defaults.
//!
//! Every field has a default, so an empty file is a valid configuration, and unknown keys are errors, so a typo
//! cannot silently fall back to a default. Values are layered by [`load`]: defaults, then the TOML file, then
//! `STRAIT_<SECTION>__<KEY>` environment variables, then command-line flags. `deploy/strait.example.toml` lists
//! every setting with its default; a test keeps it equal to [`Config::default`].

mod cluster;
mod load;
mod sasl;
mod tiering;
mod tls;

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use strait_engine::EngineConfig;

pub use cluster::{
    ClusterConfig, ClusterConfigError, ClusterNode, DEFAULT_CLUSTER_PORT, PeerConfig, RaftTiming,
};
pub use load::{ConfigError, ENV_PREFIX, Overrides, load, load_serve};
pub use sasl::{OAuthBearerConfig, SaslConfig, ScramMechanism, ScramUser};
pub use tiering::TieringConfig;
pub use tls::{ClientAuth, TlsConfig};

/// The commented default configuration shipped in `deploy/`, printed by `strait config default`.
pub const EXAMPLE_TOML: &str = include_str!("../../../deploy/strait.example.toml");

/// The whole configuration of one node.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub node: NodeConfig,
    pub kafka: KafkaConfig,
    pub aws: AwsConfig,
    pub admin: AdminConfig,
    /// Timeouts of the HTTP listeners (`aws` and `admin`).
    pub http: HttpConfig,
    /// Which unauthenticated access is accepted knowingly, and how failed logins are slowed.
    pub security: SecurityConfig,
    /// Storage engine settings. `engine.data_dir` is not set here: it always equals `node.data_dir`.
    pub engine: EngineConfig,
    pub log: LogConfig,
    /// Membership in a cluster. Absent (the default): a single node, as without replication.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<ClusterConfig>,
    /// S3 tiering (`docs/tiering.md`). Absent (the default): no object store, nothing is tiered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tiering: Option<TieringConfig>,
}

impl Default for Config {
    fn default() -> Self {
        let node = NodeConfig::default();
        // The engine's own default directory must match the node's, so `config show` output round-trips.
        let engine = EngineConfig {
            data_dir: node.data_dir.clone(),
            ..EngineConfig::default()
        };
        Config {
            node,
            kafka: KafkaConfig::default(),
            aws: AwsConfig::default(),
            admin: AdminConfig::default(),
            http: HttpConfig::default(),
            security: SecurityConfig::default(),
            engine,
            log: LogConfig::default(),
            cluster: None,
            tiering: None,
        }
    }
}

/// Settings of the process as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeConfig {
    /// Where all data lives (segments, metadata, the clean-shutdown marker). Relative paths are relative to the
    /// working directory. Default `strait-data`.
    pub data_dir: PathBuf,
    /// How long shutdown waits for in-flight requests before closing connections anyway. Default 10 s: long
    /// enough for a Fetch long-poll, short enough for an orchestrator's stop timeout (Kubernetes: 30 s).
    pub shutdown_grace_ms: u64,
    /// Request bytes all listeners together may hold in memory while reading requests (Kafka frames, HTTP
    /// bodies). A request that would go past it waits, and its connection is not read meanwhile (back-pressure),
    /// instead of allocating. A single request larger than the budget takes all of it. Default 256 MiB.
    pub max_inflight_request_bytes: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            data_dir: PathBuf::from("strait-data"),
            shutdown_grace_ms: 10_000,
            max_inflight_request_bytes: 256 * 1024 * 1024,
        }
    }
}

/// The Kafka wire-protocol listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KafkaConfig {
    /// Address to listen on. Default `127.0.0.1:9092`, Kafka's port, on loopback only.
    pub listen: SocketAddr,
    /// Largest request frame accepted; larger ones close the connection. Default 100 MiB, Kafka's
    /// `socket.request.max.bytes`.
    pub max_request_bytes: u32,
    /// Connections that send no request for this long are closed. Default 600000 (10 min), Kafka's
    /// `connections.max.idle.ms`.
    pub idle_timeout_ms: u64,
    /// Host clients are told to connect to (Metadata, FindCoordinator). Default: the listen address's host.
    pub advertised_host: Option<String>,
    /// Port clients are told to connect to. Default: the port actually bound.
    pub advertised_port: Option<u16>,
    /// Create a topic when a client asks for metadata of, or produces to, an unknown one. Default true (Kafka's
    /// `auto.create.topics.enable`).
    pub auto_create_topics: bool,
    /// Partitions of topics created without a count (auto-created, or `num_partitions = -1`). Default 1
    /// (Kafka's `num.partitions`).
    pub default_partitions: u32,
    /// This node's broker id. Default 1.
    pub node_id: i32,
    /// Cluster id reported to clients. Default `strait-dev`.
    pub cluster_id: String,
    /// SASL/PLAIN users, name → password. Default empty: no authentication. When set, every Kafka connection must
    /// authenticate (SASL_PLAINTEXT) before any request but ApiVersions.
    pub sasl_plain_users: std::collections::BTreeMap<String, String>,
    /// SCRAM bootstrap users, OAUTHBEARER and re-authentication; see [`SaslConfig`].
    pub sasl: SaslConfig,
    /// Largest frame accepted from a connection that has not completed SASL authentication (only when SASL is
    /// required: `sasl_plain_users`, `sasl.scram_users` or `sasl.oauthbearer` is set); a larger one closes the connection, so an anonymous client cannot make the
    /// node buffer `max_request_bytes`. Default 524288 (512 KiB), Kafka's `sasl.server.max.receive.size`.
    pub pre_auth_max_request_bytes: u32,
    /// Open connections allowed; past it new connections are closed right after accept. Default 4096.
    pub max_connections: u32,
    /// Fetch sessions (KIP-227) kept at once; past it the least recently used idle ones are evicted, and a
    /// client that finds no slot fetches without a session. 0 turns sessions off. Default 1000 (Kafka's
    /// `max.incremental.fetch.session.cache.slots`).
    pub fetch_session_cache_slots: u32,
    /// TLS on this listener: Kafka's `SSL` (or, with SASL users, `SASL_SSL`) security protocol. Default off.
    pub tls: TlsConfig,
    /// How a client certificate's subject DN becomes the connection's principal when it does not authenticate
    /// with SASL, as Kafka's `ssl.principal.mapping.rules` (one rule per entry): `RULE:pattern/replacement/`
    /// with an optional `L` or `U` after the last `/`, or `DEFAULT`. Default `["DEFAULT"]`: `User:<DN>`.
    pub principal_mapping_rules: Vec<String>,
    /// Listen on a non-loopback address without TLS or authentication. Default false: refused at startup.
    pub insecure: bool,
    /// Accept SASL `AWS_MSK_IAM` (the `aws-msk-iam-auth` client library) and the MSK IAM signer libraries'
    /// tokens, verified against `[[aws.access_keys]]`: one AWS identity, the same principal on both protocols.
    /// When true every Kafka connection must authenticate. Default false.
    pub aws_msk_iam: bool,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            listen: loopback(9092),
            max_request_bytes: 100 * 1024 * 1024,
            idle_timeout_ms: 600_000,
            advertised_host: None,
            advertised_port: None,
            auto_create_topics: true,
            default_partitions: 1,
            node_id: 1,
            cluster_id: "strait-dev".into(),
            sasl_plain_users: Default::default(),
            sasl: SaslConfig::default(),
            pre_auth_max_request_bytes: 512 * 1024,
            max_connections: 4096,
            fetch_session_cache_slots: 1000,
            tls: TlsConfig::default(),
            principal_mapping_rules: tls::default_principal_mapping_rules(),
            insecure: false,
            aws_msk_iam: false,
        }
    }
}

/// How AWS-API requests are authenticated. The default depends on the command: `sigv4` under `strait serve`,
/// `none` under `strait dev` (and in [`Config::default`], which in-process tests build on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AwsAuth {
    /// Any well-formed SigV4 `Authorization` header or presigned query is accepted, whatever its keys, as local
    /// emulators do; a request without one gets `MissingAuthenticationTokenException`. `strait dev`'s default.
    #[default]
    None,
    /// SigV4 signatures (header and presigned forms) are verified against [`AwsConfig::access_keys`].
    /// `strait serve`'s default.
    Sigv4,
}

/// One access key accepted when `auth = "sigv4"` (and by Kafka's AWS_MSK_IAM, `kafka.aws_msk_iam`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsAccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// For temporary credentials: the session token requests must carry (`X-Amz-Security-Token`). A key without
    /// one refuses requests that carry a token. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
    /// The principal requests signed with this key act as, in Kafka's `Type:name` form: what ACLs name, so one
    /// identity can hold the same rights on both protocols (`User:alice` for the key and the SASL user alice).
    /// Default `User:<access_key_id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
}

impl AwsAccessKey {
    /// The verifier's view of this key.
    pub fn to_access_key(&self) -> strait_aws::AccessKey {
        strait_aws::AccessKey {
            access_key_id: self.access_key_id.clone(),
            secret_access_key: self.secret_access_key.clone(),
            session_token: self.session_token.clone(),
            // The verifier takes the principal's name; ACLs and this config use Kafka's `User:name` form.
            principal: self
                .principal
                .as_ref()
                .map(|p| p.strip_prefix("User:").unwrap_or(p).to_string()),
        }
    }
}

/// The AWS-API (Kinesis) HTTP listener.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AwsConfig {
    /// Address to listen on; HTTP/1.1 and prior-knowledge HTTP/2 share it. Default `127.0.0.1:4566`, the port
    /// AWS emulators use, so `AWS_ENDPOINT_URL=http://127.0.0.1:4566` works unchanged.
    pub listen: SocketAddr,
    /// See [`AwsAuth`]. Default `sigv4` under `strait serve`, `none` under `strait dev`.
    pub auth: AwsAuth,
    /// Region in ARNs, and (with `auth = "sigv4"`) the region signatures must be scoped to. Default `us-east-1`.
    pub region: String,
    /// Account id in ARNs and messages (12 digits). Default `000000000000`.
    pub account_id: String,
    /// Keys verified when `auth = "sigv4"`. Default none.
    pub access_keys: Vec<AwsAccessKey>,
    /// The Kinesis Data Streams API.
    pub kinesis: KinesisSettings,
    /// CloudWatch PutMetricData (what KCL publishes), exported on the admin `/metrics` endpoint.
    pub cloudwatch: CloudWatchSettings,
    /// Open connections allowed; past it new connections are closed right after accept. Default 4096.
    pub max_connections: u32,
    /// HTTPS on this listener (ALPN `h2` and `http/1.1`). Default off. A client certificate, when asked for, is
    /// checked during the handshake only; SigV4 stays the requests' identity.
    pub tls: TlsConfig,
    /// Listen on a non-loopback address without TLS or SigV4. Default false: refused at startup.
    pub insecure: bool,
}

impl Default for AwsConfig {
    fn default() -> Self {
        AwsConfig {
            listen: loopback(4566),
            auth: AwsAuth::None,
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            access_keys: Vec::new(),
            kinesis: KinesisSettings::default(),
            cloudwatch: CloudWatchSettings::default(),
            max_connections: 4096,
            tls: TlsConfig::default(),
            insecure: false,
        }
    }
}

/// CloudWatch PutMetricData knobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CloudWatchSettings {
    /// Distinct metric series (namespace, name, dimensions) kept as `strait_cloudwatch_*` gauges. Data for new
    /// series beyond this is accepted (as CloudWatch would) but dropped and counted in
    /// `strait_cloudwatch_dropped_total`, so a client that generates dimensions without bound cannot grow the
    /// process without bound. Default 10000.
    pub max_series: usize,
}

impl Default for CloudWatchSettings {
    fn default() -> Self {
        CloudWatchSettings { max_series: 10_000 }
    }
}

/// Kinesis behaviour knobs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KinesisSettings {
    /// How long streams stay CREATING/UPDATING/DELETING (and consumers CREATING/DELETING) before the change is
    /// reported complete. The work itself is immediate; the delay makes AWS's transitions observable. Default
    /// 100 ms: a client polling right after CreateStream sees CREATING, and waiters (`aws kinesis wait
    /// stream-exists`, boto3's) find the stream ACTIVE on their first or second poll.
    pub status_delay_ms: u64,
    /// Enforce AWS's per-shard limits (writes 1 MiB/s and 1,000 records/s; reads 5 GetRecords/s and 2 MiB/s)
    /// with ProvisionedThroughputExceededException, to test retry logic. Default false.
    pub enforce_limits: bool,
    /// Open shards allowed per account (DescribeLimits ShardLimit). Only Kinesis streams count: topics created
    /// through Kafka do not, until a Kinesis reshard or other control-plane change adopts them. Default 500.
    pub shard_limit: u32,
    /// ON_DEMAND streams allowed per account. Default 50.
    pub on_demand_stream_limit: u32,
    /// How long shard iterators stay valid. Default 300000 (5 minutes, AWS's value).
    pub iterator_ttl_ms: u64,
}

impl Default for KinesisSettings {
    fn default() -> Self {
        KinesisSettings {
            status_delay_ms: 100,
            enforce_limits: false,
            shard_limit: 500,
            on_demand_stream_limit: 50,
            iterator_ttl_ms: 300_000,
        }
    }
}

/// The admin HTTP listener (`/healthz`, `/metrics`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdminConfig {
    /// Address to listen on. Default `127.0.0.1:9644`.
    pub listen: SocketAddr,
    /// Open connections allowed (scrapers and probes need few); past it new connections are closed right after
    /// accept. Default 64.
    pub max_connections: u32,
    /// HTTPS on this listener. Default off.
    pub tls: TlsConfig,
    /// Listen on a non-loopback address without TLS. Default false: refused at startup.
    pub insecure: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        AdminConfig {
            listen: loopback(9644),
            max_connections: 64,
            tls: TlsConfig::default(),
            insecure: false,
        }
    }
}

/// Timeouts of the HTTP listeners (`aws` and `admin`), so a client that sends nothing, or trickles, cannot hold a
/// connection forever.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// An HTTP/1.1 request's headers must arrive within this time of their first byte. Default 30000.
    pub header_read_timeout_ms: u64,
    /// A request body must arrive whole within this time of its headers; otherwise the answer is `408` and the
    /// connection is closed. Default 60000: 10 MiB at 175 KB/s.
    pub body_read_timeout_ms: u64,
    /// A connection with no request in progress for this long is closed (a silent new connection as well as an
    /// idle keep-alive or HTTP/2 one). Default 60000 (AWS load balancers' idle timeout).
    pub idle_timeout_ms: u64,
    /// Interval of HTTP/2 keep-alive pings; a peer that does not answer one within 20 s is disconnected.
    /// Default 30000.
    pub h2_keepalive_interval_ms: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            header_read_timeout_ms: 30_000,
            body_read_timeout_ms: 60_000,
            idle_timeout_ms: 60_000,
            h2_keepalive_interval_ms: 30_000,
        }
    }
}

/// Authentication across protocols. Until ACLs exist, both protocols reach the same topics, so when one requires
/// authentication the other must too, unless the operator says otherwise here.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Start with Kafka SASL users configured while `aws.auth = "none"` leaves the AWS API open to any key.
    /// Default false: such a configuration is refused at startup.
    pub allow_unauthenticated_aws: bool,
    /// Start with `aws.auth = "sigv4"` while Kafka has no SASL users (anyone can produce and consume).
    /// Default false: such a configuration is refused at startup.
    pub allow_unauthenticated_kafka: bool,
    /// Delay before answering a failed authentication (SASL/PLAIN, SigV4). It doubles with each further failure
    /// from the same IP address, up to `auth_failure_max_delay_ms`, and failure answers to one address are spaced
    /// by it, so guessing does not get faster with more connections. Other clients are not delayed. Default 100.
    pub auth_failure_delay_ms: u64,
    /// Cap of that delay. Default 5000.
    pub auth_failure_max_delay_ms: u64,
    /// The authorizer every Kafka API and AWS operation asks before it runs. Default `allow-all` (`strait dev`'s
    /// mode: no ACLs, and the ACL APIs answer SECURITY_DISABLED); `acl` enforces the ACL bindings managed with
    /// Kafka's CreateAcls/DeleteAcls (`kafka-acls`) on both protocols; `deny-all` refuses everything with each
    /// protocol's own authorization error, to check that every request path asks.
    pub authorizer: AuthorizerKind,
    /// With `authorizer = "acl"`: principals allowed everything whatever the ACLs say (Kafka's `super.users`),
    /// such as `["User:admin"]`. Default empty.
    pub super_users: Vec<String>,
    /// With `authorizer = "acl"`: allow a request on a resource no ACL names (Kafka's
    /// `allow.everyone.if.no.acl.found`). Default false: what no ACL allows is denied.
    pub allow_everyone_if_no_acl_found: bool,
}

/// Which authorizer the node runs (`security.authorizer`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthorizerKind {
    /// Every request is allowed. The default.
    #[default]
    AllowAll,
    /// Every request is refused (TOPIC_AUTHORIZATION_FAILED and friends on Kafka, AccessDeniedException on AWS).
    DenyAll,
    /// Kafka's ACLs (`strait_access::acl`), stored in the cluster metadata, on every protocol.
    Acl,
}

impl SecurityConfig {
    /// The authorizer itself, shared by every front end of the node. An ACL authorizer starts empty: the node
    /// fills it from the stored bindings (`strait_kafka::acls::follow`) before it serves.
    pub fn build_authorizer(&self) -> strait_access::SharedAuthorizer {
        match self.authorizer {
            AuthorizerKind::AllowAll => strait_access::allow_all(),
            AuthorizerKind::DenyAll => std::sync::Arc::new(strait_access::DenyAll),
            AuthorizerKind::Acl => std::sync::Arc::new(self.acl_authorizer()),
        }
    }

    /// The ACL authorizer with this section's settings.
    pub fn acl_authorizer(&self) -> strait_access::acl::AclAuthorizer {
        strait_access::acl::AclAuthorizer::new(strait_access::acl::AclSettings {
            super_users: self.super_users.clone(),
            allow_everyone_if_no_acl_found: self.allow_everyone_if_no_acl_found,
        })
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            allow_unauthenticated_aws: false,
            allow_unauthenticated_kafka: false,
            auth_failure_delay_ms: 100,
            auth_failure_max_delay_ms: 5_000,
            authorizer: AuthorizerKind::AllowAll,
            super_users: Vec::new(),
            allow_everyone_if_no_acl_found: false,
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines. The default.
    #[default]
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// Logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter such as `info` or `info,strait_engine=debug`. `RUST_LOG`, when set, replaces it.
    /// Default `info`.
    pub level: String,
    /// See [`LogFormat`]. Default `text`.
    pub format: LogFormat,
    /// Lines per minute of each kind of per-connection message (refused connection, oversized frame, failed
    /// login, ...); further ones are counted and reported as "suppressed N similar messages", so a flood of bad
    /// connections cannot flood the log. Default 10.
    pub max_repeated_per_minute: u32,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_string(),
            format: LogFormat::Text,
            max_repeated_per_minute: 10,
        }
    }
}

/// What `strait config show` prints in place of a secret.
pub const REDACTED: &str = "***";

impl Config {
    /// This configuration with every secret (SASL passwords, AWS secret keys) replaced by [`REDACTED`]; user
    /// names and access key ids stay, so the output still says who can log in.
    pub fn redacted(&self) -> Config {
        let mut c = self.clone();
        for password in c.kafka.sasl_plain_users.values_mut() {
            *password = REDACTED.to_string();
        }
        for user in &mut c.kafka.sasl.scram_users {
            user.password = REDACTED.to_string();
        }
        if let Some(t) = &mut c.tiering {
            for secret in [&mut t.secret_access_key, &mut t.session_token]
                .into_iter()
                .flatten()
            {
                *secret = REDACTED.to_string();
            }
        }
        for key in &mut c.aws.access_keys {
            key.secret_access_key = REDACTED.to_string();
            if key.session_token.is_some() {
                key.session_token = Some(REDACTED.to_string());
            }
        }
        c
    }

    /// Whether Kafka clients must authenticate (a SASL user or OAUTHBEARER configured; the same rule as
    /// `strait_kafka::BrokerConfig::sasl_required`).
    pub fn kafka_sasl_required(&self) -> bool {
        !self.kafka.sasl_plain_users.is_empty()
            || self.kafka.sasl.requires_auth()
            || self.kafka.aws_msk_iam
    }

    /// Every node of the cluster (this one and its peers) sorted by id, or `None` without a `[cluster]`
    /// section.
    pub fn cluster_nodes(&self) -> Option<Vec<ClusterNode>> {
        self.cluster
            .as_ref()
            .map(|c| c.nodes(&self.kafka, &self.aws))
    }
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}
