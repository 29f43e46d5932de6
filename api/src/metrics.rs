//! Prometheus: each HTTP request recorded by its route family (from the matched route
//! template, so label values are bounded by the routes, never by what a client sends), method
//! and status; `GET /metrics` on the admin listener answers the node's text exposition.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, RwLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use lumo_cluster::metrics::{HttpLabels, Shared};

use crate::state::AppState;

/// The family of a route template: its first two literal segments after the org prefix,
/// `admin_users` for `/orgs/{org}/api/v1/admin/users/{userId}`, `oauth_token`, `saml_idp`.
pub fn route_family(template: &str) -> String {
    let rest = template
        .strip_prefix("/orgs/{org}/api/v1/")
        .or_else(|| template.strip_prefix("/orgs/{org}/"))
        .or_else(|| template.strip_prefix("/api/v1/"))
        .unwrap_or(template);
    let parts: Vec<&str> = rest
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{') && !s.starts_with('.'))
        .take(2)
        .collect();
    if parts.is_empty() {
        return "root".into();
    }
    parts.join("_").replace(['-', '.'], "_")
}

/// Label values by route template and method: as many as the routes, made once each.
static LABELS: LazyLock<RwLock<HashMap<String, Arc<str>>>> = LazyLock::new(RwLock::default);

/// The shared label value for `key`, made with `make` the first time.
fn shared(key: &str, make: impl FnOnce() -> String) -> Shared {
    if let Some(found) = LABELS.read().ok().and_then(|m| m.get(key).cloned()) {
        return Shared(found);
    }
    let value: Arc<str> = Arc::from(make());
    if let Ok(mut labels) = LABELS.write() {
        labels.insert(key.to_string(), value.clone());
    }
    Shared(value)
}

/// Records one request (layered with `route_layer`, so only matched routes count).
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let family = match request.extensions().get::<MatchedPath>() {
        Some(path) => shared(path.as_str(), || route_family(path.as_str())),
        None => shared("", || "unmatched".to_string()),
    };
    // Methods a client invents would make label values without end.
    let method = match request.method().as_str() {
        known @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => {
            shared(known, || known.to_string())
        }
        _ => shared("OTHER", || "OTHER".to_string()),
    };
    let started = Instant::now();
    let response = next.run(request).await;
    let labels = HttpLabels {
        family,
        method,
        status: response.status().as_u16(),
    };
    state
        .service
        .metrics()
        .http_request(labels, started.elapsed().as_secs_f64());
    response
}

/// `GET /metrics` (admin listener; keep that listener private).
pub async fn exposition(State(state): State<AppState>) -> Response {
    state
        .service
        .metrics()
        .hashing_slots_free(state.hashing.available_permits());
    let mut response = state.service.metrics_text().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::route_family;

    #[test]
    fn families_come_from_the_route_template() {
        assert_eq!(
            route_family("/orgs/{org}/api/v1/admin/users/{userId}"),
            "admin_users"
        );
        assert_eq!(
            route_family("/orgs/{org}/api/v1/oauth/token"),
            "oauth_token"
        );
        assert_eq!(
            route_family("/orgs/{org}/api/v1/admin/email-templates"),
            "admin_email_templates"
        );
        assert_eq!(route_family("/orgs/{org}/saml/idp/sso"), "saml_idp");
        assert_eq!(route_family("/api/v1/authz/check"), "authz_check");
        assert_eq!(route_family("/healthz"), "healthz");
        assert_eq!(
            route_family("/orgs/{org}/api/v1/.well-known/openid-configuration"),
            "openid_configuration"
        );
    }
}
