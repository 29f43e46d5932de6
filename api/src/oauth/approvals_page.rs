//! `GET|POST ~/oauth/approvals`: the hosted page where a signed-in user answers the agents
//! waiting for their approval (`~/agents/me/approvals`).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{login_first, problem, signed_in, with_csrf};
use super::pages::{self, ApprovalsPage};
use super::proto::Proto;
use crate::error::ApiError;

const TITLE: &str = "Approvals";
const PATH: &str = "/oauth/approvals";

async fn page(proto: &Proto, notice: Option<String>) -> Response {
    let session = match signed_in(proto).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_first(proto, proto.path(PATH), "answer your agents").await,
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(proto, proto.path(PATH), "answer your agents").await;
    };
    let approvals = match proto
        .call(ProtocolRequest::ApprovalsPending { cookie })
        .await
    {
        Ok(ProtocolReply::Approvals(approvals)) => approvals,
        Ok(other) => {
            let e = ApiError::unexpected(other);
            return problem(proto, StatusCode::BAD_REQUEST, TITLE, e).await;
        }
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let page = ApprovalsPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        action: proto.path(PATH),
        csrf: csrf.clone(),
        user_email: session.email,
        notice,
        approvals,
    };
    with_csrf(pages::render(StatusCode::OK, &page), proto, &csrf, new)
}

/// `GET ~/oauth/approvals`: the signed-in user's pending approvals.
pub async fn approvals_get(proto: Proto) -> Response {
    page(&proto, None).await
}

/// `POST ~/oauth/approvals`: the user's answer to one approval.
pub async fn approvals_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e = ApiError::BadRequest("This form expired. Reload the page.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
    }
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, proto.path(PATH), "answer your agents").await;
    };
    let approve = match form.remove("decision").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            let e = ApiError::BadRequest("Choose Approve or Deny.".into());
            return problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await;
        }
    };
    let token = form.remove("token").unwrap_or_default();
    match proto
        .call(ProtocolRequest::ApprovalDecide {
            cookie,
            token,
            approve,
        })
        .await
    {
        Ok(_) => {
            let notice = if approve { "Approved." } else { "Denied." };
            page(&proto, Some(notice.into())).await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, TITLE, e).await,
    }
}
