//! The public AAuth documents (cacheable): issuer metadata and key set under the org and at
//! the instance root (where the org is a template, or `?org=`), and the metadata and key sets
//! of the org's agents and resources.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::oauth::aauth::issuer_metadata;
use lumo_cluster::protocol::{AAuthDocument, ProtocolReply, ProtocolRequest};
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::oauth::proto::{Proto, base_url};
use crate::state::AppState;

const CACHE: &str = "public, max-age=300";

fn cached(doc: Value) -> Response {
    let mut response = Json(doc).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(CACHE));
    response
}

async fn serve(proto: Proto, document: AAuthDocument) -> ApiResult<Response> {
    match proto
        .call(ProtocolRequest::AAuthDocument {
            issuer: proto.issuer.clone(),
            document,
        })
        .await?
    {
        ProtocolReply::Document(doc) => Ok(cached(doc)),
        other => Err(ApiError::unexpected(other)),
    }
}

/// The path parameter `name` of an org route (`{org}` comes first).
fn param(params: &[(String, String)], name: &str) -> ApiResult<String> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .ok_or_else(|| ApiError::Internal(format!("route without {name}")))
}

pub(super) async fn issuer(proto: Proto) -> ApiResult<Response> {
    serve(proto, AAuthDocument::Issuer).await
}

pub(super) async fn issuer_jwks(proto: Proto) -> ApiResult<Response> {
    serve(proto, AAuthDocument::IssuerJwks).await
}

pub(super) async fn agents(proto: Proto) -> ApiResult<Response> {
    serve(proto, AAuthDocument::Agents).await
}

pub(super) async fn resources(proto: Proto) -> ApiResult<Response> {
    serve(proto, AAuthDocument::Resources).await
}

pub(super) async fn agent(
    proto: Proto,
    Path(p): Path<Vec<(String, String)>>,
) -> ApiResult<Response> {
    serve(proto, AAuthDocument::Agent(param(&p, "agentId")?)).await
}

pub(super) async fn agent_jwks(
    proto: Proto,
    Path(p): Path<Vec<(String, String)>>,
) -> ApiResult<Response> {
    serve(proto, AAuthDocument::AgentJwks(param(&p, "agentId")?)).await
}

pub(super) async fn resource(
    proto: Proto,
    Path(p): Path<Vec<(String, String)>>,
) -> ApiResult<Response> {
    serve(proto, AAuthDocument::Resource(param(&p, "resourceId")?)).await
}

pub(super) async fn resource_jwks(
    proto: Proto,
    Path(p): Path<Vec<(String, String)>>,
) -> ApiResult<Response> {
    serve(proto, AAuthDocument::ResourceJwks(param(&p, "resourceId")?)).await
}

#[derive(serde::Deserialize)]
pub struct RootQuery {
    org: Option<String>,
}

/// `GET /.well-known/aauth-issuer`: with `?org=`, that org's document (its issuer is under
/// `/orgs/{org}/api/v1`); without, the instance's, whose endpoints hold `{org}` to fill in.
pub async fn root_issuer(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<RootQuery>,
) -> ApiResult<Response> {
    let base = base_url(&state, &headers);
    match query.org {
        Some(org) if !org.is_empty() && org.len() <= 64 => {
            let issuer = format!("{base}/orgs/{org}/api/v1");
            let reply = state
                .service
                .call(
                    &org,
                    lumo_cluster::Credential::None,
                    lumo_cluster::query::Request::Protocol(ProtocolRequest::AAuthDocument {
                        issuer,
                        document: AAuthDocument::Issuer,
                    }),
                    lumo_cluster::RequestContext::default(),
                )
                .await?;
            match reply {
                lumo_cluster::query::Reply::Protocol(ProtocolReply::Document(doc)) => {
                    Ok(cached(doc))
                }
                other => Err(ApiError::unexpected(other)),
            }
        }
        Some(_) => Err(ApiError::BadRequest(
            "org must be an organization slug".into(),
        )),
        None => {
            let mut doc = issuer_metadata(&format!("{base}/orgs/{{org}}/api/v1"), Vec::new());
            doc["issuer"] = Value::String(base);
            doc["organization_issuer_template"] = Value::String(format!(
                "{}/orgs/{{org}}/api/v1",
                doc["issuer"].as_str().unwrap_or_default()
            ));
            Ok(cached(doc))
        }
    }
}
