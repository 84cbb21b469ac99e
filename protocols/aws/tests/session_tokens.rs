//! Temporary credentials (a session token beside the key) and principal mapping, with requests signed by AWS's
//! own signer in both forms (`Authorization` header and presigned query).

mod support;

use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::SignatureLocation;
use strait_access::{AuthMechanism, Principal};
use strait_aws::sigv4::{AccessKey, SigV4Error};
use support::{BODY, SCOPE, Signing, verify_at};

const SECRET: &str = "dGVtcG9yYXJ5LXNlY3JldA";
const TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE+session/token==";

/// (query, headers) of a DescribeStream request signed at `at` with `token` (or none), in `location`.
fn signed(
    at: SystemTime,
    token: Option<&str>,
    location: SignatureLocation,
) -> (String, Vec<(String, String)>) {
    let expires = (location == SignatureLocation::QueryParams).then_some(Duration::from_secs(300));
    Signing {
        token,
        location,
        expires,
        ..Signing::new("ASIATEMP", SECRET)
    }
    .sign(at)
}

fn check(
    (query, headers): &(String, Vec<(String, String)>),
    keys: &[AccessKey],
    now: SystemTime,
) -> Result<Principal, SigV4Error> {
    verify_at(query, headers, BODY, keys, SCOPE, now)
}

fn temporary(token: &str) -> AccessKey {
    AccessKey {
        session_token: Some(token.into()),
        principal: Some("etl-role".into()),
        ..AccessKey::new("ASIATEMP", SECRET)
    }
}

#[test]
fn a_temporary_key_needs_its_own_session_token_in_either_form() {
    let now = SystemTime::now();
    let role = Principal::user("etl-role", AuthMechanism::AwsSigV4);
    for location in [SignatureLocation::Headers, SignatureLocation::QueryParams] {
        let req = signed(now, Some(TOKEN), location);
        assert_eq!(
            check(&req, &[temporary(TOKEN)], now),
            Ok(role.clone()),
            "{location:?}"
        );
        // Another token for the same key, no token for a temporary key, a token for a long-term key.
        assert_eq!(
            check(&req, &[temporary("another-token")], now),
            Err(SigV4Error::UnrecognizedClient),
            "{location:?}"
        );
        let bare = signed(now, None, location);
        assert_eq!(
            check(&bare, &[temporary(TOKEN)], now),
            Err(SigV4Error::UnrecognizedClient),
            "{location:?}"
        );
        assert_eq!(
            check(&req, &[AccessKey::new("ASIATEMP", SECRET)], now),
            Err(SigV4Error::UnrecognizedClient),
            "{location:?}"
        );
        // A long-term key without a token still verifies, as its access key id unless mapped.
        assert_eq!(
            check(&bare, &[AccessKey::new("ASIATEMP", SECRET)], now),
            Ok(Principal::user("ASIATEMP", AuthMechanism::AwsSigV4)),
            "{location:?}"
        );
    }
}

#[test]
fn a_presigned_request_expires_and_is_capped_at_a_week() {
    let now = SystemTime::now();
    let req = signed(now, None, SignatureLocation::QueryParams);
    let keys = [AccessKey::new("ASIATEMP", SECRET)];
    assert!(check(&req, &keys, now + Duration::from_secs(290)).is_ok());
    assert!(matches!(
        check(&req, &keys, now + Duration::from_secs(310)),
        Err(SigV4Error::InvalidSignature(m)) if m.starts_with("Signature expired: ") && m.ends_with(" - 300 sec.)")
    ));
    let too_long = (
        req.0.replace("X-Amz-Expires=300", "X-Amz-Expires=604801"),
        req.1.clone(),
    );
    assert_eq!(
        check(&too_long, &keys, now),
        Err(SigV4Error::InvalidSignature(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800".into()
        ))
    );
}
