//! The Strait node: one process serving the Kafka wire protocol and a Kinesis-compatible HTTP API over one
//! storage engine.
//!
//! Module map:
//! - [`cli`]: the `strait` command line (`dev`, `serve`, `config`).
//! - [`config`]: the typed configuration tree and its layering (defaults → file → env → flags).
//! - [`devcluster`]: `strait dev --nodes N`, a local N-node cluster as N supervised `strait serve` processes.
//! - [`node`]: startup and graceful shutdown order: listeners, engine, readiness.
//! - [`kafka`]: the Kafka TCP listener: length-prefixed frames, in-order responses, idle timeout. The protocol
//!   itself plugs in through [`kafka::KafkaHandler`].
//! - [`aws`]: the AWS-API HTTP listener (HTTP/1.1 and h2c), routing through `strait-kinesis`.
//! - [`efo`]: SubscribeToShard's response, a streamed `application/vnd.amazon.eventstream` body.
//! - [`admin`]: `/healthz` and `/metrics`.
//! - [`http`]: the hyper accept loop with graceful shutdown that `aws` and `admin` share.
//! - [`limits`]: connection caps, the in-flight request byte budget, accept-error backoff; [`auth_throttle`]:
//!   slowing failed logins; [`ratelimit`]: rate-limited logging of what outsiders can trigger at will.
//! - [`health`], [`telemetry`], [`signal`]: readiness state, logs and metrics, termination signals.
//! - [`tls`]: TLS and mutual TLS on the listeners, certificate reload, and the development certificates of
//!   `strait dev --tls`; [`cert_principal`]: a client certificate's Kafka principal (DN, mapping rules).
//! - [`fdlimit`]: raises the open-file limit at start and warns when it is too low for the data on disk.
//!
//! Every listener takes an already-bound `TcpListener` and a shutdown future, so tests bind port 0 and run
//! listeners in-process.

pub mod admin;
pub mod auth_throttle;
pub mod aws;
pub mod cert_principal;
pub mod cli;
pub mod config;
pub mod console;
pub mod devcluster;
pub mod efo;
pub mod fdlimit;
pub mod health;
pub mod http;
pub mod kafka;
pub mod lag;
pub mod limits;
pub mod node;
pub mod ratelimit;
pub mod replication;
pub mod scrape;
pub mod signal;
pub mod telemetry;
pub mod tiering;
pub mod tls;
