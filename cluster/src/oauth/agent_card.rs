//! Signed A2A agent cards: an active agent with an A2A endpoint gets a card describing it
//! (its capabilities as skills and as the scopes of an OAuth client-credentials scheme at this
//! org), signed with the org's token key as a detached JWS over the card's canonical JSON
//! (sorted keys, no `signatures`); and the check of such a signature against a key set.

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::command::AgentKey;
use crate::crypto::{JwsAlg, decoding_key_of};
use crate::error::{ClusterError, Result};
use crate::protocol::ProtocolReply;

use super::runtime::ProtocolCtx;

/// The A2A protocol version the cards declare.
const PROTOCOL_VERSION: &str = "0.3.0";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The card's canonical JSON: every key sorted (serde_json maps are ordered), no
/// `signatures`.
fn canonical(card: &Value) -> Vec<u8> {
    let mut unsigned = card.clone();
    if let Some(map) = unsigned.as_object_mut() {
        map.remove("signatures");
    }
    serde_json::to_vec(&unsigned).unwrap_or_default()
}

/// `GET ~/agents/{id}/agent-card`.
pub(super) async fn card(
    ctx: &ProtocolCtx,
    issuer: &str,
    agent: &AgentKey,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let agent = crate::lookup::agent(&reader, agent)?;
    let url = match (&agent.a2a_url, agent.usable()) {
        (Some(url), true) => url.clone(),
        _ => {
            return Err(ClusterError::not_found(
                "agent card",
                format!(
                    "{} (only active agents with an A2A endpoint have one)",
                    agent.agent_id
                ),
            ));
        }
    };
    let org = crate::lookup::load_org(&reader)?;
    let scopes: serde_json::Map<String, Value> = agent
        .capabilities
        .iter()
        .map(|c| (c.clone(), json!(format!("capability {c}"))))
        .collect();
    let skills: Vec<Value> = agent
        .capabilities
        .iter()
        .map(|c| {
            let tag = c.split(['.', ':']).next().unwrap_or(c);
            json!({"id": c, "name": c, "description": format!("Performs {c}"), "tags": [tag]})
        })
        .collect();
    let mut card = json!({
        "protocolVersion": PROTOCOL_VERSION,
        "name": agent.name,
        "description": agent.description.clone().unwrap_or_default(),
        "url": url,
        "preferredTransport": "JSONRPC",
        "provider": {"organization": org.name, "url": issuer},
        "capabilities": {"streaming": false, "pushNotifications": false},
        "defaultInputModes": ["application/json", "text/plain"],
        "defaultOutputModes": ["application/json", "text/plain"],
        "securitySchemes": {"lumoauth_oauth2": {
            "type": "oauth2",
            "flows": {"clientCredentials": {"tokenUrl": format!("{issuer}/oauth/token"), "scopes": scopes}},
        }},
        "security": [{"lumoauth_oauth2": agent.capabilities}],
        "skills": skills,
        "version": "1.0.0",
    });
    let digest = hex::encode(Sha256::digest(canonical(&card)));
    card["version"] = json!(format!("1.0.0+sha256.{}", &digest[..16]));
    let key = ctx.signing_key().await?;
    let compact = key.sign(&card, "JOSE").map_err(ClusterError::internal)?;
    let mut parts = compact.split('.');
    let protected = parts.next().unwrap_or_default().to_string();
    let signature = parts.nth(1).unwrap_or_default().to_string();
    card["signatures"] = json!([{"protected": protected, "signature": signature}]);
    Ok(ProtocolReply::Document(card))
}

/// The verdict on a card's signatures against `keys` (public JWKs).
pub fn verify_card(card: &Value, keys: &[Value]) -> Value {
    let summary = json!({
        "protocolVersion": card.get("protocolVersion"),
        "name": card.get("name"),
        "url": card.get("url"),
        "version": card.get("version"),
        "provider": card.get("provider"),
        "skills": card.get("skills").and_then(Value::as_array).map_or(0, Vec::len),
    });
    let refuse = |why: String| json!({"valid": false, "error": why, "card_summary": summary});
    let Some(signatures) = card.get("signatures").and_then(Value::as_array) else {
        return refuse("the card carries no signatures".into());
    };
    let payload = b64(&canonical(card));
    let mut last_error = "the card carries no signatures".to_string();
    for entry in signatures {
        let (Some(protected), Some(signature)) = (
            entry.get("protected").and_then(Value::as_str),
            entry.get("signature").and_then(Value::as_str),
        ) else {
            last_error = "a signature lacks protected or signature".into();
            continue;
        };
        let header: Value = match base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(protected)
            .ok()
            .and_then(|h| serde_json::from_slice(&h).ok())
        {
            Some(header) => header,
            None => {
                last_error = "a protected header is not base64url JSON".into();
                continue;
            }
        };
        let kid = header.get("kid").and_then(Value::as_str);
        let Some(alg) = header
            .get("alg")
            .and_then(Value::as_str)
            .and_then(JwsAlg::parse)
        else {
            last_error = "unsupported or missing alg".into();
            continue;
        };
        let Some(jwk) = keys
            .iter()
            .find(|k| kid.is_some() && k.get("kid").and_then(Value::as_str) == kid)
        else {
            last_error = format!("no key {} in the key set", kid.unwrap_or("(none)"));
            continue;
        };
        let Ok(decoding) = decoding_key_of(alg, jwk) else {
            last_error = "the signing key is not usable".into();
            continue;
        };
        let mut validation = jsonwebtoken::Validation::new(alg.algorithm());
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        validation.validate_aud = false;
        let compact = format!("{protected}.{payload}.{signature}");
        match jsonwebtoken::decode::<Value>(&compact, &decoding, &validation) {
            Ok(_) => {
                return json!({
                    "valid": true,
                    "signer": {"kid": kid, "alg": alg.as_str()},
                    "card_summary": summary,
                });
            }
            Err(e) => last_error = format!("signature check failed: {e}"),
        }
    }
    refuse(last_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::{SigningMaterial, generate_signing_key};

    #[test]
    fn a_signed_card_verifies_and_a_changed_one_does_not() {
        let key = generate_signing_key(JwsAlg::ES256, "k1").expect("key");
        let material = SigningMaterial::new("k1", JwsAlg::ES256, &key.private_der, &key.public_jwk)
            .expect("material");
        let mut card = json!({"name": "bot", "url": "https://a.example/a2a", "skills": []});
        let compact = material.sign(&card, "JOSE").expect("sign");
        let parts: Vec<&str> = compact.split('.').collect();
        card["signatures"] = json!([{"protected": parts[0], "signature": parts[2]}]);
        assert_eq!(
            verify_card(&card, std::slice::from_ref(&key.public_jwk))["valid"],
            true
        );
        card["name"] = json!("evil");
        assert_eq!(
            verify_card(&card, std::slice::from_ref(&key.public_jwk))["valid"],
            false
        );
        assert_eq!(verify_card(&card, &[])["valid"], false);
    }
}
