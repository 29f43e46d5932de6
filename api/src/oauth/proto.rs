//! `Proto`: what a protocol handler needs (org, issuer, caller address, cookies) and how it
//! calls the org's authorization server. Protocol endpoints authenticate their own callers, so
//! there is no early credential check here.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use lumo_cluster::protocol::{Branding, Params, ProtocolReply, ProtocolRequest};
use lumo_cluster::query::{Reply, Request};
use lumo_cluster::{Credential, RequestContext};

use super::browser::{Browser, CookieJar};
use super::pages::Look;
use crate::error::{ApiError, ApiResult};
use crate::extract::ctx::request_context;
use crate::state::AppState;

pub struct Proto {
    pub state: AppState,
    pub org: String,
    pub context: RequestContext,
    /// `<public base>/orgs/{org}/api/v1`.
    pub issuer: String,
    pub browser: Browser,
    pub headers: HeaderMap,
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The public base URL: configured, or from the request (`X-Forwarded-*` only when trusted).
pub(crate) fn base_url(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.config.public_url {
        return url.clone();
    }
    let trusted = state.config.trust_forwarded_for;
    let scheme = header(headers, "x-forwarded-proto")
        .filter(|_| trusted)
        .map(|p| p.split(',').next().unwrap_or("http").trim())
        .filter(|p| *p == "https" || *p == "http")
        .unwrap_or("http");
    let host = header(headers, "x-forwarded-host")
        .filter(|_| trusted)
        .or_else(|| header(headers, "host"))
        .map(|h| h.split(',').next().unwrap_or("").trim())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.:[]".contains(c))
        })
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

impl FromRequestParts<AppState> for Proto {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Proto> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("invalid path: {e}")))?;
        let org = raw
            .iter()
            .find(|(k, _)| *k == "org")
            .map(|(_, v)| v.to_string())
            .ok_or_else(|| ApiError::Internal("route without org".into()))?;
        let context = request_context(parts, state);
        let base = context.origin.as_deref().unwrap_or_default();
        let issuer = format!("{base}/orgs/{org}/api/v1");
        Ok(Proto {
            state: state.clone(),
            browser: Browser::from_headers(&parts.headers),
            headers: parts.headers.clone(),
            org,
            context,
            issuer,
        })
    }
}

impl Proto {
    /// Sends `request` to the org's authorization server.
    pub async fn call(&self, request: ProtocolRequest) -> ApiResult<ProtocolReply> {
        let reply = self
            .state
            .service
            .call(
                &self.org,
                Credential::None,
                Request::Protocol(request),
                self.context.clone(),
            )
            .await?;
        match reply {
            Reply::Protocol(reply) => Ok(reply),
            other => Err(ApiError::unexpected(other)),
        }
    }

    /// The path of an org route (for form actions and redirects to ourselves).
    pub fn path(&self, route: &str) -> String {
        format!("/orgs/{}/api/v1{route}", self.org)
    }

    /// The absolute URL of an org route.
    pub fn url(&self, route: &str) -> String {
        format!("{}{route}", self.issuer)
    }

    /// How cookies are written for this org.
    pub fn jar(&self) -> CookieJar {
        CookieJar {
            path: format!("/orgs/{}/", self.org),
            secure: self.issuer.starts_with("https://"),
        }
    }

    /// The caller's address (for throttling).
    pub fn ip(&self) -> String {
        self.context.ip.clone().unwrap_or_else(|| "unknown".into())
    }

    /// The org's branding (a generic look when the org cannot be reached).
    /// The parameters of a browser's form post (400 when malformed, 413 when too large).
    pub fn form(&self, body: Result<Bytes, BytesRejection>) -> ApiResult<Params> {
        super::params::body(&self.headers, &super::params::bytes(body)?, false)
    }

    pub async fn look(&self) -> Look {
        let branding = match self.call(ProtocolRequest::Branding).await {
            Ok(ProtocolReply::Branding(b)) => b,
            _ => Branding {
                org_name: self.org.clone(),
                primary_color: "#4f46e5".into(),
                background_color: "#f8fafc".into(),
                button_text: "Sign in".into(),
                ..Branding::default()
            },
        };
        Look::new(branding)
    }
}
