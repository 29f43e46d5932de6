//! `GET|POST ~/oauth/org-select`.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;

use super::error_page::error_page;
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};

/// A user belongs to exactly one organization here, so selection goes straight back to the
/// authorization request.
pub async fn org_select(proto: Proto, RawQuery(query): RawQuery) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let params = params::query(query.as_deref()).unwrap_or_default();
    let pairs: Vec<(String, String)> = params.into_iter().collect();
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        StatusCode::FOUND,
        Vec::new(),
    )
}

/// `POST ~/oauth/org-select`.
pub async fn org_select_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    if let Err(e) = proto.state.service.active_org(&proto.org).await {
        return error_page(&proto, e.into()).await;
    }
    let params = proto.form(body).unwrap_or_default();
    let pairs: Vec<(String, String)> = params
        .into_iter()
        .filter(|(k, _)| k != "_csrf" && k != "organization")
        .collect();
    redirect_with(
        &with_query(&proto.path("/oauth/authorize"), &pairs),
        StatusCode::SEE_OTHER,
        Vec::new(),
    )
}
