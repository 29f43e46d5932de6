//! The authorization endpoint: a validated request leads to the login page, the consent page,
//! or a code sent back to the client; refusals go back to the client or, where the client or
//! its redirect URI cannot be trusted, to an error page.

use crate::clock::Timestamp;
use crate::command::{Op, SubOrgWrite};
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::model::{AuthCode, Consent, OAuthClient, PrincipalKind, User};
use crate::protocol::{AuthorizeOutcome, ErrorCode, Params, ProtocolReply, limits};
use crate::tables::{OrgReader, Table};

use super::authorization_request::{
    Validated, client_and_redirect, validate, validated, with_pushed,
};
use super::branding::branding;
use super::login::active_session;
use super::org_choice::{OrgStep, already_chosen, org_step};
use super::runtime::ProtocolCtx;
use super::scope_checks::entitled;

fn error_page(reader: &OrgReader, error: ErrorCode, description: &str) -> Result<ProtocolReply> {
    Ok(ProtocolReply::Authorize(AuthorizeOutcome::ErrorPage {
        error,
        description: description.to_string(),
        branding: branding(reader)?,
    }))
}

/// The client's name as pages show it; a metadata-document client's name is its own claim, so
/// the host its `client_id` lives on is shown with it.
fn shown_name(client: &OAuthClient) -> String {
    if client.metadata_fetched_at.is_none() {
        return client.name.clone();
    }
    let host = client
        .client_id
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', '?', ':']).next())
        .unwrap_or("");
    format!("{} ({host})", client.name)
}

/// Errors that may be reported to the client's redirect URI. A client known only from its
/// metadata document gets an error page instead: anyone can publish a document, and error
/// redirects to its URIs would make this endpoint an open redirector.
fn redirect_error(
    reader: &OrgReader,
    v: &Validated,
    issuer: &str,
    error: ErrorCode,
    description: &str,
) -> Result<ProtocolReply> {
    if v.client.metadata_fetched_at.is_some() {
        return error_page(reader, error, description);
    }
    let mut params = vec![
        ("error".to_string(), error.as_str().to_string()),
        ("error_description".to_string(), description.to_string()),
    ];
    if let Some(state) = &v.state {
        params.push(("state".into(), state.clone()));
    }
    params.push(("iss".into(), issuer.to_string()));
    Ok(ProtocolReply::Authorize(AuthorizeOutcome::Redirect {
        redirect_uri: v.redirect_uri.clone(),
        params,
        form_post: v.form_post,
    }))
}

fn carried(params: &Params) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "login_error")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `GET|POST ~/oauth/authorize`: validate, then ask the browser to sign in, ask the user's
/// consent, or issue a code.
pub(super) async fn authorize(
    ctx: &ProtocolCtx,
    issuer: &str,
    params: Params,
    cookie: Option<&str>,
    consent: Option<bool>,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let params = match with_pushed(&reader, params, ctx.now) {
        Ok(params) => params,
        Err(ClusterError::OAuth {
            error, description, ..
        }) => {
            return error_page(&reader, error, &description);
        }
        Err(e) => return Err(e),
    };
    let (client, redirect_uri) = match client_and_redirect(&reader, &params) {
        Ok(found) => found,
        Err(ClusterError::OAuth {
            error, description, ..
        }) => {
            return error_page(&reader, error, &description);
        }
        Err(e) => return Err(e),
    };
    let mut v = validated(client, redirect_uri, &params);
    if let Err((error, description)) = validate(&mut v, &params) {
        return redirect_error(&reader, &v, issuer, error, &description);
    }
    let session = match cookie {
        Some(cookie) => active_session(&reader, cookie, ctx.now)?,
        None => None,
    };
    let fresh_enough = |auth_time: Timestamp| {
        v.max_age
            .is_none_or(|age| ctx.now.0 - auth_time.0 <= age.saturating_mul(1000))
    };
    let wants_login = v
        .prompt
        .iter()
        .any(|p| p == "login" || p == "select_account");
    let session = session.filter(|s| !wants_login && fresh_enough(s.auth_time));
    let Some(session) = session else {
        if v.prompt.iter().any(|p| p == "none") {
            return redirect_error(
                &reader,
                &v,
                issuer,
                ErrorCode::LoginRequired,
                "the user is not signed in",
            );
        }
        return Ok(ProtocolReply::Authorize(AuthorizeOutcome::Login {
            client_name: shown_name(&v.client),
            login_hint: params.get("login_hint").cloned(),
            branding: branding(&reader)?,
            params: carried(&params),
        }));
    };
    let user: User = reader
        .get(Table::User, &session.user_id.to_bytes())?
        .ok_or_else(|| ClusterError::not_found("user", session.user_id))?;
    let chosen = match org_step(
        &reader,
        params.get("organization").map(String::as_str),
        user.id,
    )? {
        OrgStep::Nothing => None,
        OrgStep::Chosen(id) => Some(id),
        OrgStep::Refuse(description) => {
            return redirect_error(&reader, &v, issuer, ErrorCode::AccessDenied, &description);
        }
        OrgStep::Ask(options) => {
            if v.prompt.iter().any(|p| p == "none") {
                return redirect_error(
                    &reader,
                    &v,
                    issuer,
                    ErrorCode::InteractionRequired,
                    "the user must choose an organization",
                );
            }
            return Ok(ProtocolReply::Authorize(AuthorizeOutcome::SelectOrg {
                client_name: shown_name(&v.client),
                user_email: user.email.clone(),
                options,
                branding: branding(&reader)?,
                params: carried(&params)
                    .into_iter()
                    .filter(|(k, _)| k != "prompt")
                    .collect(),
            }));
        }
    };
    let scopes = entitled(&reader, user.id, v.scopes.clone())?;
    let key = crate::apply::sessions::consent_key(user.id, &v.client.client_id);
    let consented = reader
        .get::<Consent>(Table::Consent, &key)?
        .is_some_and(|c| scopes.iter().all(|s| c.scopes.contains(s)));
    let must_ask =
        !v.client.skip_consent && (v.prompt.iter().any(|p| p == "consent") || !consented);
    let actor = PrincipalKind::User {
        id: user.id,
        email: user.email.clone(),
    };
    match (must_ask, consent) {
        (_, Some(false)) => {
            return redirect_error(
                &reader,
                &v,
                issuer,
                ErrorCode::AccessDenied,
                "the user denied access",
            );
        }
        (_, Some(true)) => {
            ctx.propose(
                actor.clone(),
                Op::GrantConsent {
                    user: user.id,
                    client_id: v.client.client_id.clone(),
                    scopes: scopes.clone(),
                },
            )
            .await?;
        }
        (true, None) => {
            if v.prompt.iter().any(|p| p == "none") {
                return redirect_error(
                    &reader,
                    &v,
                    issuer,
                    ErrorCode::ConsentRequired,
                    "the user has not allowed this client",
                );
            }
            let mut carried = carried(&params);
            carried.retain(|(k, _)| k != "prompt");
            return Ok(ProtocolReply::Authorize(AuthorizeOutcome::Consent {
                client_name: shown_name(&v.client),
                scopes,
                user_email: user.email.clone(),
                branding: branding(&reader)?,
                params: carried,
            }));
        }
        (false, None) => {}
    }
    if let Some(sub_org) = chosen
        && !already_chosen(&reader, session.id, &v.client.client_id, &sub_org)?
    {
        ctx.propose(
            actor.clone(),
            Op::SubOrg(SubOrgWrite::Choose {
                session_id: session.id,
                client_id: v.client.client_id.clone(),
                sub_org,
            }),
        )
        .await?;
    }
    let code = random_token("", 32);
    let record = AuthCode {
        client_id: v.client.client_id.clone(),
        user_id: user.id,
        session_id: session.id,
        redirect_uri: v.redirect_uri.clone(),
        scopes,
        nonce: v.nonce.clone(),
        code_challenge: v.challenge.clone(),
        code_challenge_method: v.challenge.as_ref().map(|_| "S256".to_string()),
        auth_time: session.auth_time,
        resources: v.resources.clone(),
        created_at: ctx.now,
        expires_at: ctx.now.plus_millis(limits::CODE_TTL_MS),
        consumed_at: None,
        issued_jti: None,
        issued_family: None,
    };
    ctx.propose(
        actor,
        Op::IssueCode {
            hash: secret_hash(&code),
            code: record,
            pushed: params.get("request_uri").cloned(),
        },
    )
    .await?;
    let mut out = vec![("code".to_string(), code)];
    if let Some(state) = &v.state {
        out.push(("state".into(), state.clone()));
    }
    out.push(("iss".into(), issuer.to_string()));
    Ok(ProtocolReply::Authorize(AuthorizeOutcome::Redirect {
        redirect_uri: v.redirect_uri.clone(),
        params: out,
        form_post: v.form_post,
    }))
}
