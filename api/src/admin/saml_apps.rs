//! `~/admin/saml/apps` (scope `admin:settings`, an extension of the contract): the service
//! providers users sign in to through the org's SAML identity provider, registered from their
//! metadata XML or from fields; and `~/admin/saml/idp`, what to give a service provider (the
//! IdP's entity id, endpoints and signing certificate).

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumo_cluster::ClusterError;
use lumo_cluster::command::{Op, SamlAppFields, SamlAppMore, SamlWrite};
use lumo_cluster::ids::SamlAppId;
use lumo_cluster::model::{ATTRIBUTE_SOURCES, NAME_ID_FORMATS, SamlApp};
use lumo_cluster::oauth::saml::{certificate_pem, sp_metadata};
use lumo_cluster::protocol::{ProtocolReply, ProtocolRequest, SamlOutcome, SamlStep};
use lumo_cluster::query::{Query, Reply, Request};
use serde_json::{Map, Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::base_url;
use crate::reply;
use crate::state::AppState;

const MAX_ACS: usize = 20;
const MAX_ATTRIBUTES: usize = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/saml/apps", get(list).post(create))
        .route(
            "/admin/saml/apps/{appId}",
            get(show).put(update).patch(update).delete(remove),
        )
        .route("/admin/saml/idp", get(idp))
}

fn idp_base(ctx: &Ctx, headers: &HeaderMap) -> String {
    format!(
        "{}/orgs/{}/saml/idp",
        base_url(&ctx.state, headers),
        ctx.org
    )
}

fn app_json(app: &SamlApp, idp_base: &str) -> Value {
    let mapping: Map<String, Value> = app
        .attribute_mapping
        .iter()
        .map(|(name, source)| (name.clone(), json!(source)))
        .collect();
    json!({
        "id": app.id.0,
        "name": app.name,
        "entityId": app.entity_id,
        "acsUrls": app.acs_urls,
        "sloUrl": app.slo_url,
        "nameIdFormat": app.name_id_format,
        "signResponse": app.sign_response,
        "signAssertion": app.sign_assertion,
        "wantAuthnRequestsSigned": app.want_authn_requests_signed,
        "spCertificate": app.sp_certificate.as_deref().map(certificate_pem),
        "allowIdpInitiated": app.allow_idp_initiated,
        "defaultRelayState": app.default_relay_state,
        "attributeMapping": mapping,
        "enabled": app.enabled,
        "encryptAssertions": app.encryption_certificate.is_some(),
        "encryptionCertificate": app.encryption_certificate.as_deref().map(certificate_pem),
        "idpInitiatedUrl": format!("{idp_base}/init/{}", app.id.0),
        "createdAt": app.created_at.to_rfc3339(),
        "updatedAt": app.updated_at.to_rfc3339(),
    })
}

/// The path's id; one that is no number names no app (answered after the credential check,
/// like any unknown id).
pub(super) async fn path_id(ctx: &Ctx, name: &str, probe: Query, what: &str) -> ApiResult<u64> {
    let raw = ctx.param(name)?;
    if let Ok(id) = raw.parse::<u64>() {
        return Ok(id);
    }
    match ctx.read(probe).await {
        Err(e) if !matches!(e, ApiError::Cluster(ClusterError::NotFound { .. })) => Err(e),
        _ => Err(ApiError::Cluster(ClusterError::not_found(what, raw))),
    }
}

async fn app_id(ctx: &Ctx) -> ApiResult<SamlAppId> {
    path_id(ctx, "appId", Query::SamlApp(SamlAppId(0)), "SAML app")
        .await
        .map(SamlAppId)
}

/// A browser destination: an absolute http(s) URL.
pub(super) fn is_browser_url(url: &str) -> bool {
    url.len() <= 2048
        && reqwest::Url::parse(url)
            .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host().is_some())
}

pub(super) fn url_field(body: &mut Body, field: &str) -> Option<Option<String>> {
    let value = body.nullable_str(field, 2048);
    if let Some(Some(url)) = &value
        && !is_browser_url(url)
    {
        body.problem(field, "must be an absolute http(s) URL");
        return None;
    }
    value
}

fn acs_field(body: &mut Body) -> Option<Vec<String>> {
    let urls = match body.raw("acsUrl") {
        Some(Value::String(url)) if !body.has("acsUrls") => Some(vec![url.trim().to_string()]),
        _ => body.str_list("acsUrls", MAX_ACS),
    }?;
    if urls.is_empty() {
        body.problem("acsUrls", "must name at least one URL");
        return None;
    }
    if let Some(bad) = urls.iter().find(|u| !is_browser_url(u)) {
        body.problem("acsUrls", format!("{bad} is not an absolute http(s) URL"));
        return None;
    }
    Some(urls)
}

/// A certificate as PEM or base64 DER; answers base64 DER.
pub(super) fn certificate_text(text: &str) -> Option<String> {
    let body: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    let der = STANDARD.decode(body.as_bytes()).ok()?;
    // A DER certificate is a SEQUENCE.
    (der.len() > 100 && der.len() < 16_384 && der[0] == 0x30).then_some(body)
}

fn certificate_field(body: &mut Body, field: &str) -> Option<Option<String>> {
    match body.nullable_str(field, 16_384)? {
        None => Some(None),
        Some(text) => match certificate_text(&text) {
            Some(der) => Some(Some(der)),
            None => {
                body.problem(field, "must be an X.509 certificate (PEM or base64 DER)");
                None
            }
        },
    }
}

/// Assertion encryption: `encryptAssertions` with `encryptionCertificate` (or the encryption
/// key of `metadataXml`); `has_one` says whether the app already has a certificate.
fn encryption_fields(body: &mut Body, from_metadata: Option<String>, has_one: bool) -> SamlAppMore {
    let certificate = certificate_field(body, "encryptionCertificate");
    let encryption_certificate = match body.opt_bool("encryptAssertions") {
        Some(false) => Some(None),
        Some(true) => match certificate.clone().flatten().or(from_metadata) {
            Some(der) => Some(Some(der)),
            None if has_one && certificate.is_none() => None,
            None => {
                body.problem(
                    "encryptionCertificate",
                    "is required to encrypt assertions (or give metadataXml with an encryption key)",
                );
                None
            }
        },
        None => certificate,
    };
    SamlAppMore {
        encryption_certificate,
    }
}

fn mapping_field(body: &mut Body) -> Option<Vec<(String, String)>> {
    let map = match body.raw("attributeMapping")? {
        Value::Object(map) => map.clone(),
        Value::Null => return Some(Vec::new()),
        _ => {
            body.problem(
                "attributeMapping",
                "must be an object of attribute name to source",
            );
            return None;
        }
    };
    if map.len() > MAX_ATTRIBUTES {
        body.problem(
            "attributeMapping",
            format!("may name at most {MAX_ATTRIBUTES} attributes"),
        );
        return None;
    }
    let mut out = Vec::new();
    for (name, source) in map {
        let source = source.as_str().unwrap_or_default();
        if name.is_empty() || name.len() > 256 {
            body.problem("attributeMapping", "attribute names are 1-256 characters");
            return None;
        }
        if !ATTRIBUTE_SOURCES.contains(&source) {
            body.problem(
                "attributeMapping",
                format!(
                    "{name}: the source must be one of {}",
                    ATTRIBUTE_SOURCES.join(", ")
                ),
            );
            return None;
        }
        out.push((name, source.to_string()));
    }
    Some(out)
}

/// The body's fields, over what `metadataXml` says (explicit fields win); `has_encryption`
/// says whether the app already encrypts.
fn read_fields(body: &mut Body, has_encryption: bool) -> (SamlAppFields, SamlAppMore) {
    let mut fields = SamlAppFields::default();
    let mut metadata_encryption = None;
    if let Some(xml) = body.opt_str("metadataXml", 256 * 1024) {
        match sp_metadata(&xml) {
            Ok(metadata) => {
                metadata_encryption = metadata.encryption_certificate;
                fields.entity_id = Some(metadata.entity_id);
                fields.acs_urls = Some(metadata.acs_urls);
                fields.slo_url = Some(metadata.slo_url);
                fields.sp_certificate = metadata.certificate.map(Some);
                fields.want_authn_requests_signed = metadata.authn_requests_signed;
                fields.name_id_format = metadata.name_id_format;
            }
            Err(why) => body.problem("metadataXml", format!("the metadata {why}")),
        }
    }
    let name_id_format = body.opt_str("nameIdFormat", 20);
    if let Some(format) = &name_id_format
        && !NAME_ID_FORMATS.contains(&format.as_str())
    {
        body.problem(
            "nameIdFormat",
            format!("must be one of {}", NAME_ID_FORMATS.join(", ")),
        );
    }
    let explicit = SamlAppFields {
        name: body.opt_str("name", 100),
        entity_id: body.opt_str("entityId", 1024),
        acs_urls: acs_field(body),
        slo_url: url_field(body, "sloUrl"),
        name_id_format,
        sign_response: body.opt_bool("signResponse"),
        sign_assertion: body.opt_bool("signAssertion"),
        want_authn_requests_signed: body.opt_bool("wantAuthnRequestsSigned"),
        sp_certificate: certificate_field(body, "spCertificate"),
        allow_idp_initiated: body.opt_bool("allowIdpInitiated"),
        default_relay_state: body.nullable_str("defaultRelayState", 1024),
        attribute_mapping: mapping_field(body),
        enabled: body.opt_bool("enabled"),
    };
    macro_rules! over {
        ($($field:ident),*) => {
            $(if explicit.$field.is_some() { fields.$field = explicit.$field; })*
        };
    }
    over!(
        name,
        entity_id,
        acs_urls,
        slo_url,
        name_id_format,
        sign_response,
        sign_assertion,
        want_authn_requests_signed,
        sp_certificate,
        allow_idp_initiated,
        default_relay_state,
        attribute_mapping,
        enabled
    );
    if fields.sign_response == Some(false) && fields.sign_assertion == Some(false) {
        body.problem(
            "signResponse",
            "the response or the assertion (or both) must be signed",
        );
    }
    let more = encryption_fields(body, metadata_encryption, has_encryption);
    (fields, more)
}

async fn list(ctx: Ctx, headers: HeaderMap, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&[])?;
    let page = reply!(
        ctx.read(Query::SamlApps(params.page)).await?,
        Reply::SamlApps
    );
    let base = idp_base(&ctx, &headers);
    let items = page.items.iter().map(|app| app_json(app, &base)).collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("saml_app"),
    ))
}

async fn create(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let (fields, more) = read_fields(&mut body, false);
    if fields.name.is_none() {
        body.problem("name", "is required");
    }
    // Metadata that could not be read has its own problem; the fields it would give are not
    // reported missing as well.
    if !body.has("metadataXml") {
        if fields.entity_id.is_none() {
            body.problem("entityId", "is required (or give metadataXml)");
        }
        if fields.acs_urls.is_none() {
            body.problem("acsUrls", "is required (or give metadataXml)");
        }
    }
    body.finish()?;
    let id = ctx
        .create_numbered(Op::Saml(SamlWrite::CreateAppWithMore(
            Box::new(fields),
            Box::new(more),
        )))
        .await?;
    let app = reply!(
        ctx.read(Query::SamlApp(SamlAppId(id))).await?,
        Reply::SamlApp
    );
    Ok(envelope::created(
        app_json(&app, &idp_base(&ctx, &headers)),
        "SAML app created",
    ))
}

async fn show(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let id = app_id(&ctx).await?;
    let app = reply!(ctx.read(Query::SamlApp(id)).await?, Reply::SamlApp);
    Ok(envelope::data(app_json(&app, &idp_base(&ctx, &headers))))
}

/// PUT and PATCH: the fields sent change, the rest stay.
async fn update(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let id = app_id(&ctx).await?;
    let current = reply!(ctx.read(Query::SamlApp(id)).await?, Reply::SamlApp);
    let mut body = Body::new(json);
    let (fields, more) = read_fields(&mut body, current.encryption_certificate.is_some());
    body.finish()?;
    let op = Op::Saml(SamlWrite::UpdateAppWithMore {
        id,
        fields: Box::new(fields),
        more: Box::new(more),
    });
    let app = reply!(
        ctx.write_then(op, Query::SamlApp(id)).await?,
        Reply::SamlApp
    );
    Ok(envelope::data_message(
        app_json(&app, &idp_base(&ctx, &headers)),
        "SAML app updated",
    ))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let id = app_id(&ctx).await?;
    ctx.write(Op::Saml(SamlWrite::DeleteApp(id))).await?;
    Ok(envelope::message("SAML app deleted"))
}

/// `GET ~/admin/saml/idp`.
async fn idp(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let base = idp_base(&ctx, &headers);
    let request = ProtocolRequest::Saml(SamlStep::Describe {
        credential: ctx.credential.clone(),
        idp_base: base.clone(),
    });
    let view = match ctx.call(Request::Protocol(request)).await? {
        Reply::Protocol(ProtocolReply::Saml(SamlOutcome::Described(view))) => view,
        other => return Err(ApiError::unexpected(other)),
    };
    Ok(envelope::data(json!({
        "entityId": view.entity_id,
        "metadataUrl": format!("{base}/metadata"),
        "ssoUrl": format!("{base}/sso"),
        "sloUrl": format!("{base}/slo"),
        "certificate": view.certificate,
        "certificateNotAfter": view.not_after.to_rfc3339(),
        "nameIdFormats": NAME_ID_FORMATS,
        "attributeSources": ATTRIBUTE_SOURCES,
    })))
}
