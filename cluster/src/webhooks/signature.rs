//! Webhook signatures, HMAC-SHA256 with the webhook's `whsec_…` secret:
//! - `X-Lumo-Signature: <hex>` and `X-LumoAuth-Signature: sha256=<hex>` over the raw body (the
//!   two spellings of the LumoAuth docs);
//! - Standard Webhooks headers binding the event id and the send time into the signature
//!   against replay: `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>` over
//!   `<id>.<timestamp>.<body>`.
//!
//! During a rotation's grace window the previous secret signs too: `X-LumoAuth-Signature` and
//! `webhook-signature` carry both values; `X-Lumo-Signature` carries the new secret's only.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use ring::hmac;

/// Prefix of every webhook secret.
pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` and 32 random bytes in base64.
pub fn generate_secret() -> String {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(raw))
}

/// The HMAC key of a secret: the base64 after the prefix (Standard Webhooks), or the text
/// itself if that is not base64.
fn key_of(secret: &str) -> hmac::Key {
    let tail = secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret);
    let bytes = STANDARD
        .decode(tail)
        .unwrap_or_else(|_| secret.as_bytes().to_vec());
    hmac::Key::new(hmac::HMAC_SHA256, &bytes)
}

/// The headers of a delivery of `body` for event `event_id`, sent at `timestamp` (Unix
/// seconds), signed by each of `secrets` (newest first).
pub fn signature_headers(
    secrets: &[String],
    event_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let mut hex_values = Vec::new();
    let mut standard = Vec::new();
    for secret in secrets {
        let key = key_of(secret);
        hex_values.push(hex::encode(hmac::sign(&key, body).as_ref()));
        let mut signed = format!("{event_id}.{timestamp}.").into_bytes();
        signed.extend_from_slice(body);
        standard.push(format!(
            "v1,{}",
            STANDARD.encode(hmac::sign(&key, &signed).as_ref())
        ));
    }
    let mut headers = vec![
        ("content-type", "application/json".to_string()),
        ("webhook-id", event_id.to_string()),
        ("webhook-timestamp", timestamp.to_string()),
        ("webhook-signature", standard.join(" ")),
        ("x-lumo-timestamp", timestamp.to_string()),
        ("x-lumo-event-id", event_id.to_string()),
    ];
    if let Some(first) = hex_values.first() {
        headers.push(("x-lumo-signature", first.clone()));
    }
    let spelled: Vec<String> = hex_values.iter().map(|h| format!("sha256={h}")).collect();
    headers.push(("x-lumoauth-signature", spelled.join(",")));
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_signature_is_plain_hmac_sha256() {
        // HMAC-SHA256 with key "key" of the classic pangram (RFC 4231-style known answer).
        let headers = signature_headers(
            &["key".to_string()],
            "evt_1",
            0,
            b"The quick brown fox jumps over the lazy dog",
        );
        let lumo = headers.iter().find(|(k, _)| *k == "x-lumo-signature");
        assert_eq!(
            lumo.map(|(_, v)| v.as_str()),
            Some("f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8")
        );
    }

    #[test]
    fn a_rotation_signs_with_both_secrets() {
        let secrets = [generate_secret(), generate_secret()];
        let headers = signature_headers(&secrets, "evt_1", 1, b"{}");
        let value = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        assert_eq!(value("x-lumoauth-signature").matches("sha256=").count(), 2);
        assert_eq!(value("webhook-signature").matches("v1,").count(), 2);
        assert_eq!(value("x-lumo-signature").len(), 64);
    }
}
