//! `~/admin/clients`: OAuth clients (create with a one-time secret, list, read, replace,
//! patch, enable/disable, rotate the secret with a grace window, scopes, delete).

use axum::Router;
use axum::body::Bytes;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{ClientKey, ClientPatch, NewClient, Op};
use lumo_cluster::crypto::{random_token, secret_hash};
use lumo_cluster::model::OAuthClient;
use lumo_cluster::oauth::register::redirect_uri_problem;
use lumo_cluster::protocol::{GRANT_TYPES, limits};
use lumo_cluster::query::{Query, Reply};
use serde_json::{Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/clients", get(list).post(create))
        .route("/admin/clients/cimd/check", post(super::cimd::check))
        .route(
            "/admin/clients/{clientId}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/admin/clients/{clientId}/enable", post(enable))
        .route("/admin/clients/{clientId}/disable", post(disable))
        .route("/admin/clients/{clientId}/rotate-secret", post(rotate))
        .route(
            "/admin/clients/{clientId}/scopes",
            get(scopes).put(set_scopes),
        )
}

const DEFAULT_GRANTS: &[&str] = &["authorization_code", "refresh_token"];
const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email"];
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];

/// The client as the API shows it (`OAuthClient` plus the fields this server adds).
pub fn client_json(client: &OAuthClient) -> Value {
    json!({
        "id": client.id,
        "clientId": client.client_id,
        "name": client.name,
        "description": client.description,
        "isConfidential": client.confidential,
        "isPublic": !client.confidential,
        "isActive": client.is_active,
        "requiresPkce": client.pkce_required(),
        "createdAt": client.created_at.to_rfc3339(),
        "updatedAt": client.updated_at.to_rfc3339(),
        "redirectUris": client.redirect_uris,
        "postLogoutRedirectUris": client.post_logout_redirect_uris,
        "scopes": client.scopes,
        "grantTypes": client.grant_types,
        "tokenEndpointAuthMethod": client.token_endpoint_auth_method,
        "accessTokenLifetime": client.access_token_ttl_secs,
        "refreshTokenLifetime": client.refresh_token_ttl_secs,
        "skipConsent": client.skip_consent,
        "dynamicallyRegistered": client.registration.is_some(),
    })
}

fn valid_client_id(id: &str) -> bool {
    (3..=100).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
        && id.parse::<u64>().is_err()
}

/// The fields shared by create, replace and patch; `None` where absent.
struct Fields {
    name: Option<String>,
    description: Option<Option<String>>,
    redirect_uris: Option<Vec<String>>,
    post_logout: Option<Vec<String>>,
    grant_types: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    requires_pkce: Option<bool>,
    is_active: Option<bool>,
    access_ttl: Option<u64>,
    refresh_ttl: Option<u64>,
    skip_consent: Option<bool>,
    jwks: Option<Option<Value>>,
}

fn uri_list(body: &mut Body, field: &str) -> Option<Vec<String>> {
    let uris = body.str_list(field, 50)?;
    for uri in &uris {
        if let Some(problem) = redirect_uri_problem(uri) {
            body.problem(field, format!("{uri} {problem}"));
        }
    }
    Some(uris)
}

fn read_fields(body: &mut Body, name_required: bool) -> Fields {
    let name = if name_required {
        Some(body.required_str("name", 200))
    } else {
        body.opt_str("name", 200)
    };
    let blank_name = body
        .raw("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.trim().is_empty());
    if blank_name && !name_required {
        body.problem("name", "must not be empty");
    }
    let grant_types = body.str_list("grantTypes", 10);
    if let Some(unknown) = grant_types
        .iter()
        .flatten()
        .find(|g| !GRANT_TYPES.contains(&g.as_str()))
    {
        body.problem(
            "grantTypes",
            format!("{unknown} is not supported; use {}", GRANT_TYPES.join(", ")),
        );
    }
    let scopes = match body.first_present(&["allowedScopes", "scopes"]) {
        Some(field) => body.str_list(field, 100),
        None => None,
    };
    let access_ttl = body.opt_u64("accessTokenLifetime");
    if access_ttl.is_some_and(|t| !(60..=86_400).contains(&t)) {
        body.problem("accessTokenLifetime", "must be 60 to 86400 seconds");
    }
    let refresh_ttl = body.opt_u64("refreshTokenLifetime");
    if refresh_ttl.is_some_and(|t| !(300..=365 * 86_400).contains(&t)) {
        body.problem("refreshTokenLifetime", "must be 300 to 31536000 seconds");
    }
    let jwks = match body.raw("jwks").cloned() {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value) if value.get("keys").is_some_and(Value::is_array) => Some(Some(value)),
        Some(_) => {
            body.problem("jwks", "must be an object with a keys array");
            None
        }
    };
    Fields {
        name,
        description: body.nullable_str("description", 1000),
        redirect_uris: uri_list(body, "redirectUris"),
        post_logout: uri_list(body, "postLogoutRedirectUris"),
        grant_types,
        scopes,
        requires_pkce: body.opt_bool("requiresPkce"),
        is_active: body.opt_bool("isActive"),
        access_ttl,
        refresh_ttl,
        skip_consent: body.opt_bool("skipConsent"),
        jwks,
    }
}

/// A client stays confidential or public for life (its secret and allowed grants depend on
/// it): updates may repeat the type but not change it.
fn keep_type(body: &mut Body, existing: &OAuthClient) {
    for (field, confidential) in [
        ("isConfidential", body.opt_bool("isConfidential")),
        ("isPublic", body.opt_bool("isPublic").map(|p| !p)),
    ] {
        if confidential.is_some_and(|c| c != existing.confidential) {
            body.problem(
                field,
                "a client's type cannot change; create a new client instead",
            );
        }
    }
}

/// Rules that span fields, for the client as it will be.
fn check_shape(
    body: &mut Body,
    confidential: bool,
    grant_types: &[String],
    redirect_uris: &[String],
) {
    let has = |g: &str| grant_types.iter().any(|x| x == g);
    if has("authorization_code") && redirect_uris.is_empty() {
        body.problem(
            "redirectUris",
            "at least one is required for the authorization_code grant",
        );
    }
    if !confidential && (has("client_credentials") || has("urn:openid:params:grant-type:ciba")) {
        body.problem(
            "grantTypes",
            "public clients cannot use client_credentials or CIBA",
        );
    }
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let fields = read_fields(&mut body, true);
    let confidential = match (body.opt_bool("isConfidential"), body.opt_bool("isPublic")) {
        (Some(c), Some(p)) if c == p => {
            body.problem("isPublic", "contradicts isConfidential");
            c
        }
        (Some(c), _) => c,
        (None, Some(p)) => !p,
        (None, None) => true,
    };
    let method = body
        .opt_str("tokenEndpointAuthMethod", 40)
        .unwrap_or_else(|| {
            if confidential {
                "client_secret_basic".into()
            } else {
                "none".into()
            }
        });
    if !AUTH_METHODS.contains(&method.as_str()) || (method == "none") == confidential {
        body.problem(
            "tokenEndpointAuthMethod",
            "must be client_secret_basic or client_secret_post for confidential clients, none for public ones",
        );
    }
    let client_id = match body.opt_str("clientId", 100) {
        Some(id) if !valid_client_id(&id) => {
            body.problem(
                "clientId",
                "must be 3-100 letters, digits, '-', '_', '.', ':' (and not a number)",
            );
            id
        }
        Some(id) => id,
        None => random_token("lmc_", 18),
    };
    let grant_types = fields
        .grant_types
        .clone()
        .unwrap_or_else(|| strings(DEFAULT_GRANTS));
    let redirect_uris = fields.redirect_uris.clone().unwrap_or_default();
    check_shape(&mut body, confidential, &grant_types, &redirect_uris);
    body.finish()?;
    let scopes = fields.scopes.unwrap_or_else(|| strings(DEFAULT_SCOPES));
    let secret = confidential.then(|| random_token("lms_", 32));
    let new = NewClient {
        client_id: client_id.clone(),
        name: fields.name.unwrap_or_default().trim().to_string(),
        description: fields.description.flatten(),
        confidential,
        secret_hash: secret.as_deref().map(secret_hash),
        redirect_uris,
        post_logout_redirect_uris: fields.post_logout.unwrap_or_default(),
        grant_types,
        scopes,
        requires_pkce: fields.requires_pkce.unwrap_or(!confidential),
        is_active: fields.is_active.unwrap_or(true),
        token_endpoint_auth_method: method,
        access_token_ttl_secs: fields.access_ttl.unwrap_or(limits::ACCESS_TTL_SECS),
        refresh_token_ttl_secs: fields.refresh_ttl.unwrap_or(limits::REFRESH_TTL_SECS),
        skip_consent: fields.skip_consent.unwrap_or(false),
        registration: None,
        jwks: fields.jwks.flatten().map(|j| j.to_string()),
    };
    let client = reply!(
        ctx.write_then(
            Op::CreateClient(new),
            Query::GetClient(ClientKey::ClientId(client_id))
        )
        .await?,
        Reply::Client
    );
    let mut data = client_json(&client);
    match secret {
        Some(secret) => {
            data["secret"] = json!(secret);
            data["_note"] = json!("Store this secret now: it is shown only once.");
        }
        None => {
            data["_note"] = json!("Public client: it has no secret and must use PKCE.");
        }
    }
    Ok(envelope::created(data, "Client created"))
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&["isActive"])?;
    let page = reply!(ctx.read(Query::ListClients(params)).await?, Reply::Clients);
    let items: Vec<Value> = page.items.iter().map(client_json).collect();
    Ok(envelope::list(&page, items, ListShape::Resource("clients")))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let key: ClientKey = ctx.key("clientId")?;
    let client = reply!(ctx.read(Query::GetClient(key)).await?, Reply::Client);
    Ok(envelope::data(client_json(&client)))
}

async fn update_with(ctx: &Ctx, patch: ClientPatch, message: &str) -> ApiResult<Response> {
    let key: ClientKey = ctx.key("clientId")?;
    let client = reply!(
        ctx.write_then(
            Op::UpdateClient {
                client: key.clone(),
                patch
            },
            Query::GetClient(key)
        )
        .await?,
        Reply::Client
    );
    Ok(envelope::data_message(client_json(&client), message))
}

/// The client as it is now (to check rules that span fields on a partial update).
async fn current(ctx: &Ctx) -> ApiResult<OAuthClient> {
    let key: ClientKey = ctx.key("clientId")?;
    Ok(reply!(
        ctx.read(Query::GetClient(key)).await?,
        Reply::Client
    ))
}

async fn replace(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let existing = current(&ctx).await?;
    let mut body = Body::new(json);
    let fields = read_fields(&mut body, true);
    keep_type(&mut body, &existing);
    let grant_types = fields
        .grant_types
        .unwrap_or_else(|| strings(DEFAULT_GRANTS));
    let redirect_uris = fields.redirect_uris.unwrap_or_default();
    check_shape(
        &mut body,
        existing.confidential,
        &grant_types,
        &redirect_uris,
    );
    body.finish()?;
    let scopes = fields.scopes.unwrap_or_else(|| strings(DEFAULT_SCOPES));
    let patch = ClientPatch {
        name: fields.name.map(|n| n.trim().to_string()),
        description: Some(fields.description.flatten()),
        redirect_uris: Some(redirect_uris),
        post_logout_redirect_uris: Some(fields.post_logout.unwrap_or_default()),
        grant_types: Some(grant_types),
        scopes: Some(scopes),
        requires_pkce: Some(fields.requires_pkce.unwrap_or(!existing.confidential)),
        is_active: Some(fields.is_active.unwrap_or(true)),
        access_token_ttl_secs: Some(fields.access_ttl.unwrap_or(limits::ACCESS_TTL_SECS)),
        refresh_token_ttl_secs: Some(fields.refresh_ttl.unwrap_or(limits::REFRESH_TTL_SECS)),
        skip_consent: Some(fields.skip_consent.unwrap_or(false)),
        jwks: Some(fields.jwks.flatten().map(|j| j.to_string())),
    };
    update_with(&ctx, patch, "Client updated").await
}

async fn patch(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let existing = current(&ctx).await?;
    let mut body = Body::new(json);
    let fields = read_fields(&mut body, false);
    keep_type(&mut body, &existing);
    let grant_types = fields
        .grant_types
        .clone()
        .unwrap_or_else(|| existing.grant_types.clone());
    let redirect_uris = fields
        .redirect_uris
        .clone()
        .unwrap_or_else(|| existing.redirect_uris.clone());
    check_shape(
        &mut body,
        existing.confidential,
        &grant_types,
        &redirect_uris,
    );
    body.finish()?;
    let patch = ClientPatch {
        name: fields.name.map(|n| n.trim().to_string()),
        description: fields.description,
        redirect_uris: fields.redirect_uris,
        post_logout_redirect_uris: fields.post_logout,
        grant_types: fields.grant_types,
        scopes: fields.scopes,
        requires_pkce: fields.requires_pkce,
        is_active: fields.is_active,
        access_token_ttl_secs: fields.access_ttl,
        refresh_token_ttl_secs: fields.refresh_ttl,
        skip_consent: fields.skip_consent,
        jwks: fields.jwks.map(|j| j.map(|v| v.to_string())),
    };
    update_with(&ctx, patch, "Client updated").await
}

async fn enable(ctx: Ctx) -> ApiResult<Response> {
    let patch = ClientPatch {
        is_active: Some(true),
        ..ClientPatch::default()
    };
    update_with(&ctx, patch, "Client enabled").await
}

async fn disable(ctx: Ctx) -> ApiResult<Response> {
    let patch = ClientPatch {
        is_active: Some(false),
        ..ClientPatch::default()
    };
    update_with(&ctx, patch, "Client disabled").await
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key: ClientKey = ctx.key("clientId")?;
    ctx.write(Op::DeleteClient(key)).await?;
    Ok(envelope::message("Client deleted"))
}

/// Default grace window of a rotated secret.
const DEFAULT_GRACE_SECS: u64 = 86_400;
/// Longest grace window.
const MAX_GRACE_SECS: u64 = 30 * 86_400;

async fn rotate(ctx: Ctx, raw: Bytes) -> ApiResult<Response> {
    let grace = if raw.iter().all(u8::is_ascii_whitespace) {
        DEFAULT_GRACE_SECS
    } else {
        let value: Value = serde_json::from_slice(&raw)
            .map_err(|e| ApiError::BadRequest(format!("malformed JSON body: {e}")))?;
        let Value::Object(map) = value else {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        };
        let mut body = Body::new(JsonBody(map));
        let grace = body.opt_u64("gracePeriodSeconds");
        if grace.is_some_and(|g| g > MAX_GRACE_SECS) {
            body.problem("gracePeriodSeconds", "must be at most 2592000 (30 days)");
        }
        body.finish()?;
        grace.unwrap_or(DEFAULT_GRACE_SECS)
    };
    let key: ClientKey = ctx.key("clientId")?;
    let secret = random_token("lms_", 32);
    let grace_until = Timestamp::now().plus_millis((grace as i64) * 1000);
    let client = reply!(
        ctx.write_then(
            Op::RotateClientSecret {
                client: key.clone(),
                secret_hash: secret_hash(&secret),
                grace_until,
            },
            Query::GetClient(key)
        )
        .await?,
        Reply::Client
    );
    let data = json!({
        "clientId": client.client_id,
        "secret": secret,
        "previousSecretValidUntil": (grace > 0).then(|| grace_until.to_rfc3339()),
        "_note": "Store this secret now: it is shown only once. The previous secret keeps working until previousSecretValidUntil.",
    });
    Ok(envelope::data_message(data, "Client secret rotated"))
}

async fn scopes(ctx: Ctx) -> ApiResult<Response> {
    let client = current(&ctx).await?;
    let total = client.scopes.len() as u64;
    let page = lumo_cluster::query::Page {
        items: Vec::<()>::new(),
        total,
        page: 1,
        limit: total.max(1),
    };
    Ok(axum::Json(json!({
        "data": client.scopes,
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

async fn set_scopes(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let scopes = body.str_list("scopes", 100);
    if scopes.is_none() {
        body.problem("scopes", "is required (a list of scope names)");
    }
    body.finish()?;
    let patch = ClientPatch {
        scopes,
        ..ClientPatch::default()
    };
    let key: ClientKey = ctx.key("clientId")?;
    let client = reply!(
        ctx.write_then(
            Op::UpdateClient {
                client: key.clone(),
                patch
            },
            Query::GetClient(key)
        )
        .await?,
        Reply::Client
    );
    Ok(envelope::data_message(
        client.scopes,
        "Client scopes updated",
    ))
}
