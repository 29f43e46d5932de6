//! `~/admin/analytics`: dashboard, logins, user growth.

use axum::Router;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::query::{Query, Reply};

use crate::dto::org;
use crate::envelope;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Ctx, ListQuery};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/analytics/dashboard", get(dashboard))
        .route("/admin/analytics/logins", get(logins))
        .route("/admin/analytics/users", get(users))
}

async fn dashboard(ctx: Ctx) -> ApiResult<Response> {
    let d = crate::reply!(ctx.read(Query::AnalyticsDashboard).await?, Reply::Dashboard);
    Ok(envelope::data(org::dashboard(d)))
}

fn days(query: &ListQuery) -> ApiResult<u32> {
    Ok(query.int("days", 1, 90)?.unwrap_or(30))
}

async fn logins(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    match ctx
        .read(Query::AnalyticsLogins {
            days: days(&query)?,
        })
        .await?
    {
        Reply::Logins { period, days } => Ok(envelope::data(org::logins(period, days))),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn users(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    match ctx
        .read(Query::AnalyticsUsers {
            days: days(&query)?,
        })
        .await?
    {
        Reply::UserGrowth { period, growth } => {
            Ok(envelope::data(org::user_growth(period, growth)))
        }
        other => Err(ApiError::unexpected(other)),
    }
}
