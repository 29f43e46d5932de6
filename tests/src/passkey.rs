//! A software WebAuthn authenticator for tests: an ES256 key pair and a credential id, which
//! answers registration options with a "none" attestation and request options with signed
//! assertions, as a platform authenticator with user verification would. Knobs let a test send
//! what a real authenticator must not: an old signature counter (a cloned key), another origin.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// User present, user verified.
const FLAGS_UP_UV: u8 = 0x01 | 0x04;
/// ... with attested credential data.
const FLAG_AT: u8 = 0x40;

pub struct SoftPasskey {
    key: EcdsaKeyPair,
    rng: SystemRandom,
    pub credential_id: Vec<u8>,
    /// The signature counter of the next assertion (raised before each one).
    pub counter: u32,
    /// The origin clientDataJSON names.
    pub origin: String,
    /// The user handle registration gave (sent back by discoverable assertions).
    pub user_handle: Option<Vec<u8>>,
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .unwrap_or_default()
}

/// CBOR heads (RFC 8949): major type and length.
fn head(major: u8, len: usize, out: &mut Vec<u8>) {
    let major = major << 5;
    match len {
        0..=23 => out.push(major | len as u8),
        24..=0xff => out.extend([major | 24, len as u8]),
        _ => {
            out.push(major | 25);
            out.extend((len as u16).to_be_bytes());
        }
    }
}

fn cbor_text(text: &str, out: &mut Vec<u8>) {
    head(3, text.len(), out);
    out.extend(text.as_bytes());
}

fn cbor_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    head(2, bytes.len(), out);
    out.extend(bytes);
}

/// A small CBOR integer (-24..=23).
fn cbor_int(value: i8, out: &mut Vec<u8>) {
    if value >= 0 {
        out.push(value as u8);
    } else {
        out.push(0x20 | (-1 - value) as u8);
    }
}

impl SoftPasskey {
    pub fn new(origin: &str) -> SoftPasskey {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .expect("generate a P-256 key");
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
            .expect("read the P-256 key");
        let mut credential_id = vec![0u8; 32];
        rng.fill(&mut credential_id).expect("random credential id");
        SoftPasskey {
            key,
            rng,
            credential_id,
            counter: 0,
            origin: origin.to_string(),
            user_handle: None,
        }
    }

    /// The credential's public key as a COSE EC2 key (ES256).
    fn cose_key(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let (x, y) = (&point[1..33], &point[33..65]);
        let mut out = Vec::new();
        head(5, 5, &mut out);
        cbor_int(1, &mut out); // kty
        cbor_int(2, &mut out); // EC2
        cbor_int(3, &mut out); // alg
        cbor_int(-7, &mut out); // ES256
        cbor_int(-1, &mut out); // crv
        cbor_int(1, &mut out); // P-256
        cbor_int(-2, &mut out); // x
        cbor_bytes(x, &mut out);
        cbor_int(-3, &mut out); // y
        cbor_bytes(y, &mut out);
        out
    }

    fn client_data(&self, kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        json!({"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": false})
            .to_string()
            .into_bytes()
    }

    /// The answer to registration `options` (`PublicKeyCredentialCreationOptions`, JSON).
    pub fn register(&mut self, options: &Value) -> Value {
        let rp_id = options["rp"]["id"].as_str().unwrap_or_default();
        let challenge = options["challenge"].as_str().unwrap_or_default();
        self.user_handle = options["user"]["id"].as_str().map(unb64);
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_UP_UV | FLAG_AT);
        auth_data.extend(self.counter.to_be_bytes());
        auth_data.extend([0u8; 16]); // AAGUID
        auth_data.extend((self.credential_id.len() as u16).to_be_bytes());
        auth_data.extend(&self.credential_id);
        auth_data.extend(self.cose_key());
        let mut attestation = Vec::new();
        head(5, 3, &mut attestation);
        cbor_text("fmt", &mut attestation);
        cbor_text("none", &mut attestation);
        cbor_text("attStmt", &mut attestation);
        head(5, 0, &mut attestation);
        cbor_text("authData", &mut attestation);
        cbor_bytes(&auth_data, &mut attestation);
        let client_data = self.client_data("webauthn.create", challenge, &self.origin);
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": {
                "attestationObject": b64(&attestation),
                "clientDataJSON": b64(&client_data),
            },
        })
    }

    /// An assertion answering request `options` (`PublicKeyCredentialRequestOptions`, JSON),
    /// with the next counter.
    pub fn assert(&mut self, options: &Value) -> Value {
        self.counter += 1;
        let origin = self.origin.clone();
        self.assert_as(options, self.counter, &origin)
    }

    /// An assertion with this `counter` from `origin` (what a clone or a phishing page sends).
    pub fn assert_as(&self, options: &Value, counter: u32, origin: &str) -> Value {
        let rp_id = options["rpId"].as_str().unwrap_or_default();
        let challenge = options["challenge"].as_str().unwrap_or_default();
        let mut auth_data = Sha256::digest(rp_id.as_bytes()).to_vec();
        auth_data.push(FLAGS_UP_UV);
        auth_data.extend(counter.to_be_bytes());
        let client_data = self.client_data("webauthn.get", challenge, origin);
        let mut signed = auth_data.clone();
        signed.extend(Sha256::digest(&client_data));
        let signature = self
            .key
            .sign(&self.rng, &signed)
            .expect("sign the assertion");
        json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "extensions": {},
            "response": {
                "authenticatorData": b64(&auth_data),
                "clientDataJSON": b64(&client_data),
                "signature": b64(signature.as_ref()),
                "userHandle": self.user_handle.as_deref().map(b64),
            },
        })
    }
}
