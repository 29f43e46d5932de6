//! Assertion encryption (XML Encryption 1.1) for apps that register an encryption
//! certificate: the signed assertion is encrypted with a fresh AES-256-GCM key, and that key
//! with the app's RSA public key (RSA-OAEP, MGF1 with SHA-1, the algorithm every SAML stack
//! reads). The `EncryptedAssertion` then takes the assertion's place in the response.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::rsa::Padding;
use openssl::symm::{Cipher, encrypt_aead};
use openssl::x509::X509;

use crate::error::{ClusterError, Result};

const XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const DSIG: &str = "http://www.w3.org/2000/09/xmldsig#";
const AES_256_GCM: &str = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
const RSA_OAEP: &str = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p";
const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";

fn failed(what: &str, e: impl std::fmt::Display) -> ClusterError {
    ClusterError::internal(format!("encrypting the SAML assertion: {what}: {e}"))
}

/// `assertion` (signed XML) as a `saml:EncryptedAssertion` to `certificate` (base64 DER).
pub(super) fn encrypted_assertion(assertion: &str, certificate: &str) -> Result<String> {
    let der = STANDARD
        .decode(certificate)
        .map_err(|e| failed("the certificate", e))?;
    let public = X509::from_der(&der)
        .and_then(|c| c.public_key())
        .and_then(|k| k.rsa())
        .map_err(|e| failed("the certificate's RSA key", e))?;
    let mut key = [0u8; 32];
    let mut iv = [0u8; 12];
    openssl::rand::rand_bytes(&mut key).map_err(|e| failed("randomness", e))?;
    openssl::rand::rand_bytes(&mut iv).map_err(|e| failed("randomness", e))?;
    let mut tag = [0u8; 16];
    let sealed = encrypt_aead(
        Cipher::aes_256_gcm(),
        &key,
        Some(&iv),
        &[],
        assertion.as_bytes(),
        &mut tag,
    )
    .map_err(|e| failed("AES-GCM", e))?;
    // XML Encryption 1.1: the cipher value is the IV, the ciphertext, then the tag.
    let mut data = Vec::with_capacity(iv.len() + sealed.len() + tag.len());
    data.extend_from_slice(&iv);
    data.extend_from_slice(&sealed);
    data.extend_from_slice(&tag);
    let mut wrapped = vec![0u8; public.size() as usize];
    let length = public
        .public_encrypt(&key, &mut wrapped, Padding::PKCS1_OAEP)
        .map_err(|e| failed("RSA-OAEP", e))?;
    wrapped.truncate(length);
    Ok(format!(
        concat!(
            r#"<saml:EncryptedAssertion><xenc:EncryptedData xmlns:xenc="{xenc}" "#,
            r#"Type="{xenc}Element"><xenc:EncryptionMethod Algorithm="{aes}"/>"#,
            r#"<ds:KeyInfo xmlns:ds="{dsig}"><xenc:EncryptedKey>"#,
            r#"<xenc:EncryptionMethod Algorithm="{oaep}"><ds:DigestMethod Algorithm="{sha1}"/></xenc:EncryptionMethod>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{key}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedKey></ds:KeyInfo>"#,
            r#"<xenc:CipherData><xenc:CipherValue>{data}</xenc:CipherValue></xenc:CipherData>"#,
            r#"</xenc:EncryptedData></saml:EncryptedAssertion>"#
        ),
        xenc = XENC,
        aes = AES_256_GCM,
        dsig = DSIG,
        oaep = RSA_OAEP,
        sha1 = SHA1,
        key = STANDARD.encode(&wrapped),
        data = STANDARD.encode(&data),
    ))
}

#[cfg(test)]
mod tests {
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;
    use openssl::symm::decrypt_aead;

    use super::*;

    fn value_after(xml: &str, from: usize) -> (&str, usize) {
        let start = xml[from..]
            .find("<xenc:CipherValue>")
            .map(|i| from + i + 18);
        let start = start.unwrap_or(xml.len());
        let end = xml[start..].find("</").map_or(xml.len(), |i| start + i);
        (&xml[start..end], end)
    }

    #[test]
    fn the_holder_of_the_key_reads_the_assertion_back() {
        let rsa = Rsa::generate(2048).expect("key");
        let pkey = PKey::from_rsa(rsa.clone()).expect("pkey");
        let mut name = openssl::x509::X509NameBuilder::new().expect("name");
        name.append_entry_by_text("CN", "sp").expect("cn");
        let name = name.build();
        let mut builder = openssl::x509::X509::builder().expect("builder");
        builder.set_subject_name(&name).expect("subject");
        builder.set_issuer_name(&name).expect("issuer");
        builder.set_pubkey(&pkey).expect("pubkey");
        let from = openssl::asn1::Asn1Time::days_from_now(0).expect("time");
        let until = openssl::asn1::Asn1Time::days_from_now(1).expect("time");
        builder.set_not_before(&from).expect("not before");
        builder.set_not_after(&until).expect("not after");
        builder
            .sign(&pkey, openssl::hash::MessageDigest::sha256())
            .expect("sign");
        let certificate = STANDARD.encode(builder.build().to_der().expect("der"));
        let assertion = r#"<saml:Assertion ID="_a">secret</saml:Assertion>"#;
        let xml = encrypted_assertion(assertion, &certificate).expect("encrypted");
        assert!(!xml.contains("secret"));
        let (wrapped, end) = value_after(&xml, 0);
        let (data, _) = value_after(&xml, end);
        let wrapped = STANDARD.decode(wrapped).expect("b64");
        let data = STANDARD.decode(data).expect("b64");
        let mut key = vec![0u8; rsa.size() as usize];
        let n = rsa
            .private_decrypt(&wrapped, &mut key, Padding::PKCS1_OAEP)
            .expect("unwrap");
        key.truncate(n);
        let (iv, rest) = data.split_at(12);
        let (sealed, tag) = rest.split_at(rest.len() - 16);
        let plain =
            decrypt_aead(Cipher::aes_256_gcm(), &key, Some(iv), &[], sealed, tag).expect("decrypt");
        assert_eq!(plain, assertion.as_bytes());
        assert!(encrypted_assertion(assertion, "bm90IGEgY2VydA==").is_err());
    }
}
