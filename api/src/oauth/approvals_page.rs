//! The hosted review pages: `GET|POST ~/oauth/approvals`, where a signed-in user answers the
//! agents waiting for their approval (`~/agents/me/approvals`), and `GET|POST
//! ~/oauth/jit-review`, where a signed-in reviewer (permission `jit:approve`) decides pending
//! JIT requests. Both list what waits, with one CSRF-bound form per item.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token};
use super::hosted_page::{login_first, problem, signed_in, with_csrf};
use super::pages::{self, ApprovalsPage, JitReviewPage};
use super::proto::Proto;
use crate::error::ApiError;

/// Which review page.
#[derive(Clone, Copy)]
enum Board {
    Approvals,
    JitReview,
}

impl Board {
    fn title(self) -> &'static str {
        match self {
            Board::Approvals => "Approvals",
            Board::JitReview => "JIT review",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Board::Approvals => "/oauth/approvals",
            Board::JitReview => "/oauth/jit-review",
        }
    }

    /// What signing in is for, as the login page says it.
    fn purpose(self) -> &'static str {
        match self {
            Board::Approvals => "answer your agents",
            Board::JitReview => "review JIT requests",
        }
    }

    /// The form field naming the item decided.
    fn item_field(self) -> &'static str {
        match self {
            Board::Approvals => "token",
            Board::JitReview => "request_id",
        }
    }

    fn pending(self, cookie: String) -> ProtocolRequest {
        match self {
            Board::Approvals => ProtocolRequest::ApprovalsPending { cookie },
            Board::JitReview => ProtocolRequest::JitReviewPending { cookie },
        }
    }

    fn decide(self, cookie: String, item: String, approve: bool) -> ProtocolRequest {
        match self {
            Board::Approvals => ProtocolRequest::ApprovalDecide {
                cookie,
                token: item,
                approve,
            },
            Board::JitReview => ProtocolRequest::JitReviewDecide {
                cookie,
                request_id: item,
                approve,
            },
        }
    }
}

async fn page(proto: &Proto, board: Board, notice: Option<String>) -> Response {
    let title = board.title();
    let session = match signed_in(proto).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_first(proto, proto.path(board.path()), board.purpose()).await,
        Err(e) => return problem(proto, StatusCode::BAD_REQUEST, title, e).await,
    };
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(proto, proto.path(board.path()), board.purpose()).await;
    };
    let reply = match proto.call(board.pending(cookie)).await {
        Ok(reply) => reply,
        Err(e) => return problem(proto, StatusCode::FORBIDDEN, title, e).await,
    };
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let action = proto.path(board.path());
    let rendered = match reply {
        ProtocolReply::Approvals(approvals) => pages::render(
            StatusCode::OK,
            &ApprovalsPage {
                branding: look.branding,
                primary_color: look.primary_color,
                background_color: look.background_color,
                action,
                csrf: csrf.clone(),
                user_email: session.email,
                notice,
                approvals,
            },
        ),
        ProtocolReply::JitReview(requests) => pages::render(
            StatusCode::OK,
            &JitReviewPage {
                branding: look.branding,
                primary_color: look.primary_color,
                background_color: look.background_color,
                action,
                csrf: csrf.clone(),
                user_email: session.email,
                notice,
                requests,
            },
        ),
        other => {
            let e = ApiError::unexpected(other);
            return problem(proto, StatusCode::BAD_REQUEST, title, e).await;
        }
    };
    with_csrf(rendered, proto, &csrf, new)
}

async fn answer(proto: Proto, board: Board, body: Result<Bytes, BytesRejection>) -> Response {
    let title = board.title();
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, title, e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e = ApiError::BadRequest("This form expired. Reload the page.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, title, e).await;
    }
    let Some(cookie) = proto.browser.get(SESSION_COOKIE).map(str::to_string) else {
        return login_first(&proto, proto.path(board.path()), board.purpose()).await;
    };
    let approve = match form.remove("decision").as_deref() {
        Some("allow") => true,
        Some("deny") => false,
        _ => {
            let e = ApiError::BadRequest("Choose Approve or Deny.".into());
            return problem(&proto, StatusCode::BAD_REQUEST, title, e).await;
        }
    };
    let item = form.remove(board.item_field()).unwrap_or_default();
    match proto.call(board.decide(cookie, item, approve)).await {
        Ok(_) => {
            let notice = if approve { "Approved." } else { "Denied." };
            page(&proto, board, Some(notice.into())).await
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, title, e).await,
    }
}

/// `GET ~/oauth/approvals`: the signed-in user's pending approvals.
pub async fn approvals_get(proto: Proto) -> Response {
    page(&proto, Board::Approvals, None).await
}

/// `POST ~/oauth/approvals`: the user's answer to one approval.
pub async fn approvals_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    answer(proto, Board::Approvals, body).await
}

/// `GET ~/oauth/jit-review`: the org's pending JIT requests, for a signed-in reviewer.
pub async fn jit_review_get(proto: Proto) -> Response {
    page(&proto, Board::JitReview, None).await
}

/// `POST ~/oauth/jit-review`: a reviewer's decision on one request.
pub async fn jit_review_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    answer(proto, Board::JitReview, body).await
}
