//! Writing SAML XML: escaping, instants, ids, the signature template xmlsec fills, and
//! signing through xmlsec (RSA-SHA256, exclusive canonicalization).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::{Crypto, CryptoProvider};

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};

pub(super) const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(super) const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(super) const METADATA_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(super) const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(super) const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
pub(super) const REDIRECT_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
pub(super) const POST_BINDING: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
pub(super) const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// True when `xml` carries a document type declaration or an entity: SAML never needs one,
/// and refusing them keeps external entities and entity expansion away from every parser.
pub(super) fn has_dtd(xml: &str) -> bool {
    let lower = xml.to_ascii_lowercase();
    lower.contains("<!doctype") || lower.contains("<!entity")
}

/// Text and attribute values escaped for XML.
pub(super) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// An `xs:dateTime` in UTC, to the second.
pub(super) fn instant(at: Timestamp) -> String {
    let text = at.to_rfc3339();
    match text.split_once('.') {
        Some((seconds, _)) => format!("{seconds}Z"),
        None => text,
    }
}

/// A fresh message or assertion id (an NCName: it starts with `_`).
pub(super) fn new_id() -> String {
    let bytes: [u8; 16] = rand::random();
    format!("_{}", hex::encode(bytes))
}

/// The `ds:Signature` template for the element with `id`, carrying `certificate` (DER).
pub(super) fn signature_template(id: &str, certificate: &[u8]) -> String {
    format!(
        concat!(
            r#"<ds:Signature xmlns:ds="{ds}"><ds:SignedInfo>"#,
            r#"<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"<ds:SignatureMethod Algorithm="{alg}"/>"#,
            r##"<ds:Reference URI="#{id}"><ds:Transforms>"##,
            r#"<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>"#,
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
            r#"</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>"#,
            r#"<ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo>"#,
            r#"<ds:SignatureValue></ds:SignatureValue><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"#,
            r#"</ds:Signature>"#
        ),
        ds = DSIG_NS,
        alg = RSA_SHA256,
        id = id,
        cert = STANDARD.encode(certificate),
    )
}

/// Signs the first signature template of `xml` (in document order) with `private_der`;
/// answers the signed document without its XML declaration.
pub(super) fn sign(xml: &str, private_der: &[u8]) -> Result<String> {
    let signed = Crypto::sign_xml(xml, private_der)
        .map_err(|e| ClusterError::internal(format!("signing SAML XML: {e}")))?;
    let body = match signed.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map(|(_, body)| body).unwrap_or(rest),
        None => signed.as_str(),
    };
    Ok(body.trim().to_string())
}
