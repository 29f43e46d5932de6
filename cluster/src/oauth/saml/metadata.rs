//! Metadata: the IdP's own document, and reading a service provider's (what an admin pastes
//! to register an app).

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::metadata::EntityDescriptor;

use crate::model::{NAME_ID_FORMATS, name_id_format_of, name_id_format_uri};

use super::key::IdpKey;
use super::xml::{DSIG_NS, METADATA_NS, POST_BINDING, REDIRECT_BINDING, esc, has_dtd};

/// The IdP's entity id: its metadata URL.
pub(super) fn entity_id(idp_base: &str) -> String {
    format!("{idp_base}/metadata")
}

/// The IdP's metadata document.
pub(super) fn idp_metadata(idp_base: &str, key: &IdpKey) -> String {
    let cert = STANDARD.encode(&key.certificate);
    let sso = esc(&format!("{idp_base}/sso"));
    let slo = esc(&format!("{idp_base}/slo"));
    let formats: String = NAME_ID_FORMATS
        .iter()
        .map(|f| {
            format!(
                "<md:NameIDFormat>{}</md:NameIDFormat>",
                name_id_format_uri(f)
            )
        })
        .collect();
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity}">"#,
            r#"<md:IDPSSODescriptor WantAuthnRequestsSigned="false" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
            r#"<md:SingleLogoutService Binding="{post}" Location="{slo}"/>"#,
            r#"{formats}"#,
            r#"<md:SingleSignOnService Binding="{redirect}" Location="{sso}"/>"#,
            r#"<md:SingleSignOnService Binding="{post}" Location="{sso}"/>"#,
            r#"</md:IDPSSODescriptor></md:EntityDescriptor>"#
        ),
        md = METADATA_NS,
        ds = DSIG_NS,
        entity = esc(&entity_id(idp_base)),
        cert = cert,
        redirect = REDIRECT_BINDING,
        post = POST_BINDING,
        slo = slo,
        sso = sso,
        formats = formats,
    )
}

/// What an SP's metadata says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpMetadata {
    pub entity_id: String,
    /// HTTP-POST assertion consumer services, the default first.
    pub acs_urls: Vec<String>,
    pub slo_url: Option<String>,
    /// Its signing certificate, base64 DER.
    pub certificate: Option<String>,
    pub authn_requests_signed: Option<bool>,
    /// The first NameID format it lists that this IdP issues.
    pub name_id_format: Option<String>,
    /// Its encryption certificate (a key for `encryption`, or for any use), base64 DER.
    pub encryption_certificate: Option<String>,
}

/// A metadata document: bounded, without a DTD.
fn entity_descriptor(xml: &str) -> Result<EntityDescriptor, String> {
    if xml.len() > 256 * 1024 {
        return Err("is larger than 256 KiB".into());
    }
    if has_dtd(xml) {
        return Err("must not carry a document type declaration".into());
    }
    EntityDescriptor::from_str(xml).map_err(|e| format!("is not SAML metadata ({e})"))
}

fn entity_id_of(entity: &EntityDescriptor) -> Result<String, String> {
    entity
        .entity_id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| "has no entityID".to_string())
}

/// The first certificate of key descriptors not for `other_use`, base64 DER without
/// whitespace.
fn certificate_for(keys: &[samael::metadata::KeyDescriptor], other_use: &str) -> Option<String> {
    keys.iter()
        .filter(|k| k.key_use.as_deref() != Some(other_use))
        .find_map(|k| k.key_info.x509_data.as_ref()?.certificates.first().cloned())
        .map(|c| c.chars().filter(|c| !c.is_ascii_whitespace()).collect())
}

/// The first signing certificate of key descriptors.
fn signing_certificate(keys: &[samael::metadata::KeyDescriptor]) -> Option<String> {
    certificate_for(keys, "encryption")
}

/// What an upstream IdP's metadata says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdpMetadata {
    pub entity_id: String,
    /// Its HTTP-Redirect single sign-on endpoint.
    pub sso_url: String,
    /// Its signing certificate, base64 DER.
    pub certificate: String,
    /// Its HTTP-Redirect single logout endpoint.
    pub slo_url: Option<String>,
}

/// Reads an IdP's metadata document (`EntityDescriptor` with an `IDPSSODescriptor`).
pub fn upstream_metadata(xml: &str) -> Result<IdpMetadata, String> {
    let entity = entity_descriptor(xml)?;
    let entity_id = entity_id_of(&entity)?;
    let idp = entity
        .idp_sso_descriptors
        .as_ref()
        .and_then(|all| all.first())
        .ok_or("has no IDPSSODescriptor")?;
    let sso_url = idp
        .single_sign_on_services
        .iter()
        .find(|s| s.binding == REDIRECT_BINDING)
        .map(|s| s.location.clone())
        .ok_or("has no HTTP-Redirect SingleSignOnService")?;
    let certificate =
        signing_certificate(&idp.key_descriptors).ok_or("has no signing certificate")?;
    let slo_url = idp
        .single_logout_services
        .iter()
        .find(|s| s.binding == REDIRECT_BINDING)
        .map(|s| s.location.clone());
    Ok(IdpMetadata {
        entity_id,
        sso_url,
        certificate,
        slo_url,
    })
}

/// Reads an SP's metadata document (`EntityDescriptor` with an `SPSSODescriptor`).
pub fn sp_metadata(xml: &str) -> Result<SpMetadata, String> {
    let entity = entity_descriptor(xml)?;
    let entity_id = entity_id_of(&entity)?;
    let sp = entity
        .sp_sso_descriptors
        .as_ref()
        .and_then(|all| all.first())
        .ok_or("has no SPSSODescriptor")?;
    let mut services: Vec<_> = sp
        .assertion_consumer_services
        .iter()
        .filter(|s| s.binding == POST_BINDING)
        .collect();
    services.sort_by_key(|s| (s.is_default != Some(true), s.index));
    let acs_urls: Vec<String> = services.iter().map(|s| s.location.clone()).collect();
    if acs_urls.is_empty() {
        return Err("has no HTTP-POST AssertionConsumerService".into());
    }
    let slo = sp.single_logout_services.as_deref().unwrap_or_default();
    let slo_url = slo
        .iter()
        .find(|s| s.binding == REDIRECT_BINDING)
        .or_else(|| slo.first())
        .map(|s| s.location.clone());
    let keys = sp.key_descriptors.as_deref().unwrap_or_default();
    let certificate = signing_certificate(keys);
    let encryption_certificate = certificate_for(keys, "signing");
    let name_id_format = sp
        .name_id_formats
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|f| name_id_format_of(f.trim()))
        .map(str::to_string);
    Ok(SpMetadata {
        entity_id,
        acs_urls,
        slo_url,
        certificate,
        authn_requests_signed: sp.authn_requests_signed,
        name_id_format,
        encryption_certificate,
    })
}
