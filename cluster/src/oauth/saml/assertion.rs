//! The `samlp:Response` a service provider receives: one bearer assertion about the signed-in
//! user (NameID in the app's format, the attributes its mapping releases, audience and
//! recipient bound to the app), signed per the app (assertion, response, or both).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ring::hmac;

use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::{SamlApp, User, name_id_format_uri};

use super::key::IdpKey;
use super::xml::{
    ASSERTION_NS, PROTOCOL_NS, SUCCESS, esc, instant, new_id, sign, signature_template,
};

/// How long an assertion may be used, and the clock skew allowed before it.
const VALIDITY_MS: i64 = 5 * 60_000;
const SKEW_MS: i64 = 60_000;
const PASSWORD_CONTEXT: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport";

/// Who the assertion is about.
pub(super) struct Principal<'a> {
    pub user: &'a User,
    pub groups: Vec<String>,
    pub roles: Vec<String>,
    pub session_index: String,
    pub auth_time: Timestamp,
    /// What the app knows the user as ([`name_id`]).
    pub name_id: String,
}

/// Where the response goes.
pub(super) struct Delivery<'a> {
    pub idp_entity_id: &'a str,
    pub app: &'a SamlApp,
    pub acs_url: &'a str,
    pub in_response_to: Option<&'a str>,
}

/// The NameID of `user` for `app`: the address, a stable pairwise id (keyed by the IdP's
/// private key, so it cannot be computed elsewhere), or a one-time value.
pub(super) fn name_id(app: &SamlApp, user: &User, key: &IdpKey) -> String {
    match app.name_id_format.as_str() {
        "persistent" => {
            let mac = hmac::Key::new(hmac::HMAC_SHA256, &key.private_der);
            let tag = hmac::sign(&mac, format!("{}\n{}", app.entity_id, user.id).as_bytes());
            format!("p-{}", hex::encode(&tag.as_ref()[..20]))
        }
        "transient" => new_id(),
        _ => user.email.clone(),
    }
}

/// The values `source` gives for `user`.
fn values(source: &str, who: &Principal) -> Vec<String> {
    let user = who.user;
    let one = |v: &Option<String>| v.iter().cloned().collect::<Vec<_>>();
    match source {
        "email" => vec![user.email.clone()],
        "name" => one(&user.name),
        "given_name" => one(&user.given_name),
        "family_name" => one(&user.family_name),
        "username" => one(&user.username),
        "id" => vec![user.id.to_string()],
        "phone_number" => one(&user.phone_number),
        "groups" => who.groups.clone(),
        "roles" => who.roles.clone(),
        _ => Vec::new(),
    }
}

fn attribute_statement(app: &SamlApp, who: &Principal) -> String {
    let mut out = String::new();
    for (name, source) in &app.attribute_mapping {
        let values = values(source, who);
        if values.is_empty() {
            continue;
        }
        out.push_str(&format!(
            r#"<saml:Attribute Name="{}" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic">"#,
            esc(name)
        ));
        for value in values {
            out.push_str(&format!(
                r#"<saml:AttributeValue xsi:type="xs:string">{}</saml:AttributeValue>"#,
                esc(&value)
            ));
        }
        out.push_str("</saml:Attribute>");
    }
    if out.is_empty() {
        return out;
    }
    format!("<saml:AttributeStatement>{out}</saml:AttributeStatement>")
}

fn assertion(key: &IdpKey, to: &Delivery, who: &Principal, now: Timestamp) -> Result<String> {
    let id = new_id();
    let app = to.app;
    let in_response_to = to
        .in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, esc(r)))
        .unwrap_or_default();
    let not_after = instant(now.plus_millis(VALIDITY_MS));
    let signature = if app.sign_assertion {
        signature_template(&id, &key.certificate)
    } else {
        String::new()
    };
    let xml = format!(
        concat!(
            r#"<saml:Assertion xmlns:saml="{ns}" xmlns:xs="http://www.w3.org/2001/XMLSchema" "#,
            r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="{id}" Version="2.0" IssueInstant="{now}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}"#,
            r#"<saml:Subject><saml:NameID Format="{format}">{name_id}</saml:NameID>"#,
            r#"<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer">"#,
            r#"<saml:SubjectConfirmationData{in_response_to} NotOnOrAfter="{not_after}" Recipient="{acs}"/>"#,
            r#"</saml:SubjectConfirmation></saml:Subject>"#,
            r#"<saml:Conditions NotBefore="{not_before}" NotOnOrAfter="{not_after}">"#,
            r#"<saml:AudienceRestriction><saml:Audience>{audience}</saml:Audience></saml:AudienceRestriction>"#,
            r#"</saml:Conditions>"#,
            r#"<saml:AuthnStatement AuthnInstant="{auth_time}" SessionIndex="{session_index}">"#,
            r#"<saml:AuthnContext><saml:AuthnContextClassRef>{context}</saml:AuthnContextClassRef></saml:AuthnContext>"#,
            r#"</saml:AuthnStatement>{attributes}</saml:Assertion>"#
        ),
        ns = ASSERTION_NS,
        id = id,
        now = instant(now),
        issuer = esc(to.idp_entity_id),
        signature = signature,
        format = name_id_format_uri(&app.name_id_format),
        name_id = esc(&who.name_id),
        in_response_to = in_response_to,
        not_after = not_after,
        acs = esc(to.acs_url),
        not_before = instant(now.plus_millis(-SKEW_MS)),
        audience = esc(&app.entity_id),
        auth_time = instant(who.auth_time),
        session_index = esc(&who.session_index),
        context = PASSWORD_CONTEXT,
        attributes = attribute_statement(app, who),
    );
    if app.sign_assertion {
        sign(&xml, &key.private_der)
    } else {
        Ok(xml)
    }
}

/// The response, base64-encoded for the HTTP-POST binding.
pub(super) fn response(
    key: &IdpKey,
    to: &Delivery,
    who: &Principal,
    now: Timestamp,
) -> Result<String> {
    let mut assertion = assertion(key, to, who, now)?;
    if let Some(certificate) = &to.app.encryption_certificate {
        assertion = super::encrypt::encrypted_assertion(&assertion, certificate)?;
    }
    let status = format!(r#"<samlp:StatusCode Value="{SUCCESS}"/>"#);
    envelope(key, to, now, &status, &assertion)
}

/// A response without an assertion: the request could not be met (`IsPassive` with nobody
/// signed in: `Responder` / `NoPassive`).
pub(super) fn no_passive(key: &IdpKey, to: &Delivery, now: Timestamp) -> Result<String> {
    let status = concat!(
        r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Responder">"#,
        r#"<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:NoPassive"/>"#,
        r#"</samlp:StatusCode>"#
    );
    envelope(key, to, now, status, "")
}

/// The `samlp:Response` with `status` (its `StatusCode` markup) around `assertion`, signed
/// when the app asks.
fn envelope(
    key: &IdpKey,
    to: &Delivery,
    now: Timestamp,
    status: &str,
    assertion: &str,
) -> Result<String> {
    let id = new_id();
    let in_response_to = to
        .in_response_to
        .map(|r| format!(r#" InResponseTo="{}""#, esc(r)))
        .unwrap_or_default();
    let signature = if to.app.sign_response {
        signature_template(&id, &key.certificate)
    } else {
        String::new()
    };
    let xml = format!(
        concat!(
            r#"<samlp:Response xmlns:samlp="{protocol}" xmlns:saml="{ns}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{acs}"{in_response_to}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>{signature}"#,
            r#"<samlp:Status>{status}</samlp:Status>"#,
            r#"{assertion}</samlp:Response>"#
        ),
        protocol = PROTOCOL_NS,
        ns = ASSERTION_NS,
        id = id,
        now = instant(now),
        acs = esc(to.acs_url),
        in_response_to = in_response_to,
        issuer = esc(to.idp_entity_id),
        signature = signature,
        status = status,
        assertion = assertion,
    );
    let xml = if to.app.sign_response {
        sign(&xml, &key.private_der)?
    } else {
        xml
    };
    Ok(STANDARD.encode(xml.as_bytes()))
}
