//! Federated identity links of users, the legacy SAML report, and effective permissions.

use axum::Router;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use lumo_cluster::command::{NewIdentityLink, Op, UserKey};
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
    if let Some(idp) = idp_id
        && report.idp_count == 0
    {
        return Err(lumo_cluster::ClusterError::not_found("SAML identity provider", idp).into());
    }
    let users: Vec<Value> = report
        .users
        .iter()
        .map(|(user, link)| {
            json!({
                "user_id": user.id.to_string(),
                "email": user.email,
                "name_id": link.name_id,
                "candidate_idp_ids": Vec::<u64>::new(),
                "suggested_idp_id": Value::Null,
            })
        })
        .collect();
    Ok(envelope::data(json!({
        "idp_count": report.idp_count,
        "ambiguous": report.idp_count > 1,
        "users": users,
        "idps": Vec::<Value>::new(),
    })))
}

async fn legacy_relink(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let idp_id = body.opt_u64("idp_id");
    if idp_id.is_none() {
        body.problem("idp_id", "is required");
    }
    body.finish()?;
    // Authorize as a user-management read first, then report the missing IdP.
    ctx.read(Query::LegacySamlReport { idp_id }).await?;
    require_step_up(&ctx, &headers).await?;
    Err(
        lumo_cluster::ClusterError::not_found("SAML identity provider", idp_id.unwrap_or_default())
            .into(),
    )
}
