//! `~/admin/settings[/{section}]` and the tenant profile (`~/admin/tenant`, `~/admin/organization`).

use axum::Router;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::ClusterError;
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::Op;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Outcome, Query, Reply, Request};
use lumo_cluster::settings::{SettingsSection, seal_secrets, usable_secrets};
use lumo_cluster::webhooks::check_url;
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
        .route("/admin/settings/scim/sync", post(scim_sync))
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
    Ok(envelope::data(json!({
        "general": {"name": all.org_name},
        "authentication": get("auth")?,
        "branding": get("branding")?,
        "security": get("security")?,
        "email": get("email")?,
    })))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    let section = section(&ctx)?;
    let text = reply!(ctx.read(Query::Settings(section)).await?, Reply::Json);
    Ok(envelope::data(parse(&text)?))
}

/// Refuses an outbound SCIM URL this node may not call (the webhooks' SSRF guard).
fn check_outbound_url(ctx: &Ctx, section: SettingsSection, patch: &Value) -> ApiResult<()> {
    if section != SettingsSection::Scim {
        return Ok(());
    }
    if let Some(url) = patch["outbound"]["endpoint_url"]
        .as_str()
        .filter(|u| !u.is_empty())
        && let Err(why) = check_url(url, ctx.state.service.webhook_targets())
    {
        return Err(ApiError::Cluster(ClusterError::invalid(
            "outbound.endpoint_url",
            why,
        )));
    }
    Ok(())
}

async fn update(ctx: Ctx, JsonBody(map): JsonBody) -> ApiResult<Response> {
    let section = section(&ctx)?;
    let mut patch = Value::Object(map);
    check_outbound_url(&ctx, section, &patch)?;
    if !usable_secrets(section, &patch).is_empty() {
        // Secrets the server must use later are sealed on the leader.
        let request = ProtocolRequest::UpdateSettings {
            credential: ctx.credential.clone(),
            section,
            patch: patch.to_string(),
        };
        return match ctx.call(Request::Protocol(request)).await? {
            Reply::Protocol(ProtocolReply::Document(doc)) => {
                Ok(envelope::data_message(doc, "Settings updated"))
            }
            other => Err(ApiError::unexpected(other)),
        };
    }
    let secrets = seal_secrets(section, &mut patch, Timestamp::now())?;
    let op = Op::UpdateSettings {
        section,
        patch: patch.to_string(),
        secrets,
    };
    let text = reply!(
        ctx.write_then(op, Query::Settings(section)).await?,
        Reply::Json
    );
    Ok(envelope::data_message(parse(&text)?, "Settings updated"))
}

/// `POST ~/admin/settings/scim/sync` (an extension): queues a full outbound SCIM sync.
async fn scim_sync(ctx: Ctx) -> ApiResult<Response> {
    let reply = ctx.write(Op::QueueScimBatchSync).await?;
    let Reply::Done(Outcome::Created(delivery)) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let body = json!({
        "data": {"status": "queued", "delivery_id": delivery},
        "message": "Outbound SCIM sync queued",
    });
    Ok((StatusCode::ACCEPTED, axum::Json(body)).into_response())
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
