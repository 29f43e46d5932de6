//! `~/admin/organizations`: B2B organizations inside the org, their members (a user with a
//! role and a status), roles, and invitations (emailed with a signed single-use link that the
//! hosted `~/oauth/invitation` page accepts).

use axum::Router;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use lumo_cluster::clock::Timestamp;
use lumo_cluster::command::{
    Op, SubOrgFields, SubOrgRoleFields, SubOrgRoleRef, SubOrgWrite, UserKey,
};
use lumo_cluster::model::{Family, MemberStatus};
use lumo_cluster::query::{Outcome, Page, Query, Reply, SubOrgRead};
use serde_json::{Value, json};

use crate::envelope::{self, ListShape};
use crate::error::{ApiError, ApiResult};
use crate::extract::body::is_email;
use crate::extract::{Body, Ctx, JsonBody, ListQuery};
use crate::reply;
use crate::state::AppState;

/// How long an invitation link stays valid.
const INVITATION_TTL_MS: i64 = 7 * 24 * 3_600_000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/admin/organizations", get(list).post(create))
        .route(
            "/admin/organizations/{organizationId}",
            get(show).put(update).patch(update).delete(remove),
        )
        .route(
            "/admin/organizations/{organizationId}/members",
            get(members).post(add_member),
        )
        .route(
            "/admin/organizations/{organizationId}/members/{userId}",
            put(update_member)
                .patch(update_member)
                .delete(remove_member),
        )
        .route(
            "/admin/organizations/{organizationId}/roles",
            get(roles).post(create_role),
        )
        .route(
            "/admin/organizations/{organizationId}/roles/{roleId}",
            put(update_role).patch(update_role).delete(delete_role),
        )
        .route(
            "/admin/organizations/{organizationId}/invitations",
            get(invitations).post(invite),
        )
        .route(
            "/admin/organizations/{organizationId}/invitations/{invId}",
            axum::routing::delete(revoke),
        )
        .route(
            "/admin/organizations/{organizationId}/invitations/{invId}/resend",
            post(resend),
        )
}

async fn read(ctx: &Ctx, what: SubOrgRead) -> ApiResult<Value> {
    let text = reply!(ctx.read(Query::SubOrgs(what)).await?, Reply::Json);
    serde_json::from_str(&text).map_err(|e| ApiError::Internal(e.to_string()))
}

fn org_param(ctx: &Ctx) -> ApiResult<String> {
    Ok(ctx.param("organizationId")?.to_string())
}

fn slug_ok(slug: &str) -> bool {
    (2..=64).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-')
        && !slug.starts_with("org_")
}

/// The page of `items` asked for, with `search` over the named text fields.
fn paged(query: &ListQuery, items: Vec<Value>, fields: &[&str]) -> ApiResult<Page<Value>> {
    let params = query.page()?;
    let items = match query.get("search").map(str::to_lowercase) {
        Some(needle) if !needle.is_empty() => items
            .into_iter()
            .filter(|item| {
                fields.iter().any(|f| {
                    let value = f.split('.').fold(item, |v, part| &v[part]);
                    value
                        .as_str()
                        .is_some_and(|s| s.to_lowercase().contains(&needle))
                })
            })
            .collect(),
        _ => items,
    };
    Ok(Page::of(items, params))
}

fn list_response(page: Page<Value>, shape: ListShape) -> Response {
    let items = page.items.clone();
    envelope::list(&page, items, shape)
}

async fn list(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Organizations, false).await?;
    let Value::Array(all) = read(&ctx, SubOrgRead::List).await? else {
        return Err(ApiError::Internal("organizations are not a list".into()));
    };
    let page = paged(&query, all, &["name", "slug", "displayName"])?;
    Ok(list_response(page, ListShape::Resource("organization")))
}

/// The organization fields of a create or update body.
fn fields(body: &mut Body, creating: bool) -> SubOrgFields {
    let mut fields = SubOrgFields::default();
    if creating || body.has("name") {
        fields.name = Some(body.required_str("name", 200));
    }
    if creating || body.has("slug") {
        let slug = body.required_str("slug", 64).to_lowercase();
        if !slug.is_empty() && !slug_ok(&slug) {
            body.problem(
                "slug",
                "must be 2-64 lowercase letters, digits and dashes (not starting with org_)",
            );
        }
        fields.slug = Some(slug);
    }
    fields.display_name = body.nullable_str("displayName", 200);
    fields.description = body.nullable_str("description", 2000);
    fields.logo_url = body.nullable_str("logoUrl", 2048);
    if let Some(Some(url)) = &fields.logo_url
        && !(url.starts_with("https://") || url.starts_with("http://"))
    {
        body.problem("logoUrl", "must be an http(s) URL");
    }
    fields.is_active = body.opt_bool("isActive");
    fields.metadata = match body.raw("metadata").cloned() {
        None => None,
        Some(Value::Null) => Some(None),
        Some(value @ Value::Object(_)) => {
            if value.to_string().len() > 16_384 {
                body.problem("metadata", "must be at most 16 KiB");
            }
            Some(Some(value.to_string()))
        }
        Some(_) => {
            body.problem("metadata", "must be an object or null");
            None
        }
    };
    fields
}

async fn create(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let mut body = Body::new(json);
    let fields = fields(&mut body, true);
    body.finish()?;
    let reply = ctx.write(Op::SubOrg(SubOrgWrite::Create(fields))).await?;
    let Reply::Done(Outcome::Created(id)) = reply else {
        return Err(ApiError::unexpected(reply));
    };
    let org = read(&ctx, SubOrgRead::Get(id)).await?;
    Ok(envelope::created(org, "Organization created"))
}

async fn show(ctx: Ctx) -> ApiResult<Response> {
    ctx.admit(Family::Organizations, false).await?;
    let org = read(&ctx, SubOrgRead::Get(org_param(&ctx)?)).await?;
    Ok(envelope::data(org))
}

async fn update(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let mut body = Body::new(json);
    let fields = fields(&mut body, false);
    body.finish()?;
    // The id stays; a slug in the path may have changed.
    let id = read(&ctx, SubOrgRead::Get(org.clone())).await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    ctx.write(Op::SubOrg(SubOrgWrite::Update { org, fields }))
        .await?;
    Ok(envelope::data(read(&ctx, SubOrgRead::Get(id)).await?))
}

async fn remove(ctx: Ctx) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    ctx.write(Op::SubOrg(SubOrgWrite::Delete { org })).await?;
    Ok(envelope::message("Organization deleted"))
}

/// A role named in a body: `role` (slug or integer id) or `roleId`.
fn role_ref(body: &mut Body) -> Option<SubOrgRoleRef> {
    let name = body.first_present(&["role", "roleId"])?;
    match body.raw(name).cloned() {
        Some(Value::Number(n)) => match n.as_u64() {
            Some(id) => Some(SubOrgRoleRef::Id(id)),
            None => {
                body.problem(name, "must be a role id or slug");
                None
            }
        },
        Some(Value::String(s)) if !s.trim().is_empty() => Some(match s.trim().parse::<u64>() {
            Ok(id) => SubOrgRoleRef::Id(id),
            Err(_) => SubOrgRoleRef::Slug(s.trim().to_lowercase()),
        }),
        Some(Value::Null) => None,
        _ => {
            body.problem(name, "must be a role id or slug");
            None
        }
    }
}

fn user_key(text: &str) -> ApiResult<UserKey> {
    text.parse::<UserKey>()
        .map_err(|_| ApiError::invalid("userId", "must be a user id or email"))
}

async fn members(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Organizations, false).await?;
    let Value::Array(all) = read(&ctx, SubOrgRead::Members(org_param(&ctx)?)).await? else {
        return Err(ApiError::Internal("members are not a list".into()));
    };
    let page = paged(&query, all, &["user.email", "user.name"])?;
    Ok(list_response(
        page,
        ListShape::Resource("organization_member"),
    ))
}

async fn add_member(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let mut body = Body::new(json);
    let user = body.required_str("userId", 320);
    let role = role_ref(&mut body);
    body.finish()?;
    let op = Op::SubOrg(SubOrgWrite::AddMember {
        org: org.clone(),
        user: user_key(&user)?,
        role,
    });
    ctx.create_numbered(op).await?;
    let member = read(&ctx, SubOrgRead::Member(org, user_key(&user)?)).await?;
    Ok(envelope::created(member, "Member added"))
}

async fn update_member(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let user = ctx.param("userId")?.to_string();
    let key: UserKey = ctx.key("userId")?;
    let mut body = Body::new(json);
    let role = role_ref(&mut body);
    let status = body.opt_str("status", 20);
    let status = match status.as_deref() {
        None => None,
        Some(s) => match MemberStatus::parse(s) {
            Some(s) => Some(s),
            None => {
                body.problem("status", "must be active or suspended");
                None
            }
        },
    };
    if role.is_none()
        && status.is_none()
        && !body.has("status")
        && !body.has("role")
        && !body.has("roleId")
    {
        body.problem("role", "role or status is required");
    }
    body.finish()?;
    ctx.write(Op::SubOrg(SubOrgWrite::UpdateMember {
        org: org.clone(),
        user: key,
        role,
        status,
    }))
    .await?;
    let member = read(&ctx, SubOrgRead::Member(org, user_key(&user)?)).await?;
    Ok(envelope::data(member))
}

async fn remove_member(ctx: Ctx) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let user: UserKey = ctx.key("userId")?;
    ctx.write(Op::SubOrg(SubOrgWrite::RemoveMember { org, user }))
        .await?;
    Ok(envelope::message("Member removed"))
}

async fn roles(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Organizations, false).await?;
    let Value::Array(all) = read(&ctx, SubOrgRead::Roles(org_param(&ctx)?)).await? else {
        return Err(ApiError::Internal("roles are not a list".into()));
    };
    let page = paged(&query, all, &["name", "slug"])?;
    Ok(list_response(page, ListShape::Pagination))
}

fn role_fields(body: &mut Body, creating: bool) -> SubOrgRoleFields {
    let mut fields = SubOrgRoleFields::default();
    if creating || body.has("name") {
        fields.name = Some(body.required_str("name", 200));
    }
    if creating || body.has("slug") {
        let slug = body.required_str("slug", 64).to_lowercase();
        if !slug.is_empty() && !slug_ok(&slug) {
            body.problem("slug", "must be 2-64 lowercase letters, digits and dashes");
        }
        fields.slug = Some(slug);
    }
    fields.description = body.nullable_str("description", 2000);
    fields.is_default = body.opt_bool("isDefault");
    fields
}

async fn role_by_id(ctx: &Ctx, org: &str, id: u64) -> ApiResult<Value> {
    let Value::Array(all) = read(ctx, SubOrgRead::Roles(org.to_string())).await? else {
        return Err(ApiError::Internal("roles are not a list".into()));
    };
    all.into_iter()
        .find(|r| r["id"].as_u64() == Some(id))
        .ok_or_else(|| ApiError::Internal("the role just written is missing".into()))
}

async fn create_role(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let mut body = Body::new(json);
    let fields = role_fields(&mut body, true);
    body.finish()?;
    let id = ctx
        .create_numbered(Op::SubOrg(SubOrgWrite::CreateRole {
            org: org.clone(),
            fields,
        }))
        .await?;
    let role = role_by_id(&ctx, &org, id).await?;
    Ok((StatusCode::CREATED, axum::Json(json!({"data": role}))).into_response())
}

async fn update_role(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let role = ctx.number("roleId")?;
    let mut body = Body::new(json);
    let fields = role_fields(&mut body, false);
    body.finish()?;
    ctx.write(Op::SubOrg(SubOrgWrite::UpdateRole {
        org: org.clone(),
        role,
        fields,
    }))
    .await?;
    Ok(envelope::data(role_by_id(&ctx, &org, role).await?))
}

async fn delete_role(ctx: Ctx) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let role = ctx.number("roleId")?;
    ctx.write(Op::SubOrg(SubOrgWrite::DeleteRole { org, role }))
        .await?;
    Ok(envelope::message("Organization role deleted"))
}

async fn invitations(ctx: Ctx, query: ListQuery) -> ApiResult<Response> {
    ctx.admit(Family::Organizations, false).await?;
    let Value::Array(all) = read(&ctx, SubOrgRead::Invitations(org_param(&ctx)?)).await? else {
        return Err(ApiError::Internal("invitations are not a list".into()));
    };
    let all = match query.get("status") {
        Some(status) => all
            .into_iter()
            .filter(|i| i["status"] == json!(status))
            .collect(),
        None => all,
    };
    let page = paged(&query, all, &["email"])?;
    Ok(list_response(page, ListShape::Pagination))
}

fn issuer(ctx: &Ctx) -> String {
    let origin = ctx
        .context
        .origin
        .clone()
        .unwrap_or_else(|| "http://localhost".into());
    format!("{origin}/orgs/{}/api/v1", ctx.org)
}

async fn invite(ctx: Ctx, json: JsonBody) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let mut body = Body::new(json);
    let email = body.required_str("email", 320).to_lowercase();
    if !email.is_empty() && !is_email(&email) {
        body.problem("email", "must be an email address");
    }
    let role = role_ref(&mut body);
    body.finish()?;
    let op = Op::SubOrg(SubOrgWrite::Invite {
        org: org.clone(),
        email,
        role,
        nonce: lumo_cluster::mail::link::new_nonce(),
        expires_at: Timestamp::now().plus_millis(INVITATION_TTL_MS),
        issuer: issuer(&ctx),
    });
    let id = ctx.create_numbered(op).await?;
    let invitation = read(&ctx, SubOrgRead::Invitation(org, id)).await?;
    Ok(envelope::created(invitation, "Invitation sent"))
}

async fn resend(ctx: Ctx) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let invitation = ctx.number("invId")?;
    ctx.write(Op::SubOrg(SubOrgWrite::Resend {
        org,
        invitation,
        nonce: lumo_cluster::mail::link::new_nonce(),
        expires_at: Timestamp::now().plus_millis(INVITATION_TTL_MS),
        issuer: issuer(&ctx),
    }))
    .await?;
    Ok(envelope::message(
        "Invitation sent again; the earlier link no longer works",
    ))
}

async fn revoke(ctx: Ctx) -> ApiResult<Response> {
    let org = org_param(&ctx)?;
    let invitation = ctx.number("invId")?;
    ctx.write(Op::SubOrg(SubOrgWrite::Revoke { org, invitation }))
        .await?;
    Ok(envelope::message("Invitation revoked"))
}
