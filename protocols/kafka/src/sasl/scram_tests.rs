use super::*;

/// A minimal SCRAM client, as librdkafka and the Java client compute it: the proof for `password`.
fn client_final(
    hash: ScramHash,
    password: &str,
    client_first_bare: &str,
    server_first: &str,
) -> String {
    let attrs: Vec<&str> = server_first.split(',').collect();
    let nonce = attrs[0].strip_prefix("r=").expect("nonce");
    let salt = B64
        .decode(attrs[1].strip_prefix("s=").expect("salt"))
        .expect("base64 salt");
    let iterations: u32 = attrs[2]
        .strip_prefix("i=")
        .expect("i")
        .parse()
        .expect("count");
    let salted = hash.salted_password(password.as_bytes(), &salt, iterations);
    let client_key = hash.hmac(&salted, &[b"Client Key"]);
    let stored_key = hash.hash(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth = format!("{client_first_bare},{server_first},{without_proof}");
    let sig = hash.hmac(&stored_key, &[auth.as_bytes()]);
    let proof: Vec<u8> = client_key.iter().zip(&sig).map(|(a, b)| a ^ b).collect();
    format!("{without_proof},p={}", B64.encode(proof))
}

#[test]
fn rfc7677_sha256_vector() {
    let salt = B64.decode("W22ZaJ0SNY7soEsUEjb6gQ==").expect("salt");
    let salted = ScramHash::Sha256.salted_password(b"pencil", &salt, 4096);
    let cred = ScramCredential::from_salted(ScramHash::Sha256, salt, 4096, &salted);
    let first = parse_client_first(b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO").expect("parses");
    assert_eq!(first.user, "user");
    let (ex, server_first) = ScramExchange::start_with_nonce(
        ScramHash::Sha256,
        first,
        Some(cred),
        "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
    );
    assert_eq!(
        server_first,
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    );
    let server_final = ex
        .finish(
            b"c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
              p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
        )
        .expect("the RFC's proof is accepted");
    assert_eq!(
        server_final,
        b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    );
}

/// The RFC 5802 flow (its example is SHA-1, which Kafka does not offer): client-first, server-first with the
/// client's nonce as prefix, client-final over `c=biws`, server-final `v=`; for both SHA-2 variants.
#[test]
fn full_exchange_with_both_hashes() {
    for hash in [ScramHash::Sha256, ScramHash::Sha512] {
        let cred = ScramCredential::from_password(hash, "pencil", MIN_ITERATIONS);
        assert_eq!(cred.iterations, MIN_ITERATIONS);
        let first = parse_client_first(b"n,,n=al=2Cice,r=fyko+d2lbbFgONRv9qkxdawL").expect("ok");
        assert_eq!(first.user, "al,ice", "saslname escapes decoded");
        let (ex, server_first) = ScramExchange::start(hash, first, Some(cred.clone()));
        let server_first = String::from_utf8(server_first).expect("utf8");
        assert!(server_first.starts_with("r=fyko+d2lbbFgONRv9qkxdawL"));
        assert!(server_first.len() > "r=fyko+d2lbbFgONRv9qkxdawL".len() + 20);
        assert!(server_first.ends_with(",i=4096"));
        let good = client_final(
            hash,
            "pencil",
            "n=al=2Cice,r=fyko+d2lbbFgONRv9qkxdawL",
            &server_first,
        );
        let v = ex.finish(good.as_bytes()).expect("right password");
        assert!(v.starts_with(b"v="));
        let bad = client_final(
            hash,
            "pencil!",
            "n=al=2Cice,r=fyko+d2lbbFgONRv9qkxdawL",
            &server_first,
        );
        assert_eq!(
            ex.finish(bad.as_bytes()),
            Err(ScramError::InvalidCredentials)
        );
    }
}

#[test]
fn nonce_mismatch_and_garbage_are_refused() {
    let hash = ScramHash::Sha256;
    let cred = ScramCredential::from_password(hash, "pw", MIN_ITERATIONS);
    let first = parse_client_first(b"n,,n=u,r=abc").expect("ok");
    let (ex, server_first) = ScramExchange::start(hash, first, Some(cred));
    let server_first = String::from_utf8(server_first).expect("utf8");
    let good = client_final(hash, "pw", "n=u,r=abc", &server_first);
    // Same proof over another nonce: the nonce check fires first.
    let tampered = good.replacen("r=abc", "r=abd", 1);
    assert_eq!(ex.finish(tampered.as_bytes()), Err(ScramError::Nonce));
    assert!(matches!(
        ex.finish(b"c=biws"),
        Err(ScramError::BadFinalMessage(_))
    ));
    assert!(ex.finish(b"\xff\xfe").is_err());
    let other_binding = good.replacen("c=biws", "c=eSws", 1);
    assert_eq!(
        ex.finish(other_binding.as_bytes()),
        Err(ScramError::ChannelBinding)
    );
}

#[test]
fn unknown_user_fails_only_at_the_proof() {
    let first = parse_client_first(b"n,,n=ghost,r=abc").expect("ok");
    let (ex, server_first) = ScramExchange::start(ScramHash::Sha512, first, None);
    let server_first = String::from_utf8(server_first).expect("utf8");
    assert!(server_first.contains(",s=") && server_first.ends_with(",i=4096"));
    let proof = client_final(ScramHash::Sha512, "x", "n=ghost,r=abc", &server_first);
    assert_eq!(
        ex.finish(proof.as_bytes()),
        Err(ScramError::InvalidCredentials)
    );
}

#[test]
fn client_first_rules() {
    assert_eq!(
        parse_client_first(b"y,,n=u,r=a"),
        Err(ScramError::ChannelBinding)
    );
    assert_eq!(
        parse_client_first(b"p=tls-unique,,n=u,r=a"),
        Err(ScramError::ChannelBinding)
    );
    assert_eq!(
        parse_client_first(b"n,,n=u,r=a,tokenauth=true"),
        Err(ScramError::TokenAuth)
    );
    assert_eq!(
        parse_client_first(b"n,a=bob,n=u,r=a"),
        Err(ScramError::AuthzId)
    );
    assert!(parse_client_first(b"n,a=u,n=u,r=a").is_ok());
    assert!(parse_client_first(b"n,,n=u,r=a,other=1").is_ok());
    for bad in [
        &b""[..],
        b"n,,",
        b"n,,n=u",
        b"n,,n=,r=a",
        b"n,,n=a=b,r=x",
        b"x,,n=u,r=a",
        b"n,,r=a,n=u",
    ] {
        assert!(
            matches!(parse_client_first(bad), Err(ScramError::BadFirstMessage(_))),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn credential_debug_hides_keys() {
    let cred = ScramCredential::from_password(ScramHash::Sha256, "pw", MIN_ITERATIONS);
    let shown = format!("{cred:?}");
    assert!(
        shown.contains("4096") && !shown.contains("stored_key"),
        "{shown}"
    );
}
