//! RFC 9421 HTTP message signatures as AAuth receives them: `Signature-Input`, `Signature`,
//! `Signature-Key` and `Content-Digest` from the network, parsed, turned into a signature base and
//! verified against the key the request names.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use lumo_cluster::crypto::http_signature::{
    HttpMessage, SignatureKey, parse_signature, parse_signature_key, signature_base, verify,
};

#[derive(Debug, Arbitrary)]
struct SignedRequest {
    signature_input: String,
    signature: String,
    signature_key: String,
    content_digest: Option<String>,
    extra_header: (String, String),
    path: String,
    query: Option<String>,
    body: Vec<u8>,
    now: i64,
}

fuzz_target!(|input: SignedRequest| {
    let mut headers = vec![
        ("signature-input".to_owned(), input.signature_input),
        ("signature".to_owned(), input.signature),
        ("signature-key".to_owned(), input.signature_key),
        (
            input.extra_header.0.to_ascii_lowercase(),
            input.extra_header.1,
        ),
    ];
    if let Some(digest) = input.content_digest {
        headers.push(("content-digest".to_owned(), digest));
    }
    let message = HttpMessage {
        method: "POST".to_owned(),
        authority: "127.0.0.1:8080".to_owned(),
        scheme: "http".to_owned(),
        path: input.path,
        query: input.query,
        headers,
        body: input.body,
    };
    let Ok(params) = parse_signature(&message, input.now) else {
        return;
    };
    let _ = signature_base(&message, &params);
    if let Ok(Some(SignatureKey::Inline { x })) = parse_signature_key(&message, &params.label) {
        let _ = verify(&message, &params, &x);
    }
});
