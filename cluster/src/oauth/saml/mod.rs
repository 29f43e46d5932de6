//! The SAML 2.0 identity provider, served on the org's leader (where the signing key is
//! opened): metadata; single sign-on for an SP's `AuthnRequest` (HTTP-Redirect or HTTP-POST,
//! signed when the app asks) or IdP-initiated for apps that allow it; single logout for an
//! SP's `LogoutRequest`. A request is judged before anything is sent anywhere: an unknown
//! issuer, an unregistered ACS URL or a bad signature ends on an error page, never at a URL
//! the request named.

mod assertion;
mod encrypt;
mod key;
mod message;
mod metadata;
mod slo_chain;
mod sp;
mod sp_logout;
mod xml;

#[cfg(test)]
mod tests;

use std::io::Write;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::schema::{AuthnRequest, LogoutRequest};

use crate::access::{authenticate as authenticate_credential, authorize_access};
use crate::caller::Credential;
use crate::command::{Op, RevokeTarget, SamlWrite, UserKey};
use crate::error::{ClusterError, Result};
use crate::ids::SamlAppId;
use crate::lookup;
use crate::model::{Family, SamlApp};
use crate::protocol::{InboundMessage, ProtocolReply, SamlIdpView, SamlOutcome, SamlStep};

use super::login::{active_session, user_actor};
use super::logout::urlencode;
use super::runtime::ProtocolCtx;
use assertion::{Delivery, Principal};
pub use key::certificate_pem;
pub use metadata::{IdpMetadata, SpMetadata, sp_metadata, upstream_metadata};
use xml::{ASSERTION_NS, PROTOCOL_NS, RSA_SHA256, SUCCESS, esc, instant, new_id};

/// How far in the future a request's `IssueInstant` may be (clock skew), and how old it may
/// be (the user may have had to sign in first).
const SKEW_MS: i64 = 180_000;
const MAX_AGE_MS: i64 = 15 * 60_000;

pub(super) async fn step(ctx: &ProtocolCtx, step: SamlStep) -> Result<ProtocolReply> {
    let outcome = match step {
        SamlStep::Metadata { idp_base } => {
            let key = key::idp_key(ctx).await?;
            SamlOutcome::Metadata(metadata::idp_metadata(&idp_base, &key))
        }
        SamlStep::Describe {
            credential,
            idp_base,
        } => describe(ctx, &credential, &idp_base).await?,
        SamlStep::SignOn {
            idp_base,
            message,
            app,
            relay_state,
            session,
        } => {
            let target = match (message, app) {
                (Some(message), _) => sp_request(ctx, &idp_base, message),
                (None, Some(app)) => idp_initiated(ctx, SamlAppId(app), relay_state),
                (None, None) => Err("The request carries no SAMLRequest.".to_string()),
            };
            match target {
                Ok(target) => sign_on(ctx, &idp_base, target, session.as_deref()).await?,
                Err(why) => SamlOutcome::Refused(why),
            }
        }
        SamlStep::Logout {
            idp_base,
            message,
            session,
        } => logout(ctx, &idp_base, message, session.as_deref()).await?,
        SamlStep::SpMetadata { sp_base } => {
            let key = key::idp_key(ctx).await?;
            SamlOutcome::Metadata(sp::sp_metadata(&sp_base, &key))
        }
        SamlStep::SpBegin {
            sp_base,
            idp,
            carried,
        } => sp::begin(ctx, &sp_base, idp, carried).await?,
        SamlStep::SpFinish {
            sp_base,
            response,
            relay_state,
            cookie,
            device,
        } => sp::finish(ctx, &sp_base, &response, &relay_state, &cookie, device).await?,
        SamlStep::SpLogout { sp_base, message } => {
            sp_logout::logout(ctx, &sp_base, message).await?
        }
        SamlStep::LogoutAnswered { idp_base, message } => {
            slo_chain::answered(ctx, &idp_base, message).await?
        }
    };
    Ok(ProtocolReply::Saml(outcome))
}

async fn describe(
    ctx: &ProtocolCtx,
    credential: &Credential,
    idp_base: &str,
) -> Result<SamlOutcome> {
    let principal = authenticate_credential(&ctx.reader(), credential, ctx.now)?;
    authorize_access(&principal, Family::Settings, false)?;
    let key = key::idp_key(ctx).await?;
    Ok(SamlOutcome::Described(SamlIdpView {
        entity_id: metadata::entity_id(idp_base),
        certificate: key.certificate_pem(),
        not_after: key.record.not_after,
    }))
}

/// A sign-on that passed every check but the user's session.
struct Target {
    app: SamlApp,
    acs_url: String,
    request_id: Option<String>,
    relay_state: Option<String>,
    /// Re-authentication asked for: a session older than this instant does not do.
    fresh_since: Option<crate::clock::Timestamp>,
    /// `IsPassive`: answer without showing the user anything.
    passive: bool,
    /// How the browser comes back after signing in (`None`: the URL it came with).
    resume: Option<String>,
}

fn app_by_issuer(
    ctx: &ProtocolCtx,
    issuer: Option<String>,
) -> std::result::Result<SamlApp, String> {
    let issuer = issuer
        .map(|i| i.trim().to_string())
        .filter(|i| !i.is_empty())
        .ok_or("The request names no Issuer.")?;
    let app = lookup::saml_app_by_entity(&ctx.reader(), &issuer)
        .map_err(|_| format!("No application is registered for {issuer}."))?;
    if !app.enabled {
        return Err(format!("The application {} is disabled.", app.name));
    }
    Ok(app)
}

fn sp_request(
    ctx: &ProtocolCtx,
    idp_base: &str,
    message: InboundMessage,
) -> std::result::Result<Target, String> {
    let raw = message::decode(&message)?;
    let unverified =
        AuthnRequest::from_str(&raw).map_err(|_| "The SAMLRequest is not an AuthnRequest.")?;
    let app = app_by_issuer(ctx, unverified.issuer.and_then(|i| i.value))?;
    let signed = message::verified(&message, raw.clone(), &app)?;
    let request = AuthnRequest::from_str(&signed)
        .map_err(|_| "The signed part of the request is not an AuthnRequest.")?;
    let issuer = request.issuer.as_ref().and_then(|i| i.value.as_deref());
    if issuer.map(str::trim) != Some(app.entity_id.as_str()) {
        return Err("The request's Issuer is not the signed one.".into());
    }
    if request.version != "2.0" {
        return Err("Only SAML 2.0 requests are accepted.".into());
    }
    if let Some(destination) = &request.destination
        && destination != &format!("{idp_base}/sso")
    {
        return Err("The request's Destination is not this identity provider.".into());
    }
    let issued = crate::clock::Timestamp(request.issue_instant.timestamp_millis());
    if issued.0 > ctx.now.0 + SKEW_MS || issued.0 < ctx.now.0 - MAX_AGE_MS {
        return Err("The request's IssueInstant is outside the accepted window.".into());
    }
    if let Some(binding) = &request.protocol_binding
        && binding != xml::POST_BINDING
    {
        return Err("Responses are only sent with the HTTP-POST binding.".into());
    }
    let acs_url = match (
        &request.assertion_consumer_service_url,
        request.assertion_consumer_service_index,
    ) {
        (Some(url), _) => {
            if !app.acs_urls.iter().any(|u| u == url) {
                return Err(format!(
                    "{url} is not an assertion consumer service of {}.",
                    app.name
                ));
            }
            url.clone()
        }
        (None, Some(index)) => app
            .acs_urls
            .get(index)
            .cloned()
            .ok_or("The request's AssertionConsumerServiceIndex is not registered.")?,
        (None, None) => app.acs_urls[0].clone(),
    };
    let resume = if message.redirect {
        None
    } else {
        Some(resume_query(&raw, message.relay_state.as_deref())?)
    };
    Ok(Target {
        acs_url,
        request_id: Some(request.id.clone()),
        relay_state: message.relay_state.clone(),
        fresh_since: (request.force_authn == Some(true)).then_some(issued),
        passive: request.is_passive == Some(true),
        resume,
        app,
    })
}

/// A POST-binding request as a Redirect-binding query (its signature, if any, is inside the
/// XML and survives).
fn resume_query(raw: &str, relay_state: Option<&str>) -> std::result::Result<String, String> {
    let deflated = deflate(raw.as_bytes()).map_err(|_| "The request cannot be resumed.")?;
    let mut query = format!("SAMLRequest={}", urlencode(&STANDARD.encode(deflated)));
    if let Some(relay) = relay_state {
        query.push_str(&format!("&RelayState={}", urlencode(relay)));
    }
    Ok(query)
}

pub(super) fn deflate(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

fn idp_initiated(
    ctx: &ProtocolCtx,
    id: SamlAppId,
    relay_state: Option<String>,
) -> std::result::Result<Target, String> {
    let app =
        lookup::saml_app(&ctx.reader(), id).map_err(|_| "No such application.".to_string())?;
    if !app.enabled {
        return Err(format!("The application {} is disabled.", app.name));
    }
    if !app.allow_idp_initiated {
        return Err(format!(
            "{} does not accept sign-ins started at the identity provider.",
            app.name
        ));
    }
    Ok(Target {
        acs_url: app.acs_urls[0].clone(),
        request_id: None,
        relay_state: relay_state.or_else(|| app.default_relay_state.clone()),
        fresh_since: None,
        passive: false,
        resume: None,
        app,
    })
}

/// The opaque session index of a session (the same for every app it signs in to).
fn session_index(ctx: &ProtocolCtx, session: u64) -> String {
    format!(
        "_{}",
        &crate::crypto::secret_hash(&format!("{}:{}", ctx.org, session))[..32]
    )
}

async fn sign_on(
    ctx: &ProtocolCtx,
    idp_base: &str,
    target: Target,
    session: Option<&str>,
) -> Result<SamlOutcome> {
    let reader = ctx.reader();
    let session = match session {
        Some(cookie) => active_session(&reader, cookie, ctx.now)?,
        None => None,
    }
    .filter(|s| {
        target
            .fresh_since
            .is_none_or(|since| s.auth_time.0 >= since.0 - SKEW_MS)
    });
    let entity_id = metadata::entity_id(idp_base);
    let delivery = Delivery {
        idp_entity_id: &entity_id,
        app: &target.app,
        acs_url: &target.acs_url,
        in_response_to: target.request_id.as_deref(),
    };
    let Some(session) = session else {
        if target.passive {
            let key = key::idp_key(ctx).await?;
            return Ok(SamlOutcome::Post {
                action: target.acs_url.clone(),
                field: "SAMLResponse".into(),
                value: assertion::no_passive(&key, &delivery, ctx.now)?,
                relay_state: target.relay_state.clone(),
            });
        }
        return Ok(SamlOutcome::Login {
            resume: target.resume.unwrap_or_default(),
            app_name: target.app.name.clone(),
        });
    };
    let user = lookup::user(&reader, &UserKey::Id(session.user_id))?;
    if user.blocked || !user.is_active {
        return Ok(SamlOutcome::Refused(
            "This account cannot sign in. Contact your administrator.".into(),
        ));
    }
    // Memberships are read only when the app's attributes release them.
    let releases = |source: &str| {
        target
            .app
            .attribute_mapping
            .iter()
            .any(|(_, s)| s == source)
    };
    let (groups, roles) = if releases("groups") || releases("roles") {
        let view = crate::read::users::view(&reader, user.clone(), true, None)?;
        let names = |refs: Option<Vec<crate::model::EntityRef>>| {
            refs.unwrap_or_default()
                .into_iter()
                .map(|r| r.name)
                .collect::<Vec<_>>()
        };
        (names(view.groups), names(view.roles))
    } else {
        (Vec::new(), Vec::new())
    };
    let key = key::idp_key(ctx).await?;
    let name_id = assertion::name_id(&target.app, &user, &key);
    let value = assertion::response(
        &key,
        &delivery,
        &Principal {
            user: &user,
            groups,
            roles,
            session_index: session_index(ctx, session.id),
            auth_time: session.auth_time,
            name_id: name_id.clone(),
        },
        ctx.now,
    )?;
    ctx.propose(
        user_actor(user.id, &user.email),
        Op::Saml(SamlWrite::SignedOnInSession {
            app: target.app.id,
            user: user.id,
            initiated_by_idp: target.request_id.is_none(),
            session: session.id,
            name_id,
            name_id_format: target.app.name_id_format.clone(),
        }),
    )
    .await?;
    Ok(SamlOutcome::Post {
        action: target.acs_url,
        field: "SAMLResponse".into(),
        value,
        relay_state: target.relay_state,
    })
}

async fn logout(
    ctx: &ProtocolCtx,
    idp_base: &str,
    message: InboundMessage,
    session: Option<&str>,
) -> Result<SamlOutcome> {
    let judged = (|| {
        let raw = message::decode(&message)?;
        let unverified =
            LogoutRequest::from_str(&raw).map_err(|_| "The SAMLRequest is not a LogoutRequest.")?;
        let app = app_by_issuer(ctx, unverified.issuer.and_then(|i| i.value))?;
        let signed = message::verified(&message, raw, &app)?;
        let request = LogoutRequest::from_str(&signed)
            .map_err(|_| "The signed part of the request is not a LogoutRequest.")?;
        let slo_url = app
            .slo_url
            .clone()
            .ok_or_else(|| format!("{} has no single logout URL registered.", app.name))?;
        Ok::<_, String>((app, request, slo_url))
    })();
    let (app, request, slo_url) = match judged {
        Ok(judged) => judged,
        Err(why) => return Ok(SamlOutcome::Refused(why)),
    };
    let reader = ctx.reader();
    let mut ended = None;
    if let Some(cookie) = session
        && let Some(session) = active_session(&reader, cookie, ctx.now)?
    {
        ctx.propose(
            user_actor(session.user_id, &session.user_email),
            Op::Revoke(RevokeTarget::Session(session.id)),
        )
        .await?;
        ended = Some(session.id);
    }
    tracing::debug!(app = %app.entity_id, "SAML single logout");
    let origin = slo_chain::Origin {
        app: app.id,
        slo_url,
        request_id: request.id,
        relay_state: message.relay_state,
    };
    slo_chain::start(ctx, idp_base, origin, ended).await
}

/// A successful `LogoutResponse` from `issuer` to `slo_url` over the HTTP-Redirect binding,
/// signed with the org's SAML key: the URL to send the browser to.
fn logout_response_url(
    key: &key::IdpKey,
    issuer: &str,
    slo_url: &str,
    in_response_to: Option<&str>,
    relay_state: Option<&str>,
    now: crate::clock::Timestamp,
) -> Result<String> {
    let xml = format!(
        concat!(
            r#"<samlp:LogoutResponse xmlns:samlp="{protocol}" xmlns:saml="{ns}" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{now}" Destination="{dest}"{in_response_to}>"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<samlp:Status><samlp:StatusCode Value="{success}"/></samlp:Status></samlp:LogoutResponse>"#
        ),
        protocol = PROTOCOL_NS,
        ns = ASSERTION_NS,
        id = new_id(),
        now = instant(now),
        dest = esc(slo_url),
        in_response_to = in_response_to
            .map(|id| format!(r#" InResponseTo="{}""#, esc(id)))
            .unwrap_or_default(),
        issuer = esc(issuer),
        success = SUCCESS,
    );
    signed_redirect(key, slo_url, "SAMLResponse", &xml, relay_state)
}

/// `xml` to `destination` over the HTTP-Redirect binding as `field` (`SAMLRequest` or
/// `SAMLResponse`), with the RSA-SHA256 query signature of the org's SAML key.
fn signed_redirect(
    key: &key::IdpKey,
    destination: &str,
    field: &str,
    xml: &str,
    relay_state: Option<&str>,
) -> Result<String> {
    let deflated = deflate(xml.as_bytes())
        .map_err(|e| ClusterError::internal(format!("compressing a SAML message: {e}")))?;
    let mut query = format!("{field}={}", urlencode(&STANDARD.encode(deflated)));
    if let Some(relay) = relay_state {
        query.push_str(&format!("&RelayState={}", urlencode(relay)));
    }
    query.push_str(&format!("&SigAlg={}", urlencode(RSA_SHA256)));
    let signature = sign_query(&key.private_der, &query)?;
    let separator = if destination.contains('?') { '&' } else { '?' };
    Ok(format!(
        "{destination}{separator}{query}&Signature={}",
        urlencode(&STANDARD.encode(signature))
    ))
}

/// RSA-SHA256 over the Redirect binding's query octets.
pub(super) fn sign_query(private_der: &[u8], query: &str) -> Result<Vec<u8>> {
    let failed = |e: openssl::error::ErrorStack| {
        ClusterError::internal(format!("signing a SAML redirect: {e}"))
    };
    let rsa = openssl::rsa::Rsa::private_key_from_der(private_der).map_err(failed)?;
    let key = openssl::pkey::PKey::from_rsa(rsa).map_err(failed)?;
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &key).map_err(failed)?;
    signer.update(query.as_bytes()).map_err(failed)?;
    signer.sign_to_vec().map_err(failed)
}
