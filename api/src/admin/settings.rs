//! `~/admin/settings[/{section}]` and the tenant profile (`~/admin/tenant`, `~/admin/organization`).

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::ClusterError;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::Op;
use lumo_cluster::query::{Query, Reply};
use lumo_cluster::settings::{SettingsSection, seal_secrets};
use serde_json::{Map, Value, json};

use crate::dto::org::tenant;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/settings", get(all))
        .route(
            "/admin/settings/{section}",
            get(show).put(update).patch(update),
        )
        .route(
            "/admin/tenant",
            get(show_tenant).put(update_tenant).patch(update_tenant),
        )
        .route(
            "/admin/organization",
            get(show_tenant).put(update_tenant).patch(update_tenant),
        )
}

fn section(ctx: &Ctx) -> ApiResult<SettingsSection> {
    let name = ctx.param("section")?;
    SettingsSection::parse(name).ok_or_else(|| {
        ApiError::Cluster(ClusterError::NotFound {
            resource: "settings section".into(),
            id: format!(
                "{name} (known: auth, authentication, branding, email, general, scim, security)"
            ),
        })
    })
}

fn parse(text: &str) -> ApiResult<Value> {
    serde_json::from_str(text).map_err(|e| ApiError::Internal(e.to_string()))
}

async fn all(ctx: Ctx) -> ApiResult<Response> {
    let all = reply!(ctx.read(Query::AllSettings).await?, Reply::AllSettings);
    let get = |name: &str| -> ApiResult<Value> {
        parse(all.sections.get(name).map(String::as_str).unwrap_or("{}"))
    };
    let security = get("security")?;
    Ok(envelope::data(json!({
        "general": {"name": all.org_name},
        "authentication": get("auth")?,
        "branding": get("branding")?,
        "security": {"dpop_require_nonce": security["dpop_require_nonce"].as_bool().unwrap_or(false)},
        "email": get("email")?,
    })))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let section = section(&ctx)?;
    let text = reply!(ctx.read(Query::Settings(section)).await?, Reply::Settings);
    Ok(envelope::data(parse(&text)?))
}

async fn update(ctx: Ctx, JsonBody(map): JsonBody) -> ApiResult<Response> {
    let section = section(&ctx)?;
    let mut patch = Value::Object(map);
    let secrets = seal_secrets(section, &mut patch, Timestamp::now())?;
    let op = Op::UpdateSettings {
        section,
        patch: patch.to_string(),
        secrets,
    };
    let text = reply!(
        ctx.write_then(op, Query::Settings(section)).await?,
        Reply::Settings
    );
    Ok(envelope::data_message(parse(&text)?, "Settings updated"))
}

async fn show_tenant(ctx: Ctx) -> ApiResult<Response> {
    let org = reply!(ctx.read(Query::Tenant).await?, Reply::Tenant);
    Ok(envelope::data(tenant(org)))
}

async fn update_tenant(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let name = body.opt_str("name", 200);
    if body
        .raw("name")
        .is_some_and(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
    {
        body.problem("name", "may not be empty");
    }
    let settings = match body.raw("settings") {
        None | Some(Value::Null) => None,
        Some(Value::Object(m)) if m.len() <= 200 => Some(Value::Object(m.clone()).to_string()),
        Some(Value::Object(_)) => {
            body.problem("settings", "must have at most 200 keys");
            None
        }
        Some(_) => {
            body.problem("settings", "must be an object");
            None
        }
    };
    if settings.as_ref().is_some_and(|s| s.len() > 64 * 1024) {
        body.problem("settings", "must be at most 64 KiB of JSON");
    }
    let map: Map<String, Value> = body.finish()?;
    if name.is_none() && settings.is_none() {
        let known = map.keys().cloned().collect::<Vec<_>>().join(", ");
        return Err(ApiError::invalid(
            "name",
            format!("send name and/or settings (got: {known})"),
        ));
    }
    let op = Op::UpdateTenant {
        name,
        settings_patch: settings,
    };
    let org = reply!(ctx.write_then(op, Query::Tenant).await?, Reply::Tenant);
    Ok(envelope::data_message(tenant(org), "Organization updated"))
}
