//! `~/admin/saml/idps` (scope `admin:settings`, an extension of the contract): the upstream
//! SAML identity providers users sign in through (service provider mode,
//! `/orgs/{org}/saml/sp/login/{idpId}`), registered from their metadata XML or from fields.

use axum::Router;
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use lumo_cluster::command::{Op, SamlIdpFields, SamlIdpMore, SamlWrite};
use lumo_cluster::model::SamlIdp;
use lumo_cluster::oauth::saml::{certificate_pem, upstream_metadata};
use lumo_cluster::query::{Query, Reply};
use serde_json::{Map, Value, json};

use super::saml_apps::{certificate_text, is_browser_url, path_id, url_field};
use crate::envelope::{self, ListShape};
use crate::error::ApiResult;
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::oauth::proto::base_url;
use crate::reply;
use crate::state::AppState;

/// Our fields an IdP's attributes may fill.
const MAPPED_FIELDS: [&str; 4] = ["email", "given_name", "family_name", "name"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/saml/idps", get(list).post(create))
        .route(
            "/admin/saml/idps/{idpId}",
            get(show).put(update).patch(update).delete(remove),
        )
}

fn idp_json(idp: &SamlIdp, sp_base: &str) -> Value {
    let mapping: Map<String, Value> = idp
        .attribute_mapping
        .iter()
        .map(|(ours, theirs)| (ours.clone(), json!(theirs)))
        .collect();
    json!({
        "id": idp.id,
        "name": idp.name,
        "entityId": idp.entity_id,
        "ssoUrl": idp.sso_url,
        "sloUrl": idp.slo_url,
        "certificate": certificate_pem(&idp.certificate),
        "jitProvisioning": idp.jit_provisioning,
        "trustEmail": idp.trust_email,
        "enabled": idp.enabled,
        "attributeMapping": mapping,
        "spEntityId": format!("{sp_base}/metadata"),
        "acsUrl": format!("{sp_base}/acs"),
        "spSloUrl": format!("{sp_base}/slo"),
        "loginUrl": format!("{sp_base}/login/{}", idp.id),
        "createdAt": idp.created_at.to_rfc3339(),
        "updatedAt": idp.updated_at.to_rfc3339(),
    })
}

fn sp_base(ctx: &Ctx, headers: &HeaderMap) -> String {
    format!("{}/orgs/{}/saml/sp", base_url(&ctx.state, headers), ctx.org)
}

async fn idp_id(ctx: &Ctx) -> ApiResult<u64> {
    path_id(ctx, "idpId", Query::SamlIdp(0), "SAML identity provider").await
}

fn mapping_field(body: &mut Body) -> Option<Vec<(String, String)>> {
    let map = match body.raw("attributeMapping")? {
        Value::Object(map) => map.clone(),
        Value::Null => return Some(Vec::new()),
        _ => {
            body.problem(
                "attributeMapping",
                "must be an object of our field to the IdP's attribute name",
            );
            return None;
        }
    };
    let mut out = Vec::new();
    for (ours, theirs) in map {
        let theirs = theirs.as_str().unwrap_or_default().trim().to_string();
        if !MAPPED_FIELDS.contains(&ours.as_str()) || theirs.is_empty() || theirs.len() > 256 {
            body.problem(
                "attributeMapping",
                format!(
                    "keys are {} and values attribute names (1-256 characters)",
                    MAPPED_FIELDS.join(", ")
                ),
            );
            return None;
        }
        out.push((ours, theirs));
    }
    Some(out)
}

/// The body's fields, over what `metadataXml` says (explicit fields win).
/// The body's fields over what `metadataXml` says (explicit fields win).
fn read_fields(body: &mut Body) -> (SamlIdpFields, SamlIdpMore) {
    let mut fields = SamlIdpFields::default();
    let mut more = SamlIdpMore::default();
    if let Some(xml) = body.opt_str("metadataXml", 256 * 1024) {
        match upstream_metadata(&xml) {
            Ok(metadata) => {
                more.slo_url = Some(metadata.slo_url);
                fields.entity_id = Some(metadata.entity_id);
                fields.sso_url = Some(metadata.sso_url);
                fields.certificate = Some(metadata.certificate);
            }
            Err(why) => body.problem("metadataXml", format!("the metadata {why}")),
        }
    }
    let sso_url = body.opt_str("ssoUrl", 2048);
    if let Some(url) = &sso_url
        && !is_browser_url(url)
    {
        body.problem("ssoUrl", "must be an absolute http(s) URL");
    }
    let certificate = match body.opt_str("certificate", 16_384) {
        Some(text) => {
            let der = certificate_text(&text);
            if der.is_none() {
                body.problem(
                    "certificate",
                    "must be an X.509 certificate (PEM or base64 DER)",
                );
            }
            der
        }
        None => None,
    };
    let explicit = SamlIdpFields {
        name: body.opt_str("name", 100),
        entity_id: body.opt_str("entityId", 1024),
        sso_url,
        certificate,
        jit_provisioning: body.opt_bool("jitProvisioning"),
        trust_email: body.opt_bool("trustEmail"),
        enabled: body.opt_bool("enabled"),
        attribute_mapping: mapping_field(body),
    };
    macro_rules! over {
        ($($field:ident),*) => {
            $(if explicit.$field.is_some() { fields.$field = explicit.$field; })*
        };
    }
    over!(
        name,
        entity_id,
        sso_url,
        certificate,
        jit_provisioning,
        trust_email,
        enabled,
        attribute_mapping
    );
    if let Some(slo_url) = url_field(body, "sloUrl") {
        more.slo_url = Some(slo_url);
    }
    (fields, more)
}

async fn list(ctx: Ctx, headers: HeaderMap, query: ListQuery) -> ApiResult<Response> {
    let params = query.list(&[])?;
    let page = reply!(
        ctx.read(Query::SamlIdps(params.page)).await?,
        Reply::SamlIdps
    );
    let base = sp_base(&ctx, &headers);
    let items = page.items.iter().map(|idp| idp_json(idp, &base)).collect();
    Ok(envelope::list(
        &page,
        items,
        ListShape::Resource("saml_idp"),
    ))
}

async fn create(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let (fields, more) = read_fields(&mut body);
    if fields.name.is_none() {
        body.problem("name", "is required");
    }
    if !body.has("metadataXml") {
        for (field, present) in [
            ("entityId", fields.entity_id.is_some()),
            ("ssoUrl", fields.sso_url.is_some()),
            ("certificate", fields.certificate.is_some()),
        ] {
            if !present {
                body.problem(field, "is required (or give metadataXml)");
            }
        }
    }
    body.finish()?;
    let id = ctx
        .create_numbered(Op::Saml(SamlWrite::CreateIdpWithMore(
            Box::new(fields),
            Box::new(more),
        )))
        .await?;
    let idp = reply!(ctx.read(Query::SamlIdp(id)).await?, Reply::SamlIdp);
    Ok(envelope::created(
        idp_json(&idp, &sp_base(&ctx, &headers)),
        "SAML identity provider created",
    ))
}

async fn show(ctx: Ctx, headers: HeaderMap) -> ApiResult<Response> {
    let id = idp_id(&ctx).await?;
    let idp = reply!(ctx.read(Query::SamlIdp(id)).await?, Reply::SamlIdp);
    Ok(envelope::data(idp_json(&idp, &sp_base(&ctx, &headers))))
}

/// PUT and PATCH: the fields sent change, the rest stay.
async fn update(ctx: Ctx, headers: HeaderMap, json: JsonBody) -> ApiResult<Response> {
    let id = idp_id(&ctx).await?;
    let mut body = Body::new(json);
    let (fields, more) = read_fields(&mut body);
    body.finish()?;
    let op = Op::Saml(SamlWrite::UpdateIdpWithMore {
        id,
        fields: Box::new(fields),
        more: Box::new(more),
    });
    let idp = reply!(
        ctx.write_then(op, Query::SamlIdp(id)).await?,
        Reply::SamlIdp
    );
    Ok(envelope::data_message(
        idp_json(&idp, &sp_base(&ctx, &headers)),
        "SAML identity provider updated",
    ))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let id = idp_id(&ctx).await?;
    ctx.write(Op::Saml(SamlWrite::DeleteIdp(id))).await?;
    Ok(envelope::message("SAML identity provider deleted"))
}
