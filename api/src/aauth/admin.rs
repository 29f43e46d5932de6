//! Registering AAuth identities (scope `admin:agents`): an agent's identifier, Ed25519 keys
//! and consent redirect URIs (`~/admin/agents/{agentId}/aauth`), and the resources that
//! accept AAuth tokens from the org (`~/admin/aauth/resources`).

use axum::http::HeaderMap;
use axum::response::Response;
use lumo_cluster::command::{AAuthAgentSpec, AAuthResourceSpec, AgentKey, Op};
use lumo_cluster::model::{AAuthAgent, AAuthResource, OkpKey};
use lumo_cluster::query::{Query, Reply};
use serde_json::{Value, json};

use crate::envelope;
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::base_url;
use crate::reply;

const MAX_KEYS: usize = 10;

/// The Ed25519 keys of `jwks` (`{"keys": [...]}`) or `keys` (a list of JWKs).
fn keys(body: &mut Body) -> Vec<OkpKey> {
    let list = match (body.raw("jwks").cloned(), body.raw("keys").cloned()) {
        (Some(Value::Object(jwks)), _) => jwks.get("keys").cloned().unwrap_or(Value::Null),
        (Some(_), _) => {
            body.problem("jwks", "must be a JWK set ({\"keys\": [...]})");
            return Vec::new();
        }
        (None, Some(keys)) => keys,
        (None, None) => Value::Array(Vec::new()),
    };
    let Value::Array(items) = list else {
        body.problem("jwks", "keys must be a list of JWKs");
        return Vec::new();
    };
    if items.len() > MAX_KEYS {
        body.problem("jwks", format!("at most {MAX_KEYS} keys"));
        return Vec::new();
    }
    let mut keys = Vec::new();
    for (i, jwk) in items.iter().enumerate() {
        let Some(x) = OkpKey::ed25519_x(jwk) else {
            body.problem(
                "jwks",
                format!("key {i} is not an Ed25519 (OKP) key with a 32-byte x"),
            );
            continue;
        };
        let kid = jwk["kid"]
            .as_str()
            .filter(|k| !k.is_empty() && k.len() <= 128)
            .map_or_else(|| format!("key-{}", i + 1), str::to_string);
        if keys.iter().any(|k: &OkpKey| k.kid == kid) {
            body.problem("jwks", format!("kid {kid} appears twice"));
        }
        keys.push(OkpKey {
            kid,
            x: x.to_string(),
        });
    }
    keys
}

/// An absolute http(s) URL without a fragment.
fn check_url(body: &mut Body, field: &str, url: &str) {
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        body.problem(field, "must be an http(s) URL");
    } else if let Err(e) = lumo_cluster::oauth::resource::check_resource(url) {
        body.problem(field, e.to_string());
    }
}

fn keys_json(keys: &[OkpKey]) -> Value {
    json!({"keys": keys.iter().map(OkpKey::jwk).collect::<Vec<_>>()})
}

fn identity_json(identity: &AAuthAgent) -> Value {
    json!({
        "identifier": identity.identifier,
        "jwks": keys_json(&identity.keys),
        "redirect_uris": identity.redirect_uris,
        "updated_at": identity.updated_at.to_rfc3339(),
    })
}

fn resource_json(resource: &AAuthResource) -> Value {
    json!({
        "resource_id": resource.resource_id,
        "name": resource.name,
        "identifier": resource.identifier,
        "jwks": keys_json(&resource.keys),
        "scopes": resource.scopes,
        "auto_approve": resource.auto_approve,
        "created_at": resource.created_at.to_rfc3339(),
        "updated_at": resource.updated_at.to_rfc3339(),
    })
}

fn agent_key(ctx: &Ctx) -> ApiResult<(String, AgentKey)> {
    Ok((ctx.param("agentId")?.to_string(), ctx.key("agentId")?))
}

pub(super) async fn show_agent(ctx: Ctx) -> ApiResult<Response> {
    let (_, key) = agent_key(&ctx)?;
    let identity = reply!(ctx.read(Query::AAuthAgent(key)).await?, Reply::AAuthAgent);
    Ok(envelope::data(identity.as_ref().map(identity_json)))
}

pub(super) async fn set_agent(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let (id, key) = agent_key(&ctx)?;
    let mut body = Body::new(json);
    let default = format!(
        "{}/orgs/{}/api/v1/aauth/agents/{id}",
        base_url(&ctx.state, &headers),
        ctx.org
    );
    let identifier = body.opt_str("identifier", 2000).unwrap_or(default);
    check_url(&mut body, "identifier", &identifier);
    let keys = keys(&mut body);
    if keys.is_empty() && !body.has("jwks") && !body.has("keys") {
        body.problem("jwks", "is required (the agent's Ed25519 public keys)");
    }
    let redirect_uris = body.str_list("redirect_uris", 20).unwrap_or_default();
    for uri in &redirect_uris {
        check_url(&mut body, "redirect_uris", uri);
    }
    body.finish()?;
    let spec = AAuthAgentSpec {
        identifier,
        keys,
        redirect_uris,
    };
    let op = Op::SetAAuthAgent {
        agent: key.clone(),
        identity: Some(spec),
    };
    let identity = reply!(
        ctx.write_then(op, Query::AAuthAgent(key)).await?,
        Reply::AAuthAgent
    );
    Ok(envelope::data_message(
        identity.as_ref().map(identity_json),
        "AAuth identity set",
    ))
}

pub(super) async fn remove_agent(ctx: Ctx) -> ApiResult<Response> {
    let (_, key) = agent_key(&ctx)?;
    ctx.write(Op::SetAAuthAgent {
        agent: key,
        identity: None,
    })
    .await?;
    Ok(envelope::message("AAuth identity removed"))
}

fn resource_spec(body: &mut Body, resource_id: String) -> AAuthResourceSpec {
    let name = body.required_str("name", 200);
    let identifier = body.required_str("identifier", 2000);
    if !identifier.is_empty() {
        check_url(body, "identifier", &identifier);
    }
    let keys = keys(body);
    if keys.is_empty() {
        body.problem("jwks", "is required (the resource's Ed25519 public keys)");
    }
    AAuthResourceSpec {
        resource_id,
        name,
        identifier,
        keys,
        scopes: body.str_list("scopes", 100).unwrap_or_default(),
        auto_approve: body.opt_bool("auto_approve").unwrap_or(false),
    }
}

pub(super) async fn create_resource(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let id = format!("res_{}", ulid::Ulid::new().to_string().to_lowercase());
    let spec = resource_spec(&mut body, id.clone());
    body.finish()?;
    let resource = reply!(
        ctx.write_then(Op::CreateAAuthResource(spec), Query::AAuthResource(id))
            .await?,
        Reply::AAuthResource
    );
    Ok(envelope::created(
        resource_json(&resource),
        "AAuth resource registered",
    ))
}

pub(super) async fn update_resource(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let id = ctx.param("resourceId")?.to_string();
    let mut body = Body::new(json);
    let spec = resource_spec(&mut body, id.clone());
    body.finish()?;
    let resource = reply!(
        ctx.write_then(Op::UpdateAAuthResource(spec), Query::AAuthResource(id))
            .await?,
        Reply::AAuthResource
    );
    Ok(envelope::data_message(
        resource_json(&resource),
        "AAuth resource updated",
    ))
}

pub(super) async fn list_resources(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let page = reply!(
        ctx.read(Query::AAuthResources(query.page()?)).await?,
        Reply::AAuthResources
    );
    let items: Vec<Value> = page.items.iter().map(resource_json).collect();
    Ok(axum::response::IntoResponse::into_response(axum::Json(
        json!({
            "data": items,
            "pagination": envelope::pagination(&page),
        }),
    )))
}

pub(super) async fn show_resource(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.param("resourceId")?.to_string();
    let resource = reply!(
        ctx.read(Query::AAuthResource(id)).await?,
        Reply::AAuthResource
    );
    Ok(envelope::data(resource_json(&resource)))
}

pub(super) async fn remove_resource(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.param("resourceId")?.to_string();
    ctx.write(Op::DeleteAAuthResource(id)).await?;
    Ok(envelope::message("AAuth resource deleted"))
}
