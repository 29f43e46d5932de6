//! `~/admin/social-providers` (scope `admin:settings`): the upstream providers users sign in
//! with (`~/oauth/social/{provider}`). Client secrets are sealed on the org's leader
//! (`SocialStep::Save`) and never shown again; `{providerId}` is the integer id or the slug.

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::command::{Op, RoleKey, SocialProviderFields, SocialProviderKey};
use lumo_cluster::ids::RoleId;
use lumo_cluster::model::{Family, SocialProvider};
use lumo_cluster::oauth::social::apple;
use lumo_cluster::oauth::social::presets::{PRESETS, Preset, preset};
use lumo_cluster::protocol::{
    ProtocolReply, ProtocolRequest, SocialOutcome, SocialProviderChange, SocialStep,
};
use lumo_cluster::query::{Query, Reply, Request};
use lumo_cluster::webhooks::check_url;
use serde_json::{Map, Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::base_url;
use crate::reply;
use crate::state::AppState;

const MAX_SCOPES: usize = 50;
const MAX_ROLES: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/social-providers", get(list).post(create))
        .route("/admin/social-providers/available", get(types))
        .route("/admin/social-providers/types", get(types))
        .route("/admin/social-providers/callback-urls", get(callback_urls))
        .route(
            "/admin/social-providers/{providerId}",
            get(show).put(replace).patch(patch).delete(remove),
        )
        .route("/admin/social-providers/{providerId}/enable", post(enable))
        .route(
            "/admin/social-providers/{providerId}/disable",
            post(disable),
        )
}

fn callback_url(ctx: &Ctx, headers: &HeaderMap, slug: &str) -> String {
    format!(
        "{}/orgs/{}/api/v1/oauth/social/{slug}/callback",
        base_url(&ctx.state, headers),
        ctx.org
    )
}

/// `providerConfig` with anything secret-looking hidden.
fn redacted(config: &Option<Value>) -> Value {
    match config {
        Some(Value::Object(map)) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let lower = k.to_lowercase();
                    let secret = ["secret", "key", "password", "token"]
                        .iter()
                        .any(|s| lower.contains(s));
                    (
                        k.clone(),
                        if secret { json!("********") } else { v.clone() },
                    )
                })
                .collect(),
        ),
        _ => Value::Null,
    }
}

fn summary_json(provider: &SocialProvider) -> Value {
    json!({
        "id": provider.id.0,
        "provider": provider.provider,
        "type": provider.kind,
        "displayName": provider.display_name,
        "enabled": provider.enabled,
        "brandColor": provider.brand_color,
        "iconUrl": provider.icon_url,
        "jitProvisioningEnabled": provider.jit_provisioning_enabled,
        "createdAt": provider.created_at.to_rfc3339(),
        "updatedAt": provider.updated_at.to_rfc3339(),
    })
}

async fn detail_json(
    ctx: &Ctx,
    headers: &HeaderMap,
    provider: &SocialProvider,
) -> ApiResult<Value> {
    let mut roles = Vec::new();
    for id in &provider.default_roles {
        if let Ok(Reply::Role(role)) = ctx.read(Query::GetRole(RoleKey::Id(*id))).await {
            let role = role.role;
            roles.push(json!({"id": role.id.to_string(), "name": role.name, "slug": role.slug}));
        }
    }
    let mut out = summary_json(provider);
    let extra = json!({
        "clientId": provider.client_id,
        "hasClientSecret": provider.sealed_client_secret.is_some(),
        "callbackUrl": callback_url(ctx, headers, &provider.provider),
        "requestedScopes": provider.requested_scopes,
        "issuer": provider.issuer,
        "authorizationUrl": provider.authorization_url,
        "tokenUrl": provider.token_url,
        "userInfoUrl": provider.user_info_url,
        "jwksUrl": provider.jwks_url,
        "claimMapping": provider.claim_mapping,
        "customClaims": provider.custom_claims,
        "providerConfig": redacted(&provider.provider_config),
        "defaultRoles": roles,
    });
    if let (Value::Object(out), Value::Object(extra)) = (&mut out, extra) {
        out.extend(extra);
    }
    Ok(out)
}

fn provider_key(ctx: &Ctx) -> ApiResult<SocialProviderKey> {
    let raw = ctx.param("providerId")?;
    if raw.is_empty() || raw.len() > 50 {
        return Err(ApiError::Cluster(lumo_cluster::ClusterError::not_found(
            "social provider",
            raw,
        )));
    }
    Ok(SocialProviderKey::parse(raw))
}

fn url_field(ctx: &Ctx, body: &mut Body, field: &str) -> Option<Option<String>> {
    let value = body.nullable_str(field, 2048);
    if let Some(Some(url)) = &value
        && let Err(why) = check_url(url, ctx.state.service.webhook_targets())
    {
        body.problem(field, format!("the URL {why}"));
    }
    value
}

fn object_field(body: &mut Body, field: &str) -> Option<Option<String>> {
    match body.raw(field).cloned() {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::Object(map)) if Value::Object(map.clone()).to_string().len() <= 16_384 => {
            Some(Some(Value::Object(map).to_string()))
        }
        Some(Value::Object(_)) => {
            body.problem(field, "must be at most 16 KiB");
            None
        }
        Some(_) => {
            body.problem(field, "must be an object");
            None
        }
    }
}

fn roles_field(body: &mut Body) -> Option<Vec<RoleId>> {
    let ids = body.id_list("defaultRoles")?;
    if ids.len() > MAX_ROLES {
        body.problem(
            "defaultRoles",
            format!("must name at most {MAX_ROLES} roles"),
        );
        return None;
    }
    let parsed: Result<Vec<RoleId>, _> = ids.iter().map(|id| id.parse::<RoleId>()).collect();
    match parsed {
        Ok(roles) => Some(roles),
        Err(_) => {
            body.problem("defaultRoles", "must be role ids");
            None
        }
    }
}

/// The body's fields; `full` fills what a create or a PUT leaves out with the preset's
/// defaults. `slug` is the provider a PUT names in its path.
fn read_fields(ctx: &Ctx, body: &mut Body, full: bool, slug: Option<&str>) -> SocialProviderFields {
    let provider = body
        .opt_str("provider", 50)
        .or_else(|| slug.map(str::to_string));
    if let Some(p) = &provider
        && !lumo_cluster::model::is_provider_slug(p)
    {
        body.problem(
            "provider",
            "must be 1-50 lowercase letters, digits, '-' or '_' (not only digits)",
        );
    }
    let kind = body
        .opt_str("type", 20)
        .or_else(|| provider.clone().filter(|p| preset(p).is_some()));
    let preset: Option<&Preset> = kind.as_deref().and_then(preset);
    match (&kind, preset) {
        (Some(k), None) => body.problem(
            "type",
            format!("{k} is not a provider type (google, microsoft, github, apple, oidc, oauth2)"),
        ),
        (None, _) if full => body.problem(
            "type",
            "is required unless provider names a type (google, microsoft, github, apple, oidc, oauth2)",
        ),
        _ => {}
    }
    if full && provider.is_none() {
        body.problem("provider", "is required");
    }
    let client_id = body.opt_str("clientId", 512);
    if full && client_id.is_none() {
        body.problem("clientId", "is required");
    }
    let mut fields = SocialProviderFields {
        display_name: body.opt_str("displayName", 100),
        enabled: body.opt_bool("enabled"),
        brand_color: body.nullable_str("brandColor", 32),
        icon_url: body.nullable_str("iconUrl", 2048),
        jit_provisioning_enabled: body.opt_bool("jitProvisioningEnabled"),
        requested_scopes: body.str_list("requestedScopes", MAX_SCOPES),
        issuer: url_field(ctx, body, "issuer"),
        authorization_url: url_field(ctx, body, "authorizationUrl"),
        token_url: url_field(ctx, body, "tokenUrl"),
        user_info_url: url_field(ctx, body, "userInfoUrl"),
        jwks_url: url_field(ctx, body, "jwksUrl"),
        claim_mapping: object_field(body, "claimMapping"),
        custom_claims: object_field(body, "customClaims"),
        provider_config: object_field(body, "providerConfig"),
        default_roles: roles_field(body),
        provider,
        kind,
        client_id,
    };
    if let Some(scopes) = &fields.requested_scopes
        && scopes
            .iter()
            .any(|s| s.is_empty() || s.len() > 100 || s.contains(' '))
    {
        body.problem(
            "requestedScopes",
            "scopes are 1-100 characters without spaces",
        );
    }
    if full && let Some(preset) = preset {
        fill_defaults(body, &mut fields, preset);
    }
    fields
}

/// A create or PUT: everything absent gets its default, and the type's own needs are checked.
fn fill_defaults(body: &mut Body, fields: &mut SocialProviderFields, preset: &Preset) {
    let present = |v: &Option<Option<String>>| matches!(v, Some(Some(_)));
    match preset.kind {
        "oidc" if !present(&fields.issuer) => body.problem("issuer", "is required for type oidc"),
        "oauth2" => {
            for (name, value) in [
                ("authorizationUrl", &fields.authorization_url),
                ("tokenUrl", &fields.token_url),
                ("userInfoUrl", &fields.user_info_url),
            ] {
                if !present(value) {
                    body.problem(name, "is required for type oauth2");
                }
            }
        }
        _ => {}
    }
    fields
        .display_name
        .get_or_insert_with(|| preset.name.to_string());
    fields.enabled.get_or_insert(true);
    fields
        .brand_color
        .get_or_insert_with(|| Some(preset.brand_color.to_string()));
    fields.icon_url.get_or_insert(None);
    fields.jit_provisioning_enabled.get_or_insert(true);
    fields.requested_scopes.get_or_insert_with(Vec::new);
    for slot in [
        &mut fields.issuer,
        &mut fields.authorization_url,
        &mut fields.token_url,
        &mut fields.user_info_url,
        &mut fields.jwks_url,
        &mut fields.claim_mapping,
        &mut fields.custom_claims,
        &mut fields.provider_config,
    ] {
        slot.get_or_insert(None);
    }
    fields.default_roles.get_or_insert_with(Vec::new);
}

/// The client secret: required on create by the presets that need one. An Apple `.p8` key
/// must parse and come with `providerConfig.teamId` and `keyId` (when the request names the
/// type or the configuration).
fn secret_field(body: &mut Body, fields: &SocialProviderFields, required: bool) -> Option<String> {
    let secret = body.secret("clientSecret", 4096);
    if required && secret.is_none() {
        body.problem("clientSecret", "is required for this provider type");
    }
    if let Some(key) = secret.as_deref().filter(|s| apple::is_signing_key(s)) {
        let config: Option<Value> = fields
            .provider_config
            .clone()
            .flatten()
            .and_then(|text| serde_json::from_str(&text).ok());
        if (fields.kind.as_deref() == Some("apple") || config.is_some())
            && let Some(problem) = apple::key_problem(key, config.as_ref())
        {
            body.problem("clientSecret", problem);
        }
    }
    secret
}

fn needs_secret(fields: &SocialProviderFields) -> bool {
    fields
        .kind
        .as_deref()
        .and_then(preset)
        .is_some_and(|p| p.required_fields.contains(&"clientSecret"))
}

async fn save(ctx: &Ctx, change: SocialProviderChange) -> ApiResult<(SocialProvider, bool)> {
    let request = ProtocolRequest::Social(SocialStep::Save {
        credential: ctx.credential.clone(),
        change: Box::new(change),
    });
    match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Social(SocialOutcome::Saved { provider, created })) => {
            Ok((*provider, created))
        }
        other => Err(ApiError::unexpected(other)),
    }
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&[])?;
    let page = reply!(
        ctx.read(Query::SocialProviders(params.page)).await?,
        Reply::SocialProviders
    );
    let items = page.items.iter().map(summary_json).collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("social_provider"),
    ))
}

async fn create(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let fields = read_fields(&ctx, &mut body, true, None);
    let secret = secret_field(&mut body, &fields, needs_secret(&fields));
    body.finish()?;
    let (provider, _) = save(&ctx, SocialProviderChange::Create { fields, secret }).await?;
    let data = detail_json(&ctx, &headers, &provider).await?;
    Ok(envelope::created(data, "Social provider created"))
}

async fn show(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let key = provider_key(&ctx)?;
    let provider = reply!(
        ctx.read(Query::SocialProvider(key)).await?,
        Reply::SocialProvider
    );
    Ok(envelope::data(
        detail_json(&ctx, &headers, &provider).await?,
    ))
}

async fn replace(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let key = provider_key(&ctx)?;
    let slug = match &key {
        SocialProviderKey::Slug(slug) => Some(slug.clone()),
        SocialProviderKey::Id(_) => None,
    };
    let mut body = Body::new(json);
    let mut fields = read_fields(&ctx, &mut body, slug.is_some(), slug.as_deref());
    if slug.is_none() {
        // PUT by id replaces an existing provider: its type and slug may come from the row.
        let current = reply!(
            ctx.read(Query::SocialProvider(key.clone())).await?,
            Reply::SocialProvider
        );
        fields.kind.get_or_insert(current.kind.clone());
        fields.provider.get_or_insert(current.provider.clone());
        if fields.client_id.is_none() {
            body.problem("clientId", "is required");
        }
        if let Some(preset) = fields.kind.as_deref().and_then(preset) {
            fill_defaults(&mut body, &mut fields, preset);
        }
    }
    let secret = secret_field(&mut body, &fields, false);
    body.finish()?;
    let (provider, created) = save(
        &ctx,
        SocialProviderChange::Put {
            key,
            fields,
            secret,
        },
    )
    .await?;
    let data = detail_json(&ctx, &headers, &provider).await?;
    Ok(if created {
        envelope::created(data, "Social provider created")
    } else {
        envelope::data_message(data, "Social provider updated")
    })
}

async fn patch(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let key = provider_key(&ctx)?;
    let mut body = Body::new(json);
    let fields = read_fields(&ctx, &mut body, false, None);
    let secret = match body.raw("clientSecret") {
        Some(Value::Null) => Some(None),
        _ => secret_field(&mut body, &fields, false).map(Some),
    };
    body.finish()?;
    let change = SocialProviderChange::Patch {
        key,
        fields,
        secret,
    };
    let (provider, _) = save(&ctx, change).await?;
    let data = detail_json(&ctx, &headers, &provider).await?;
    Ok(envelope::data_message(data, "Social provider updated"))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let key = provider_key(&ctx)?;
    let provider = reply!(
        ctx.read(Query::SocialProvider(key)).await?,
        Reply::SocialProvider
    );
    ctx.write(Op::DeleteSocialProvider(provider.id)).await?;
    Ok(envelope::message("Social provider deleted"))
}

async fn switch(ctx: Ctx, headers: HeaderMap, enabled: bool) -> ApiResult<Response> {
    let key = provider_key(&ctx)?;
    let provider = reply!(
        ctx.read(Query::SocialProvider(key)).await?,
        Reply::SocialProvider
    );
    let fields = SocialProviderFields {
        enabled: Some(enabled),
        ..SocialProviderFields::default()
    };
    let op = Op::UpdateSocialProvider {
        id: provider.id,
        fields,
        sealed_secret: None,
    };
    let provider = reply!(
        ctx.write_then(
            op,
            Query::SocialProvider(SocialProviderKey::Id(provider.id))
        )
        .await?,
        Reply::SocialProvider
    );
    let message = if enabled {
        "Social provider enabled"
    } else {
        "Social provider disabled"
    };
    let data = detail_json(&ctx, &headers, &provider).await?;
    Ok(envelope::data_message(data, message))
}

async fn enable(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    switch(ctx, headers, true).await
}

async fn disable(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    switch(ctx, headers, false).await
}

fn preset_json(preset: &Preset) -> Value {
    json!({
        "provider": preset.kind,
        "name": preset.name,
        "requiredFields": preset.required_fields,
        "optionalFields": preset.optional_fields,
        "defaultScopes": preset.default_scopes,
    })
}

async fn types(ctx: Ctx) -> ApiResult<Response> {
    // The catalog touches no org data; the credential is still judged.
    ctx.admit(Family::Settings, false).await?;
    let data: Vec<Value> = PRESETS.iter().map(preset_json).collect();
    Ok(envelope::data(data))
}

async fn callback_urls(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let page = lumo_cluster::query::PageParams {
        page: 1,
        limit: 100,
    };
    let page = reply!(
        ctx.read(Query::SocialProviders(page)).await?,
        Reply::SocialProviders
    );
    let map: Map<String, Value> = page
        .items
        .iter()
        .map(|p| {
            (
                p.provider.clone(),
                Value::String(callback_url(&ctx, &headers, &p.provider)),
            )
        })
        .collect();
    Ok(envelope::data(Value::Object(map)))
}
