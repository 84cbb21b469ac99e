//! Dispatch: one module per Kafka API, each a thin translation onto the engine.
//!
//! [`SUPPORTED`] is what ApiVersions advertises: only APIs that are implemented, with the version ranges they
//! implement (a subset of Kafka 4.x's; clients negotiate down). A request for anything else closes the
//! connection, as Apache Kafka does for an API it does not know.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use crate::broker::{Broker, Session};
use crate::codec;
use crate::error::KafkaError;

pub mod api_versions;
pub mod metadata;

/// `(api, min version, max version)` for every implemented API.
pub const SUPPORTED: &[(ApiKey, i16, i16)] =
    &[(ApiKey::ApiVersions, 0, 4), (ApiKey::Metadata, 0, 12)];

pub fn supported_range(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|(_, lo, hi)| (*lo, *hi))
}

/// Context handed to every handler.
pub struct Ctx<'a> {
    pub broker: &'a Broker,
    pub header: &'a RequestHeader,
    pub session: &'a mut Session,
}

impl Ctx<'_> {
    pub fn version(&self) -> i16 {
        self.header.request_api_version
    }
}

pub(crate) async fn dispatch(
    broker: &Broker,
    session: &mut Session,
    frame: Bytes,
) -> Result<Option<Bytes>, KafkaError> {
    let (key, version, correlation_id) = codec::peek(&frame)?;
    let api = ApiKey::try_from(key).map_err(|_| KafkaError::UnknownApiKey(key))?;
    let Some(range) = supported_range(api) else {
        return Err(KafkaError::UnknownApiKey(key));
    };
    // KIP-511: an ApiVersions request newer than we know is answered (in v0 format) with UNSUPPORTED_VERSION and
    // our ranges, so the client can retry with a version we speak.
    if api == ApiKey::ApiVersions && version > range.1 {
        let body = ResponseKind::ApiVersions(api_versions::unsupported());
        return codec::encode(api, 0, correlation_id, &body).map(Some);
    }
    let decoded = codec::decode(frame, range)?;
    if session.client_id.is_none() {
        session.client_id = decoded.header.client_id.as_ref().map(|s| s.to_string());
    }
    let header = decoded.header;
    metrics::counter!("strait_kafka_requests_total", "api" => format!("{api:?}")).increment(1);
    let mut ctx = Ctx {
        broker,
        header: &header,
        session,
    };
    let response = match decoded.request {
        RequestKind::ApiVersions(r) => ResponseKind::ApiVersions(api_versions::handle(&mut ctx, r)),
        RequestKind::Metadata(r) => ResponseKind::Metadata(metadata::handle(&mut ctx, r).await),
        other => {
            tracing::warn!(
                ?api,
                "request decoded for an API without a handler: {other:?}"
            );
            return Err(KafkaError::UnknownApiKey(key));
        }
    };
    codec::encode(api, version, header.correlation_id, &response).map(Some)
}
