use proptest::prelude::*;
use ring::signature::{Ed25519KeyPair, KeyPair};

use super::*;

const NOW: i64 = 1_800_000_000;
const NONCE: &str = "q1w2e3r4t5y6u7i8o9p0AZ";

fn key() -> (Ed25519KeyPair, String) {
    let pair = Ed25519KeyPair::from_seed_unchecked(&[7u8; 32]).expect("seed");
    let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
    (pair, x)
}

const COVERED: &str = r#"("@method" "@authority" "@path" "signature-key" "content-digest" "content-type" "authorization")"#;

/// A request signed exactly as the LumoAuth SDK's `AAuthClient.sign_request` does.
fn sdk_request(body: &[u8], created: i64, nonce: &str) -> HttpMessage {
    let (pair, _) = key();
    let digest = content_digest(body);
    let params = format!("{COVERED};created={created};nonce=\"{nonce}\"");
    let base = [
        "\"@method\": POST".to_string(),
        "\"@authority\": 127.0.0.1:8080".to_string(),
        "\"@path\": /orgs/acme/api/v1/aauth/agent/token".to_string(),
        "\"signature-key\": ".to_string(),
        format!("\"content-digest\": {digest}"),
        "\"content-type\": application/json".to_string(),
        "\"authorization\": ".to_string(),
        format!("\"@signature-params\": {params}"),
    ]
    .join("\n");
    let signature = URL_SAFE_NO_PAD.encode(pair.sign(base.as_bytes()).as_ref());
    HttpMessage {
        method: "POST".into(),
        authority: "127.0.0.1:8080".into(),
        scheme: "http".into(),
        path: "/orgs/acme/api/v1/aauth/agent/token".into(),
        query: None,
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("content-digest".into(), digest),
            ("signature-input".into(), format!("sig1={params}")),
            ("signature".into(), format!("sig1=:{signature}:")),
            ("agent-auth".into(), "agent_token=x".into()),
        ],
        body: body.to_vec(),
    }
}

fn check(message: &HttpMessage) -> Result<(), SignatureError> {
    let (_, x) = key();
    let params = parse_signature(message, NOW)?;
    verify(message, &params, &x)
}

const BODY: &[u8] = br#"{"request_type": "auth", "resource_token": "rt", "scope": "read"}"#;

#[test]
fn the_sdk_format_verifies() {
    let message = sdk_request(BODY, NOW - 5, NONCE);
    let params = parse_signature(&message, NOW).expect("profile");
    assert_eq!(params.label, "sig1");
    assert_eq!(params.nonce, NONCE);
    assert_eq!(params.components.len(), 7);
    check(&message).expect("verifies");
}

/// The request signer (tests and benchmark) produces the SDK's bytes: same headers, and a
/// signature over the same base as the hand-built SDK request above.
#[test]
fn the_request_signer_signs_like_the_sdk() {
    let signer = RequestSigner::from_seed([7u8; 32], None).expect("seed");
    let path = "/orgs/acme/api/v1/aauth/agent/token";
    let headers = signer.sign_post("127.0.0.1:8080", path, BODY, NONCE, NOW - 5);
    let sdk = sdk_request(BODY, NOW - 5, NONCE);
    for name in ["content-digest", "signature-input", "signature"] {
        let signed = headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone());
        assert_eq!(signed, sdk.header(name), "{name}");
    }
    let message = HttpMessage {
        headers,
        ..sdk.clone()
    };
    check(&message).expect("verifies");
    let moved = HttpMessage {
        path: "/orgs/other/api/v1/aauth/agent/token".into(),
        ..message
    };
    assert!(matches!(check(&moved), Err(SignatureError::Invalid(_))));
}

#[test]
fn a_body_changed_by_a_proxy_is_refused() {
    let mut message = sdk_request(BODY, NOW, NONCE);
    message.body = br#"{"request_type":"auth","resource_token":"rt","scope":"read"}"#.to_vec();
    let err = check(&message).expect_err("refused");
    assert!(err.message().contains("Content-Digest"), "{err:?}");
}

#[test]
fn another_authority_or_path_is_refused() {
    let mut message = sdk_request(BODY, NOW, NONCE);
    message.authority = "evil.example:8080".into();
    assert!(matches!(check(&message), Err(SignatureError::Invalid(_))));
    let mut message = sdk_request(BODY, NOW, NONCE);
    message.path = "/orgs/other/api/v1/aauth/agent/token".into();
    assert!(matches!(check(&message), Err(SignatureError::Invalid(_))));
}

#[test]
fn a_sent_header_that_was_signed_as_absent_is_refused() {
    let mut message = sdk_request(BODY, NOW, NONCE);
    message
        .headers
        .push(("signature-key".into(), "sig1=hwk;x=\"a\"".into()));
    assert!(matches!(check(&message), Err(SignatureError::Invalid(_))));
}

#[test]
fn created_outside_the_window_is_refused() {
    for created in [NOW - 61, NOW + 61] {
        let message = sdk_request(BODY, created, NONCE);
        let err = check(&message).expect_err("stale");
        assert!(err.message().contains("created"), "{err:?}");
    }
    check(&sdk_request(BODY, NOW - 60, NONCE)).expect("60 s is inside the window");
}

#[test]
fn short_nonces_are_refused() {
    let err = check(&sdk_request(BODY, NOW, "short-nonce")).expect_err("short");
    assert!(err.message().contains("nonce"), "{err:?}");
}

#[test]
fn another_key_does_not_verify() {
    let message = sdk_request(BODY, NOW, NONCE);
    let params = parse_signature(&message, NOW).expect("profile");
    let other = Ed25519KeyPair::from_seed_unchecked(&[9u8; 32]).expect("seed");
    let x = URL_SAFE_NO_PAD.encode(other.public_key().as_ref());
    assert!(matches!(
        verify(&message, &params, &x),
        Err(SignatureError::Invalid(_))
    ));
    assert!(verify(&message, &params, "not-a-key").is_err());
}

#[test]
fn the_profile_requires_its_components() {
    let mut message = sdk_request(BODY, NOW, NONCE);
    for (name, value) in message.headers.iter_mut() {
        if name == "signature-input" {
            *value = value.replace("\"@authority\" ", "");
        }
    }
    let err = parse_signature(&message, NOW).expect_err("incomplete");
    assert!(err.message().contains("@authority"), "{err:?}");
    let mut unsigned = sdk_request(BODY, NOW, NONCE);
    unsigned.headers.retain(|(n, _)| n != "signature");
    assert!(matches!(
        parse_signature(&unsigned, NOW),
        Err(SignatureError::Invalid(_))
    ));
}

#[test]
fn signature_keys_parse() {
    let mut message = sdk_request(b"", NOW, NONCE);
    message.headers.push((
        "signature-key".into(),
        r#"sig1=jwks_uri;id="https://agent.example";kid="key-1""#.into(),
    ));
    assert_eq!(
        parse_signature_key(&message, "sig1").expect("parses"),
        Some(SignatureKey::Identified {
            id: "https://agent.example".into(),
            kid: Some("key-1".into())
        })
    );
    assert!(parse_signature_key(&message, "sig2").is_err());
}

proptest! {
    #[test]
    fn the_parsers_never_panic(text in ".{0,300}") {
        let _ = parse_dictionary(&text);
        let message = HttpMessage {
            method: "POST".into(),
            authority: "a".into(),
            scheme: "http".into(),
            path: "/".into(),
            query: None,
            headers: vec![
                ("signature-input".into(), text.clone()),
                ("signature".into(), text.clone()),
                ("content-digest".into(), text.clone()),
                ("signature-key".into(), text.clone()),
            ],
            body: text.clone().into_bytes(),
        };
        if let Ok(params) = parse_signature(&message, NOW) {
            let _ = verify(&message, &params, "AAAA");
        }
        let _ = parse_signature_key(&message, "sig1");
        let _ = check_content_digest(&message);
    }

    #[test]
    fn structured_inputs_never_panic(
        label in "[a-z][a-z0-9]{0,4}",
        items in proptest::collection::vec("[@a-z\"-]{0,8}", 0..6),
        created in any::<i64>(),
        nonce in "[ -~]{0,40}",
        sig in "[A-Za-z0-9+/=_:-]{0,90}",
    ) {
        let list: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
        let input = format!("{label}=({});created={created};nonce=\"{nonce}\"", list.join(" "));
        let message = HttpMessage {
            method: "GET".into(),
            authority: "h".into(),
            scheme: "https".into(),
            path: "/p".into(),
            query: Some("a=b".into()),
            headers: vec![
                ("signature-input".into(), input),
                ("signature".into(), format!("{label}=:{sig}:")),
            ],
            body: Vec::new(),
        };
        if let Ok(params) = parse_signature(&message, NOW) {
            let _ = signature_base(&message, &params);
            let _ = verify(&message, &params, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        }
    }
}
