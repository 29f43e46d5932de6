//! `GET|POST ~/oauth/authorize`: the authorization endpoint and its consent form
//! submission; the answer is a login page, a consent page, an error page or a redirect back to
//! the client.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::extract::rejection::BytesRejection;
use axum::http::{StatusCode, header};
use axum::response::Response;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{AuthorizeOutcome, ErrorCode, Params, ProtocolReply, ProtocolRequest};

use super::browser::{SESSION_COOKIE, csrf_ok, csrf_token, session_state};
use super::error_page::error_page;
use super::login::login_message;
use super::pages::{self, ConsentPage, FormPostPage, LoginPage, Look, OrgSelectPage};
use super::params;
use super::proto::Proto;
use super::redirect::{redirect_with, with_query};
use crate::error::ApiError;

/// `GET ~/oauth/authorize`.
pub async fn authorize_get(proto: Proto, RawQuery(query): RawQuery) -> Response {
    match params::query(query.as_deref()) {
        Ok(params) => run_authorize(proto, params, None, StatusCode::FOUND).await,
        Err(e) => error_page(&proto, e).await,
    }
}

/// `POST ~/oauth/authorize`: an authorization request as a form, or the consent form's answer.
pub async fn authorize_post(proto: Proto, body: Result<Bytes, BytesRejection>) -> Response {
    let mut params = match proto.form(body) {
        Ok(params) => params,
        Err(e) => return error_page(&proto, e).await,
    };
    let consent = match params.remove("consent").as_deref() {
        Some("allow") => Some(true),
        Some("deny") => Some(false),
        Some(_) => {
            let e = ClusterError::oauth(ErrorCode::InvalidRequest, "consent must be allow or deny");
            return error_page(&proto, e.into()).await;
        }
        None => None,
    };
    let token = params.remove("_csrf");
    if consent.is_some() && !csrf_ok(&proto.browser, token.as_deref()) {
        let look = proto.look().await;
        return pages::message(
            StatusCode::BAD_REQUEST,
            look,
            "This form expired",
            "Go back to the application and start signing in again.",
            Some("csrf"),
        );
    }
    run_authorize(proto, params, consent, StatusCode::SEE_OTHER).await
}

async fn run_authorize(
    proto: Proto,
    params: Params,
    consent: Option<bool>,
    redirect_status: StatusCode,
) -> Response {
    let login_error = params.get("login_error").cloned();
    if let Err(e) = super::url_client::prepare(&proto, &params).await {
        return error_page(&proto, e).await;
    }
    let session = proto.browser.get(SESSION_COOKIE).map(str::to_string);
    let client_id = params.get("client_id").cloned().unwrap_or_default();
    let reply = proto
        .call(ProtocolRequest::Authorize {
            issuer: proto.issuer.clone(),
            params,
            session: session.clone(),
            consent,
        })
        .await;
    let outcome = match reply {
        Ok(ProtocolReply::Authorize(outcome)) => outcome,
        Ok(other) => return error_page(&proto, ApiError::unexpected(other)).await,
        Err(e) => return error_page(&proto, e).await,
    };
    let (csrf, new_csrf) = csrf_token(&proto.browser);
    let mut cookies = Vec::new();
    if new_csrf {
        cookies.push(proto.jar().csrf(&csrf));
    }
    let mut response = match outcome {
        AuthorizeOutcome::ErrorPage {
            error,
            description,
            branding,
        } => pages::message(
            StatusCode::BAD_REQUEST,
            Look::new(branding),
            "This sign-in link is not valid",
            &description,
            Some(error.as_str()),
        ),
        AuthorizeOutcome::Redirect {
            redirect_uri,
            mut params,
            form_post,
        } => {
            let issued_code = params.iter().any(|(k, _)| k == "code");
            if issued_code && let Some(session) = &session {
                params.push((
                    "session_state".into(),
                    session_state(&client_id, &redirect_uri, session),
                ));
            }
            if form_post {
                pages::render(
                    StatusCode::OK,
                    &FormPostPage {
                        action: redirect_uri,
                        fields: params,
                    },
                )
            } else {
                redirect_with(
                    &with_query(&redirect_uri, &params),
                    redirect_status,
                    Vec::new(),
                )
            }
        }
        AuthorizeOutcome::Login {
            client_name,
            login_hint,
            branding,
            params,
        } => {
            let social = super::social::links(&proto, &branding, &params);
            let look = Look::new(branding);
            pages::render(
                StatusCode::OK,
                &LoginPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    client_name,
                    error: login_error.as_deref().map(|c| login_message(c).to_string()),
                    action: proto.path("/oauth/login/submit"),
                    csrf,
                    passkey_url: with_query(&proto.path("/oauth/passkey-login"), &params),
                    social,
                    magic_link_action: proto.path("/oauth/magic-link/send"),
                    carried: params,
                    login_hint: login_hint.unwrap_or_default(),
                },
            )
        }
        AuthorizeOutcome::Consent {
            client_name,
            scopes,
            user_email,
            branding,
            params,
        } => {
            let look = Look::new(branding);
            pages::render(
                StatusCode::OK,
                &ConsentPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    client_name,
                    user_email,
                    scopes,
                    action: proto.path("/oauth/authorize"),
                    csrf,
                    carried: params,
                },
            )
        }
        AuthorizeOutcome::SelectOrg {
            client_name,
            user_email,
            options,
            branding,
            params,
        } => {
            let look = Look::new(branding);
            pages::render(
                StatusCode::OK,
                &OrgSelectPage {
                    branding: look.branding,
                    primary_color: look.primary_color,
                    background_color: look.background_color,
                    client_name,
                    user_email,
                    options,
                    action: proto.path("/oauth/org-select"),
                    csrf,
                    carried: params,
                },
            )
        }
    };
    for cookie in cookies {
        response.headers_mut().append(header::SET_COOKIE, cookie);
    }
    response
}
