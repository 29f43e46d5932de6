//! Reading what a service provider sends: base64 (and DEFLATE for the Redirect binding),
//! bounded in size, with no DTD (so no external entity and no entity expansion can reach the
//! XML parsers), and its signature checked against the app's certificate: the Redirect
//! binding's over the query octets as the SP sent them, the POST binding's enveloped XML
//! signature with only the signed element kept (so a wrapped, unsigned element is never read).

use std::io::Read;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use openssl::hash::MessageDigest;
use openssl::sign::Verifier;
use openssl::x509::X509;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};

use crate::model::SamlApp;
use crate::protocol::InboundMessage;

/// The largest message taken (decoded and inflated).
const MAX_XML: usize = 256 * 1024;

/// Why a message is refused (shown on the error page).
pub(super) type Refusal = String;

fn refuse(why: impl Into<String>) -> Refusal {
    why.into()
}

/// The XML of a message.
pub(super) fn decode(message: &InboundMessage) -> Result<String, Refusal> {
    let compact: String = message
        .encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let raw = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| refuse("The SAML message is not valid base64."))?;
    let bytes = if message.redirect {
        let mut out = Vec::new();
        flate2::read::DeflateDecoder::new(raw.as_slice())
            .take(MAX_XML as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|_| refuse("The SAML message is not DEFLATE-compressed."))?;
        out
    } else {
        raw
    };
    if bytes.len() > MAX_XML {
        return Err(refuse("The SAML message is too large."));
    }
    let xml =
        String::from_utf8(bytes).map_err(|_| refuse("The SAML message is not UTF-8 text."))?;
    if super::xml::has_dtd(&xml) {
        return Err(refuse(
            "The SAML message carries a document type declaration, which is not allowed.",
        ));
    }
    Ok(xml)
}

fn digest_of(sig_alg: &str) -> Option<MessageDigest> {
    match sig_alg {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" => Some(MessageDigest::sha256()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384" => Some(MessageDigest::sha384()),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

/// The app's certificate, DER.
pub(super) fn app_certificate(app: &SamlApp) -> Result<Vec<u8>, Refusal> {
    let text = app
        .sp_certificate
        .as_deref()
        .ok_or_else(|| refuse("The app has no certificate to check signed requests with."))?;
    STANDARD
        .decode(text)
        .map_err(|_| refuse("The app's certificate is not valid."))
}

/// Checks a Redirect binding signature: `SigAlg` over the signed query octets.
fn verify_query(message: &InboundMessage, certificate: &[u8]) -> Result<(), Refusal> {
    let (Some(signed), Some(sig_alg), Some(signature)) =
        (&message.signed_query, &message.sig_alg, &message.signature)
    else {
        return Err(refuse("The request's signature is incomplete."));
    };
    let digest = digest_of(sig_alg).ok_or_else(|| {
        refuse("The request is signed with an algorithm this IdP does not accept (use RSA-SHA256).")
    })?;
    let signature = STANDARD
        .decode(signature.as_bytes())
        .map_err(|_| refuse("The request's signature is not valid base64."))?;
    let bad = |_| refuse("The app's certificate is not valid.");
    let key = X509::from_der(certificate)
        .map_err(bad)?
        .public_key()
        .map_err(bad)?;
    let mut verifier = Verifier::new(digest, &key).map_err(bad)?;
    verifier.update(signed.as_bytes()).map_err(bad)?;
    match verifier.verify(&signature) {
        Ok(true) => Ok(()),
        _ => Err(refuse("The request's signature does not verify.")),
    }
}

/// Checks an enveloped XML signature; answers only the signed part of the document.
fn verify_xml(xml: &str, certificate: &[u8]) -> Result<String, Refusal> {
    let allowed = [
        AllowedSignatureAlgorithm::RsaSha256,
        AllowedSignatureAlgorithm::RsaSha384,
        AllowedSignatureAlgorithm::RsaSha512,
    ];
    if xml.contains("xmldsig#rsa-sha1") || xml.contains("xmldsig#sha1") {
        return Err(refuse(
            "The request is signed with SHA-1, which this IdP does not accept (use RSA-SHA256).",
        ));
    }
    Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &[CertificateDer::from(certificate.to_vec())],
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&allowed),
    )
    .map_err(|_| refuse("The request's XML signature does not verify."))
}

/// True when the XML carries an enveloped signature.
fn has_xml_signature(xml: &str) -> bool {
    xml.contains("SignatureValue")
}

/// The XML to act on: checked against the app's certificate when the app wants signed
/// requests or the request is signed anyway (a signature that is there must verify).
pub(super) fn verified(
    message: &InboundMessage,
    xml: String,
    app: &SamlApp,
) -> Result<String, Refusal> {
    let query_signed = message.signature.is_some();
    let xml_signed = has_xml_signature(&xml);
    if !query_signed && !xml_signed {
        if app.want_authn_requests_signed {
            return Err(refuse(
                "This app's requests must be signed, and this one is not.",
            ));
        }
        return Ok(xml);
    }
    if app.sp_certificate.is_none() {
        // A signature nobody can check proves nothing; the app does not require one.
        return Ok(xml);
    }
    let certificate = app_certificate(app)?;
    if query_signed {
        verify_query(message, &certificate)?;
        return Ok(xml);
    }
    verify_xml(&xml, &certificate)
}

/// The XML of a message an upstream IdP must sign (a `LogoutRequest`): the query signature
/// or only the signed element, checked against `certificate` (DER).
pub(super) fn signed_by(
    message: &InboundMessage,
    xml: String,
    certificate: &[u8],
) -> Result<String, Refusal> {
    if message.signature.is_some() {
        verify_query(message, certificate)?;
        return Ok(xml);
    }
    if !has_xml_signature(&xml) {
        return Err(refuse("The request must be signed, and this one is not."));
    }
    verify_xml(&xml, certificate)
}
