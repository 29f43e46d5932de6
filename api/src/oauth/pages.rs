//! The hosted pages (askama templates in `api/templates`, HTML-escaped), with the security
//! headers every page gets.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use lumo_cluster::protocol::{ApprovalView, Branding, CibaView, JitReviewView};

/// A CSS color from settings, or `fallback` when it could break out of the style sheet.
fn css_color(value: &str, fallback: &str) -> String {
    let hex = value.len() <= 9
        && value.starts_with('#')
        && value[1..].chars().all(|c| c.is_ascii_hexdigit());
    let named =
        !value.is_empty() && value.len() <= 20 && value.chars().all(|c| c.is_ascii_alphabetic());
    if hex || named {
        value.to_string()
    } else {
        fallback.to_string()
    }
}

/// Branding plus the colors made safe for CSS.
pub struct Look {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
}

impl Look {
    pub fn new(branding: Branding) -> Self {
        Look {
            primary_color: css_color(&branding.primary_color, "#4f46e5"),
            background_color: css_color(&branding.background_color, "#f8fafc"),
            branding,
        }
    }
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub client_name: String,
    pub error: Option<String>,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
    pub login_hint: String,
    /// Passwordless passkey sign-in (`~/oauth/passkey-login`, carrying the request).
    pub passkey_url: String,
    /// Sign in through the org's social providers: (URL carrying the request, label).
    pub social: Vec<(String, String)>,
    /// Where the sign-in link form posts (`~/oauth/magic-link/send`).
    pub magic_link_action: String,
}

/// A passwordless passkey sign-in: the page asks the browser for a passkey at once.
#[derive(Template)]
#[template(path = "passkey.html")]
pub struct PasskeyPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
    pub ceremony: String,
    /// The WebAuthn request options, JSON.
    pub options: String,
    /// Back to the password form.
    pub password_url: String,
}

/// The second factor of a hosted sign-in: a code form, or an authenticator app to enroll.
#[derive(Template)]
#[template(path = "mfa.html")]
pub struct MfaPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub email: String,
    pub error: Option<String>,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
    /// What to type the code from ("Authenticator app").
    pub factor_name: String,
    pub trusted_device_days: i64,
    /// Enrollment: the pending authenticator, its QR code and its key.
    pub enroll: Option<MfaEnrollView>,
    /// The factor asked for is a passkey: the WebAuthn request options, JSON.
    pub passkey_options: Option<String>,
}

impl MfaPage {
    /// The page asks for a code (not while it enrolls a passkey).
    pub fn shows_code_form(&self) -> bool {
        self.enroll
            .as_ref()
            .is_none_or(|e| e.passkey_options.is_none())
    }
}

pub struct MfaEnrollView {
    pub authenticator_id: String,
    pub qr_data_uri: String,
    pub secret_grouped: String,
    /// A passkey to create instead of an app: the WebAuthn creation options, JSON.
    pub passkey_options: Option<String>,
}

#[derive(Template)]
#[template(path = "consent.html")]
pub struct ConsentPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub client_name: String,
    pub user_email: String,
    pub scopes: Vec<String>,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "org_select.html")]
pub struct OrgSelectPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub client_name: String,
    pub user_email: String,
    pub options: Vec<lumo_cluster::protocol::OrgOption>,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub heading: String,
    pub message: String,
    pub is_error: bool,
    pub code: Option<String>,
}

/// The page an emailed link opens: a confirmation (and, for a reset, the new password).
#[derive(Template)]
#[template(path = "email_link.html")]
pub struct EmailLinkPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub heading: String,
    pub message: String,
    pub error: Option<String>,
    pub action: String,
    pub csrf: String,
    pub token: String,
    pub ask_name: bool,
    pub ask_password: bool,
    pub button: String,
}

#[derive(Template)]
#[template(path = "form_post.html")]
pub struct FormPostPage {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "device.html")]
pub struct DevicePage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub user_code: String,
    pub error: Option<String>,
    /// Set once the code is known and the user is signed in: the confirmation step.
    pub client_name: Option<String>,
    pub user_email: String,
    pub scopes: Vec<String>,
}

#[derive(Template)]
#[template(path = "logout.html")]
pub struct LogoutPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub carried: Vec<(String, String)>,
}

#[derive(Template)]
#[template(path = "ciba.html")]
pub struct CibaPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub user_email: String,
    pub notice: Option<String>,
    pub requests: Vec<CibaView>,
}

#[derive(Template)]
#[template(path = "approvals.html")]
pub struct ApprovalsPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub user_email: String,
    pub notice: Option<String>,
    pub approvals: Vec<ApprovalView>,
}

#[derive(Template)]
#[template(path = "jit_review.html")]
pub struct JitReviewPage {
    pub branding: Branding,
    pub primary_color: String,
    pub background_color: String,
    pub action: String,
    pub csrf: String,
    pub user_email: String,
    pub notice: Option<String>,
    pub requests: Vec<JitReviewView>,
}

#[derive(Template)]
#[template(path = "check_session.html")]
pub struct CheckSessionPage;

/// Renders `page` with `status`, no caching, and headers that keep it out of frames.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    render_with(status, page, true)
}

/// Like [`render`]; `deny_frames: false` for the session-check iframe, which RPs embed.
pub fn render_with(status: StatusCode, page: &impl Template, deny_frames: bool) -> Response {
    let body = match page.render() {
        Ok(body) => body,
        Err(e) => {
            tracing::error!(error = %e, "page rendering failed");
            return (StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed").into_response();
        }
    };
    let mut response = (status, Html(body)).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if deny_frames {
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:; \
                 form-action *; frame-ancestors 'none'; script-src 'unsafe-inline'",
            ),
        );
    }
    response
}

/// A message page (errors and confirmations).
pub fn message(
    status: StatusCode,
    look: Look,
    heading: &str,
    message: &str,
    code: Option<&str>,
) -> Response {
    render(
        status,
        &MessagePage {
            branding: look.branding,
            primary_color: look.primary_color,
            background_color: look.background_color,
            heading: heading.to_string(),
            message: message.to_string(),
            is_error: status.is_client_error() || status.is_server_error(),
            code: code.map(str::to_string),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colors_that_could_escape_css_are_replaced() {
        assert_eq!(css_color("#12abEF", "x"), "#12abEF");
        assert_eq!(css_color("rebeccapurple", "x"), "rebeccapurple");
        assert_eq!(css_color("red;}</style><script>", "x"), "x");
        assert_eq!(css_color("#zzz", "x"), "x");
    }

    #[test]
    fn pages_escape_what_users_and_admins_typed() {
        let page = LoginPage {
            branding: Branding {
                org_name: "<Acme>".into(),
                passkey_sign_in: true,
                ..Branding::default()
            },
            primary_color: "#000".into(),
            background_color: "#fff".into(),
            client_name: "\"><script>alert(1)</script>".into(),
            error: Some("<b>bad</b>".into()),
            action: "/x".into(),
            csrf: "c".into(),
            carried: vec![("state".into(), "\"><img src=x>".into())],
            login_hint: "a@b.c".into(),
            passkey_url: "/p?a=\"><script>alert(2)</script>".into(),
            social: vec![(
                "/s?x=\"><script>alert(3)</script>".into(),
                "<i>Corp</i>".into(),
            )],
            magic_link_action: "/m".into(),
        };
        let html = page.render().expect("render");
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<b>bad</b>"));
        assert!(!html.contains("\"><img"));
        assert!(!html.contains("<Acme>"));
        assert!(!html.contains("<i>Corp</i>"));
        assert!(html.contains("&#60;Acme&#62;") || html.contains("&lt;Acme&gt;"));
    }
}
