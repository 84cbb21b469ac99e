//! Strait's Kafka front end: decodes requests with the `kafka-protocol` crate, answers each API in its own file
//! under [`api`] by translating onto the storage engine, and encodes responses. It owns no sockets and no files:
//! the server feeds it frames per connection and writes back what it returns.
//!
//! Module map: [`codec`] (framing), [`error`] (errors and engine → Kafka error-code mapping), [`api`] (dispatch
//! and one module per API), [`broker`] (node identity and shared state), [`group`] (the classic consumer-group
//! coordinator and committed offsets), [`consumer_group`] (KIP-848 consumer-protocol groups), [`producer`] (idempotent-producer sequence state and producer ids), [`txn`] (the transaction coordinator and
//! per-partition stable offsets), [`share`] (KIP-932 share groups: coordinator, sessions, record states).

pub mod api;
pub mod broker;
pub mod codec;
pub mod coordinator;
pub mod error;
pub mod session;
pub mod topics;

// The coordinators' old root paths stay valid (`strait_kafka::group::offsets::...` is used by the KCL bridge).
pub use coordinator::{consumer_group, group, producer, share, txn};

pub use broker::{Broker, BrokerConfig, Session};
pub use error::KafkaError;
pub use group::offsets_api::{CommittedOffset, GroupOffsets};
