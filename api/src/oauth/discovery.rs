//! Discovery documents (OIDC Discovery 1.0, RFC 8414): public, CORS-enabled, cacheable.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use lumo_cluster::protocol::scopes::IDENTITY_SCOPES;
use lumo_cluster::protocol::{GRANT_TYPES, ProtocolReply, ProtocolRequest};
use serde_json::{Value, json};

use super::proto::Proto;
use crate::error::ApiResult;

const CLAIMS: &[&str] = &[
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "acr",
    "amr",
    "nonce",
    "sid",
    "at_hash",
    "azp",
    "name",
    "given_name",
    "family_name",
    "preferred_username",
    "picture",
    "locale",
    "zoneinfo",
    "updated_at",
    "email",
    "email_verified",
    "phone_number",
    "phone_number_verified",
];
const AUTH_METHODS: &[&str] = &["client_secret_basic", "client_secret_post", "none"];
const ALGS: &[&str] = &["RS256", "ES256", "EdDSA"];

/// Public and cacheable, from any origin.
pub(crate) fn public(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// The endpoints and capabilities both documents share.
fn common(proto: &Proto) -> Value {
    json!({
        "issuer": proto.issuer,
        "authorization_endpoint": proto.url("/oauth/authorize"),
        "token_endpoint": proto.url("/oauth/token"),
        "jwks_uri": proto.url("/.well-known/jwks.json"),
        "registration_endpoint": proto.url("/connect/register"),
        "scopes_supported": IDENTITY_SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": GRANT_TYPES,
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint": proto.url("/oauth/revoke"),
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint": proto.url("/oauth/introspect"),
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": true,
        "require_request_uri_registration": false,
        "pushed_authorization_request_endpoint": proto.url("/oauth/par"),
        "require_pushed_authorization_requests": false,
        "device_authorization_endpoint": proto.url("/oauth/device_authorization"),
        "backchannel_authentication_endpoint": proto.url("/oauth/bc-authorize"),
        "backchannel_token_delivery_modes_supported": ["poll"],
        "backchannel_user_code_parameter_supported": false,
        "ui_locales_supported": ["en"],
    })
}

/// Whether the org accepts Client ID Metadata Documents (its `cimd_enabled` setting).
async fn accepts_metadata_documents(proto: &Proto) -> bool {
    let request = ProtocolRequest::MetadataClientPolicy {
        client_id: String::new(),
    };
    matches!(
        proto.call(request).await,
        Ok(ProtocolReply::Document(state)) if state["cimd_enabled"] == true
    )
}

/// 404 for organizations that do not exist.
async fn known_org(proto: &Proto) -> ApiResult<()> {
    proto.state.service.active_org(&proto.org).await?;
    Ok(())
}

/// `GET ~/.well-known/openid-configuration`.
pub async fn openid_configuration(proto: Proto) -> Response {
    if let Err(e) = known_org(&proto).await {
        return e.into_response();
    }
    let mut doc = common(&proto);
    doc["client_id_metadata_document_supported"] = json!(accepts_metadata_documents(&proto).await);
    let extra = json!({
        "userinfo_endpoint": proto.url("/oauth/userinfo"),
        "end_session_endpoint": proto.url("/oauth/logout"),
        "check_session_iframe": proto.url("/oauth/check_session"),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ALGS,
        "claims_supported": CLAIMS,
        "acr_values_supported": [
            lumo_cluster::model::mfa::ACR_PASSWORD,
            lumo_cluster::model::mfa::ACR_MFA,
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "resource_indicators_supported": true,
        "frontchannel_logout_supported": false,
        "frontchannel_logout_session_supported": false,
        "backchannel_logout_supported": false,
        "backchannel_logout_session_supported": false,
    });
    if let (Value::Object(doc), Value::Object(extra)) = (&mut doc, extra) {
        doc.extend(extra);
    }
    public(Json(doc).into_response())
}

/// `GET ~/.well-known/oauth-authorization-server`.
pub async fn authorization_server(proto: Proto) -> Response {
    if let Err(e) = known_org(&proto).await {
        return e.into_response();
    }
    let mut doc = common(&proto);
    doc["client_id_metadata_document_supported"] = json!(accepts_metadata_documents(&proto).await);
    public(Json(doc).into_response())
}
