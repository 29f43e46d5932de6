//! Secrets: random tokens, their hashes, the master key that seals signing keys at rest, and
//! the signing keys themselves.

pub mod http_signature;
mod issuer_token;
mod key_file;
mod master;
mod signing;
pub mod totp;

pub use issuer_token::{Expected, LEEWAY_SECS, verify_issuer_token};
pub use key_file::{MASTER_KEY_FILE, resolve_master_key};
pub use master::{MasterKey, MasterKeyError};
pub use signing::{
    JwsAlg, NewSigningKey, SigningMaterial, decoding_key_of, generate_signing_key, jwk_of,
};

use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A random URL-safe token with `bytes` bytes of entropy, after `prefix`.
pub fn random_token(prefix: &str, bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut raw);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    )
}

/// Hex SHA-256 of a high-entropy secret (client secrets, refresh tokens, codes, cookies).
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// True when `secret` hashes to `hash`, compared in constant time.
pub fn secret_matches(secret: &str, hash: &str) -> bool {
    use subtle::ConstantTimeEq;
    secret_hash(secret).as_bytes().ct_eq(hash.as_bytes()).into()
}

/// base64url (no padding) of SHA-256 of `input` (PKCE S256, `at_hash` halves use their own).
pub fn s256(input: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(input.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashes_match_only_their_secret() {
        let a = random_token("x_", 32);
        let b = random_token("x_", 32);
        assert_ne!(a, b);
        assert!(a.starts_with("x_") && a.len() > 40);
        let hash = secret_hash(&a);
        assert!(secret_matches(&a, &hash));
        assert!(!secret_matches(&b, &hash));
    }

    #[test]
    fn s256_matches_the_rfc_7636_example() {
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }
}
