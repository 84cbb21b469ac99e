//! Strait's Kafka front end: decodes requests with the `kafka-protocol` crate, answers each API in its own file
//! under [`api`] by translating onto the storage engine, and encodes responses. It owns no sockets and no files:
//! the server feeds it frames per connection and writes back what it returns.
//!
//! Layers, top to bottom (a module imports only its layer or below; `scripts/check-layers.py` enforces it):
//! [`api`] (dispatch, authorization, one module per API) → [`broker`] (shared state: engine, cluster view,
//! authorizer, coordinators) → [`coordinator`] (classic and KIP-848 groups, share groups, transactions,
//! producer state; never imports `api` or `broker`) → [`topics`] and [`session`] → [`codec`] and [`error`].

pub mod acls;
pub mod api;
pub mod broker;
pub mod codec;
pub mod coordinator;
pub mod error;
pub mod fetch_sessions;
pub mod sasl;
pub mod session;
pub mod topics;

// The coordinators' old root paths stay valid (`strait_kafka::group::offsets::...` is used by the KCL bridge).
pub use coordinator::{consumer_group, group, producer, share, txn};

pub use broker::{Broker, BrokerConfig, Session};
pub use error::KafkaError;
pub use group::offsets_api::{CommittedOffset, GroupOffsets};
