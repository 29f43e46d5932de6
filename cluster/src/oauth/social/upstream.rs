//! Talking to an upstream provider: its endpoints (the preset's, the provider's own, or the
//! issuer's discovery document), the code exchange, its key set and its userinfo. Every call
//! goes through the outbound guard (`webhooks::Sender`: https and public addresses unless the
//! node allows private ones, no redirects, a timeout, a bounded answer).

use std::time::Duration;

use serde_json::Value;

use crate::error::{ClusterError, ErrorCode, Result};
use crate::model::SocialProvider;
use crate::oauth::urlencode;
use crate::webhooks::{SendLimits, Sender, TargetPolicy};

use super::presets::{Dialect, Preset, preset};

/// Largest upstream answer read (discovery documents and key sets are a few KiB).
const MAX_ANSWER: usize = 256 * 1024;
const TIMEOUT: Duration = Duration::from_secs(10);
const USER_AGENT: &str = "Lumo-Social-Login/1";

/// An upstream failure: the login cannot go on (the reason is for the log).
pub(super) fn upstream_failed(why: impl std::fmt::Display) -> ClusterError {
    ClusterError::OAuth {
        error: ErrorCode::InvalidGrant,
        description: format!("the sign-in provider failed: {why}"),
        status: 502,
    }
}

/// Where a provider's endpoints are.
#[derive(Debug, Clone)]
pub(super) struct Endpoints {
    pub dialect: Dialect,
    pub issuer: Option<String>,
    pub authorization: String,
    pub token: String,
    pub userinfo: Option<String>,
    pub jwks: Option<String>,
}

/// The tenant a Microsoft provider signs in from (`common` by default).
pub(super) fn tenant(provider: &SocialProvider) -> String {
    provider
        .provider_config
        .as_ref()
        .and_then(|c| c["tenant"].as_str())
        .filter(|t| {
            !t.is_empty()
                && t.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        })
        .unwrap_or("common")
        .to_string()
}

pub(super) fn provider_preset(provider: &SocialProvider) -> Result<&'static Preset> {
    preset(&provider.kind)
        .ok_or_else(|| upstream_failed(format!("unknown provider type {}", provider.kind)))
}

/// The provider's endpoints: its own fields first, then the preset's, then (OIDC) the
/// issuer's discovery document for what is still missing.
pub(super) async fn endpoints(
    provider: &SocialProvider,
    policy: TargetPolicy,
) -> Result<Endpoints> {
    let preset = provider_preset(provider)?;
    let tenant = tenant(provider);
    let pick = |own: &Option<String>, default: Option<&str>| {
        own.clone()
            .or_else(|| default.map(|d| d.replace("{tenant}", &tenant)))
    };
    let issuer = pick(&provider.issuer, preset.issuer);
    let mut authorization = pick(&provider.authorization_url, preset.authorization_url);
    let mut token = pick(&provider.token_url, preset.token_url);
    let mut userinfo = pick(&provider.user_info_url, preset.user_info_url);
    let mut jwks = pick(&provider.jwks_url, preset.jwks_url);
    let oidc = preset.dialect == Dialect::Oidc;
    if oidc && (authorization.is_none() || token.is_none() || jwks.is_none()) {
        let issuer = issuer
            .as_deref()
            .ok_or_else(|| upstream_failed("the provider has no issuer"))?;
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let document = get_json(&url, None, policy).await?;
        if document["issuer"].as_str() != Some(issuer) {
            return Err(upstream_failed(format!(
                "the discovery document of {issuer} names issuer {}",
                document["issuer"]
            )));
        }
        let field = |name: &str| document[name].as_str().map(str::to_string);
        authorization = authorization.or_else(|| field("authorization_endpoint"));
        token = token.or_else(|| field("token_endpoint"));
        userinfo = userinfo.or_else(|| field("userinfo_endpoint"));
        jwks = jwks.or_else(|| field("jwks_uri"));
    }
    Ok(Endpoints {
        dialect: preset.dialect,
        issuer,
        authorization: authorization
            .ok_or_else(|| upstream_failed("the provider has no authorization endpoint"))?,
        token: token.ok_or_else(|| upstream_failed("the provider has no token endpoint"))?,
        userinfo,
        jwks,
    })
}

async fn call(url: &str, policy: TargetPolicy) -> Result<Sender> {
    let limits = SendLimits {
        timeout: TIMEOUT,
        max_response: MAX_ANSWER,
    };
    Sender::new(url, policy, limits)
        .await
        .map_err(|e| upstream_failed(format!("{url}: {e}")))
}

fn json_answer(url: &str, attempt: crate::webhooks::Attempt) -> Result<Value> {
    if let Some(error) = attempt.error {
        return Err(upstream_failed(format!("{url}: {error}")));
    }
    let body = attempt.response_body.unwrap_or_default();
    let status = attempt.status_code.unwrap_or(0);
    let value: Value = serde_json::from_str(&body)
        .map_err(|_| upstream_failed(format!("{url} answered {status} without JSON")))?;
    if !(200..300).contains(&status) {
        let error = value["error"].as_str().unwrap_or("an error");
        return Err(upstream_failed(format!(
            "{url} answered {status} ({error})"
        )));
    }
    Ok(value)
}

/// GETs a JSON document (with the access token when given).
pub(super) async fn get_json(
    url: &str,
    bearer: Option<&str>,
    policy: TargetPolicy,
) -> Result<Value> {
    let sender = call(url, policy).await?;
    let mut headers = vec![
        ("accept", "application/json".to_string()),
        ("user-agent", USER_AGENT.to_string()),
    ];
    if let Some(token) = bearer {
        headers.push(("authorization", format!("Bearer {token}")));
    }
    json_answer(url, sender.get(&headers).await)
}

/// POSTs a form and reads the JSON answer (the token endpoint).
pub(super) async fn post_form(
    url: &str,
    form: &[(&str, &str)],
    policy: TargetPolicy,
) -> Result<Value> {
    let sender = call(url, policy).await?;
    let body = form
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    let headers = [
        ("accept", "application/json".to_string()),
        ("user-agent", USER_AGENT.to_string()),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_string(),
        ),
    ];
    json_answer(url, sender.post(&headers, body.into_bytes()).await)
}

/// The upstream's published keys.
pub(super) async fn keys(url: &str, policy: TargetPolicy) -> Result<Vec<Value>> {
    let set = get_json(url, None, policy).await?;
    set["keys"]
        .as_array()
        .cloned()
        .ok_or_else(|| upstream_failed(format!("{url} is not a key set")))
}
