//! HTTP message signatures (RFC 9421) as AAuth profiles them, and `Content-Digest`
//! (RFC 9530): pure functions over a received message, no IO. A route (or a resource server,
//! through `aauth/*/verify`) parses the signature, finds the key the way its protocol says,
//! and checks it here.
//!
//! The profile: Ed25519 only; `@method`, `@authority` and `@path` always covered,
//! `content-digest` whenever there is a body and `authorization` whenever that header is sent;
//! `created` within [`MAX_SKEW_SECS`] of now; a `nonce` of at least [`MIN_NONCE_CHARS`]
//! characters (12 bytes of base64). Covered headers the request does not carry count as the
//! empty string (the LumoAuth SDK covers `signature-key` and `authorization` without sending
//! them); signature bytes may use either base64 alphabet.

mod signer;
mod structured;

pub use signer::RequestSigner;
pub use structured::{BareItem, Member, Params, ParseError, parse_dictionary};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256, Sha512};

/// How far `created` may be from the verifier's clock.
pub const MAX_SKEW_SECS: i64 = 60;
/// The shortest nonce accepted (16 base64 characters carry 12 bytes).
pub const MIN_NONCE_CHARS: usize = 16;
const MAX_NONCE_CHARS: usize = 256;
const MAX_BODY: usize = 1 << 20;

/// A request as received: what the signature base is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpMessage {
    pub method: String,
    /// `host[:port]` as the client addressed it (the `Host` header).
    pub authority: String,
    pub scheme: String,
    pub path: String,
    /// The query without `?`, if any.
    pub query: Option<String>,
    /// Header fields, names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpMessage {
    /// The value of header `name` (several fields joined with `, `); `None` when absent.
    pub fn header(&self, name: &str) -> Option<String> {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .collect();
        if values.is_empty() {
            None
        } else {
            Some(values.join(", "))
        }
    }
}

/// Why a signed request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// A header is missing or not well-formed (400).
    Malformed(String),
    /// The request is well-formed but not authentic, fresh or complete enough (401).
    Invalid(String),
}

impl SignatureError {
    pub fn message(&self) -> &str {
        match self {
            SignatureError::Malformed(m) | SignatureError::Invalid(m) => m,
        }
    }
}

fn malformed<T>(why: impl Into<String>) -> Result<T, SignatureError> {
    Err(SignatureError::Malformed(why.into()))
}

fn invalid<T>(why: impl Into<String>) -> Result<T, SignatureError> {
    Err(SignatureError::Invalid(why.into()))
}

/// One signature of the request, parsed and checked against the profile (not yet verified).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureParams {
    pub label: String,
    /// Covered component names, in order.
    pub components: Vec<String>,
    pub created: i64,
    pub nonce: String,
    /// The `@signature-params` value (the inner list and its parameters, serialized).
    pub serialized: String,
    pub signature: Vec<u8>,
}

/// Decodes base64 in either alphabet, padded or not.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    let url = trimmed.replace('+', "-").replace('/', "_");
    URL_SAFE_NO_PAD.decode(url).ok()
}

/// Parses `Signature-Input` and `Signature` and checks the profile at `now` (Unix seconds).
pub fn parse_signature(message: &HttpMessage, now: i64) -> Result<SignatureParams, SignatureError> {
    let (Some(input), Some(signature)) = (
        message.header("signature-input"),
        message.header("signature"),
    ) else {
        return invalid("the request is not signed (Signature-Input and Signature are required)");
    };
    let inputs = parse_dictionary(&input)
        .or_else(|e| malformed(format!("Signature-Input is malformed: {}", e.0)))?;
    let signatures = parse_dictionary(&signature)
        .or_else(|e| malformed(format!("Signature is malformed: {}", e.0)))?;
    let Some((label, items, params, bytes)) = inputs.iter().find_map(|(label, member)| {
        let Member::InnerList(items, params) = member else {
            return None;
        };
        signatures.iter().find_map(|(l, m)| match m {
            Member::Item(BareItem::Bytes(b), _) if l == label => {
                Some((label.clone(), items, params, b.clone()))
            }
            _ => None,
        })
    }) else {
        return malformed("no Signature-Input label has a matching Signature byte sequence");
    };
    let mut components = Vec::with_capacity(items.len());
    for (item, item_params) in items {
        match item {
            BareItem::String(name) if item_params.is_empty() => {
                if name.is_empty() || name.chars().any(|c| c.is_ascii_uppercase()) {
                    return malformed(format!("covered component {name:?} must be lowercase"));
                }
                if components.contains(name) {
                    return malformed(format!("component {name} is covered twice"));
                }
                components.push(name.clone());
            }
            BareItem::String(name) => {
                return malformed(format!("component parameters are not supported ({name})"));
            }
            _ => return malformed("covered components are quoted strings"),
        }
    }
    let param = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v);
    let created = match param("created") {
        Some(BareItem::Integer(t)) => *t,
        Some(_) => return malformed("created must be an integer"),
        None => return invalid("the signature has no created time"),
    };
    if (now - created).abs() > MAX_SKEW_SECS {
        return invalid(format!(
            "the signature was created {}s from now (at most {MAX_SKEW_SECS}s allowed)",
            now - created
        ));
    }
    if let Some(expires) = param("expires") {
        match expires {
            BareItem::Integer(t) if *t > now => {}
            BareItem::Integer(_) => return invalid("the signature expired"),
            _ => return malformed("expires must be an integer"),
        }
    }
    let nonce = match param("nonce") {
        Some(BareItem::String(n)) => n.clone(),
        Some(_) => return malformed("nonce must be a string"),
        None => return invalid("the signature has no nonce"),
    };
    if nonce.len() < MIN_NONCE_CHARS || nonce.len() > MAX_NONCE_CHARS {
        return invalid(format!(
            "the nonce must be {MIN_NONCE_CHARS} to {MAX_NONCE_CHARS} characters (12+ bytes of entropy)"
        ));
    }
    if let Some(alg) = param("alg")
        && *alg != BareItem::String("ed25519".into())
    {
        return invalid("only ed25519 signatures are accepted");
    }
    for required in ["@method", "@authority", "@path"] {
        if !components.iter().any(|c| c == required) {
            return invalid(format!("the signature must cover {required}"));
        }
    }
    if !message.body.is_empty() && !components.iter().any(|c| c == "content-digest") {
        return invalid("a request with a body must cover content-digest");
    }
    if message.header("authorization").is_some() && !components.iter().any(|c| c == "authorization")
    {
        return invalid("the signature must cover the Authorization header it is sent with");
    }
    let Some(signature) = decode_base64(&bytes) else {
        return malformed("the signature is not base64");
    };
    let covered: Vec<String> = components.iter().map(|c| format!("\"{c}\"")).collect();
    let serialized = format!(
        "({}){}",
        covered.join(" "),
        structured::serialize_params(params)
    );
    Ok(SignatureParams {
        label,
        components,
        created,
        nonce,
        serialized,
        signature,
    })
}

/// The value of one covered component.
fn component_value(message: &HttpMessage, name: &str) -> Result<String, SignatureError> {
    Ok(match name {
        "@method" => message.method.to_ascii_uppercase(),
        "@authority" => message.authority.to_ascii_lowercase(),
        "@scheme" => message.scheme.to_ascii_lowercase(),
        "@path" => message.path.clone(),
        "@query" => format!("?{}", message.query.clone().unwrap_or_default()),
        "@request-target" => match &message.query {
            Some(q) => format!("{}?{q}", message.path),
            None => message.path.clone(),
        },
        "@target-uri" => {
            let query = message
                .query
                .as_ref()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            format!(
                "{}://{}{}{query}",
                message.scheme.to_ascii_lowercase(),
                message.authority.to_ascii_lowercase(),
                message.path
            )
        }
        derived if derived.starts_with('@') => {
            return malformed(format!("unsupported derived component {derived}"));
        }
        // An absent covered header is the empty string (the SDK's profile, see module docs).
        header => message.header(header).unwrap_or_default(),
    })
}

/// The signature base (RFC 9421 §2.5) of `message` for `params`.
pub fn signature_base(
    message: &HttpMessage,
    params: &SignatureParams,
) -> Result<String, SignatureError> {
    let mut lines = Vec::with_capacity(params.components.len() + 1);
    for name in &params.components {
        let value = component_value(message, name)?;
        if value.contains('\n') || value.contains('\r') {
            return malformed(format!("component {name} holds a line break"));
        }
        lines.push(format!("\"{name}\": {value}"));
    }
    lines.push(format!("\"@signature-params\": {}", params.serialized));
    Ok(lines.join("\n"))
}

/// True when `signature` is `public_key`'s (raw 32-byte Ed25519) signature of `base`.
pub fn ed25519_verifies(public_key: &[u8], base: &[u8], signature: &[u8]) -> bool {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ED25519, public_key)
        .verify(base, signature)
        .is_ok()
}

/// Verifies `params`' signature of `message` with an Ed25519 public key (`x` of an OKP JWK,
/// base64url).
pub fn verify(
    message: &HttpMessage,
    params: &SignatureParams,
    x: &str,
) -> Result<(), SignatureError> {
    let Some(key) = decode_base64(x).filter(|k| k.len() == 32) else {
        return invalid("the signing key is not an Ed25519 public key");
    };
    check_content_digest(message)?;
    let base = signature_base(message, params)?;
    if ed25519_verifies(&key, base.as_bytes(), &params.signature) {
        Ok(())
    } else {
        invalid("the signature does not verify (method, authority, path, headers or key differ)")
    }
}

/// Checks `Content-Digest` against the body as received: required when there is a body;
/// `sha-256` or `sha-512`, either base64 alphabet.
pub fn check_content_digest(message: &HttpMessage) -> Result<(), SignatureError> {
    if message.body.len() > MAX_BODY {
        return malformed("the body is too large");
    }
    let Some(header) = message.header("content-digest") else {
        if message.body.is_empty() {
            return Ok(());
        }
        return invalid("a request with a body must send Content-Digest");
    };
    let digests = parse_dictionary(&header)
        .or_else(|e| malformed(format!("Content-Digest is malformed: {}", e.0)))?;
    let mut known = false;
    for (alg, member) in &digests {
        let Member::Item(BareItem::Bytes(sent), _) = member else {
            return malformed("Content-Digest values are byte sequences");
        };
        let expected = match alg.as_str() {
            "sha-256" => Sha256::digest(&message.body).to_vec(),
            "sha-512" => Sha512::digest(&message.body).to_vec(),
            _ => continue,
        };
        known = true;
        if decode_base64(sent).as_deref() != Some(expected.as_slice()) {
            return invalid(format!(
                "Content-Digest {alg} does not match the body as received"
            ));
        }
    }
    if known {
        Ok(())
    } else {
        invalid("Content-Digest has no sha-256 or sha-512 value")
    }
}

/// `Content-Digest` for `body` (sha-256, standard base64).
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// How a request names its signing key in `Signature-Key` (draft-hardt-httpbis-signature-key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureKey {
    /// `jwt="<agent+jwt>"`: the key is the token's `cnf.jwk`.
    Jwt(String),
    /// `jwks_uri;id="<identifier>";kid="<kid>"`: a key of a registered identity.
    Identified { id: String, kid: Option<String> },
    /// `hwk;kty="OKP";crv="Ed25519";x="..."`: a bare key (no identity).
    Inline { x: String },
}

/// The `Signature-Key` member for `label`, if the request sends one.
pub fn parse_signature_key(
    message: &HttpMessage,
    label: &str,
) -> Result<Option<SignatureKey>, SignatureError> {
    let Some(header) = message.header("signature-key") else {
        return Ok(None);
    };
    let members = parse_dictionary(&header)
        .or_else(|e| malformed(format!("Signature-Key is malformed: {}", e.0)))?;
    let Some((_, Member::Item(BareItem::Token(scheme), params))) =
        members.iter().find(|(l, _)| l == label)
    else {
        return malformed(format!("Signature-Key has no scheme for {label}"));
    };
    let text = |key: &str| {
        params.iter().find_map(|(k, v)| match v {
            BareItem::String(s) if k == key => Some(s.clone()),
            _ => None,
        })
    };
    match scheme.as_str() {
        "jwt" => match text("jwt") {
            Some(jwt) => Ok(Some(SignatureKey::Jwt(jwt))),
            None => malformed("Signature-Key jwt needs jwt=\"...\""),
        },
        "jwks_uri" | "jwks" => match text("id") {
            Some(id) => Ok(Some(SignatureKey::Identified {
                id,
                kid: text("kid"),
            })),
            None => malformed("Signature-Key jwks_uri needs id=\"...\""),
        },
        "hwk" => {
            if text("kty").as_deref() != Some("OKP") || text("crv").as_deref() != Some("Ed25519") {
                return invalid("only Ed25519 (OKP) keys are accepted");
            }
            match text("x") {
                Some(x) => Ok(Some(SignatureKey::Inline { x })),
                None => malformed("Signature-Key hwk needs x=\"...\""),
            }
        }
        other => invalid(format!("Signature-Key scheme {other} is not supported")),
    }
}

/// RFC 7638 thumbprint of an Ed25519 public key (`x`, base64url).
pub fn okp_thumbprint(x: &str) -> String {
    let canonical = format!("{{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"{x}\"}}");
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod rfc_vectors;
#[cfg(test)]
mod tests;
