//! `Ctx`: the org slug, the credential, where the request came from, and the path params.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use lumo_cluster::command::{BadKey, Op};
use lumo_cluster::model::Family;
use lumo_cluster::query::{Query, Reply, Request};
use lumo_cluster::{Credential, RequestContext};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Everything an org-scoped handler needs to call the cluster.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub org: String,
    pub credential: Credential,
    pub context: RequestContext,
    params: Vec<(String, String)>,
}

/// The credential in the headers: `X-API-Key`, `Authorization: ApiKey ...` or `Bearer ...`.
/// When both an API key and a bearer token are sent, the API key is used.
pub fn credential(headers: &HeaderMap) -> Credential {
    if let Some(key) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        let key = key.trim();
        if !key.is_empty() {
            return Credential::ApiKey(key.to_string());
        }
    }
    let Some(auth) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Credential::None;
    };
    let auth = auth.trim();
    let (scheme, value) = auth.split_once(' ').unwrap_or((auth, ""));
    let value = value.trim().to_string();
    match scheme.to_ascii_lowercase().as_str() {
        "apikey" if !value.is_empty() => Credential::ApiKey(value),
        "bearer" if value.starts_with("lmk_") || value.starts_with("agk_") => {
            Credential::ApiKey(value)
        }
        "bearer" if !value.is_empty() => Credential::Bearer(value),
        _ => Credential::None,
    }
}

/// `value` cut to at most `max` bytes, at a character boundary.
fn truncated(value: &str, max: usize) -> &str {
    if value.len() <= max {
        return value;
    }
    let mut end = max;
    while !value.is_char_boundary(end) {
        end -= 1;
    }
    &value[..end]
}

/// Where a request came from, for audit records and the protocols: address, user agent and
/// request id (cut to 512 bytes), and the public base URL it was sent to.
pub(crate) fn request_context(parts: &Parts, state: &AppState) -> RequestContext {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| truncated(v, 512).to_string())
    };
    RequestContext {
        ip: client_ip(parts, state.config.trust_forwarded_for),
        user_agent: header("user-agent"),
        request_id: header("x-request-id"),
        hops: 0,
        origin: Some(crate::oauth::base_url(state, &parts.headers)),
    }
}

fn client_ip(parts: &Parts, trust_forwarded: bool) -> Option<String> {
    if trust_forwarded
        && let Some(first) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
    {
        return Some(first.trim().to_string());
    }
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string())
}

/// The scope family of the routes a router serves. The router attaches it ([`in_family`]) for
/// the credential check made before a body is read; the cluster judges the request again from
/// what it reads or writes.
#[derive(Debug, Clone, Copy)]
pub struct RouteFamily(pub Family);

/// The layer that marks a router's routes as belonging to `family`.
pub fn in_family(family: Family) -> axum::Extension<RouteFamily> {
    axum::Extension(RouteFamily(family))
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Ctx> {
        let raw = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("invalid path: {e}")))?;
        let params: Vec<(String, String)> = raw
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let credential = credential(&parts.headers);
        // Routes without an org in their path (`/api/v1/authz/*`) serve the credential's org.
        let org = match params.iter().find(|(k, _)| k == "org") {
            Some((_, slug)) => slug.clone(),
            None => state.service.org_of_credential(&credential).await?,
        };
        let context = request_context(parts, state);
        // Requests that carry a body have their credential judged before the body is read, so
        // a caller without access learns nothing from validation errors. (The org actor judges
        // every request again; bodiless requests rely on that alone.)
        // Authorization questions are judged by the replica that answers them, in the same
        // round trip.
        let has_body = parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
            || parts
                .headers
                .contains_key(axum::http::header::TRANSFER_ENCODING);
        let writes = matches!(parts.method, Method::POST | Method::PUT | Method::PATCH)
            || (parts.method == Method::DELETE && has_body);
        if writes {
            let RouteFamily(family) = parts
                .extensions
                .get::<RouteFamily>()
                .copied()
                .ok_or_else(|| ApiError::Internal("route without a scope family".into()))?;
            if family != Family::Decisions {
                state.service.admit(&org, &credential, family, true).await?;
            }
        }
        Ok(Ctx {
            state: state.clone(),
            org,
            credential,
            context,
            params,
        })
    }
}

impl Ctx {
    /// A path parameter.
    pub fn param(&self, name: &str) -> ApiResult<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .ok_or_else(|| ApiError::Internal(format!("route without {name}")))
    }

    /// A path parameter parsed into an entity key.
    pub fn key<K: std::str::FromStr<Err = BadKey>>(&self, name: &str) -> ApiResult<K> {
        self.param(name)?
            .parse::<K>()
            .map_err(|BadKey(why)| ApiError::BadRequest(format!("{name}: {why}")))
    }

    /// A numeric path parameter.
    pub fn number(&self, name: &str) -> ApiResult<u64> {
        self.param(name)?
            .parse::<u64>()
            .map_err(|_| ApiError::BadRequest(format!("{name} must be a positive integer")))
    }

    /// `error` (a problem with the request itself), unless the credential is refused first:
    /// questions skip the early credential check for speed, so a malformed one pays for it
    /// here, and a caller without access learns nothing from validation errors.
    pub async fn credential_first(&self, error: ApiError) -> ApiError {
        match self.admit(Family::Decisions, false).await {
            Ok(()) => error,
            Err(refused) => refused,
        }
    }

    /// Judges the credential for `family` (reading, or writing when `write`) before anything
    /// else: for handlers whose first step is not a read or write of the org that would judge it.
    pub async fn admit(&self, family: Family, write: bool) -> ApiResult<()> {
        self.state
            .service
            .admit(&self.org, &self.credential, family, write)
            .await?;
        Ok(())
    }

    /// Sends a request to the org.
    pub async fn call(&self, request: Request) -> ApiResult<Reply> {
        Ok(self
            .state
            .service
            .call(
                &self.org,
                self.credential.clone(),
                request,
                self.context.clone(),
            )
            .await?)
    }

    /// A read.
    pub async fn read(&self, query: Query) -> ApiResult<Reply> {
        self.call(Request::Read(query)).await
    }

    /// A write followed by a read of its result.
    pub async fn write_then(&self, op: Op, then: Query) -> ApiResult<Reply> {
        self.call(Request::Write {
            op,
            then: Some(then),
        })
        .await
    }

    /// A write.
    pub async fn write(&self, op: Op) -> ApiResult<Reply> {
        self.call(Request::Write { op, then: None }).await
    }

    /// A write that creates an entity with an integer id; answers the id.
    pub async fn create_numbered(&self, op: Op) -> ApiResult<u64> {
        let reply = self.write(op).await?;
        let Reply::Done(lumo_cluster::query::Outcome::Created(id)) = reply else {
            return Err(crate::error::ApiError::unexpected(reply));
        };
        id.parse::<u64>()
            .map_err(|_| crate::error::ApiError::Internal(format!("a created id is {id}")))
    }
}
