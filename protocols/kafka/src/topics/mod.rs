//! Topic-level helpers below both the API handlers and the coordinators: resolving topics and partitions in the
//! engine ([`resolve`]) and the virtual internal offsets topic ([`internal`]). Nothing here knows the broker.

pub mod internal;
pub(crate) mod resolve;
