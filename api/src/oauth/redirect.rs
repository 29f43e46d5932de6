//! Redirects of the hosted pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// `uri` with `params` added to its query.
pub fn with_query(uri: &str, params: &[(String, String)]) -> String {
    let encoded = serde_urlencoded::to_string(params).unwrap_or_default();
    if encoded.is_empty() {
        return uri.to_string();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{encoded}")
}

/// A redirect that also sets cookies.
pub fn redirect_with(location: &str, status: StatusCode, cookies: Vec<HeaderValue>) -> Response {
    let mut response = status.into_response();
    let headers = response.headers_mut();
    match HeaderValue::from_str(location) {
        Ok(value) => {
            headers.insert(header::LOCATION, value);
        }
        Err(_) => return (StatusCode::BAD_REQUEST, "invalid redirect").into_response(),
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for cookie in cookies {
        headers.append(header::SET_COOKIE, cookie);
    }
    response
}
