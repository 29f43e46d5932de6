//! Authorization requests (RFC 6749 section 4.1.1, OIDC Core 3.1.2.1): validating the client
//! and redirect URI (which decide where errors may go), then the rest (response type, scopes,
//! PKCE, prompt, max_age, resource), and merging pushed requests (RFC 9126).

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::model::{OAuthClient, PushedRequest};
use crate::protocol::scopes::parse;
use crate::protocol::{ErrorCode, GrantType, Params};
use crate::tables::{OrgReader, Table};

use super::client_auth::find_client;
use super::resource::check_resource;

/// A validated authorization request.
pub(super) struct Validated {
    pub client: OAuthClient,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub challenge: Option<String>,
    pub prompt: Vec<String>,
    pub max_age: Option<i64>,
    pub form_post: bool,
    pub resources: Vec<String>,
}

/// Merges a pushed request (`request_uri`) into the parameters.
pub(super) fn with_pushed(reader: &OrgReader, params: Params, now: Timestamp) -> Result<Params> {
    let Some(uri) = params.get("request_uri") else {
        return Ok(params);
    };
    let pushed: PushedRequest = reader
        .get::<PushedRequest>(Table::PushedRequest, uri.as_bytes())?
        .filter(|p| p.expires_at > now)
        .ok_or_else(|| {
            ClusterError::oauth(
                ErrorCode::InvalidRequestUri,
                "request_uri is unknown or expired",
            )
        })?;
    if params.get("client_id") != Some(&pushed.client_id) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
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

/// Checks the parts that decide where errors may go (client and redirect URI).
pub(super) fn client_and_redirect(
    reader: &OrgReader,
    params: &Params,
) -> Result<(OAuthClient, String)> {
    let client_id = params
        .get("client_id")
        .ok_or_else(|| ClusterError::oauth(ErrorCode::InvalidRequest, "client_id is required"))?;
    let client = find_client(reader, client_id)
        .map_err(|_| ClusterError::oauth(ErrorCode::InvalidClient, "unknown or disabled client"))?;
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => uri.clone(),
        Some(_) => {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRequest,
                "redirect_uri is not registered for this client",
            ));
        }
        None if client.redirect_uris.len() == 1 => client.redirect_uris[0].clone(),
        None => {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRequest,
                "redirect_uri is required",
            ));
        }
    };
    Ok((client, redirect_uri))
}

/// Validates the rest; errors here go back to the client.
pub(super) fn validated(client: OAuthClient, redirect_uri: String, params: &Params) -> Validated {
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
pub(super) type Refusal = (ErrorCode, String);

pub(super) fn validate(v: &mut Validated, params: &Params) -> std::result::Result<(), Refusal> {
    let Some(response_type) = params.get("response_type") else {
        return Err((
            ErrorCode::InvalidRequest,
            "response_type is required".into(),
        ));
    };
    if response_type != "code" {
        return Err((
            ErrorCode::UnsupportedResponseType,
            "only response_type=code is supported".into(),
        ));
    }
    if !v.client.allows_grant(GrantType::AuthorizationCode.as_str()) {
        return Err((
            ErrorCode::UnauthorizedClient,
            "the client may not use the authorization code grant".into(),
        ));
    }
    if let Some(mode) = params.get("response_mode")
        && mode != "query"
        && mode != "form_post"
    {
        return Err((
            ErrorCode::InvalidRequest,
            "response_mode must be query or form_post".into(),
        ));
    }
    let requested = parse(params.get("scope").map(String::as_str));
    if let Some(extra) = requested.iter().find(|s| !v.client.scopes.contains(s)) {
        let message = format!("scope {extra} is not allowed for this client");
        return Err((ErrorCode::InvalidScope, message));
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
                    ErrorCode::InvalidRequest,
                    "code_challenge must be a base64url SHA-256 (43 characters)".into(),
                ));
            }
            v.challenge = Some(challenge.clone());
        }
        (Some(_), _) => {
            return Err((
                ErrorCode::InvalidRequest,
                "code_challenge_method must be S256".into(),
            ));
        }
        (None, _) if v.client.pkce_required() => {
            return Err((
                ErrorCode::InvalidRequest,
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
                    ErrorCode::InvalidRequest,
                    "max_age must be a non-negative integer".into(),
                ));
            }
        }
    }
    if v.prompt.iter().any(|p| p == "none") && v.prompt.len() > 1 {
        return Err((
            ErrorCode::InvalidRequest,
            "prompt=none cannot be combined with other values".into(),
        ));
    }
    if let Some(resource) = params.get("resource") {
        if let Err(e) = check_resource(resource) {
            return Err((ErrorCode::InvalidTarget, e.to_string()));
        }
        v.resources = vec![resource.clone()];
    }
    Ok(())
}
