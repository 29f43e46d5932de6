//! `GET|POST ~/oauth/org-select`: the hosted login's organization step. The authorization
//! endpoint shows the choice (a member of several organizations); its form posts here, and the
//! browser goes back to the authorization request with the chosen `organization`, which the
//! provider checks against the user's memberships.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ErrorCode, Params};

use super::browser::csrf_ok;
use super::error_page::error_page;
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use crate::error::ApiError;

/// `GET ~/oauth/org-select`: back to the authorization request, which asks again.
pub async fn org_select(proto: Proto, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let params = match params::query(query.as_deref()) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    back_to_authorize(&proto, params, StatusCode::FOUND)
}

/// Sends the browser to the authorization endpoint with `params`.
fn back_to_authorize(proto: &Proto, params: Params, status: StatusCode) -> Response {
    let pairs: Vec<(String, String)> = params.into_iter().collect();
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        status,
        Vec::new(),
    )
}

/// `POST ~/oauth/org-select`: the chosen organization, carried on to the authorization request.
pub async fn org_select_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let mut params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    let token = params.remove("_csrf");
    if !csrf_ok(&proto.browser, token.as_deref()) {
        let e =
            ApiError::BadRequest("This form expired. Sign in again from the application.".into());
        return error_page(&proto, e).await;
    }
    if params
        .get("organization")
        .is_none_or(|o| o.trim().is_empty())
    {
        let e = ClusterError::oauth(ErrorCode::InvalidRequest, "choose an organization");
        return error_page(&proto, e.into()).await;
    }
    back_to_authorize(&proto, params, StatusCode::SEE_OTHER)
}
