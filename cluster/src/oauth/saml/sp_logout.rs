//! Single logout in service provider mode (`~/saml/sp/slo`): an upstream IdP whose session
//! ended sends its signed `LogoutRequest` (HTTP-Redirect or HTTP-POST binding) through the
//! browser. The user linked to that IdP's NameID loses every Lumo session (and their tokens),
//! and the browser goes back to the IdP's single logout URL with our signed
//! `LogoutResponse`, or sees a signed-out page when the IdP registered none.

use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use samael::schema::LogoutRequest;

use super::super::runtime::ProtocolCtx;
use super::key::idp_key;
use super::message::{self, Refusal};
use super::sp::sp_entity_id;
use super::{MAX_AGE_MS, SKEW_MS, logout_response_url};
use crate::command::{Op, RevokeTarget, UserKey};
use crate::error::Result;
use crate::ids::UserId;
use crate::lookup;
use crate::model::{IdentityKind, IdentityLink, SamlIdp, User};
use crate::protocol::{InboundMessage, SamlOutcome};
use crate::tables::Table;

/// Our single logout endpoint.
pub(super) fn slo_url(sp_base: &str) -> String {
    format!("{sp_base}/slo")
}

/// The request judged: from a registered IdP, signed by it, for us, in time.
fn judge(
    ctx: &ProtocolCtx,
    sp_base: &str,
    message: &InboundMessage,
) -> std::result::Result<(SamlIdp, LogoutRequest), Refusal> {
    let raw = message::decode(message)?;
    let unverified =
        LogoutRequest::from_str(&raw).map_err(|_| "The SAMLRequest is not a LogoutRequest.")?;
    let issuer = unverified
        .issuer
        .and_then(|i| i.value)
        .ok_or("The request names no issuer.")?;
    let reader = ctx.reader();
    let unknown = || "The request's issuer is not a registered identity provider.".to_string();
    let id = reader
        .get::<u64>(Table::SamlUpstreamEntity, issuer.as_bytes())
        .map_err(|e| e.to_string())?
        .ok_or_else(unknown)?;
    let idp = lookup::saml_upstream(&reader, id).map_err(|_| unknown())?;
    let certificate = STANDARD
        .decode(&idp.certificate)
        .map_err(|_| "The identity provider's certificate is not valid.")?;
    let signed = message::signed_by(message, raw, &certificate)?;
    let request = LogoutRequest::from_str(&signed)
        .map_err(|_| "The signed part of the request is not a LogoutRequest.")?;
    if request
        .destination
        .as_deref()
        .is_some_and(|d| d != slo_url(sp_base))
    {
        return Err("The request's Destination is not this service provider.".into());
    }
    let issued = request
        .issue_instant
        .map(|at| at.timestamp_millis())
        .ok_or("The request has no IssueInstant.")?;
    if issued > ctx.now.0 + SKEW_MS || issued < ctx.now.0 - MAX_AGE_MS {
        return Err("The request's IssueInstant is outside the accepted window.".into());
    }
    if request.name_id.is_none() {
        return Err("The request names no user (NameID).".into());
    }
    Ok((idp, request))
}

/// The user linked to `name_id` at `idp`, if any.
fn linked_user(ctx: &ProtocolCtx, idp: &SamlIdp, name_id: &str) -> Result<Option<User>> {
    let probe = IdentityLink {
        user_id: UserId(ulid::Ulid::nil()),
        kind: IdentityKind::Saml,
        idp_id: Some(idp.id),
        name_id: Some(name_id.to_string()),
        ldap_config_id: None,
        dn: None,
        provider: None,
        ldap_only: false,
        created_at: ctx.now,
    };
    let reader = ctx.reader();
    let Some(user) =
        reader.get::<UserId>(Table::IdentityIndex, probe.uniqueness_key().as_bytes())?
    else {
        return Ok(None);
    };
    reader.get::<User>(Table::User, &user.to_bytes())
}

pub(super) async fn logout(
    ctx: &ProtocolCtx,
    sp_base: &str,
    message: InboundMessage,
) -> Result<SamlOutcome> {
    let (idp, request) = match judge(ctx, sp_base, &message) {
        Ok(judged) => judged,
        Err(why) => return Ok(SamlOutcome::Refused(why)),
    };
    let name_id = request
        .name_id
        .as_ref()
        .map(|n| n.value.trim().to_string())
        .unwrap_or_default();
    if let Some(user) = linked_user(ctx, &idp, &name_id)? {
        ctx.propose(
            super::user_actor(user.id, &user.email),
            Op::Revoke(RevokeTarget::UserSessions(UserKey::Id(user.id))),
        )
        .await?;
        tracing::debug!(idp = %idp.entity_id, user = %user.id, "SAML SP single logout");
    }
    let Some(idp_slo) = idp.slo_url.as_deref() else {
        return Ok(SamlOutcome::SignedOut);
    };
    let key = idp_key(ctx).await?;
    let url = logout_response_url(
        &key,
        &sp_entity_id(sp_base),
        idp_slo,
        request.id.as_deref(),
        message.relay_state.as_deref(),
        ctx.now,
    )?;
    Ok(SamlOutcome::Redirect(url))
}
