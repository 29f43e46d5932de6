//! The SCIM resources' operations, shared by the endpoints and Bulk: read one or all, create,
//! replace, patch and delete a user or a group. A PATCH is applied to the JSON the resource
//! shows and sent back as a whole state, guarded by the version it was made against.

use lumo_cluster::ClusterError;
use lumo_cluster::command::{Op, ScimWrite};
use lumo_cluster::ids::{GroupId, UserId};
use lumo_cluster::query::{Query, Reply, ScimGroupView, ScimUserView};
use serde_json::Value;

use super::resources::{self, group_json, group_state, user_json, user_state};
use super::{ScimError, ScimResult, patch};
use crate::error::ApiError;
use crate::extract::Ctx;

const PATCH_URN: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
/// Times a PATCH without `If-Match` is tried again after a concurrent change.
const RETRIES: u32 = 3;

/// A SCIM resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Users,
    Groups,
}

impl Kind {
    /// The kind an endpoint path segment names.
    pub fn of(segment: &str) -> Option<Kind> {
        match segment {
            "Users" => Some(Kind::Users),
            "Groups" => Some(Kind::Groups),
            _ => None,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Users => "user",
            Kind::Groups => "group",
        }
    }

    /// Every resource of the kind as JSON (soft-deleted users only when asked for).
    pub async fn all(self, ctx: &Ctx, base: &str, soft_deleted: bool) -> ScimResult<Vec<Value>> {
        match (self, ctx.read(self.list_query()).await?) {
            (Kind::Users, Reply::ScimUsers(views)) => Ok(views
                .iter()
                .filter(|v| soft_deleted || v.extra.soft_deleted_at.is_none())
                .map(|v| user_json(v, base))
                .collect()),
            (Kind::Groups, Reply::ScimGroups(views)) => {
                Ok(views.iter().map(|v| group_json(v, base)).collect())
            }
            (_, other) => Err(ApiError::unexpected(other).into()),
        }
    }

    fn list_query(self) -> Query {
        match self {
            Kind::Users => Query::ScimUsers,
            Kind::Groups => Query::ScimGroups,
        }
    }

    /// One resource as JSON.
    pub async fn one(self, ctx: &Ctx, base: &str, id: &str) -> ScimResult<Value> {
        Ok(match self {
            Kind::Users => user_json(&user_view(ctx, id).await?, base),
            Kind::Groups => group_json(&group_view(ctx, id).await?, base),
        })
    }

    /// Creates a resource from `resource`; answers its JSON.
    pub async fn create(self, ctx: &Ctx, base: &str, resource: &Value) -> ScimResult<Value> {
        let id = match self {
            Kind::Users => {
                let id = UserId::generate();
                let resource = &inbound_mapped(ctx, resource).await?;
                let mut state = user_state(resource, None, &resources::placeholder(&id))?;
                state.password_hash = password(ctx, resource).await?;
                write(
                    ctx,
                    ScimWrite::PutUser {
                        id,
                        create: true,
                        if_match: None,
                        user: Box::new(state),
                    },
                )
                .await?;
                id.to_string()
            }
            Kind::Groups => {
                let id = GroupId::generate();
                let group = group_state(resource)?;
                write(
                    ctx,
                    ScimWrite::PutGroup {
                        id,
                        create: true,
                        if_match: None,
                        group,
                    },
                )
                .await?;
                id.to_string()
            }
        };
        self.one(ctx, base, &id).await
    }

    /// Replaces resource `id` with `resource` (if it is still at `version`, when given).
    pub async fn replace(
        self,
        ctx: &Ctx,
        base: &str,
        id: &str,
        resource: &Value,
        version: Option<String>,
    ) -> ScimResult<Value> {
        match self {
            Kind::Users => {
                let current = user_view(ctx, id).await?;
                let resource = &inbound_mapped(ctx, resource).await?;
                let placeholder = resources::placeholder(&current.user.id);
                let mut state = user_state(resource, Some(&current), &placeholder)?;
                state.password_hash = password(ctx, resource).await?;
                let write_op = ScimWrite::PutUser {
                    id: current.user.id,
                    create: false,
                    if_match: version,
                    user: Box::new(state),
                };
                write(ctx, write_op).await?;
            }
            Kind::Groups => {
                let current = group_view(ctx, id).await?;
                let group = group_state(resource)?;
                let write_op = ScimWrite::PutGroup {
                    id: current.group.id,
                    create: false,
                    if_match: version,
                    group,
                };
                write(ctx, write_op).await?;
            }
        }
        self.one(ctx, base, id).await
    }

    /// A resource as a PATCH starts from: every attribute it holds (a user's admin-set
    /// fields too, so the PATCH keeps what it does not name).
    async fn whole(self, ctx: &Ctx, base: &str, id: &str) -> ScimResult<Value> {
        Ok(match self {
            Kind::Users => {
                let mut view = user_view(ctx, id).await?;
                view.extra.sent = None;
                user_json(&view, base)
            }
            Kind::Groups => group_json(&group_view(ctx, id).await?, base),
        })
    }

    /// Applies a PATCH body to resource `id`. Without `If-Match`, a resource that changed
    /// between the read and the write is read and patched again (a few times).
    pub async fn patch(
        self,
        ctx: &Ctx,
        base: &str,
        id: &str,
        body: &Value,
        version: Option<String>,
    ) -> ScimResult<Value> {
        let operations = operations(body)?;
        retrying(&version, || async {
            let mut resource = self.whole(ctx, base, id).await?;
            let guard = patched(&mut resource, &operations, &version)?;
            self.replace(ctx, base, id, &resource, guard).await
        })
        .await
    }

    /// Deletes resource `id`; `hard` removes a user the settings would only deactivate.
    pub async fn remove(
        self,
        ctx: &Ctx,
        id: &str,
        version: Option<String>,
        hard: bool,
    ) -> ScimResult<()> {
        let write_op = match self {
            Kind::Users => {
                let id: UserId = id.parse().map_err(|_| ScimError::not_found("user"))?;
                // A soft-deleted user is gone for SCIM, except to the delete that removes it
                // for good.
                match ctx.read(Query::ScimUser(id)).await {
                    Ok(Reply::ScimUser(view)) if view.extra.soft_deleted_at.is_some() && !hard => {
                        return Err(ScimError::not_found("user"));
                    }
                    Ok(_) => {}
                    Err(e) => return Err(not_found_as(e, self)),
                }
                ScimWrite::DeleteUser {
                    id,
                    if_match: version,
                    hard,
                }
            }
            Kind::Groups => {
                let current = group_view(ctx, id).await?;
                ScimWrite::DeleteGroup {
                    id: current.group.id,
                    if_match: version,
                }
            }
        };
        write(ctx, write_op).await
    }
}

/// `PATCH /Me`: the calling user's PATCH, applied to the resource they see and sent as their
/// own change (`apply` refuses what a user may not change about themselves). Without
/// `If-Match`, a concurrent change makes it read and patch again (a few times).
pub async fn patch_me(
    ctx: &Ctx,
    base: &str,
    body: &Value,
    version: Option<String>,
) -> ScimResult<Value> {
    let operations = operations(body)?;
    retrying(&version, || async {
        let mut view = me_view(ctx).await?;
        view.extra.sent = None;
        let mut resource = user_json(&view, base);
        let guard = patched(&mut resource, &operations, &version)?;
        let placeholder = resources::placeholder(&view.user.id);
        let state = user_state(&resource, Some(&view), &placeholder)?;
        if resources::password(&resource)?.is_some() {
            return Err(ScimError::bad(
                "mutability",
                "password cannot be changed through /Me",
            ));
        }
        let write_op = ScimWrite::PutMe {
            if_match: guard,
            user: Box::new(state),
        };
        write(ctx, write_op).await?;
        Ok(user_json(&me_view(ctx).await?, base))
    })
    .await
}

/// Applies PATCH `operations` to `resource`; answers the version to guard the write with (the
/// caller's `If-Match`, else the version read).
fn patched(
    resource: &mut Value,
    operations: &[Value],
    version: &Option<String>,
) -> ScimResult<Option<String>> {
    patch::apply(resource, operations).map_err(|(t, d)| ScimError::bad(t, d))?;
    Ok(version
        .clone()
        .or_else(|| resource["meta"]["version"].as_str().map(str::to_string)))
}

/// Runs a read-patch-write `attempt`; without `If-Match` (`version`), a write refused because
/// the resource changed since the read (412) is tried again, a few times.
async fn retrying<F, Fut>(version: &Option<String>, mut attempt: F) -> ScimResult<Value>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = ScimResult<Value>>,
{
    let mut attempts = 0;
    loop {
        match attempt().await {
            Err(e) if e.status.as_u16() == 412 && version.is_none() && attempts < RETRIES => {
                attempts += 1;
            }
            other => return other,
        }
    }
}

/// The calling user's resource.
pub async fn me_view(ctx: &Ctx) -> ScimResult<ScimUserView> {
    match ctx.read(Query::ScimMe).await? {
        Reply::ScimUser(view) => Ok(*view),
        other => Err(ApiError::unexpected(other).into()),
    }
}

/// A user resource with the inbound `attribute_mapping` applied.
async fn inbound_mapped(ctx: &Ctx, resource: &Value) -> ScimResult<Value> {
    match ctx.read(Query::ScimInboundMapping).await? {
        Reply::Json(text) => {
            let mapping: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            Ok(super::mapping::apply(resource, &mapping))
        }
        other => Err(ApiError::unexpected(other).into()),
    }
}

async fn write(ctx: &Ctx, write: ScimWrite) -> ScimResult<()> {
    ctx.write(Op::Scim(write)).await?;
    Ok(())
}

/// The hashed password a body sets (checked against the org's password policy).
async fn password(ctx: &Ctx, resource: &Value) -> ScimResult<Option<String>> {
    match resources::password(resource)? {
        Some(password) => Ok(Some(
            crate::password::accept(ctx, "password", password).await?,
        )),
        None => Ok(None),
    }
}

/// A read's error: the store's not-found as SCIM's 404 for the kind.
fn not_found_as(error: ApiError, kind: Kind) -> ScimError {
    match error {
        ApiError::Cluster(ClusterError::NotFound { .. }) => ScimError::not_found(kind.noun()),
        other => other.into(),
    }
}

async fn user_view(ctx: &Ctx, id: &str) -> ScimResult<ScimUserView> {
    let id: UserId = id.parse().map_err(|_| ScimError::not_found("user"))?;
    match ctx.read(Query::ScimUser(id)).await {
        Ok(Reply::ScimUser(view)) if view.extra.soft_deleted_at.is_none() => Ok(*view),
        Ok(Reply::ScimUser(_)) => Err(ScimError::not_found("user")),
        Ok(other) => Err(ApiError::unexpected(other).into()),
        Err(e) => Err(not_found_as(e, Kind::Users)),
    }
}

async fn group_view(ctx: &Ctx, id: &str) -> ScimResult<ScimGroupView> {
    let id: GroupId = id.parse().map_err(|_| ScimError::not_found("group"))?;
    match ctx.read(Query::ScimGroup(id)).await {
        Ok(Reply::ScimGroup(view)) => Ok(*view),
        Ok(other) => Err(ApiError::unexpected(other).into()),
        Err(e) => Err(not_found_as(e, Kind::Groups)),
    }
}

/// A PATCH body's operations.
fn operations(body: &Value) -> ScimResult<Vec<Value>> {
    if let Some(schemas) = body.get("schemas").and_then(Value::as_array)
        && !schemas.iter().any(|s| s.as_str() == Some(PATCH_URN))
    {
        return Err(ScimError::bad(
            "invalidSyntax",
            format!("a PATCH body's schemas must include {PATCH_URN}"),
        ));
    }
    super::filter::member(body, "Operations")
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| ScimError::bad("invalidSyntax", "a PATCH body needs Operations"))
}
