//! Byte-level checks for old clients: librdkafka 2.0.2 (kcat 1.7.1) fails with "Read underflow" on an
//! ApiVersions v3 response that carries optional tagged fields, even at their default values.

mod common;

use bytes::{Buf, BufMut, BytesMut};
use common::TestBroker;
use kafka_protocol::messages::ApiKey;

fn put_compact_string(buf: &mut BytesMut, s: &str) {
    buf.put_u8(u8::try_from(s.len() + 1).expect("short string"));
    buf.put_slice(s.as_bytes());
}

#[tokio::test]
async fn api_versions_v3_response_carries_no_tagged_fields() {
    let t = TestBroker::new().await;
    let mut s = strait_kafka::Session::default();
    // The request as librdkafka 2.0.2 sends it: header v2, then a v3 body naming the client.
    let mut frame = BytesMut::new();
    frame.put_i16(ApiKey::ApiVersions as i16);
    frame.put_i16(3);
    frame.put_i32(77);
    frame.put_i16(7);
    frame.put_slice(b"rdkafka");
    frame.put_u8(0); // header tagged fields
    put_compact_string(&mut frame, "librdkafka");
    put_compact_string(&mut frame, "2.0.2");
    frame.put_u8(0); // body tagged fields
    let resp = t
        .broker
        .handle(&mut s, frame.freeze())
        .await
        .expect("handled")
        .expect("response");

    // ApiVersions answers with response header v0 (correlation id only), whatever the request version.
    let mut body = &resp[..];
    assert_eq!(body.get_i32(), 77);
    assert_eq!(body.get_i16(), 0, "error code");
    // api_keys: compact array (length + 1 as an unsigned varint) of (key, min, max, tagged-field count).
    let mut len_plus_one = 0usize;
    let mut shift = 0;
    loop {
        let b = body.get_u8();
        len_plus_one |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let keys = len_plus_one - 1;
    assert!(keys > 10, "advertises the implemented APIs");
    for _ in 0..keys {
        let key = body.get_i16();
        let (min, max) = (body.get_i16(), body.get_i16());
        assert!(min <= max, "key {key}: {min}..{max}");
        assert_eq!(
            body.get_u8(),
            0,
            "key {key}: no tagged fields in an api_keys entry"
        );
    }
    assert_eq!(body.get_i32(), 0, "throttle time");
    // No SupportedFeatures, FinalizedFeaturesEpoch, FinalizedFeatures or ZkMigrationReady: an empty tag section.
    assert_eq!(body, &[0u8][..], "top-level tagged fields must be empty");
    t.shutdown().await;
}
