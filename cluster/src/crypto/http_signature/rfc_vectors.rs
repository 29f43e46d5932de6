//! Known-answer tests against published vectors: RFC 9421 Appendix B (test key B.1.4, test
//! request B.2, signature B.2.6), the `{"hello": "world"}` digest of RFC 9421 §7.2.8 and
//! RFC 9530 Appendix D, and the Ed25519 JWK thumbprint of RFC 8037 Appendix A.3.
//!
//! The RFC texts wrap long lines per RFC 8792 (`\` at the end of a line, leading whitespace on
//! the next one); the constants below are the unwrapped values.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

use super::*;

/// RFC 9421 B.1.4, `test-key-ed25519`: the public key in PEM (SPKI), base64 body.
const ED25519_PUBLIC_PEM_BODY: &str =
    "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";
/// RFC 9421 B.1.4, `test-key-ed25519`: the same public key as the JWK `x`.
const ED25519_JWK_X: &str = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs";
/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE, AlgorithmIdentifier
/// id-Ed25519 (1.3.101.112), BIT STRING of 33 bytes (0 unused bits).
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// RFC 9421 B.2, `test-request`'s content.
const TEST_BODY: &[u8] = b"{\"hello\": \"world\"}";
/// RFC 9421 B.2, `test-request`'s Content-Digest (sha-512).
const TEST_CONTENT_DIGEST: &str = "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

/// RFC 9421 B.2.6: the `@signature-params` value (and the Signature-Input member's value).
const B26_SIGNATURE_PARAMS: &str = concat!(
    "(\"date\" \"@method\" \"@path\" \"@authority\" ",
    "\"content-type\" \"content-length\");created=1618884473",
    ";keyid=\"test-key-ed25519\"",
);
/// RFC 9421 B.2.6: the signature base.
const B26_SIGNATURE_BASE: &str = concat!(
    "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n",
    "\"@method\": POST\n",
    "\"@path\": /foo\n",
    "\"@authority\": example.com\n",
    "\"content-type\": application/json\n",
    "\"content-length\": 18\n",
    "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" ",
    "\"content-type\" \"content-length\");created=1618884473",
    ";keyid=\"test-key-ed25519\"",
);
/// RFC 9421 B.2.6: the `sig-b26` Signature value (the byte sequence's base64).
const B26_SIGNATURE: &str = concat!(
    "wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1",
    "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==",
);

/// RFC 9421 B.2's `test-request`:
///
/// ```text
/// POST /foo?param=Value&Pet=dog HTTP/1.1
/// Host: example.com
/// Date: Tue, 20 Apr 2021 02:07:55 GMT
/// Content-Type: application/json
/// Content-Digest: sha-512=:WZDPaVn/...XvJwew==:
/// Content-Length: 18
///
/// {"hello": "world"}
/// ```
///
/// The RFC gives no scheme; B.2.6 does not cover `@scheme`, so "https" is arbitrary.
fn test_request() -> HttpMessage {
    let headers = [
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        ("content-digest", TEST_CONTENT_DIGEST),
        ("content-length", "18"),
    ];
    HttpMessage {
        method: "POST".into(),
        authority: "example.com".into(),
        scheme: "https".into(),
        path: "/foo".into(),
        query: Some("param=Value&Pet=dog".into()),
        headers: headers
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        body: TEST_BODY.to_vec(),
    }
}

/// RFC 9421 B.2.6's `sig-b26`, built by hand (it has no nonce, so it does not pass
/// `parse_signature`'s profile; the base and the signature do not depend on that).
fn b26_params() -> SignatureParams {
    SignatureParams {
        label: "sig-b26".into(),
        components: [
            "date",
            "@method",
            "@path",
            "@authority",
            "content-type",
            "content-length",
        ]
        .iter()
        .map(|c| (*c).to_owned())
        .collect(),
        created: 1_618_884_473,
        nonce: String::new(),
        serialized: B26_SIGNATURE_PARAMS.into(),
        signature: STANDARD
            .decode(B26_SIGNATURE)
            .expect("the RFC's signature is standard base64"),
    }
}

/// The raw 32-byte `test-key-ed25519` public key, from the JWK `x`.
fn b14_public_key() -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(ED25519_JWK_X)
        .expect("the RFC's JWK x is base64url")
}

#[test]
fn b14_pem_and_jwk_are_the_same_raw_key() {
    let der = STANDARD
        .decode(ED25519_PUBLIC_PEM_BODY)
        .expect("the RFC's PEM body is standard base64");
    assert_eq!(
        der.len(),
        44,
        "Ed25519 SPKI is 12 bytes of header and 32 of key"
    );
    assert_eq!(der[..12], ED25519_SPKI_PREFIX);
    let raw = b14_public_key();
    assert_eq!(raw.len(), 32);
    assert_eq!(der[12..], raw[..]);
    assert_eq!(
        decode_base64(ED25519_JWK_X).as_deref(),
        Some(raw.as_slice())
    );
}

#[test]
fn b26_signature_base_matches_the_rfc_byte_for_byte() {
    let base = signature_base(&test_request(), &b26_params()).expect("B.2.6's base builds");
    assert_eq!(base, B26_SIGNATURE_BASE);
    assert_eq!(base.as_bytes(), B26_SIGNATURE_BASE.as_bytes());
}

#[test]
fn b26_signature_verifies_with_test_key_ed25519() {
    let key = b14_public_key();
    let params = b26_params();
    assert_eq!(params.signature.len(), 64);
    assert_eq!(
        decode_base64(B26_SIGNATURE).as_deref(),
        Some(params.signature.as_slice())
    );
    assert!(ed25519_verifies(
        &key,
        B26_SIGNATURE_BASE.as_bytes(),
        &params.signature
    ));
    // End to end: Content-Digest (sha-512) against the body, then base and signature.
    assert_eq!(verify(&test_request(), &params, ED25519_JWK_X), Ok(()));
}

#[test]
fn b26_signature_fails_on_a_one_byte_change() {
    let key = b14_public_key();
    let signature = b26_params().signature;
    let base = B26_SIGNATURE_BASE.as_bytes();
    for at in [0, base.len() / 2, base.len() - 1] {
        let mut changed = base.to_vec();
        changed[at] ^= 0x01;
        assert!(
            !ed25519_verifies(&key, &changed, &signature),
            "a base changed at byte {at} must not verify"
        );
    }
    let mut changed = signature.clone();
    changed[0] ^= 0x01;
    assert!(!ed25519_verifies(&key, base, &changed));
    // Through the message: `@path` /foo -> /fop.
    let mut message = test_request();
    message.path = "/fop".into();
    assert!(matches!(
        verify(&message, &b26_params(), ED25519_JWK_X),
        Err(SignatureError::Invalid(_))
    ));
}

#[test]
fn test_request_content_digest_matches_the_rfc() {
    // RFC 9421 B.2 sends sha-512; check_content_digest recomputes it from the body.
    assert_eq!(check_content_digest(&test_request()), Ok(()));
    // RFC 9421 §7.2.8 and RFC 9530 Appendix D: sha-256 of the same content.
    assert_eq!(
        content_digest(TEST_BODY),
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
    );
    let mut tampered = test_request();
    tampered.body = b"{\"hello\": \"World\"}".to_vec();
    assert!(matches!(
        check_content_digest(&tampered),
        Err(SignatureError::Invalid(_))
    ));
}

#[test]
fn rfc8037_a3_okp_thumbprint() {
    assert_eq!(
        okp_thumbprint("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"),
        "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"
    );
}
