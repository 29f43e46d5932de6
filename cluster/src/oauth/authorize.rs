//! The authorization endpoint: request validation (client, redirect URI, response type,
//! scopes, PKCE, pushed requests), then sign-in, consent, and the code.

use serde::{Deserialize, Serialize};

use crate::command::Op;
use crate::crypto::{random_token, secret_hash};
use crate::error::{ClusterError, Result};
use crate::lookup::load_org;
use crate::model::{AuthCode, Consent, OAuthClient, PrincipalKind, PushedRequest, User};
use crate::settings::SettingsSection;
use crate::tables::{OrgReader, Table};

use super::client_auth::{authenticate, find_client};
use super::login::{active_session, settings};
use super::runtime::ProtocolCtx;
use super::scopes::{entitled, parse};
use super::token::{GRANT_CODE, check_resource};
use super::{ClientAuth, Params, ProtocolReply, limits};

/// What the hosted pages show of the org's branding settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Branding {
    pub org_name: String,
    pub logo_url: Option<String>,
    pub primary_color: String,
    pub background_color: String,
    pub button_text: String,
    pub welcome_title: Option<String>,
    pub welcome_subtitle: Option<String>,
    pub footer_text: Option<String>,
    pub terms_url: Option<String>,
    pub privacy_url: Option<String>,
}

/// The org's branding for the hosted pages.
pub(super) fn branding(reader: &OrgReader) -> Result<Branding> {
    let org = load_org(reader)?;
    let doc = settings(reader, SettingsSection::Branding)?;
    let text = |k: &str| {
        doc[k]
            .as_str()
            .map(str::to_string)
            .filter(|s| !s.is_empty())
    };
    Ok(Branding {
        org_name: org.name,
        logo_url: text("logo_url"),
        primary_color: text("primary_color").unwrap_or_else(|| "#4f46e5".into()),
        background_color: text("background_color").unwrap_or_else(|| "#f8fafc".into()),
        button_text: text("button_text").unwrap_or_else(|| "Sign in".into()),
        welcome_title: text("welcome_title"),
        welcome_subtitle: text("welcome_subtitle"),
        footer_text: text("footer_text"),
        terms_url: text("terms_url"),
        privacy_url: text("privacy_url"),
    })
}

/// What the browser gets from the authorization endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AuthorizeOutcome {
    /// The request cannot be trusted to redirect (unknown client, unregistered redirect URI):
    /// show an error page.
    ErrorPage {
        error: String,
        description: String,
        branding: Branding,
    },
    /// Send the browser to the client: query redirect, or an auto-submitting form.
    Redirect {
        redirect_uri: String,
        params: Vec<(String, String)>,
        form_post: bool,
    },
    /// Show the login form.
    Login {
        client_name: String,
        login_hint: Option<String>,
        branding: Branding,
        /// The authorization request, to carry through the form.
        params: Vec<(String, String)>,
    },
    /// Ask the signed-in user to allow the client.
    Consent {
        client_name: String,
        scopes: Vec<String>,
        user_email: String,
        branding: Branding,
        params: Vec<(String, String)>,
    },
}

/// A validated authorization request.
struct Validated {
    client: OAuthClient,
    redirect_uri: String,
    scopes: Vec<String>,
    state: Option<String>,
    nonce: Option<String>,
    challenge: Option<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
    form_post: bool,
    resources: Vec<String>,
}

fn error_page(reader: &OrgReader, error: &str, description: &str) -> Result<ProtocolReply> {
    Ok(ProtocolReply::Authorize(AuthorizeOutcome::ErrorPage {
        error: error.to_string(),
        description: description.to_string(),
        branding: branding(reader)?,
    }))
}

/// Merges a pushed request (`request_uri`) into the parameters.
fn with_pushed(reader: &OrgReader, params: Params, now: crate::clock::Timestamp) -> Result<Params> {
    let Some(uri) = params.get("request_uri") else {
        return Ok(params);
    };
    let pushed: PushedRequest = reader
        .get::<PushedRequest>(Table::PushedRequest, uri.as_bytes())?
        .filter(|p| p.expires_at > now)
        .ok_or_else(|| {
            ClusterError::oauth("invalid_request_uri", "request_uri is unknown or expired")
        })?;
    if params.get("client_id") != Some(&pushed.client_id) {
        return Err(ClusterError::oauth(
            "invalid_request",
            "client_id does not match the pushed request",
        ));
    }
    let mut merged: Params = pushed.params.into_iter().collect();
    merged.insert("client_id".into(), pushed.client_id);
    // Pages add their own markers (prompt handled, login error) on top of the pushed request.
    for key in ["prompt", "login_error", "request_uri"] {
        if let Some(value) = params.get(key) {
            merged.insert(key.into(), value.clone());
        }
    }
    Ok(merged)
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
    error: &str,
    description: &str,
) -> Result<ProtocolReply> {
    if v.client.metadata_fetched_at.is_some() {
        return error_page(reader, error, description);
    }
    let mut params = vec![
        ("error".to_string(), error.to_string()),
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

/// Checks the parts that decide where errors may go (client and redirect URI).
fn client_and_redirect(reader: &OrgReader, params: &Params) -> Result<(OAuthClient, String)> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| ClusterError::oauth("invalid_request", "client_id is required"))?;
    let client = find_client(reader, client_id)
        .map_err(|_| ClusterError::oauth("invalid_client", "unknown or disabled client"))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.clone(),
        Some(_) => {
            return Err(ClusterError::oauth(
                "invalid_request",
                "redirect_uri is not registered for this client",
            ));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(ClusterError::oauth(
                "invalid_request",
                "redirect_uri is required",
            ));
        }
    };
    Ok((client, redirect_uri))
}

/// Validates the rest; errors here go back to the client.
fn validated(client: OAuthClient, redirect_uri: String, params: &Params) -> Validated {
    Validated {
        redirect_uri,
        scopes: Vec::new(),
        state: params.get("state").cloned(),
        nonce: params.get("nonce").cloned(),
        challenge: None,
        prompt: parse(params.get("prompt").map(String::as_str)),
        max_age: None,
        form_post: params.get("response_mode").map(String::as_str) == Some("form_post"),
        resources: Vec::new(),
        client,
    }
}

/// A refusal to report to the client: `(error, description)`.
type Refusal = (&'static str, String);

fn validate(v: &mut Validated, params: &Params) -> std::result::Result<(), Refusal> {
    let Some(response_type) = params.get("response_type") else {
        return Err(("invalid_request", "response_type is required".into()));
    };
    if response_type != "code" {
        return Err((
            "unsupported_response_type",
            "only response_type=code is supported".into(),
        ));
    }
    if !v.client.allows_grant(GRANT_CODE) {
        return Err((
            "unauthorized_client",
            "the client may not use the authorization code grant".into(),
        ));
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
        && mode != "form_post"
    {
        return Err((
            "invalid_request",
            "response_mode must be query or form_post".into(),
        ));
    }
    let requested = parse(params.get("scope").map(String::as_str));
    if let Some(extra) = requested.iter().find(|s| !v.client.scopes.contains(s)) {
        let message = format!("scope {extra} is not allowed for this client");
        return Err(("invalid_scope", message));
    }
    v.scopes = if requested.is_empty() {
        v.client.scopes.clone()
    } else {
        requested
    };
    match (
        params.get("code_challenge"),
        params.get("code_challenge_method").map(String::as_str),
    ) {
        (Some(challenge), Some("S256")) => {
            let ok = challenge.len() == 43
                && challenge
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !ok {
                return Err((
                    "invalid_request",
                    "code_challenge must be a base64url SHA-256 (43 characters)".into(),
                ));
            }
            v.challenge = Some(challenge.clone());
        }
        (Some(_), _) => {
            return Err((
                "invalid_request",
                "code_challenge_method must be S256".into(),
            ));
        }
        (None, _) if v.client.pkce_required() => {
            return Err((
                "invalid_request",
                "this client must use PKCE (code_challenge with S256)".into(),
            ));
        }
        (None, _) => {}
    }
    if let Some(max_age) = params.get("max_age") {
        match max_age.parse::<i64>() {
            Ok(age) if age >= 0 => v.max_age = Some(age),
            _ => {
                return Err((
                    "invalid_request",
                    "max_age must be a non-negative integer".into(),
                ));
            }
        }
    }
    if v.prompt.iter().any(|p| p == "none") && v.prompt.len() > 1 {
        return Err((
            "invalid_request",
            "prompt=none cannot be combined with other values".into(),
        ));
    }
    if let Some(resource) = params.get("resource") {
        if let Err(e) = check_resource(resource) {
            return Err(("invalid_target", e.to_string()));
        }
        v.resources = vec![resource.clone()];
    }
    Ok(())
}

fn carried(params: &Params) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "login_error")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

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
            return error_page(&reader, &error, &description);
        }
        Err(e) => return Err(e),
    };
    let (client, redirect_uri) = match client_and_redirect(&reader, &params) {
        Ok(found) => found,
        Err(ClusterError::OAuth {
            error, description, ..
        }) => {
            return error_page(&reader, &error, &description);
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
    let fresh_enough = |auth_time: crate::clock::Timestamp| {
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
                "login_required",
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
                "access_denied",
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
                    "consent_required",
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

pub(super) async fn par(
    ctx: &ProtocolCtx,
    _issuer: &str,
    auth: &ClientAuth,
    params: Params,
) -> Result<ProtocolReply> {
    let reader = ctx.reader();
    let client = authenticate(&reader, auth, ctx.now)?;
    if params.contains_key("request_uri") {
        return Err(ClusterError::oauth(
            "invalid_request",
            "request_uri cannot be pushed",
        ));
    }
    if let Some(id) = params.get("client_id")
        && *id != client.client_id
    {
        return Err(ClusterError::oauth(
            "invalid_request",
            "client_id does not match the authenticated client",
        ));
    }
    // Pushed requests are replicated state: only so much of it per request.
    let size: usize = params.iter().map(|(k, v)| k.len() + v.len()).sum();
    if size > limits::MAX_PUSHED_BYTES {
        return Err(ClusterError::oauth(
            "invalid_request",
            format!(
                "the pushed request is larger than {} bytes",
                limits::MAX_PUSHED_BYTES
            ),
        ));
    }
    let mut checked = params.clone();
    checked.insert("client_id".into(), client.client_id.clone());
    let (client, redirect_uri) = client_and_redirect(&reader, &checked)?;
    let mut v = validated(client.clone(), redirect_uri, &checked);
    if let Err((error, description)) = validate(&mut v, &checked) {
        return Err(ClusterError::oauth(error, description));
    }
    let request_uri = format!("urn:ietf:params:oauth:request_uri:{}", random_token("", 24));
    let pushed = PushedRequest {
        client_id: client.client_id.clone(),
        params: params
            .into_iter()
            .filter(|(k, _)| k != "client_id" && k != "client_secret")
            .collect(),
        expires_at: ctx.now.plus_millis((limits::PAR_TTL_SECS as i64) * 1000),
    };
    ctx.propose(
        ProtocolCtx::client_actor(&client.client_id, &client.name),
        Op::PushRequest {
            request_uri: request_uri.clone(),
            request: pushed,
        },
    )
    .await?;
    Ok(ProtocolReply::Par {
        request_uri,
        expires_in: limits::PAR_TTL_SECS,
    })
}
