//! Protocol parameters: form or JSON bodies and query strings (each parameter at most once,
//! bounded in size), and client authentication (HTTP Basic or the body, never both).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use base64::Engine;
use lumo_cluster::ClusterError;
use lumo_cluster::protocol::{ClientAuth, ErrorCode, Params, TokenTypeHint};
use serde_json::Value;

use super::proto::Proto;
use crate::error::{ApiError, ApiResult};

/// Longest value of one parameter (assertions and subject tokens are the long ones).
pub const MAX_PARAM_BYTES: usize = 16 * 1024;
/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 64;

fn invalid(description: impl Into<String>) -> ApiError {
    ClusterError::oauth(ErrorCode::InvalidRequest, description).into()
}

fn collect(pairs: Vec<(String, String)>) -> ApiResult<Params> {
    if pairs.len() > MAX_PARAMS {
        return Err(invalid(format!("at most {MAX_PARAMS} parameters")));
    }
    let mut params = Params::new();
    for (name, value) in pairs {
        if value.len() > MAX_PARAM_BYTES || name.len() > 100 {
            return Err(invalid(format!("parameter {name} is too long")));
        }
        if params.insert(name.clone(), value).is_some() {
            return Err(invalid(format!("parameter {name} is repeated")));
        }
    }
    Ok(params)
}

/// The parameters a hosted page carries on (the authorization request): all but its own
/// form fields.
pub fn carried(params: &Params, own: &[&str]) -> Vec<(String, String)> {
    params
        .iter()
        .filter(|(k, _)| !own.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The parameters of a query string.
pub fn query(raw: Option<&str>) -> ApiResult<Params> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
        .map_err(|_| invalid("the query string is malformed"))?;
    collect(pairs)
}

/// The media type of `Content-Type`, lowercase, without parameters (`""` when absent).
pub fn media_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The parameters of a form body (or, where `json_too`, a JSON object body).
pub fn body(headers: &HeaderMap, bytes: &Bytes, json_too: bool) -> ApiResult<Params> {
    match media_type(headers).as_str() {
        "application/x-www-form-urlencoded" => {
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes)
                .map_err(|_| invalid("the form body is malformed"))?;
            collect(pairs)
        }
        "application/json" if json_too => {
            let value: Value =
                serde_json::from_slice(bytes).map_err(|_| invalid("the JSON body is malformed"))?;
            let Value::Object(map) = value else {
                return Err(invalid("the JSON body must be an object"));
            };
            let mut pairs = Vec::with_capacity(map.len());
            for (name, value) in map {
                let text = match value {
                    Value::String(s) => s,
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Null => continue,
                    _ => return Err(invalid(format!("parameter {name} must be a string"))),
                };
                pairs.push((name, text));
            }
            collect(pairs)
        }
        "" if bytes.is_empty() => Ok(Params::new()),
        _ => Err(invalid(if json_too {
            "Content-Type must be application/x-www-form-urlencoded or application/json"
        } else {
            "Content-Type must be application/x-www-form-urlencoded"
        })),
    }
}

/// Percent-decoding of the Basic credentials (RFC 6749 section 2.3.1 form-encodes them).
fn form_decode(text: &str) -> ApiResult<String> {
    serde_urlencoded::from_str::<Vec<(String, String)>>(&format!("v={text}"))
        .ok()
        .and_then(|mut v| v.pop())
        .map(|(_, v)| v)
        .ok_or_else(|| ClusterError::invalid_client("malformed Basic credentials").into())
}

/// How the client authenticated: `Authorization: Basic`, or `client_id`/`client_secret` in
/// the body (removed from `params`). Using both is refused.
pub fn client_auth(headers: &HeaderMap, params: &mut Params) -> ApiResult<ClientAuth> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("basic")
                .then(|| rest.trim().to_string())
        });
    let body_secret = params.remove("client_secret");
    match basic {
        Some(encoded) => {
            if body_secret.is_some() {
                return Err(invalid(
                    "send the client secret either with HTTP Basic or in the body, not both",
                ));
            }
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| ClusterError::invalid_client("malformed Basic credentials"))?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(|| ClusterError::invalid_client("malformed Basic credentials"))?;
            let id = form_decode(id)?;
            let secret = form_decode(secret)?;
            if params
                .get("client_id")
                .is_some_and(|body_id| *body_id != id)
            {
                return Err(invalid("client_id in the body differs from HTTP Basic"));
            }
            Ok(ClientAuth {
                client_id: Some(id),
                secret: Some(secret),
                method: "client_secret_basic".into(),
            })
        }
        None => {
            let method = if body_secret.is_some() {
                "client_secret_post"
            } else {
                "none"
            };
            Ok(ClientAuth {
                client_id: params.get("client_id").cloned(),
                secret: body_secret,
                method: method.into(),
            })
        }
    }
}

/// The body bytes, or 413 when over the limit.
pub fn bytes(body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("cannot read the body: {e}"))
        }
    })
}

/// The parameters of a protocol request and the client authentication it carries (HTTP Basic
/// or the body).
pub fn authenticated_params(
    proto: &Proto,
    body: Result<Bytes, BytesRejection>,
    json_too: bool,
) -> ApiResult<(Params, ClientAuth)> {
    let mut params = self::body(&proto.headers, &bytes(body)?, json_too)?;
    let client = client_auth(&proto.headers, &mut params)?;
    Ok((params, client))
}

/// The `token` (required) and `token_type_hint` of introspection and revocation.
pub fn token_and_hint(params: &mut Params) -> ApiResult<(String, Option<TokenTypeHint>)> {
    let token = params
        .remove("token")
        .ok_or_else(|| invalid("token is required"))?;
    let hint = params
        .remove("token_type_hint")
        .as_deref()
        .and_then(TokenTypeHint::parse);
    Ok((token, hint))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn form(text: &'static str) -> (HeaderMap, Bytes) {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        (headers, Bytes::from_static(text.as_bytes()))
    }

    #[test]
    fn repeated_parameters_are_refused() {
        let (headers, bytes) = form("a=1&a=2");
        assert!(body(&headers, &bytes, false).is_err());
        let (headers, bytes) = form("a=1&b=x%20y");
        let params = body(&headers, &bytes, false).expect("params");
        assert_eq!(params.get("b").map(String::as_str), Some("x y"));
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_exclusive() {
        let mut headers = HeaderMap::new();
        let encoded = base64::engine::general_purpose::STANDARD.encode("my%20client:s%3Acret");
        headers.insert(
            header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {encoded}")).expect("header"),
        );
        let mut params = Params::new();
        let auth = client_auth(&headers, &mut params).expect("auth");
        assert_eq!(auth.client_id.as_deref(), Some("my client"));
        assert_eq!(auth.secret.as_deref(), Some("s:cret"));
        params.insert("client_secret".into(), "x".into());
        assert!(client_auth(&headers, &mut params).is_err());
    }

    #[test]
    fn json_bodies_only_where_allowed() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let bytes = Bytes::from_static(br#"{"grant_type":"client_credentials","n":3}"#);
        assert!(body(&headers, &bytes, false).is_err());
        let params = body(&headers, &bytes, true).expect("json");
        assert_eq!(params.get("n").map(String::as_str), Some("3"));
    }
}
