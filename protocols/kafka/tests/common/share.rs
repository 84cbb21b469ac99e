//! ShareFetch and ShareAcknowledge v2 round trips, encoded by hand (the generated codec stops at v1).

use bytes::BytesMut;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use strait_kafka::share::wire::{self, ShareRequest, ShareResponse};

use super::TestBroker;

/// Sends a ShareFetch (`fetch`) or a ShareAcknowledge v2 and decodes the answer.
pub async fn share_call(t: &mut TestBroker, fetch: bool, q: &ShareRequest) -> ShareResponse {
    let api = if fetch {
        ApiKey::ShareFetch
    } else {
        ApiKey::ShareAcknowledge
    };
    let header = RequestHeader::default()
        .with_request_api_key(api as i16)
        .with_request_api_version(2)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("share-test")));
    let mut buf = BytesMut::new();
    header.encode(&mut buf, 2).expect("header");
    if fetch {
        wire::request::encode_share_fetch(&mut buf, q, 2);
    } else {
        wire::request::encode_share_acknowledge(&mut buf, q, 2);
    }
    let mut resp = t
        .broker
        .handle(&mut t.session, buf.freeze())
        .await
        .expect("handled")
        .expect("a response");
    let rh = ResponseHeader::decode(&mut resp, 1).expect("response header");
    assert_eq!(rh.correlation_id, 7);
    if fetch {
        wire::response::decode_share_fetch(&resp).expect("decode")
    } else {
        wire::response::decode_share_acknowledge(&resp, 2).expect("decode")
    }
}
