//! The signing side of the profile, as the LumoAuth SDK's `AAuthClient` signs: Ed25519 over
//! `@method @authority @path signature-key content-digest content-type authorization`, with
//! `created` and `nonce`, no `keyid` and no `alg`. The server never signs requests; this is for
//! the test suites and the benchmark, which must produce exactly what agents send.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{Ed25519KeyPair, KeyPair};
use serde_json::{Value, json};

use super::{HttpMessage, SignatureParams, content_digest, signature_base};

/// The components the SDK covers, in its order.
const SDK_COMPONENTS: [&str; 7] = [
    "@method",
    "@authority",
    "@path",
    "signature-key",
    "content-digest",
    "content-type",
    "authorization",
];

/// An Ed25519 key that signs JSON POSTs the way the SDK does.
pub struct RequestSigner {
    pair: Ed25519KeyPair,
    /// The public key (`x` of its OKP JWK, base64url).
    pub x: String,
    /// The `Signature-Key` sent (and covered), if any.
    pub signature_key: Option<String>,
}

impl RequestSigner {
    /// The key derived from a 32-byte `seed`; `None` only if `ring` refuses the seed.
    pub fn from_seed(seed: [u8; 32], signature_key: Option<String>) -> Option<RequestSigner> {
        let pair = Ed25519KeyPair::from_seed_unchecked(&seed).ok()?;
        let x = URL_SAFE_NO_PAD.encode(pair.public_key().as_ref());
        Some(RequestSigner {
            pair,
            x,
            signature_key,
        })
    }

    /// The public key as a JWKS with one key, `kid` `key-1`.
    pub fn jwks(&self) -> Value {
        json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": "key-1"}]})
    }

    /// Headers for a JSON POST of `body` to `path` at `authority`, signed at `created`
    /// (Unix seconds) with `nonce`: `content-type`, `content-digest`, `signature-key` (if
    /// any), `signature-input` and `signature`.
    pub fn sign_post(
        &self,
        authority: &str,
        path: &str,
        body: &[u8],
        nonce: &str,
        created: i64,
    ) -> Vec<(String, String)> {
        let components: Vec<String> = SDK_COMPONENTS.iter().map(|c| c.to_string()).collect();
        let covered: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
        let serialized = format!(
            "({});created={created};nonce=\"{nonce}\"",
            covered.join(" ")
        );
        let mut headers = vec![
            ("content-type".to_string(), "application/json".to_string()),
            ("content-digest".to_string(), content_digest(body)),
        ];
        if let Some(key) = &self.signature_key {
            headers.push(("signature-key".to_string(), key.clone()));
        }
        let message = HttpMessage {
            method: "POST".into(),
            authority: authority.into(),
            scheme: "http".into(),
            path: path.into(),
            query: None,
            headers: headers.clone(),
            body: body.to_vec(),
        };
        let params = SignatureParams {
            label: "sig1".into(),
            components,
            created,
            nonce: nonce.into(),
            serialized: serialized.clone(),
            signature: Vec::new(),
        };
        // Every component above is a plain header or a supported derived one, and none of the
        // values holds a line break unless the caller put one in `authority`, `path` or the
        // signature key; such a request is signed over an empty base and will not verify.
        let base = signature_base(&message, &params).unwrap_or_default();
        let signature = URL_SAFE_NO_PAD.encode(self.pair.sign(base.as_bytes()).as_ref());
        headers.push(("signature-input".into(), format!("sig1={serialized}")));
        headers.push(("signature".into(), format!("sig1=:{signature}:")));
        headers
    }
}
