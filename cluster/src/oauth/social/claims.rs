//! What the upstream's claims (an ID token, or a userinfo answer) say in our profile's terms,
//! through the provider's `claimMapping` (our field -> the upstream's claim).

use serde_json::Value;

use crate::error::Result;
use crate::model::{SocialProvider, UpstreamIdentity};

use super::upstream::upstream_failed;

/// The upstream claim a profile field is read from by default (GitHub names some otherwise).
fn default_claim<'a>(kind: &str, field: &'a str) -> &'a str {
    match (kind, field) {
        ("github", "sub") => "id",
        ("github", "picture") => "avatar_url",
        _ => field,
    }
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON boolean, or Apple's `"true"`.
fn flag(value: &Value) -> bool {
    value.as_bool().unwrap_or(value.as_str() == Some("true"))
}

/// Reads the identity out of `claims`.
pub(super) fn identity(provider: &SocialProvider, claims: &Value) -> Result<UpstreamIdentity> {
    let claim = |field: &str| {
        let name = provider
            .claim_mapping
            .as_ref()
            .and_then(|m| m[field].as_str())
            .unwrap_or_else(|| default_claim(&provider.kind, field));
        claims.get(name).cloned().unwrap_or(Value::Null)
    };
    let subject =
        text(&claim("sub")).ok_or_else(|| upstream_failed("the answer names no subject"))?;
    if subject.len() > 255 {
        return Err(upstream_failed("the subject is longer than 255 characters"));
    }
    let bounded = |field: &str| text(&claim(field)).filter(|v| v.len() <= 512);
    let email = bounded("email")
        .map(|e| e.trim().to_lowercase())
        .filter(|e| e.contains('@') && e.len() <= 254);
    Ok(UpstreamIdentity {
        subject,
        email_verified: email.is_some() && flag(&claim("email_verified")),
        email,
        name: bounded("name"),
        given_name: bounded("given_name"),
        family_name: bounded("family_name"),
        picture: bounded("picture"),
    })
}

/// GitHub keeps addresses apart: its primary verified one, from `GET /user/emails`.
pub(super) fn github_primary(emails: &Value) -> Option<String> {
    emails.as_array()?.iter().find_map(|e| {
        (flag(&e["primary"]) && flag(&e["verified"]))
            .then(|| e["email"].as_str().map(str::to_string))
            .flatten()
    })
}
