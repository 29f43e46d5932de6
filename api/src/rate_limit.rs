//! The `X-RateLimit-*` headers: every request runs inside a quota slot, which the node that
//! counted it (this one, or the one it was forwarded to) fills with the caller's quota.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use lumo_cluster::rate_limit::with_slot;

static LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
static REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");
static RESET: HeaderName = HeaderName::from_static("x-ratelimit-reset");

/// Runs the request in a quota slot and reports the quota in the response headers.
pub async fn quota_headers(request: Request, next: Next) -> Response {
    let (mut response, quota) = with_slot(next.run(request)).await;
    if let Some(quota) = quota {
        let headers = response.headers_mut();
        headers.insert(LIMIT.clone(), HeaderValue::from(quota.limit));
        headers.insert(REMAINING.clone(), HeaderValue::from(quota.remaining));
        headers.insert(RESET.clone(), HeaderValue::from(quota.reset));
    }
    response
}
