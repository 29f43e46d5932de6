//! `~/admin/sandbox*`: sandbox orgs. A sandbox is a new org (in the parent's region) holding a
//! copy of the parent's configuration but none of its users, reachable with the admin key the
//! spawn answers once, and removed when its time is up.

use axum::Router;
use axum::response::Response;
use axum::routing::{get, post};
use lumo_cluster::model::{Family, SandboxRecord};
use lumo_cluster::query::Page;
use serde_json::{Value, json};

use crate::envelope::{self, ListShape};
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, JsonBody, ListQuery, OptionalJsonBody};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sandbox", get(list))
        .route("/admin/sandbox/spawn", post(spawn))
        .route("/admin/sandbox/{sandboxSlug}/destroy", post(destroy))
}

/// The contract's `SandboxTenant`.
fn tenant(record: &SandboxRecord) -> Value {
    json!({
        "slug": record.slug,
        "name": record.name,
        "created_at": record.created_at.to_rfc3339(),
        "expires_at": record.expires_at.to_rfc3339(),
        "owner_email": record.owner_email,
        "spawned_from": record.spawned_from,
    })
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Sandbox, false).await?;
    let all = ctx
        .state
        .service
        .sandboxes(&ctx.org, ctx.credential.clone(), ctx.context.clone())
        .await?;
    let page = Page::of(all, query.page()?);
    let items: Vec<Value> = page.items.iter().map(tenant).collect();
    Ok(envelope::list(&page, items, ListShape::Pagination))
}

async fn spawn(ctx: Ctx, OptionalJsonBody(map): OptionalJsonBody) -> ApiResult<Response> {
    let mut body = Body::new(JsonBody(map));
    let blank = body
        .raw("name")
        .and_then(Value::as_str)
        .is_some_and(|n| n.trim().is_empty());
    if blank {
        body.problem("name", "must not be blank");
    }
    let name = body.opt_str("name", 100);
    let ttl_hours = body.opt_u64("ttl_hours");
    body.finish()?;
    let spawned = ctx
        .state
        .service
        .spawn_sandbox(
            &ctx.org,
            ctx.credential.clone(),
            ctx.context.clone(),
            name,
            ttl_hours,
        )
        .await?;
    let mut data = tenant(&spawned.record);
    // The sandbox's admin key, shown once (not part of the contract's model, which ignores it).
    data["api_key"] = json!(spawned.api_key);
    Ok(envelope::created(
        data,
        "Sandbox spawned; its admin API key is shown only now",
    ))
}

async fn destroy(ctx: Ctx) -> ApiResult<Response> {
    let slug = ctx.param("sandboxSlug")?.to_string();
    ctx.state
        .service
        .destroy_sandbox(&ctx.org, &slug, ctx.credential.clone(), ctx.context.clone())
        .await?;
    Ok(envelope::message(&format!("Sandbox {slug} destroyed")))
}
