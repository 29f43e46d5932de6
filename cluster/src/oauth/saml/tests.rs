//! What a service provider can send, read without panicking and in bounded time: arbitrary
//! bytes through both bindings' decoders and the request parsers, and SP metadata.

use std::io::Write;
use std::str::FromStr;
use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;
use samael::schema::{AuthnRequest, LogoutRequest};

use super::message::decode;
use super::metadata::sp_metadata;
use crate::protocol::InboundMessage;

fn deflated(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().unwrap_or_default()
}

fn message(redirect: bool, raw: &[u8]) -> InboundMessage {
    let body = if redirect {
        deflated(raw)
    } else {
        raw.to_vec()
    };
    InboundMessage {
        redirect,
        encoded: STANDARD.encode(body),
        ..InboundMessage::default()
    }
}

/// XML-ish text: tags, attributes and entities mixed with anything.
fn xmlish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(
                "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" "
                    .to_string()
            ),
            Just("ID=\"_1\" Version=\"2.0\" IssueInstant=\"2026-01-01T00:00:00Z\">".to_string()),
            Just("<saml:Issuer xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">".to_string()),
            Just("</saml:Issuer>".to_string()),
            Just("</samlp:AuthnRequest>".to_string()),
            Just("<!DOCTYPE x [<!ENTITY a \"b\">]>".to_string()),
            Just("&a;&amp;&#0;&#x110000;".to_string()),
            Just("<![CDATA[".to_string()),
            ".{0,20}",
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(raw in prop::collection::vec(any::<u8>(), 0..2048), redirect: bool) {
        let started = Instant::now();
        let _ = decode(&message(redirect, &raw));
        let _ = decode(&InboundMessage {
            redirect,
            encoded: String::from_utf8_lossy(&raw).into_owned(),
            ..InboundMessage::default()
        });
        prop_assert!(started.elapsed().as_secs() < 2);
    }

    #[test]
    fn xmlish_requests_parse_or_refuse(text in xmlish(), redirect: bool) {
        let started = Instant::now();
        if let Ok(xml) = decode(&message(redirect, text.as_bytes())) {
            prop_assert!(!xml.to_ascii_lowercase().contains("<!doctype"));
            let _ = AuthnRequest::from_str(&xml);
            let _ = LogoutRequest::from_str(&xml);
        }
        let _ = sp_metadata(&text);
        prop_assert!(started.elapsed().as_secs() < 2);
    }
}

#[test]
fn a_deflate_bomb_is_cut_at_the_size_bound() {
    let bomb = vec![b'a'; 64 * 1024 * 1024];
    let refused = decode(&message(true, &bomb));
    assert!(refused.is_err_and(|why| why.contains("too large")));
}

#[test]
fn sp_metadata_gives_the_post_acs_slo_and_certificate() {
    let xml = concat!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" "#,
        r#"xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://sp.test/meta">"#,
        r#"<md:SPSSODescriptor AuthnRequestsSigned="true" "#,
        r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
        r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>"#,
        r#"<ds:X509Certificate> MIIB Cg== </ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
        r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/slo-post"/>"#,
        r#"<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.test/slo"/>"#,
        r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
        r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.test/art" index="0"/>"#,
        r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/acs2" index="2"/>"#,
        r#"<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.test/acs1" index="1" isDefault="true"/>"#,
        r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
    );
    let metadata = sp_metadata(xml).unwrap_or_default();
    assert_eq!(metadata.entity_id, "https://sp.test/meta");
    assert_eq!(
        metadata.acs_urls,
        vec![
            "https://sp.test/acs1".to_string(),
            "https://sp.test/acs2".to_string()
        ]
    );
    assert_eq!(metadata.slo_url.as_deref(), Some("https://sp.test/slo"));
    assert_eq!(metadata.certificate.as_deref(), Some("MIIBCg=="));
    assert_eq!(metadata.authn_requests_signed, Some(true));
    assert_eq!(metadata.name_id_format.as_deref(), Some("persistent"));
}
