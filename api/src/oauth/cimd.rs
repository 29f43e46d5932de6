//! Client ID Metadata Documents: checking a document against the draft's rules and the org's
//! CIMD settings, and the client it becomes (public, PKCE, code and refresh grants only). The
//! admin check and the authorization endpoint share this; `cimd_fetch` does the fetching.

use serde_json::{Value, json};

use lumo_cluster::oauth::register::redirect_uri_problem;
use lumo_cluster::protocol::GrantType;
use lumo_cluster::protocol::scopes::is_identity_scope;

use super::cimd_fetch::{FetchFailure, check_client_id, fetch_document};

/// Grants a URL client can use (it has no secret).
const CIMD_GRANTS: &[GrantType] = &[GrantType::AuthorizationCode, GrantType::RefreshToken];

/// True for a grant a URL client can use.
fn cimd_grant(grant_type: &str) -> bool {
    CIMD_GRANTS.iter().any(|g| g.as_str() == grant_type)
}

/// The org's CIMD settings.
pub struct Policy {
    pub switched_on: bool,
    pub allowed_domains: Vec<String>,
    pub block_loopback: bool,
}

pub fn domain_allowed(host: &str, allowed: &[String]) -> bool {
    let host = host.to_ascii_lowercase();
    allowed.is_empty()
        || allowed
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
}

fn is_loopback_redirect(uri: &str) -> bool {
    reqwest::Url::parse(uri).is_ok_and(|u| {
        u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"))
    })
}

/// A failed check: `ok: false` with a stable reason.
pub fn refused(
    client_id: &str,
    failure: FetchFailure,
    document: Option<Value>,
    warnings: Vec<String>,
) -> Value {
    json!({
        "ok": false,
        "client_id": client_id,
        "enabled": false,
        "reason": failure.reason,
        "message": failure.message,
        "warnings": warnings,
        "document": document,
        "effective": null,
        "shadow_client": null,
    })
}

/// A page for a failure of a hosted page's step.
pub fn problem(reason: &str, message: impl Into<String>) -> FetchFailure {
    FetchFailure {
        reason: reason.into(),
        message: message.into(),
    }
}

fn strings(document: &Value, field: &str) -> Result<Option<Vec<String>>, FetchFailure> {
    match document.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    problem("invalid_document", format!("{field} must hold strings"))
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(problem(
            "invalid_document",
            format!("{field} must be an array of strings"),
        )),
    }
}

fn text(document: &Value, field: &str) -> Result<Option<String>, FetchFailure> {
    match document.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(problem(
            "invalid_document",
            format!("{field} must be a string"),
        )),
    }
}

/// Validates a fetched document; returns the effective client and warnings.
pub fn effective_client(
    client_id: &str,
    document: &Value,
    policy: &Policy,
    warnings: &mut Vec<String>,
) -> Result<Value, FetchFailure> {
    if document["client_id"].as_str() != Some(client_id) {
        return Err(problem(
            "client_id_mismatch",
            "the document's client_id must equal the URL it was fetched from",
        ));
    }
    if document.get("client_secret").is_some() || document.get("client_secret_expires_at").is_some()
    {
        return Err(problem(
            "client_secret_not_allowed",
            "metadata documents must not contain a client_secret",
        ));
    }
    let auth_method =
        text(document, "token_endpoint_auth_method")?.unwrap_or_else(|| "none".into());
    match auth_method.as_str() {
        "none" => {}
        "private_key_jwt" => {
            return Err(problem(
                "unsupported_token_endpoint_auth_method",
                "private_key_jwt is not supported by this server; use none (public client with PKCE)",
            ));
        }
        other => {
            return Err(problem(
                "invalid_token_endpoint_auth_method",
                format!("{other} needs a shared secret; URL clients use none or private_key_jwt"),
            ));
        }
    }
    let application_type = text(document, "application_type")?.unwrap_or_else(|| "web".into());
    if application_type != "web" && application_type != "native" {
        return Err(problem(
            "invalid_document",
            "application_type must be web or native",
        ));
    }
    let requested = strings(document, "redirect_uris")?.unwrap_or_default();
    if requested.is_empty() {
        return Err(problem("invalid_redirect_uri", "redirect_uris is required"));
    }
    if let Some((uri, why)) = requested
        .iter()
        .find_map(|u| redirect_uri_problem(u).map(|why| (u, why)))
    {
        return Err(problem("invalid_redirect_uri", format!("{uri} {why}")));
    }
    let (dropped, redirect_uris): (Vec<String>, Vec<String>) = requested
        .iter()
        .cloned()
        .partition(|u| policy.block_loopback && is_loopback_redirect(u));
    let has_loopback = requested.iter().any(|u| is_loopback_redirect(u));
    if has_loopback && !policy.block_loopback {
        warnings.push("the document registers loopback redirect URIs".into());
    }
    if redirect_uris.is_empty() {
        return Err(problem(
            "invalid_redirect_uri",
            "every redirect URI is loopback and the organization blocks them",
        ));
    }
    let asked_grants = strings(document, "grant_types")?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().into()]);
    let grant_types: Vec<String> = asked_grants
        .iter()
        .filter(|g| cimd_grant(g))
        .cloned()
        .collect();
    for ignored in asked_grants.iter().filter(|g| !cimd_grant(g)) {
        warnings.push(format!(
            "grant type {ignored} is not available to URL clients"
        ));
    }
    if !grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str())
    {
        return Err(problem(
            "invalid_grant_types",
            "URL clients must use the authorization_code grant",
        ));
    }
    let asked_scopes: Vec<String> = text(document, "scope")?
        .unwrap_or_else(|| "openid".into())
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let (scopes, dropped_scopes): (Vec<String>, Vec<String>) =
        asked_scopes.into_iter().partition(|s| is_identity_scope(s));
    for field in ["logo_uri", "client_uri"] {
        if let Some(uri) = text(document, field)?
            && !uri.starts_with("https://")
        {
            warnings.push(format!("{field} should be an https URL"));
        }
    }
    Ok(json!({
        "client_name": text(document, "client_name")?.unwrap_or_else(|| client_id.to_string()),
        "application_type": application_type,
        "token_endpoint_auth_method": auth_method,
        "public_client": true,
        "pkce_required": true,
        "redirect_uris": redirect_uris,
        "dropped_redirect_uris": dropped,
        "grant_types": grant_types,
        "scopes": scopes,
        "dropped_scopes": dropped_scopes,
        "logo_uri": text(document, "logo_uri")?,
        "client_uri": text(document, "client_uri")?,
        "has_loopback_redirect": has_loopback,
    }))
}

/// What checking one `client_id` found: the fetched document and the effective client, or why
/// it would be refused.
pub struct Evaluation {
    pub document: Option<Value>,
    pub outcome: Result<Value, FetchFailure>,
    pub warnings: Vec<String>,
}

/// Checks the URL, the org's domain list, fetches the document and validates it.
pub async fn evaluate(client_id: &str, policy: &Policy, allow_loopback: bool) -> Evaluation {
    let mut warnings = Vec::new();
    let url = match check_client_id(client_id, allow_loopback) {
        Ok(url) => url,
        Err(failure) => {
            return Evaluation {
                document: None,
                outcome: Err(failure),
                warnings,
            };
        }
    };
    if !domain_allowed(url.host_str().unwrap_or(""), &policy.allowed_domains) {
        let failure = problem(
            "domain_not_allowed",
            "the client_id's host is not on the organization's cimd_allowed_domains",
        );
        return Evaluation {
            document: None,
            outcome: Err(failure),
            warnings,
        };
    }
    let document = match fetch_document(&url, allow_loopback).await {
        Ok(document) => document,
        Err(failure) => {
            return Evaluation {
                document: None,
                outcome: Err(failure),
                warnings,
            };
        }
    };
    let outcome = effective_client(client_id, &document, policy, &mut warnings);
    Evaluation {
        document: Some(document),
        outcome,
        warnings,
    }
}

impl Policy {
    /// The policy in the org's authentication settings (`cimd_*` fields).
    pub fn from_settings(settings: &Value) -> Policy {
        Policy {
            switched_on: settings["cimd_enabled"].as_bool().unwrap_or(false),
            allowed_domains: settings["cimd_allowed_domains"]
                .as_array()
                .map(|list| {
                    list.iter()
                        .filter_map(Value::as_str)
                        .map(|d| d.trim_start_matches('.').to_ascii_lowercase())
                        .collect()
                })
                .unwrap_or_default(),
            block_loopback: settings["cimd_localhost_redirect_policy"] == "block",
        }
    }
}

/// True for `client_id`s that name a metadata document rather than a registered client.
pub fn is_url_client_id(client_id: &str) -> bool {
    client_id.starts_with("https://") || client_id.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_policy() -> Policy {
        Policy {
            switched_on: true,
            allowed_domains: Vec::new(),
            block_loopback: false,
        }
    }

    const ID: &str = "https://app.example.com/client.json";

    fn document() -> Value {
        json!({
            "client_id": ID,
            "client_name": "Example",
            "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:8123/cb"],
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "scope": "openid profile admin:write",
        })
    }

    #[test]
    fn a_valid_document_becomes_a_public_pkce_client() {
        let mut warnings = Vec::new();
        let effective =
            effective_client(ID, &document(), &open_policy(), &mut warnings).expect("valid");
        assert_eq!(effective["public_client"], true);
        assert_eq!(effective["pkce_required"], true);
        assert_eq!(
            effective["grant_types"],
            json!(["authorization_code", "refresh_token"])
        );
        assert_eq!(effective["scopes"], json!(["openid", "profile"]));
        assert_eq!(effective["dropped_scopes"], json!(["admin:write"]));
        assert_eq!(effective["has_loopback_redirect"], true);
        assert!(warnings.iter().any(|w| w.contains("client_credentials")));
        assert!(warnings.iter().any(|w| w.contains("loopback")));
    }

    #[test]
    fn blocked_loopback_redirects_are_dropped() {
        let policy = Policy {
            block_loopback: true,
            ..open_policy()
        };
        let effective = effective_client(ID, &document(), &policy, &mut Vec::new()).expect("valid");
        assert_eq!(
            effective["redirect_uris"],
            json!(["https://app.example.com/cb"])
        );
        assert_eq!(
            effective["dropped_redirect_uris"],
            json!(["http://127.0.0.1:8123/cb"])
        );
    }

    #[test]
    fn documents_breaking_the_rules_are_refused_with_a_reason() {
        let cases = [
            (
                "client_id",
                json!("https://other.example/c.json"),
                "client_id_mismatch",
            ),
            ("client_secret", json!("s"), "client_secret_not_allowed"),
            (
                "token_endpoint_auth_method",
                json!("client_secret_basic"),
                "invalid_token_endpoint_auth_method",
            ),
            ("redirect_uris", json!([]), "invalid_redirect_uri"),
            (
                "redirect_uris",
                json!(["https://a.example/cb#x"]),
                "invalid_redirect_uri",
            ),
            (
                "redirect_uris",
                json!("https://a.example/cb"),
                "invalid_document",
            ),
            (
                "grant_types",
                json!(["refresh_token"]),
                "invalid_grant_types",
            ),
        ];
        for (field, value, reason) in cases {
            let mut doc = document();
            doc[field] = value;
            let refused =
                effective_client(ID, &doc, &open_policy(), &mut Vec::new()).expect_err(field);
            assert_eq!(refused.reason, reason, "{field}");
        }
    }

    #[test]
    fn the_domain_allow_list_matches_hosts_and_subdomains() {
        let allowed = vec!["example.com".to_string()];
        assert!(domain_allowed("example.com", &allowed));
        assert!(domain_allowed("app.example.com", &allowed));
        assert!(!domain_allowed("badexample.com", &allowed));
        assert!(domain_allowed("anything.test", &[]));
    }
}
