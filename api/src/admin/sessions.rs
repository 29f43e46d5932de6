//! Sessions and issued tokens: `~/admin/sessions`, `~/admin/tokens`, and the per-user and
//! per-client revocations. A revocation is replicated before it returns, so no node accepts the
//! session or token afterwards.

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use lumo_cluster::command::{ClientKey, Op, RevokeTarget, UserKey};
use lumo_cluster::model::{AccessTokenRecord, Family, LoginSession};
use lumo_cluster::query::{Outcome, Query, Reply};
use serde_json::{Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery, in_family};
use crate::reply;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/sessions", get(list_sessions))
        .route("/admin/sessions/count", get(count_sessions))
        .route("/admin/sessions/stats", get(session_stats))
        .route("/admin/sessions/revoke-all", post(revoke_all_sessions))
        .route("/admin/sessions/{sessionId}", delete(revoke_session))
        .route(
            "/admin/users/{userId}/sessions",
            get(user_sessions).delete(revoke_user_sessions),
        )
        .route(
            "/admin/users/{userId}/sessions/revoke",
            post(revoke_user_sessions),
        )
        .route("/admin/users/{userId}/tokens", delete(revoke_user_tokens))
        .route(
            "/admin/users/{userId}/tokens/revoke",
            post(revoke_user_tokens),
        )
        .route_layer(in_family(Family::Users))
        .merge(
            Router::new()
                .route("/admin/tokens", get(list_tokens))
                .route("/admin/tokens/{tokenId}", delete(revoke_token))
                .route(
                    "/admin/clients/{clientId}/tokens",
                    delete(revoke_client_tokens),
                )
                .route(
                    "/admin/clients/{clientId}/tokens/revoke",
                    post(revoke_client_tokens),
                )
                .route_layer(in_family(Family::Clients)),
        )
}

fn session_json(session: &LoginSession, now: lumo_cluster::clock::Timestamp) -> Value {
    json!({
        "id": session.id,
        "userId": session.user_id.to_string(),
        "userEmail": session.user_email,
        "ipAddress": session.ip,
        "userAgent": session.user_agent,
        "createdAt": session.created_at.to_rfc3339(),
        "lastActivityAt": session.last_activity_at.to_rfc3339(),
        "expiresAt": session.expires_at.to_rfc3339(),
        "isActive": session.is_active(now),
    })
}

fn token_json(token: &AccessTokenRecord, now: lumo_cluster::clock::Timestamp) -> Value {
    json!({
        "id": token.id,
        "clientId": token.client_id,
        "userId": token.user_id.map(|u| u.to_string()),
        "scopes": token.scopes,
        "revoked": token.revoked_at.is_some(),
        "expiresAt": token.expires_at.to_rfc3339(),
        "createdAt": token.created_at.to_rfc3339(),
        "isExpired": token.expires_at <= now,
        "grantType": token.grant_type,
    })
}

fn now() -> lumo_cluster::clock::Timestamp {
    lumo_cluster::clock::Timestamp::now()
}

async fn list_sessions(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let list = query.list(&[])?;
    let user = match query.get("userId") {
        Some(text) => Some(
            text.parse::<UserKey>()
                .map_err(|_| ApiError::BadRequest("userId must be a user UUID or email".into()))?,
        ),
        None => None,
    };
    let page = reply!(
        ctx.read(Query::ListSessions { list, user }).await?,
        Reply::Sessions
    );
    let now = now();
    let items: Vec<Value> = page.items.iter().map(|s| session_json(s, now)).collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("sessions"),
    ))
}

async fn session_counts(ctx: &Ctx) -> ApiResult<lumo_cluster::query::SessionStats> {
    Ok(reply!(
        ctx.read(Query::SessionStats).await?,
        Reply::SessionStats
    ))
}

async fn count_sessions(ctx: Ctx) -> ApiResult<Response> {
    let stats = session_counts(&ctx).await?;
    Ok(envelope::data(json!({"count": stats.active})))
}

async fn session_stats(ctx: Ctx) -> ApiResult<Response> {
    let stats = session_counts(&ctx).await?;
    Ok(envelope::data(json!({
        "total": stats.total,
        "active": stats.active,
        "inactive": stats.inactive,
    })))
}

async fn revoked(ctx: &Ctx, target: RevokeTarget) -> ApiResult<u64> {
    match ctx.write(Op::Revoke(target)).await? {
        Reply::Done(Outcome::Revoked { count }) => Ok(count),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn revoke_session(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.number("sessionId")?;
    revoked(&ctx, RevokeTarget::Session(id)).await?;
    Ok(envelope::message("Session revoked"))
}

async fn revoke_all_sessions(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let confirm = body.opt_bool("confirm");
    body.finish()?;
    if confirm != Some(true) {
        return Err(ApiError::BadRequest(
            "revoking every session needs {\"confirm\": true}".into(),
        ));
    }
    let count = revoked(&ctx, RevokeTarget::AllSessions).await?;
    Ok(envelope::message(&format!(
        "All sessions revoked ({count} sessions and tokens ended)"
    )))
}

async fn list_tokens(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&["revoked", "clientId", "userId"])?;
    let page = reply!(ctx.read(Query::ListTokens(params)).await?, Reply::Tokens);
    let now = now();
    let items: Vec<Value> = page.items.iter().map(|t| token_json(t, now)).collect();
    Ok(envelope::list(&page, items, ListShape::Resource("tokens")))
}

async fn revoke_token(ctx: Ctx) -> ApiResult<Response> {
    let id = ctx.number("tokenId")?;
    revoked(&ctx, RevokeTarget::AccessId(id)).await?;
    Ok(envelope::message("Token revoked"))
}

async fn user_sessions(ctx: Ctx) -> ApiResult<Response> {
    let user: UserKey = ctx.key("userId")?;
    let page = reply!(ctx.read(Query::UserSessions(user)).await?, Reply::Sessions);
    let now = now();
    let items: Vec<Value> = page.items.iter().map(|s| session_json(s, now)).collect();
    Ok(axum::Json(json!({
        "data": items,
        "meta": {"total": page.total},
        "pagination": envelope::pagination(&page),
    }))
    .into_response())
}

async fn revoke_user_sessions(ctx: Ctx) -> ApiResult<Response> {
    let user: UserKey = ctx.key("userId")?;
    let count = revoked(&ctx, RevokeTarget::UserSessions(user)).await?;
    Ok(envelope::message(&format!(
        "User sessions revoked ({count} sessions and tokens ended)"
    )))
}

async fn revoke_user_tokens(ctx: Ctx) -> ApiResult<Response> {
    let user: UserKey = ctx.key("userId")?;
    let count = revoked(&ctx, RevokeTarget::UserTokens(user)).await?;
    Ok(envelope::message(&format!(
        "User tokens revoked ({count} tokens ended)"
    )))
}

async fn revoke_client_tokens(ctx: Ctx) -> ApiResult<Response> {
    let client: ClientKey = ctx.key("clientId")?;
    let count = revoked(&ctx, RevokeTarget::ClientTokens(client)).await?;
    Ok(envelope::message(&format!(
        "Client tokens revoked ({count} tokens ended)"
    )))
}
