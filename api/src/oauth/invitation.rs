//! `GET|POST ~/oauth/invitation`: the page an invitation email's link opens. GET checks the
//! link and shows what it invites to (asking a newcomer for a name and a password); POST
//! accepts: the membership is made, and the account when the address has none. Then the
//! invitee signs in as usual.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::Response;
use lumo_cluster::ids::UserId;
use lumo_cluster::protocol::{EmailLinkStep, ProtocolReply, ProtocolRequest};
use serde_json::Value;

use super::browser::{csrf_ok, csrf_token};
use super::email_link::password_refusal;
use super::hosted_page::{problem, with_csrf};
use super::pages::{self, EmailLinkPage};
use super::params;
use super::proto::Proto;
use crate::error::ApiError;
use crate::password;

const HEADING: &str = "Join an organization";

async fn check(proto: &Proto, token: &str) -> Result<Value, ApiError> {
    let reply = proto
        .call(ProtocolRequest::EmailLink(EmailLinkStep::CheckInvitation {
            token: token.to_string(),
        }))
        .await?;
    match reply {
        ProtocolReply::Document(doc) => Ok(doc),
        other => Err(ApiError::unexpected(other)),
    }
}

async fn page(
    proto: &Proto,
    token: &str,
    doc: &Value,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let (csrf, new) = csrf_token(&proto.browser);
    let look = proto.look().await;
    let newcomer = doc["has_account"] != Value::Bool(true);
    let organization = doc["organization"].as_str().unwrap_or_default();
    let email = doc["email"].as_str().unwrap_or_default();
    let message = if newcomer {
        format!(
            "{email} is invited to join {organization}. Choose a name and a password for the new account."
        )
    } else {
        format!("{email} is invited to join {organization}.")
    };
    let page = EmailLinkPage {
        branding: look.branding,
        primary_color: look.primary_color,
        background_color: look.background_color,
        heading: HEADING.to_string(),
        message,
        error,
        action: proto.path("/oauth/invitation"),
        csrf: csrf.clone(),
        token: token.to_string(),
        ask_name: newcomer,
        ask_password: newcomer,
        button: "Accept the invitation".to_string(),
    };
    with_csrf(pages::render(status, &page), proto, &csrf, new)
}

pub async fn show(proto: Proto, RawQuery(query): RawQuery) -> Response {
    let params = params::query(query.as_deref()).unwrap_or_default();
    let token = params.get("token").cloned().unwrap_or_default();
    match check(&proto, &token).await {
        Ok(doc) => page(&proto, &token, &doc, None, StatusCode::OK).await,
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await,
    }
}

pub async fn accept(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut form = match proto.form(body) {
        Ok(form) => form,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await,
    };
    if !csrf_ok(&proto.browser, form.remove("_csrf").as_deref()) {
        let e =
            ApiError::BadRequest("This form expired. Open the link from the email again.".into());
        return problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await;
    }
    let token = form.remove("token").unwrap_or_default();
    let doc = match check(&proto, &token).await {
        Ok(doc) => doc,
        Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await,
    };
    let (name, password_hash) = if doc["has_account"] == Value::Bool(true) {
        (None, None)
    } else {
        let name = form
            .remove("name")
            .map(|n| n.trim().chars().take(200).collect::<String>())
            .filter(|n| !n.is_empty());
        let password = form.remove("password").unwrap_or_default();
        let again = form.remove("password_confirm").unwrap_or_default();
        if let Some(refusal) = password_refusal(&password, &again, &doc["password_policy"]) {
            return page(
                &proto,
                &token,
                &doc,
                Some(refusal),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await;
        }
        match password::hash_limited(&proto.state.hashing, password).await {
            Ok(hash) => (name, Some(hash)),
            Err(e) => return problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await,
        }
    };
    let step = EmailLinkStep::AcceptInvitation {
        token,
        new_user: UserId::generate(),
        name,
        password_hash,
    };
    match proto.call(ProtocolRequest::EmailLink(step)).await {
        Ok(_) => {
            let organization = doc["organization"].as_str().unwrap_or_default();
            let text = format!("You joined {organization}. Sign in to continue.");
            pages::message(
                StatusCode::OK,
                proto.look().await,
                "Invitation accepted",
                &text,
                None,
            )
        }
        Err(e) => problem(&proto, StatusCode::BAD_REQUEST, HEADING, e).await,
    }
}
