//! Dynamic client registration (RFC 7591) and reads of registered clients (RFC 7592).

use serde_json::{Map, Value, json};

use crate::access::authenticate as authenticate_credential;
use crate::caller::Credential;
use crate::command::{ClientKey, NewClient, NewRegistration, Op};
use crate::crypto::{random_token, secret_hash, secret_matches};
use crate::error::{ClusterError, Result};
use crate::lookup;
use crate::model::OAuthClient;
use crate::protocol::scopes::parse;
use crate::protocol::{ErrorCode, GRANT_TYPES, GrantType, ProtocolReply, limits};
use crate::settings::SettingsSection;

use super::jwt::{epoch_secs, verify_access_token};
use super::org_settings::settings;
use super::resource::is_local_host;
use super::runtime::ProtocolCtx;

const REGISTER_SCOPES: &[&str] = &["admin:clients:register", "admin:clients", "admin"];

fn metadata_error(description: impl Into<String>) -> ClusterError {
    ClusterError::oauth(ErrorCode::InvalidClientMetadata, description)
}

/// Who may register: an API key or access token with a registration scope, or anyone when
/// the org allows open registration.
fn check_registrar(ctx: &ProtocolCtx, credential: &Credential) -> Result<()> {
    let reader = ctx.reader();
    let scopes = match credential {
        Credential::None => {
            let open =
                settings(&reader, SettingsSection::Auth)?["dynamic_client_registration_enabled"]
                    .as_bool()
                    .unwrap_or(false);
            if open {
                return Ok(());
            }
            return Err(ClusterError::Unauthenticated {
                message: "registration needs an initial access token or an API key with \
                          admin:clients:register (open registration is off)"
                    .into(),
            });
        }
        Credential::ApiKey(_) => authenticate_credential(&reader, credential, ctx.now)?.scopes,
        Credential::Bearer(token) => verify_access_token(&reader, token, ctx.now)?
            .claims
            .scopes(),
    };
    if scopes.iter().any(|s| REGISTER_SCOPES.contains(&s.as_str())) {
        return Ok(());
    }
    Err(ClusterError::Forbidden {
        message: "Insufficient scope: registering clients needs admin:clients:register".into(),
        required_scopes: REGISTER_SCOPES.iter().map(|s| s.to_string()).collect(),
        granted_scopes: scopes,
    })
}

fn string_list(metadata: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| metadata_error(format!("{name} must be an array of strings")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(metadata_error(format!(
            "{name} must be an array of strings"
        ))),
    }
}

fn optional_string(metadata: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match metadata.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(metadata_error(format!("{name} must be a string"))),
    }
}

/// A redirect URI a client may register: absolute, no fragment; `http` only for loopback and
/// private hosts; native apps may use private-use schemes.
pub fn redirect_uri_problem(uri: &str) -> Option<&'static str> {
    if uri.contains('#') {
        return Some("must not contain a fragment");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return Some("must be an absolute URI");
    };
    if (scheme == "http" || scheme == "https")
        && rest
            .trim_start_matches("//")
            .split(['/', '?'])
            .next()
            .unwrap_or("")
            .contains('@')
    {
        return Some("must not contain user information");
    }
    match scheme {
        "https" if rest.starts_with("//") && rest.len() > 2 => None,
        "http" => {
            let host = rest
                .trim_start_matches("//")
                .split(['/', '?'])
                .next()
                .unwrap_or("");
            let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
            if is_local_host(host) {
                None
            } else {
                Some("must use https (http only for loopback and private hosts)")
            }
        }
        "javascript" | "data" | "file" | "vbscript" => Some("uses a forbidden scheme"),
        _ if scheme.contains('.') && !rest.is_empty() => None,
        _ => Some("must be https, loopback http, or a private-use scheme like com.example.app:/cb"),
    }
}

/// `POST ~/connect/register`: registers a client from its metadata.
pub(super) async fn register(
    ctx: &ProtocolCtx,
    issuer: &str,
    credential: &Credential,
    metadata: Value,
) -> Result<ProtocolReply> {
    check_registrar(ctx, credential)?;
    let Value::Object(metadata) = metadata else {
        return Err(metadata_error("the body must be a JSON object"));
    };
    let grant_types = string_list(&metadata, "grant_types")?
        .unwrap_or_else(|| vec![GrantType::AuthorizationCode.as_str().to_string()]);
    if let Some(unknown) = grant_types
        .iter()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        return Err(metadata_error(format!(
            "grant type {unknown} is not supported"
        )));
    }
    // Grants that act for users without them (assertions naming any user, token exchange,
    // backchannel requests) need a client an admin created, not a self-registered one.
    if let Some(trusted) = grant_types.iter().find(|g| {
        g.parse::<GrantType>()
            .is_ok_and(GrantType::acts_for_any_user)
    }) {
        return Err(metadata_error(format!(
            "grant type {trusted} needs a client created by an administrator"
        )));
    }
    let response_types =
        string_list(&metadata, "response_types")?.unwrap_or_else(|| vec!["code".to_string()]);
    if response_types.iter().any(|r| r != "code") {
        return Err(metadata_error("only the code response type is supported"));
    }
    let redirect_uris = string_list(&metadata, "redirect_uris")?.unwrap_or_default();
    if grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str())
        && redirect_uris.is_empty()
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRedirectUri,
            "redirect_uris is required for the authorization code grant",
        ));
    }
    for uri in &redirect_uris {
        if let Some(problem) = redirect_uri_problem(uri) {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRedirectUri,
                format!("redirect URI {uri} {problem}"),
            ));
        }
    }
    let post_logout = string_list(&metadata, "post_logout_redirect_uris")?.unwrap_or_default();
    for uri in &post_logout {
        if let Some(problem) = redirect_uri_problem(uri) {
            return Err(ClusterError::oauth(
                ErrorCode::InvalidRedirectUri,
                format!("post-logout redirect URI {uri} {problem}"),
            ));
        }
    }
    let auth_method = optional_string(&metadata, "token_endpoint_auth_method")?
        .unwrap_or_else(|| "client_secret_basic".into());
    if !["none", "client_secret_basic", "client_secret_post"].contains(&auth_method.as_str()) {
        return Err(metadata_error(
            "token_endpoint_auth_method must be none, client_secret_basic or client_secret_post",
        ));
    }
    let application_type =
        optional_string(&metadata, "application_type")?.unwrap_or_else(|| "web".into());
    if application_type != "web" && application_type != "native" {
        return Err(metadata_error("application_type must be web or native"));
    }
    let scopes = parse(
        optional_string(&metadata, "scope")?
            .as_deref()
            .or(Some("openid profile email")),
    );
    if let Some(admin) = scopes
        .iter()
        .find(|s| crate::model::AdminScope::is_known(s))
    {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidClientMetadata,
            format!(
                "scope {admin} cannot be registered: admin scopes are granted by administrators"
            ),
        ));
    }
    if let Some(jwks) = metadata.get("jwks")
        && !jwks.get("keys").is_some_and(Value::is_array)
    {
        return Err(metadata_error("jwks must be an object with a keys array"));
    }
    let client_name = optional_string(&metadata, "client_name")?;
    let confidential = auth_method != "none";
    let client_id = random_token("lmc_", 18);
    let secret = confidential.then(|| random_token("lms_", 32));
    let registration_token = random_token("lrat_", 32);
    let mut stored = metadata.clone();
    stored.insert("grant_types".into(), json!(grant_types));
    stored.insert("response_types".into(), json!(response_types));
    stored.insert("token_endpoint_auth_method".into(), json!(auth_method));
    stored.insert("application_type".into(), json!(application_type));
    stored.insert("scope".into(), json!(scopes.join(" ")));
    stored.remove("client_secret");
    let new = NewClient {
        client_id: client_id.clone(),
        name: client_name.clone().unwrap_or_else(|| client_id.clone()),
        description: None,
        confidential,
        secret_hash: secret.as_deref().map(secret_hash),
        redirect_uris,
        post_logout_redirect_uris: post_logout,
        grant_types: grant_types.clone(),
        scopes,
        requires_pkce: !confidential,
        is_active: true,
        token_endpoint_auth_method: auth_method,
        access_token_ttl_secs: limits::ACCESS_TTL_SECS,
        refresh_token_ttl_secs: limits::REFRESH_TTL_SECS,
        skip_consent: false,
        registration: Some(NewRegistration {
            access_token_hash: secret_hash(&registration_token),
            metadata: Value::Object(stored).to_string(),
        }),
        jwks: metadata.get("jwks").map(Value::to_string),
    };
    ctx.propose(
        crate::model::PrincipalKind::Anonymous,
        Op::CreateClient(new),
    )
    .await?;
    let client = lookup::client(&ctx.reader(), &ClientKey::ClientId(client_id))?;
    let mut doc = registered_metadata(issuer, &client);
    if let Some(secret) = secret {
        doc["client_secret"] = json!(secret);
    }
    doc["registration_access_token"] = json!(registration_token);
    Ok(ProtocolReply::Document(doc))
}

/// A registered client's metadata (RFC 7591 section 3.2.1, without secrets).
fn registered_metadata(issuer: &str, client: &OAuthClient) -> Value {
    let mut doc = client
        .registration
        .as_ref()
        .map(|r| r.metadata.clone())
        .unwrap_or_else(|| json!({}));
    doc["client_id"] = json!(client.client_id);
    doc["client_id_issued_at"] = json!(epoch_secs(client.created_at));
    doc["client_secret_expires_at"] = json!(0);
    doc["registration_client_uri"] =
        json!(format!("{issuer}/connect/register/{}", client.client_id));
    doc["client_name"] = json!(client.name);
    doc["redirect_uris"] = json!(client.redirect_uris);
    doc["grant_types"] = json!(client.grant_types);
    if doc.get("response_types").is_none() {
        doc["response_types"] = json!(["code"]);
    }
    if doc.get("application_type").is_none() {
        doc["application_type"] = json!("web");
    }
    doc["token_endpoint_auth_method"] = json!(client.token_endpoint_auth_method);
    doc["scope"] = json!(client.scopes.join(" "));
    doc
}

/// `GET ~/connect/register/{clientId}`: the metadata, for the holder of the registration
/// access token.
pub(super) fn read(
    ctx: &ProtocolCtx,
    issuer: &str,
    client_id: &str,
    token: &str,
) -> Result<ProtocolReply> {
    let refused = || ClusterError::Unauthenticated {
        message: "invalid registration access token".into(),
    };
    let client = lookup::client(&ctx.reader(), &ClientKey::ClientId(client_id.to_string()))
        .map_err(|_| refused())?;
    let valid = client
        .registration
        .as_ref()
        .is_some_and(|r| secret_matches(token, &r.access_token_hash));
    if !valid {
        return Err(refused());
    }
    Ok(ProtocolReply::Document(registered_metadata(
        issuer, &client,
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_loopback_http_or_private_schemes() {
        assert_eq!(redirect_uri_problem("https://app.example.com/cb"), None);
        assert_eq!(redirect_uri_problem("http://127.0.0.1:8080/cb"), None);
        assert_eq!(redirect_uri_problem("http://localhost/cb"), None);
        assert_eq!(redirect_uri_problem("com.example.app:/callback"), None);
        assert!(redirect_uri_problem("http://evil.example.com/cb").is_some());
        assert!(redirect_uri_problem("https://a.example/cb#x").is_some());
        assert!(redirect_uri_problem("javascript:alert(1)").is_some());
        assert!(redirect_uri_problem("/relative").is_some());
    }
}
