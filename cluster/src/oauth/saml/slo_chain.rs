//! Single logout across a session's apps (IdP side). When an app's `LogoutRequest` ends a
//! session that signed in to other apps too, each of those with a logout URL gets our signed
//! `LogoutRequest` (their NameID, our session index) through the browser, one after another;
//! each answer (`SAMLResponse` at `~/saml/idp/slo`, RelayState the chain's id) moves on to the
//! next, and the last sends the `LogoutResponse` to the app that asked. The chain is a
//! replicated row (`Table::SamlLogoutChain`), so any leader can continue it; an app that does
//! not answer leaves the browser with it (the session has already ended).

use std::str::FromStr;

use samael::schema::LogoutResponse;

use super::super::mfa::new_id as prefixed_id;
use super::super::runtime::ProtocolCtx;
use super::key::{IdpKey, idp_key};
use super::xml::{ASSERTION_NS, PROTOCOL_NS, esc, instant, new_id};
use super::{logout_response_url, message, metadata, session_index, signed_redirect};
use crate::command::{Op, SamlWrite};
use crate::error::Result;
use crate::ids::SamlAppId;
use crate::lookup;
use crate::model::{PrincipalKind, SamlApp, SamlLogoutChain, SamlSessionApp, name_id_format_uri};
use crate::protocol::{InboundMessage, SamlOutcome};
use crate::tables::Table;

/// How long the browser has to go round the apps.
const CHAIN_TTL_MS: i64 = 10 * 60_000;

/// The request that started a logout.
pub(super) struct Origin {
    pub app: SamlAppId,
    pub slo_url: String,
    pub request_id: Option<String>,
    pub relay_state: Option<String>,
}

/// The other apps session `session` signed in to that have a logout URL.
fn other_apps(
    ctx: &ProtocolCtx,
    session: u64,
    except: SamlAppId,
) -> Result<Vec<(SamlAppId, String, String)>> {
    let reader = ctx.reader();
    let mut found = Vec::new();
    reader.scan::<SamlSessionApp>(
        Table::SamlSessionApp,
        &session.to_be_bytes(),
        false,
        |rest, record| {
            if let Some(app) = rest.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                found.push((SamlAppId(u64::from_be_bytes(app)), record));
            }
            true
        },
    )?;
    let mut out = Vec::new();
    for (app, record) in found {
        if app == except {
            continue;
        }
        if let Ok(known) = lookup::saml_app(&reader, app)
            && known.slo_url.is_some()
        {
            out.push((app, record.name_id, record.name_id_format));
        }
    }
    Ok(out)
}

/// Starts going round the session's other apps, or answers the asking app at once.
pub(super) async fn start(
    ctx: &ProtocolCtx,
    idp_base: &str,
    origin: Origin,
    session: Option<u64>,
) -> Result<SamlOutcome> {
    let others = match session {
        Some(session) => other_apps(ctx, session, origin.app)?,
        None => Vec::new(),
    };
    let key = idp_key(ctx).await?;
    if others.is_empty() {
        let url = logout_response_url(
            &key,
            &metadata::entity_id(idp_base),
            &origin.slo_url,
            origin.request_id.as_deref(),
            origin.relay_state.as_deref(),
            ctx.now,
        )?;
        return Ok(SamlOutcome::Redirect(url));
    }
    let chain = SamlLogoutChain {
        id: prefixed_id("slc_"),
        session: session.unwrap_or_default(),
        origin_app: origin.app,
        origin_request_id: origin.request_id,
        origin_relay_state: origin.relay_state,
        remaining: others,
        pending_app: None,
        pending_request_id: None,
        expires_at: ctx.now.plus_millis(CHAIN_TTL_MS),
    };
    next(ctx, idp_base, &key, chain).await
}

/// Sends the browser to the next app with a logout request, or back to the asking app.
async fn next(
    ctx: &ProtocolCtx,
    idp_base: &str,
    key: &IdpKey,
    mut chain: SamlLogoutChain,
) -> Result<SamlOutcome> {
    let reader = ctx.reader();
    let entity_id = metadata::entity_id(idp_base);
    while !chain.remaining.is_empty() {
        let (app_id, name_id, format) = chain.remaining.remove(0);
        let Ok(app) = lookup::saml_app(&reader, app_id) else {
            continue;
        };
        let Some(slo_url) = app.slo_url.clone() else {
            continue;
        };
        let request_id = new_id();
        let xml = logout_request(
            ctx,
            &entity_id,
            &slo_url,
            &request_id,
            &name_id,
            &format,
            &chain,
        );
        let url = signed_redirect(key, &slo_url, "SAMLRequest", &xml, Some(&chain.id))?;
        chain.pending_app = Some(app.id);
        chain.pending_request_id = Some(request_id);
        ctx.propose(
            PrincipalKind::System,
            Op::Saml(SamlWrite::PutLogoutChain(Box::new(chain))),
        )
        .await?;
        return Ok(SamlOutcome::Redirect(url));
    }
    ctx.propose(
        PrincipalKind::System,
        Op::Saml(SamlWrite::EndLogoutChain(chain.id.clone())),
    )
    .await?;
    let Some(slo_url) = lookup::saml_app(&reader, chain.origin_app)
        .ok()
        .and_then(|app: SamlApp| app.slo_url)
    else {
        return Ok(SamlOutcome::SignedOut);
    };
    let url = logout_response_url(
        key,
        &entity_id,
        &slo_url,
        chain.origin_request_id.as_deref(),
        chain.origin_relay_state.as_deref(),
        ctx.now,
    )?;
    Ok(SamlOutcome::Redirect(url))
}

fn logout_request(
    ctx: &ProtocolCtx,
    issuer: &str,
    destination: &str,
    id: &str,
    name_id: &str,
    format: &str,
    chain: &SamlLogoutChain,
) -> String {
    format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="{protocol}" xmlns:saml="{ns}" ID="{id}" "#,
            r#"Version="2.0" IssueInstant="{now}" Destination="{dest}" NotOnOrAfter="{until}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer>"#,
            r#"<saml:NameID Format="{format}">{name_id}</saml:NameID>"#,
            r#"<samlp:SessionIndex>{index}</samlp:SessionIndex></samlp:LogoutRequest>"#
        ),
        protocol = PROTOCOL_NS,
        ns = ASSERTION_NS,
        id = esc(id),
        now = instant(ctx.now),
        dest = esc(destination),
        until = instant(chain.expires_at),
        issuer = esc(issuer),
        format = name_id_format_uri(format),
        name_id = esc(name_id),
        index = esc(&session_index(ctx, chain.session)),
    )
}

/// An app answered our logout request: on to the next one.
pub(super) async fn answered(
    ctx: &ProtocolCtx,
    idp_base: &str,
    message: InboundMessage,
) -> Result<SamlOutcome> {
    let reader = ctx.reader();
    let chain = message
        .relay_state
        .as_deref()
        .map(|id| reader.get::<SamlLogoutChain>(Table::SamlLogoutChain, id.as_bytes()))
        .transpose()?
        .flatten()
        .filter(|chain| chain.expires_at > ctx.now);
    let Some(chain) = chain else {
        return Ok(SamlOutcome::Refused(
            "This logout answer belongs to no logout in progress.".into(),
        ));
    };
    let judged = (|| {
        let raw = message::decode(&message)?;
        let app = chain
            .pending_app
            .and_then(|id| lookup::saml_app(&reader, id).ok())
            .ok_or("The app this logout waited for is gone.")?;
        let signed = message::verified(&message, raw, &app)?;
        let response = LogoutResponse::from_str(&signed)
            .map_err(|_| "The SAMLResponse is not a LogoutResponse.")?;
        if response.in_response_to != chain.pending_request_id {
            return Err("The LogoutResponse does not answer the request sent.".to_string());
        }
        Ok::<_, String>(())
    })();
    if let Err(why) = judged {
        return Ok(SamlOutcome::Refused(why));
    }
    let key = idp_key(ctx).await?;
    next(ctx, idp_base, &key, chain).await
}
