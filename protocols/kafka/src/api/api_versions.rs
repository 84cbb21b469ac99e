//! ApiVersions: advertises exactly the implemented APIs and versions.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiVersionsRequest, ApiVersionsResponse};

use super::{Ctx, SUPPORTED};

fn versions() -> Vec<ApiVersion> {
    SUPPORTED
        .iter()
        .map(|(k, lo, hi)| {
            ApiVersion::default()
                .with_api_key(*k as i16)
                .with_min_version(*lo)
                .with_max_version(*hi)
        })
        .collect()
}

pub fn handle(_ctx: &mut Ctx<'_>, _req: ApiVersionsRequest) -> ApiVersionsResponse {
    // Optional tagged fields (features) stay at their defaults and so are not encoded: old librdkafka (kcat 1.7)
    // fails to parse a v3 response that carries them.
    ApiVersionsResponse::default()
        .with_error_code(0)
        .with_api_keys(versions())
}

/// The KIP-511 answer to an ApiVersions request newer than we support.
pub fn unsupported() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(versions())
}
