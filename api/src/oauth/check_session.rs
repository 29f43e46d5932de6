//! `GET ~/oauth/check_session`: the OpenID session-management iframe.

use axum::http::StatusCode;
use axum::response::Response;

use super::pages::{self, CheckSessionPage};

/// `GET ~/oauth/check_session`.
pub async fn check_session() -> Response {
    pages::render_with(StatusCode::OK, &CheckSessionPage, false)
}
