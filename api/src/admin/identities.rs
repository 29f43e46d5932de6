//! Federated identity links of users, the legacy SAML report, and effective permissions.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use lumo_cluster::command::{NewIdentityLink, Op, SamlWrite, UserKey};
use lumo_cluster::model::{IdentityKind, IdentityLink};
use lumo_cluster::query::{Query, Reply};
use serde_json::{Value, json};

use super::mfa::require_step_up;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/users/{userId}/identities", get(list).post(link))
        .route("/admin/users/{userId}/identities/{type}", delete(unlink))
        .route(
            "/admin/users/{userId}/effective-permissions",
            get(effective_permissions),
        )
        .route(
            "/admin/identities/legacy-saml",
            get(legacy_report).post(legacy_relink),
        )
}

fn binding(link: &IdentityLink) -> Value {
    json!({
        "type": link.kind.as_str(),
        "idp_id": link.idp_id,
        "name_id": link.name_id,
        "legacy": link.kind == IdentityKind::Saml && link.idp_id.is_none(),
        "ldap_config_id": link.ldap_config_id,
        "dn": link.dn,
        "provider": link.provider,
    })
}

async fn list(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let view = reply!(
        ctx.read(Query::UserIdentities(key)).await?,
        Reply::Identities
    );
    let bindings: Vec<Value> = view.links.iter().map(binding).collect();
    Ok(envelope::data(json!({
        "auth_source": view.auth_source,
        "ldap_only": view.ldap_only,
        "bindings": bindings,
    })))
}

async fn identities_of(ctx: &Ctx, key: UserKey) -> ApiResult<Value> {
    let view = reply!(
        ctx.read(Query::UserIdentities(key)).await?,
        Reply::Identities
    );
    let bindings: Vec<Value> = view.links.iter().map(binding).collect();
    Ok(json!({"auth_source": view.auth_source, "ldap_only": view.ldap_only, "bindings": bindings}))
}

async fn link(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let mut body = Body::new(json);
    let kind = match body.raw("type").and_then(Value::as_str) {
        Some("saml") => Some(IdentityKind::Saml),
        Some("ldap") => Some(IdentityKind::Ldap),
        Some(_) => {
            body.problem("type", "must be saml or ldap");
            None
        }
        None => {
            body.problem("type", "is required");
            None
        }
    };
    let link = NewIdentityLink {
        kind: kind.unwrap_or(IdentityKind::Saml),
        idp_id: body.opt_u64("idp_id"),
        name_id: body.opt_str("name_id", 1024),
        ldap_config_id: body.opt_u64("ldap_config_id"),
        dn: body.opt_str("dn", 2048),
        ldap_only: body.opt_bool("ldap_only").unwrap_or(false),
    };
    match kind {
        Some(IdentityKind::Saml) => {
            if link.idp_id.is_none() {
                body.problem("idp_id", "is required for a SAML link");
            }
            if link.name_id.is_none() {
                body.problem("name_id", "is required for a SAML link");
            }
        }
        Some(IdentityKind::Ldap) => {
            if link.ldap_config_id.is_none() {
                body.problem("ldap_config_id", "is required for an LDAP link");
            }
            if link.dn.is_none() {
                body.problem("dn", "is required: directory lookup is not available");
            }
        }
        _ => {}
    }
    body.finish()?;
    require_step_up(&ctx, &headers).await?;
    ctx.write(Op::LinkIdentity {
        user: key.clone(),
        link,
    })
    .await?;
    let data = identities_of(&ctx, key).await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({"data": data, "message": "Identity linked"})),
    )
        .into_response())
}

async fn unlink(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let kind = IdentityKind::parse(ctx.param("type")?)
        .ok_or_else(|| ApiError::invalid("type", "must be saml, ldap or social"))?;
    ctx.admit(lumo_cluster::model::Family::Users, true).await?;
    require_step_up(&ctx, &headers).await?;
    ctx.write(Op::UnlinkIdentity {
        user: key.clone(),
        kind,
    })
    .await?;
    let data = identities_of(&ctx, key).await?;
    Ok(envelope::data_message(data, "Identity unlinked"))
}

async fn effective_permissions(ctx: Ctx) -> ApiResult<Response> {
    let key: UserKey = ctx.key("userId")?;
    let permissions = reply!(
        ctx.read(Query::UserEffectivePermissions(key)).await?,
        Reply::EffectivePermissions
    );
    Ok(envelope::data(
        json!({"permissions": permissions, "count": permissions.len()}),
    ))
}

async fn legacy_report(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let idp_id = match query.get("idp_id") {
        Some(v) => Some(
            v.parse::<u64>()
                .map_err(|_| ApiError::BadRequest("idp_id must be an integer".into()))?,
        ),
        None => None,
    };
    let report = reply!(
        ctx.read(Query::LegacySamlReport { idp_id }).await?,
        Reply::LegacySaml
    );
    // Any of the org's IdPs could have vouched for a bare NameID; with one, it is that one.
    let candidates: Vec<u64> = report.idps.iter().map(|idp| idp.id).collect();
    let suggested = match (idp_id, candidates.as_slice()) {
        (Some(id), _) => Some(id),
        (None, [only]) => Some(*only),
        _ => None,
    };
    let users: Vec<Value> = report
        .users
        .iter()
        .map(|(user, link)| {
            json!({
                "user_id": user.id.to_string(),
                "email": user.email,
                "name_id": link.name_id,
                "candidate_idp_ids": candidates,
                "suggested_idp_id": suggested,
            })
        })
        .collect();
    let idps: Vec<Value> = report
        .idps
        .iter()
        .map(|idp| json!({"id": idp.id, "name": idp.name, "entity_id": idp.entity_id}))
        .collect();
    Ok(envelope::data(json!({
        "idp_count": report.idp_count,
        "ambiguous": report.idp_count > 1,
        "users": users,
        "idps": idps,
    })))
}

/// Binds users linked by a bare NameID to an IdP: those named in `user_ids`, or all of them;
/// `dry_run` only says what would happen. All or nothing.
async fn legacy_relink(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let idp_id = body.opt_u64("idp_id");
    if idp_id.is_none() {
        body.problem("idp_id", "is required");
    }
    let user_ids = body.str_list("user_ids", 10_000);
    let all = body.opt_bool("all_matching_domains").unwrap_or(false);
    let dry_run = body.opt_bool("dry_run").unwrap_or(false);
    body.finish()?;
    // Authorize as a user-management read first (a missing IdP is a 404 here).
    let report = reply!(
        ctx.read(Query::LegacySamlReport { idp_id }).await?,
        Reply::LegacySaml
    );
    require_step_up(&ctx, &headers).await?;
    let idp_id = idp_id.unwrap_or_default();
    let wanted = |id: &str| {
        all || user_ids
            .as_ref()
            .is_none_or(|ids| ids.iter().any(|u| u == id))
    };
    let mut relinked = Vec::new();
    let mut users = Vec::new();
    for (user, link) in &report.users {
        if wanted(&user.id.to_string()) {
            users.push(user.id);
            relinked.push(json!({"user_id": user.id.to_string(), "email": user.email,
                                 "name_id": link.name_id}));
        }
    }
    let skipped: Vec<Value> = user_ids
        .unwrap_or_default()
        .into_iter()
        .filter(|id| !report.users.iter().any(|(u, _)| u.id.to_string() == *id))
        .map(|id| json!({"user_id": id, "reason": "not bound by a bare NameID"}))
        .collect();
    if !dry_run && !users.is_empty() {
        ctx.write(Op::Saml(SamlWrite::RelinkLegacy { idp_id, users }))
            .await?;
    }
    Ok(envelope::data(json!({
        "dry_run": dry_run,
        "idp_id": idp_id,
        "relinked": relinked,
        "skipped": skipped,
    })))
}
