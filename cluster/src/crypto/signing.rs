//! Token signing keys: generation (RS256, ES256, EdDSA), their public JWKs, and the
//! `jsonwebtoken` keys made from them.

use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The signature algorithms an org can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JwsAlg {
    RS256,
    ES256,
    EdDSA,
}

impl JwsAlg {
    /// Every supported algorithm, the default first.
    pub const ALL: [JwsAlg; 3] = [JwsAlg::RS256, JwsAlg::ES256, JwsAlg::EdDSA];

    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            JwsAlg::RS256 => "RS256",
            JwsAlg::ES256 => "ES256",
            JwsAlg::EdDSA => "EdDSA",
        }
    }

    /// Reads a JOSE name.
    pub fn parse(name: &str) -> Option<JwsAlg> {
        JwsAlg::ALL.into_iter().find(|a| a.as_str() == name)
    }

    /// The `jsonwebtoken` algorithm.
    pub fn algorithm(self) -> Algorithm {
        match self {
            JwsAlg::RS256 => Algorithm::RS256,
            JwsAlg::ES256 => Algorithm::ES256,
            JwsAlg::EdDSA => Algorithm::EdDSA,
        }
    }
}

/// A freshly generated key pair: the public JWK and the private key (DER, not yet sealed).
pub struct NewSigningKey {
    pub kid: String,
    pub alg: JwsAlg,
    pub public_jwk: Value,
    pub private_der: Vec<u8>,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates a key pair for `alg` named `kid`.
pub fn generate_signing_key(alg: JwsAlg, kid: &str) -> Result<NewSigningKey, String> {
    let rng = SystemRandom::new();
    let (public_jwk, private_der) = match alg {
        JwsAlg::RS256 => {
            use rsa::pkcs1::EncodeRsaPrivateKey;
            use rsa::traits::PublicKeyParts;
            let key = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
                .map_err(|e| format!("RSA key generation failed: {e}"))?;
            let der = key
                .to_pkcs1_der()
                .map_err(|e| format!("RSA key encoding failed: {e}"))?;
            let jwk = json!({
                "kty": "RSA",
                "n": b64(&key.n().to_bytes_be()),
                "e": b64(&key.e().to_bytes_be()),
            });
            (jwk, der.as_bytes().to_vec())
        }
        JwsAlg::ES256 => {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .map_err(|_| "EC key generation failed".to_string())?;
            let pair =
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                    .map_err(|_| "EC key decoding failed".to_string())?;
            // Uncompressed point: 0x04 || x (32) || y (32).
            let point = pair.public_key().as_ref();
            if point.len() != 65 {
                return Err("unexpected EC public key length".into());
            }
            let jwk = json!({
                "kty": "EC",
                "crv": "P-256",
                "x": b64(&point[1..33]),
                "y": b64(&point[33..65]),
            });
            (jwk, pkcs8.as_ref().to_vec())
        }
        JwsAlg::EdDSA => {
            let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
                .map_err(|_| "Ed25519 key generation failed".to_string())?;
            let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref())
                .map_err(|_| "Ed25519 key decoding failed".to_string())?;
            let jwk = json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": b64(pair.public_key().as_ref()),
            });
            (jwk, pkcs8.as_ref().to_vec())
        }
    };
    let mut public_jwk = public_jwk;
    if let Value::Object(map) = &mut public_jwk {
        map.insert("kid".into(), json!(kid));
        map.insert("use".into(), json!("sig"));
        map.insert("alg".into(), json!(alg.as_str()));
    }
    Ok(NewSigningKey {
        kid: kid.to_string(),
        alg,
        public_jwk,
        private_der,
    })
}

/// The public JWK of a stored key (as published in JWKS).
pub fn jwk_of(public_jwk: &Value) -> Value {
    public_jwk.clone()
}

/// The verification key of a public JWK.
pub fn decoding_key_of(alg: JwsAlg, jwk: &Value) -> Result<DecodingKey, String> {
    let field = |name: &str| {
        jwk.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("JWK without {name}"))
    };
    let key = match alg {
        JwsAlg::RS256 => DecodingKey::from_rsa_components(field("n")?, field("e")?),
        JwsAlg::ES256 => DecodingKey::from_ec_components(field("x")?, field("y")?),
        JwsAlg::EdDSA => DecodingKey::from_ed_components(field("x")?),
    };
    key.map_err(|e| format!("bad JWK: {e}"))
}

/// A usable key: sign with `encoding`, verify with `decoding`.
pub struct SigningMaterial {
    pub kid: String,
    pub alg: JwsAlg,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
}

impl SigningMaterial {
    /// Builds the keys from the private DER and the public JWK.
    pub fn new(kid: &str, alg: JwsAlg, private_der: &[u8], jwk: &Value) -> Result<Self, String> {
        let encoding = match alg {
            JwsAlg::RS256 => EncodingKey::from_rsa_der(private_der),
            JwsAlg::ES256 => EncodingKey::from_ec_der(private_der),
            JwsAlg::EdDSA => EncodingKey::from_ed_der(private_der),
        };
        Ok(SigningMaterial {
            kid: kid.to_string(),
            alg,
            encoding,
            decoding: decoding_key_of(alg, jwk)?,
        })
    }

    /// Signs `claims` as a compact JWS with this key's `kid` (and `typ`, e.g. `at+jwt`).
    pub fn sign<T: Serialize>(&self, claims: &T, typ: &str) -> Result<String, String> {
        let mut header = jsonwebtoken::Header::new(self.alg.algorithm());
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_string());
        jsonwebtoken::encode(&header, claims, &self.encoding).map_err(|e| format!("signing: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_signs_and_verifies_with_its_published_jwk() {
        for alg in JwsAlg::ALL {
            let key = generate_signing_key(alg, "k1").expect("generate");
            assert_eq!(key.public_jwk["kid"], "k1");
            assert_eq!(key.public_jwk["alg"], alg.as_str());
            let material =
                SigningMaterial::new("k1", alg, &key.private_der, &key.public_jwk).expect("keys");
            let token = material
                .sign(&json!({"sub": "u", "exp": 4_000_000_000u64}), "JWT")
                .expect("sign");
            let mut validation = jsonwebtoken::Validation::new(alg.algorithm());
            validation.validate_aud = false;
            let decoded = jsonwebtoken::decode::<Value>(
                &token,
                &decoding_key_of(alg, &jwk_of(&key.public_jwk)).expect("jwk"),
                &validation,
            )
            .expect("verify");
            assert_eq!(decoded.claims["sub"], "u");
            let header = jsonwebtoken::decode_header(&token).expect("header");
            assert_eq!(header.kid.as_deref(), Some("k1"));
        }
    }

    #[test]
    fn a_token_does_not_verify_with_another_key() {
        let a = generate_signing_key(JwsAlg::ES256, "a").expect("a");
        let b = generate_signing_key(JwsAlg::ES256, "b").expect("b");
        let signer = SigningMaterial::new("a", JwsAlg::ES256, &a.private_der, &a.public_jwk)
            .expect("signer");
        let token = signer
            .sign(&json!({"exp": 4_000_000_000u64}), "JWT")
            .expect("sign");
        let validation = jsonwebtoken::Validation::new(Algorithm::ES256);
        let other = decoding_key_of(JwsAlg::ES256, &b.public_jwk).expect("b key");
        assert!(jsonwebtoken::decode::<Value>(&token, &other, &validation).is_err());
    }
}
