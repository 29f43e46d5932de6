//! Service provider mode: users of the org sign in through an upstream SAML IdP. The first leg
//! records the login (its `AuthnRequest` ID, the browser's cookie hash, the authorization
//! request to continue) and sends the browser to the IdP with a signed HTTP-Redirect request;
//! the second reads the IdP's HTTP-POST response: no DTD, no comments (a comment inside a
//! NameID would cut it short after the signature was checked), only the content xmlsec verified
//! against the IdP's certificate (so a wrapped, unsigned assertion is never read), then issuer,
//! audience, recipient, `InResponseTo` and the time window (180 s skew). `apply` spends the
//! state and the assertion id (a replay is refused) and names the user; the sign-in then goes
//! on as after a password.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::crypto::{
    AllowedSignatureAlgorithm, CertificateDer, Crypto, CryptoProvider, ReduceMode,
};
use samael::schema::{Assertion, Response};

use crate::clock::Timestamp;
use crate::command::{Op, SamlSpSignIn, SamlWrite};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, ErrorCode, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{PrincipalKind, SAML_SP_LOGIN_TTL_MS, SamlIdp, SamlSpLogin, UpstreamIdentity};
use crate::protocol::{LoginOutcome, SamlOutcome};
use crate::tables::Table;

use super::super::logout::urlencode;
use super::super::mfa::new_id as prefixed_id;
use super::super::runtime::ProtocolCtx;
use super::key::{IdpKey, idp_key};
use super::xml::{
    DSIG_NS, METADATA_NS, POST_BINDING, REDIRECT_BINDING, RSA_SHA256, SUCCESS, esc, has_dtd,
    instant, new_id,
};
use super::{deflate, sign_query};

const SKEW_MS: i64 = 180_000;
const MAX_RESPONSE: usize = 512 * 1024;
/// How long an assertion id is remembered when the assertion names no end.
const SEEN_MS: i64 = 60 * 60_000;

/// The attribute names tried for each of our fields when the IdP maps none.
const DEFAULT_SOURCES: [(&str, &[&str]); 4] = [
    (
        "email",
        &[
            "email",
            "mail",
            "emailAddress",
            "urn:oid:0.9.2342.19200300.100.1.3",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
        ],
    ),
    (
        "given_name",
        &[
            "givenName",
            "firstName",
            "urn:oid:2.5.4.42",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
        ],
    ),
    (
        "family_name",
        &[
            "surname",
            "lastName",
            "sn",
            "urn:oid:2.5.4.4",
            "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
        ],
    ),
    (
        "name",
        &[
            "displayName",
            "name",
            "cn",
            "urn:oid:2.16.840.1.113730.3.1.241",
        ],
    ),
];

/// Our entity id as a service provider, and our ACS URL.
pub(super) fn sp_entity_id(sp_base: &str) -> String {
    format!("{sp_base}/metadata")
}

fn acs_url(sp_base: &str) -> String {
    format!("{sp_base}/acs")
}

/// Our SP metadata document (signing certificate: the org's SAML certificate).
pub(super) fn sp_metadata(sp_base: &str, key: &IdpKey) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<md:EntityDescriptor xmlns:md="{md}" xmlns:ds="{ds}" entityID="{entity}">"#,
            r#"<md:SPSSODescriptor AuthnRequestsSigned="true" WantAssertionsSigned="true" "#,
            r#"protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">"#,
            r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>"#,
            r#"<ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
            r#"<md:SingleLogoutService Binding="{redirect}" Location="{slo}"/>"#,
            r#"<md:SingleLogoutService Binding="{post}" Location="{slo}"/>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>"#,
            r#"<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</md:NameIDFormat>"#,
            r#"<md:AssertionConsumerService Binding="{post}" Location="{acs}" index="0" isDefault="true"/>"#,
            r#"</md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
        md = METADATA_NS,
        ds = DSIG_NS,
        entity = esc(&sp_entity_id(sp_base)),
        cert = key.record.certificate,
        post = POST_BINDING,
        redirect = REDIRECT_BINDING,
        slo = esc(&super::sp_logout::slo_url(sp_base)),
        acs = esc(&acs_url(sp_base)),
    )
}

fn enabled_idp(ctx: &ProtocolCtx, id: Option<u64>) -> std::result::Result<SamlIdp, String> {
    let reader = ctx.reader();
    let idp = match id {
        Some(id) => lookup::saml_upstream(&reader, id).map_err(|_| "saml_unavailable")?,
        None => {
            let mut enabled = Vec::new();
            reader
                .scan(Table::SamlUpstream, &[], false, |_, idp: SamlIdp| {
                    if idp.enabled {
                        enabled.push(idp);
                    }
                    enabled.len() < 2
                })
                .map_err(|_| "saml_failed")?;
            match enabled.len() {
                1 => enabled.remove(0),
                _ => return Err("saml_unavailable".into()),
            }
        }
    };
    if !idp.enabled {
        return Err("saml_unavailable".into());
    }
    Ok(idp)
}

/// The first leg: to the IdP with a signed request.
pub(super) async fn begin(
    ctx: &ProtocolCtx,
    sp_base: &str,
    idp: Option<u64>,
    carried: Vec<(String, String)>,
) -> Result<SamlOutcome> {
    let idp = match enabled_idp(ctx, idp) {
        Ok(idp) => idp,
        Err(reason) => return Ok(SamlOutcome::SpRefused { reason, carried }),
    };
    let key = idp_key(ctx).await?;
    let secret = random_token("", 32);
    let state = SamlSpLogin {
        id: prefixed_id("sps_"),
        request_id: new_id(),
        browser_hash: secret_hash(&secret),
        idp_id: idp.id,
        carried,
        expires_at: ctx.now.plus_millis(SAML_SP_LOGIN_TTL_MS),
    };
    let request = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}" AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="{post}"><saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:NameIDPolicy AllowCreate="true"/></samlp:AuthnRequest>"#
        ),
        id = state.request_id,
        now = instant(ctx.now),
        dest = esc(&idp.sso_url),
        acs = esc(&acs_url(sp_base)),
        post = POST_BINDING,
        issuer = esc(&sp_entity_id(sp_base)),
    );
    let deflated = deflate(request.as_bytes())
        .map_err(|e| ClusterError::internal(format!("compressing a SAML request: {e}")))?;
    let query = format!(
        "SAMLRequest={}&RelayState={}&SigAlg={}",
        urlencode(&STANDARD.encode(deflated)),
        urlencode(&state.id),
        urlencode(RSA_SHA256)
    );
    let signature = sign_query(&key.private_der, &query)?;
    let separator = if idp.sso_url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}{query}&Signature={}",
        idp.sso_url,
        urlencode(&STANDARD.encode(signature))
    );
    let cookie = format!("{}.{secret}", state.id);
    ctx.propose(
        PrincipalKind::Anonymous,
        Op::Saml(SamlWrite::BeginSpLogin(state)),
    )
    .await?;
    Ok(SamlOutcome::SpRedirect { url, cookie })
}

fn expired() -> ClusterError {
    ClusterError::oauth(
        ErrorCode::InvalidRequest,
        "the SAML login expired or was already used",
    )
}

/// The login this browser started.
fn started_login(ctx: &ProtocolCtx, relay_state: &str, cookie: &str) -> Result<SamlSpLogin> {
    super::super::browser_bound::started_login(
        ctx,
        Table::SamlSpLogin,
        relay_state,
        cookie,
        expired,
    )
}

/// A refusal of what the IdP sent.
fn bad(why: impl Into<String>) -> ClusterError {
    ClusterError::oauth(ErrorCode::AccessDenied, why.into())
}

/// The response's XML: base64, bounded, no DTD, no comments.
fn response_xml(encoded: &str) -> Result<String> {
    let compact: String = encoded
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let bytes = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| bad("the SAMLResponse is not base64"))?;
    if bytes.len() > MAX_RESPONSE {
        return Err(bad("the SAMLResponse is too large"));
    }
    let xml = String::from_utf8(bytes).map_err(|_| bad("the SAMLResponse is not UTF-8"))?;
    if has_dtd(&xml) {
        return Err(bad("the SAMLResponse carries a document type declaration"));
    }
    if xml.contains("<!--") {
        return Err(bad("the SAMLResponse carries XML comments"));
    }
    Ok(xml)
}

/// The one assertion the IdP's signature covers, and the response around it when the
/// response itself is signed.
fn verified_assertion(xml: &str, idp: &SamlIdp) -> Result<(Assertion, Option<Response>)> {
    if xml.contains("EncryptedAssertion") {
        return Err(bad("encrypted assertions are not supported"));
    }
    let certificate = STANDARD
        .decode(idp.certificate.as_bytes())
        .map_err(|_| ClusterError::internal("an IdP certificate is not base64"))?;
    let allowed = [
        AllowedSignatureAlgorithm::RsaSha256,
        AllowedSignatureAlgorithm::RsaSha384,
        AllowedSignatureAlgorithm::RsaSha512,
        AllowedSignatureAlgorithm::EcdsaSha256,
        AllowedSignatureAlgorithm::EcdsaSha384,
        AllowedSignatureAlgorithm::EcdsaSha512,
    ];
    let signed = Crypto::reduce_xml_to_signed_with_allowed_algorithms(
        xml,
        &[CertificateDer::from(certificate)],
        ReduceMode::ValidateAndMarkNoAncestors,
        Some(&allowed),
    )
    .map_err(|_| bad("the response is not signed with the identity provider's certificate"))?;
    if signed.matches(":Assertion ").count() + signed.matches("<Assertion ").count() > 1 {
        return Err(bad("the signed content holds more than one assertion"));
    }
    match root_name(&signed) {
        Some("Response") => {
            let response =
                Response::from_str(&signed).map_err(|_| bad("the signed response is not valid"))?;
            let assertion = response
                .assertion
                .clone()
                .ok_or_else(|| bad("the signed response carries no assertion"))?;
            Ok((assertion, Some(response)))
        }
        Some("Assertion") => {
            let assertion = Assertion::from_str(&signed)
                .map_err(|_| bad("the signed assertion is not valid"))?;
            Ok((assertion, None))
        }
        _ => Err(bad(
            "the signed content is neither a response nor an assertion",
        )),
    }
}

/// The local name of the document's root element.
fn root_name(xml: &str) -> Option<&str> {
    let mut rest = xml.trim_start();
    while let Some(after) = rest.strip_prefix("<?") {
        rest = after.split_once("?>")?.1.trim_start();
    }
    let tag = rest.strip_prefix('<')?;
    let name = tag
        .split(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .next()?;
    Some(name.rsplit(':').next().unwrap_or(name))
}

/// Everything the assertion (and the response envelope) must say for this login.
fn check(
    ctx: &ProtocolCtx,
    sp_base: &str,
    idp: &SamlIdp,
    login: &SamlSpLogin,
    xml: &str,
    assertion: &Assertion,
    signed_response: Option<&Response>,
) -> Result<Timestamp> {
    let now = ctx.now.0;
    let acs = acs_url(sp_base);
    // The envelope: signed or not, it must report success for this request and this ACS.
    let envelope = match signed_response {
        Some(response) => response.clone(),
        None => Response::from_str(xml).map_err(|_| bad("the SAMLResponse is not a Response"))?,
    };
    let status = envelope
        .status
        .as_ref()
        .and_then(|s| s.status_code.value.as_deref());
    if status != Some(SUCCESS) {
        return Err(bad(format!(
            "the identity provider answered {}",
            status.unwrap_or("no status")
        )));
    }
    if envelope.destination.as_deref().is_some_and(|d| d != acs) {
        return Err(bad(
            "the response's Destination is not this service provider",
        ));
    }
    if envelope
        .in_response_to
        .as_deref()
        .is_some_and(|r| r != login.request_id)
    {
        return Err(bad("the response answers another request"));
    }
    if assertion.issuer.value.as_deref().map(str::trim) != Some(idp.entity_id.as_str()) {
        return Err(bad("the assertion's Issuer is not this identity provider"));
    }
    let conditions = assertion
        .conditions
        .as_ref()
        .ok_or_else(|| bad("the assertion has no Conditions"))?;
    if conditions
        .not_before
        .as_ref()
        .is_some_and(|t| t.timestamp_millis() > now + SKEW_MS)
    {
        return Err(bad("the assertion is not valid yet"));
    }
    let ends = conditions
        .not_on_or_after
        .as_ref()
        .map(|t| t.timestamp_millis());
    if ends.is_some_and(|t| t <= now - SKEW_MS) {
        return Err(bad("the assertion has expired"));
    }
    let ours = sp_entity_id(sp_base);
    let audiences = conditions
        .audience_restrictions
        .as_deref()
        .unwrap_or_default();
    if audiences.is_empty()
        || !audiences
            .iter()
            .all(|r| r.audience.iter().any(|a| a.trim() == ours))
    {
        return Err(bad("the assertion is not for this service provider"));
    }
    let subject = assertion
        .subject
        .as_ref()
        .ok_or_else(|| bad("the assertion has no Subject"))?;
    let bearer = subject
        .subject_confirmations
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|c| c.method.as_deref() == Some("urn:oasis:names:tc:SAML:2.0:cm:bearer"))
        .filter_map(|c| c.subject_confirmation_data.as_ref())
        .find(|data| {
            data.recipient.as_deref() == Some(acs.as_str())
                && data.in_response_to.as_deref() == Some(login.request_id.as_str())
                && data
                    .not_on_or_after
                    .as_ref()
                    .is_some_and(|t| t.timestamp_millis() > now - SKEW_MS)
                && data
                    .not_before
                    .as_ref()
                    .is_none_or(|t| t.timestamp_millis() <= now + SKEW_MS)
        });
    if bearer.is_none() {
        return Err(bad(
            "the assertion has no bearer confirmation for this request, recipient and time",
        ));
    }
    Ok(Timestamp(ends.unwrap_or(now + SEEN_MS).max(now) + SKEW_MS))
}

/// The asserted identity: the NameID and the mapped attributes.
fn identity(idp: &SamlIdp, assertion: &Assertion) -> Result<UpstreamIdentity> {
    let name_id = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .map(|n| n.value.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 512)
        .ok_or_else(|| bad("the assertion names no subject"))?;
    let format = assertion
        .subject
        .as_ref()
        .and_then(|s| s.name_id.as_ref())
        .and_then(|n| n.format.clone())
        .unwrap_or_default();
    let attributes: Vec<(String, String)> = assertion
        .attribute_statements
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|s| s.attributes.iter())
        .filter_map(|a| {
            let value = a.values.iter().find_map(|v| v.value.clone())?;
            Some((a.name.clone()?, value.trim().to_string()))
        })
        .collect();
    let value_of = |field: &str| -> Option<String> {
        let mapped = idp
            .attribute_mapping
            .iter()
            .find(|(ours, _)| ours == field)
            .map(|(_, theirs)| vec![theirs.as_str()]);
        let names = mapped.unwrap_or_else(|| {
            DEFAULT_SOURCES
                .iter()
                .find(|(ours, _)| *ours == field)
                .map(|(_, names)| names.to_vec())
                .unwrap_or_default()
        });
        names.iter().find_map(|name| {
            attributes
                .iter()
                .find(|(n, v)| n == name && !v.is_empty())
                .map(|(_, v)| v.chars().take(256).collect())
        })
    };
    let email =
        value_of("email").or_else(|| format.ends_with(":emailAddress").then(|| name_id.clone()));
    let email = email.filter(|e| e.contains('@') && e.len() <= 254);
    Ok(UpstreamIdentity {
        subject: name_id,
        email,
        email_verified: idp.trust_email,
        name: value_of("name"),
        given_name: value_of("given_name"),
        family_name: value_of("family_name"),
        picture: None,
    })
}

/// The second leg: the IdP's response.
pub(super) async fn finish(
    ctx: &ProtocolCtx,
    sp_base: &str,
    response: &str,
    relay_state: &str,
    cookie: &str,
    device: Option<String>,
) -> Result<SamlOutcome> {
    let login = started_login(ctx, relay_state, cookie)?;
    let carried = login.carried.clone();
    match signed_in_user(ctx, sp_base, response, login, device).await {
        Ok(outcome) => Ok(SamlOutcome::SpFinished { outcome, carried }),
        Err(e) => {
            tracing::info!(error = %e, "SAML login refused");
            Ok(SamlOutcome::SpRefused {
                reason: reason_of(&e).to_string(),
                carried,
            })
        }
    }
}

/// The login form's marker for why a SAML login was refused.
fn reason_of(error: &ClusterError) -> &'static str {
    match error {
        ClusterError::NotFound { resource, .. } if resource == "user" => "saml_no_account",
        ClusterError::Conflict { field, .. } => match field.as_deref() {
            Some("email") => "saml_unverified",
            _ => "saml_linked",
        },
        ClusterError::Mfa { .. } => "mfa_locked",
        _ => "saml_failed",
    }
}

async fn signed_in_user(
    ctx: &ProtocolCtx,
    sp_base: &str,
    response: &str,
    login: SamlSpLogin,
    device: Option<String>,
) -> Result<LoginOutcome> {
    let idp = lookup::saml_upstream(&ctx.reader(), login.idp_id)?;
    if !idp.enabled {
        return Err(bad("this identity provider is disabled"));
    }
    let xml = response_xml(response)?;
    let (assertion, signed_response) = verified_assertion(&xml, &idp)?;
    let remember_until = check(
        ctx,
        sp_base,
        &idp,
        &login,
        &xml,
        &assertion,
        signed_response.as_ref(),
    )?;
    let sign_in = SamlSpSignIn {
        state_id: login.id.clone(),
        idp_id: idp.id,
        assertion_id: assertion.id.chars().take(256).collect(),
        assertion_expires: remember_until,
        identity: identity(&idp, &assertion)?,
        new_user_id: UserId::generate(),
    };
    super::super::browser_bound::finish_upstream_login(
        ctx,
        Op::Saml(SamlWrite::FinishSpLogin(Box::new(sign_in))),
        &login.carried,
        device.as_deref(),
        format!("saml:{}", idp.id),
    )
    .await
}
