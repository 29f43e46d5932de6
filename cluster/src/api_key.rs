//! Org API keys: `lmk_<org ulid>_<secret>`. The org id inside lets any node route a key
//! without a lookup; only the SHA-256 of the whole key is stored.

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::clock::Timestamp;
use crate::ids::OrgId;
use crate::model::NewApiKey;

/// A key and what to store about it.
pub struct GeneratedKey {
    /// The plaintext key, shown once.
    pub secret: String,
    pub record: NewApiKey,
}

/// Hex SHA-256 of a key.
pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// The display prefix of a key (never enough to use it).
pub fn display_prefix(key: &str) -> String {
    let tail: String = key
        .chars()
        .rev()
        .take(6)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("lmk_…{tail}")
}

/// Agent keys start with this; they authenticate the agent, never the org's admin API.
pub const AGENT_KEY_PREFIX: &str = "agk_";

fn random_secret() -> String {
    let mut secret = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut secret);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
}

/// A new agent key for `org` (`agk_<org>_<secret>`, routable like an API key) and its
/// (hash, display prefix).
pub fn generate_agent_key(org: OrgId) -> (String, String, String) {
    let key = format!(
        "{AGENT_KEY_PREFIX}{}_{}",
        org.0.to_string().to_lowercase(),
        random_secret()
    );
    let hash = hash_key(&key);
    let prefix = display_prefix(&key).replacen("lmk_", AGENT_KEY_PREFIX, 1);
    (key, hash, prefix)
}

/// A new random key for `org`.
pub fn generate(
    org: OrgId,
    name: &str,
    scopes: Vec<String>,
    expires_at: Option<Timestamp>,
) -> GeneratedKey {
    let key = format!(
        "lmk_{}_{}",
        org.0.to_string().to_lowercase(),
        random_secret()
    );
    describe(&key, name, scopes, expires_at)
}

/// The stored description of a given key.
pub fn describe(
    key: &str,
    name: &str,
    scopes: Vec<String>,
    expires_at: Option<Timestamp>,
) -> GeneratedKey {
    GeneratedKey {
        secret: key.to_string(),
        record: NewApiKey {
            name: name.to_string(),
            prefix: display_prefix(key),
            hash: hash_key(key),
            scopes,
            expires_at,
        },
    }
}

/// The org a generated key names, if it has the generated shape.
pub fn routed_org(key: &str) -> Option<OrgId> {
    let rest = key
        .strip_prefix("lmk_")
        .or_else(|| key.strip_prefix(AGENT_KEY_PREFIX))?;
    let (org, secret) = rest.split_once('_')?;
    if org.len() != 26 || secret.is_empty() {
        return None;
    }
    org.to_uppercase().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_route_to_their_org() {
        let org = OrgId::generate();
        let key = generate(org, "ci", vec!["admin".into()], None);
        assert!(key.secret.starts_with("lmk_"));
        assert_eq!(routed_org(&key.secret), Some(org));
        assert_eq!(key.record.hash, hash_key(&key.secret));
        assert!(!key.record.prefix.contains(&key.secret[..20]));
        assert_eq!(routed_org("lmk_handwritten-bootstrap-key"), None);
    }
}
