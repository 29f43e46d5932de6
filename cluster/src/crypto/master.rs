//! The cluster master key: AES-256-GCM sealing of signing private keys at rest. Every data node
//! of a cluster holds the same key (given by the operator, or handed to joining nodes by the
//! node they join through).

use base64::Engine;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

/// Why a master key could not be read or a sealed value opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MasterKeyError {
    #[error("master key must be 32 bytes, base64url or hex encoded")]
    BadKey,
    #[error("sealed value is malformed")]
    Malformed,
    #[error("sealed value does not open with this master key")]
    WrongKey,
}

/// 32 secret bytes.
#[derive(Clone)]
pub struct MasterKey {
    bytes: [u8; 32],
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

const NONCE_LEN: usize = 12;

impl MasterKey {
    /// A fresh random key.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        // SystemRandom fails only when the OS has no randomness at all.
        if SystemRandom::new().fill(&mut bytes).is_err() {
            use rand::RngCore;
            rand::rngs::OsRng.fill_bytes(&mut bytes);
        }
        MasterKey { bytes }
    }

    /// Reads base64url (with or without padding), standard base64 or hex text.
    pub fn parse(text: &str) -> Result<Self, MasterKeyError> {
        let text = text.trim();
        let engines = [
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::STANDARD,
        ];
        let decoded = engines
            .iter()
            .find_map(|e| e.decode(text).ok().filter(|b| b.len() == 32))
            .or_else(|| hex::decode(text).ok().filter(|b| b.len() == 32))
            .ok_or(MasterKeyError::BadKey)?;
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(&decoded);
        Ok(MasterKey { bytes })
    }

    /// base64url text of the key (what key files hold).
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.bytes)
    }

    fn cipher(&self) -> Result<LessSafeKey, MasterKeyError> {
        let key = UnboundKey::new(&AES_256_GCM, &self.bytes).map_err(|_| MasterKeyError::BadKey)?;
        Ok(LessSafeKey::new(key))
    }

    /// An HMAC-SHA256 tag of `message` under a key derived from this one for `purpose`, so
    /// tags made for one purpose never verify for another.
    pub fn mac(&self, purpose: &[u8], message: &[u8]) -> [u8; 32] {
        use ring::hmac;
        let derived = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, &self.bytes), purpose);
        let tag = hmac::sign(
            &hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            message,
        );
        let mut out = [0u8; 32];
        out.copy_from_slice(tag.as_ref());
        out
    }

    /// Encrypts `plain`, binding it to `context` (e.g. org and key id); base64url output.
    pub fn seal(&self, plain: &[u8], context: &[u8]) -> Result<String, MasterKeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| MasterKeyError::BadKey)?;
        let mut buffer = plain.to_vec();
        self.cipher()?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| MasterKeyError::BadKey)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(out))
    }

    /// Decrypts what [`MasterKey::seal`] made with the same `context`.
    pub fn open(&self, sealed: &str, context: &[u8]) -> Result<Vec<u8>, MasterKeyError> {
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sealed)
            .map_err(|_| MasterKeyError::Malformed)?;
        if raw.len() < NONCE_LEN + 16 {
            return Err(MasterKeyError::Malformed);
        }
        let (nonce, body) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| MasterKeyError::Malformed)?;
        let mut buffer = body.to_vec();
        let plain = self
            .cipher()?
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| MasterKeyError::WrongKey)?;
        Ok(plain.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let key = MasterKey::generate();
        let sealed = key.seal(b"private", b"org-1/kid-1").expect("seal");
        assert_eq!(key.open(&sealed, b"org-1/kid-1").expect("open"), b"private");
        assert_eq!(
            key.open(&sealed, b"org-2/kid-1"),
            Err(MasterKeyError::WrongKey)
        );
        let other = MasterKey::generate();
        assert_eq!(
            other.open(&sealed, b"org-1/kid-1"),
            Err(MasterKeyError::WrongKey)
        );
        assert_eq!(key.open("!!", b""), Err(MasterKeyError::Malformed));
    }

    #[test]
    fn keys_round_trip_through_text() {
        let key = MasterKey::generate();
        let back = MasterKey::parse(&key.encode()).expect("parse");
        assert_eq!(back.bytes, key.bytes);
        assert_eq!(
            MasterKey::parse("short").map(|_| ()),
            Err(MasterKeyError::BadKey)
        );
        let hex_text = hex::encode([7u8; 32]);
        assert!(MasterKey::parse(&hex_text).is_ok());
    }
}
