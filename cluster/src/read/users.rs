//! User reads: views, the filtered list, effective permissions, identities.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use crate::command::{GroupKey, Relation, RoleKey, UserKey};
use crate::error::{ClusterError, Result};
use crate::ids::{GroupId, RoleId, UserId};
use crate::lookup;
use crate::model::{EntityRef, Group, IdentityKind, IdentityLink, NamedEntity, Role, User};
use crate::query::{IdentitiesView, LegacySamlReport, ListParams, Page, Reply, UserView};
use crate::relations::{Direction, neighbours};
use crate::tables::{OrgReader, Table};

use super::page::{bool_filter, matches, paginate, sort_field};

fn admin_role(reader: &OrgReader) -> Result<Option<RoleId>> {
    reader.get::<RoleId>(Table::RoleSlug, b"admin")
}

use crate::authz::rbac::{all_roles, roles_through};

/// `GET ~/me`: the user or client behind a token; API keys are neither.
pub(super) fn me(reader: &OrgReader, principal: &crate::model::Principal) -> Result<Reply> {
    use crate::model::PrincipalKind;
    let org = crate::lookup::load_org(reader)?;
    let tenant = crate::query::TenantRef {
        id: org.id.to_string(),
        name: org.name,
        slug: org.slug,
    };
    match &principal.kind {
        PrincipalKind::User { id, .. } => {
            let user: User = reader
                .get(Table::User, &id.to_bytes())?
                .ok_or_else(|| ClusterError::not_found("user", id))?;
            Ok(Reply::Me(crate::query::MeView {
                subject_type: "user".into(),
                id: user.id.to_string(),
                email: Some(user.email),
                name: user.name,
                mfa_enabled: Some(user.mfa_enabled),
                roles: Some(role_slugs(reader, *id)?),
                capabilities: None,
                scopes: principal.scopes.clone(),
                tenant,
            }))
        }
        PrincipalKind::Client { client_id, name } => Ok(Reply::Me(crate::query::MeView {
            subject_type: "agent".into(),
            id: client_id.clone(),
            email: None,
            name: Some(name.clone()),
            mfa_enabled: None,
            roles: None,
            capabilities: Some(Vec::new()),
            scopes: principal.scopes.clone(),
            tenant,
        })),
        PrincipalKind::Agent { id, .. } => {
            let agent = crate::lookup::agent(reader, &crate::command::AgentKey::Id(*id))?;
            Ok(Reply::Me(crate::query::MeView {
                subject_type: "agent".into(),
                id: agent.agent_id,
                email: None,
                name: Some(agent.name),
                mfa_enabled: None,
                roles: None,
                capabilities: Some(agent.capabilities),
                scopes: principal.scopes.clone(),
                tenant,
            }))
        }
        _ => Err(ClusterError::NotFound {
            resource: "subject".into(),
            id: format!(
                "{} ({}): /me describes user and agent tokens, not API keys",
                principal.actor_name(),
                principal.actor_type()
            ),
        }),
    }
}

/// Slugs of every role a user holds, directly or through its groups.
pub fn role_slugs(reader: &OrgReader, user: UserId) -> Result<Vec<String>> {
    let mut slugs = Vec::new();
    for id in all_roles(reader, user)? {
        if let Some(role) = reader.get::<Role>(Table::Role, &id)? {
            slugs.push(role.slug);
        }
    }
    slugs.sort();
    Ok(slugs)
}

/// Slugs of every permission a user has: direct, through its roles, through its groups' roles.
pub fn effective_permissions(reader: &OrgReader, user: UserId) -> Result<Vec<String>> {
    Ok(crate::authz::rbac::effective_permissions(reader, user)?
        .into_iter()
        .map(|p| p.slug)
        .collect())
}

fn refs<T, F>(
    reader: &OrgReader,
    table: Table,
    ids: Vec<Vec<u8>>,
    to_ref: F,
) -> Result<Vec<EntityRef>>
where
    T: serde::de::DeserializeOwned,
    F: Fn(T) -> EntityRef,
{
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(entity) = reader.get::<T>(table, &id)? {
            out.push(to_ref(entity));
        }
    }
    Ok(out)
}

/// `{id, name, slug, description}` of a group or role.
pub fn named_ref<I: std::fmt::Display>(entity: NamedEntity<I>) -> EntityRef {
    EntityRef {
        id: entity.id.to_string(),
        name: entity.name,
        slug: entity.slug,
        description: entity.description,
    }
}

/// The API view of a user (`detail` adds roles and groups).
pub fn view(
    reader: &OrgReader,
    user: User,
    detail: bool,
    admin: Option<RoleId>,
) -> Result<UserView> {
    if !detail {
        let is_admin = match admin {
            Some(admin) => all_roles(reader, user.id)?.contains(admin.to_bytes().as_slice()),
            None => false,
        };
        return Ok(UserView {
            user,
            is_admin,
            roles: None,
            groups: None,
        });
    }
    // The detail lists the user's own roles and groups: read them once, and derive the admin
    // flag (a role held directly or through a group) from them.
    let id = user.id.to_bytes();
    let role_ids = neighbours(reader, Relation::UserRole, Direction::Forward, &id)?;
    let group_ids = neighbours(reader, Relation::UserGroup, Direction::Forward, &id)?;
    let is_admin = match admin {
        Some(admin) => {
            roles_through(reader, &role_ids, &group_ids)?.contains(admin.to_bytes().as_slice())
        }
        None => false,
    };
    let roles = Some(refs::<Role, _>(reader, Table::Role, role_ids, named_ref)?);
    let groups = Some(refs::<Group, _>(
        reader,
        Table::Group,
        group_ids,
        named_ref,
    )?);
    Ok(UserView {
        user,
        is_admin,
        roles,
        groups,
    })
}

pub(super) fn get(reader: &OrgReader, key: &UserKey) -> Result<Reply> {
    let user = lookup::user(reader, key)?;
    let admin = admin_role(reader)?;
    Ok(Reply::User(view(reader, user, true, admin)?))
}

fn member_set(
    reader: &OrgReader,
    relation: Relation,
    anchor: Vec<u8>,
) -> Result<BTreeSet<Vec<u8>>> {
    Ok(neighbours(reader, relation, Direction::Backward, &anchor)?
        .into_iter()
        .collect())
}

fn compare(a: &User, b: &User, field: &str) -> Ordering {
    match field {
        "email" => a.email.cmp(&b.email),
        "name" => a.name.cmp(&b.name).then_with(|| a.email.cmp(&b.email)),
        "lastLoginAt" => a.last_login_at.cmp(&b.last_login_at),
        "loginCount" => a.login_count.cmp(&b.login_count),
        "updatedAt" => a.updated_at.cmp(&b.updated_at),
        _ => a
            .created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id)),
    }
}

pub(super) fn list(reader: &OrgReader, params: &ListParams) -> Result<Reply> {
    const SORTABLE: &[&str] = &[
        "createdAt",
        "email",
        "name",
        "lastLoginAt",
        "loginCount",
        "updatedAt",
    ];
    let field = sort_field(&params.sort_by, SORTABLE, "createdAt")?;
    let descending = params.sort_desc.unwrap_or(field == "createdAt");
    let blocked = bool_filter(&params.filters, "blocked")?;
    let active = bool_filter(&params.filters, "isActive")?;
    let verified = bool_filter(&params.filters, "emailVerified")?;
    let role_members = match params.filters.get("role") {
        Some(role) => {
            let role = lookup::role(
                reader,
                &role
                    .parse::<RoleKey>()
                    .unwrap_or(RoleKey::Slug(role.clone())),
            )?;
            Some(member_set(
                reader,
                Relation::UserRole,
                role.id.to_bytes().to_vec(),
            )?)
        }
        None => None,
    };
    let group_members = match params.filters.get("group") {
        Some(group) => {
            let key = group
                .parse::<GroupId>()
                .map(GroupKey::Id)
                .unwrap_or(GroupKey::Slug(group.clone()));
            let group = lookup::group(reader, &key)?;
            Some(member_set(
                reader,
                Relation::UserGroup,
                group.id.to_bytes().to_vec(),
            )?)
        }
        None => None,
    };
    let admin = admin_role(reader)?;
    let unfiltered = params.search.is_none()
        && blocked.is_none()
        && active.is_none()
        && verified.is_none()
        && role_members.is_none()
        && group_members.is_none();
    if unfiltered && field == "createdAt" {
        // Ids are time-ordered: key order is creation order, so read just the page.
        let org = lookup::load_org(reader)?;
        let offset = params.page.offset();
        let mut skipped = 0u64;
        let mut users = Vec::new();
        reader.scan::<User>(Table::User, &[], descending, |_, user| {
            if skipped < offset {
                skipped += 1;
                return true;
            }
            users.push(user);
            (users.len() as u64) < params.page.limit
        })?;
        // Ids carry the request's clock, `createdAt` the proposer's: within a millisecond or
        // two they can disagree, so the page itself is ordered by `createdAt`.
        users.sort_by_key(|u| u.created_at);
        if descending {
            users.reverse();
        }
        let items = users
            .into_iter()
            .map(|u| view(reader, u, false, admin))
            .collect::<Result<Vec<_>>>()?;
        return Ok(Reply::Users(Page {
            items,
            total: org.user_count,
            page: params.page.page,
            limit: params.page.limit,
        }));
    }
    let mut users = Vec::new();
    reader.scan::<User>(Table::User, &[], false, |key, user| {
        let keep = matches(
            &params.search,
            &[
                Some(user.email.as_str()),
                user.name.as_deref(),
                user.username.as_deref(),
                user.given_name.as_deref(),
                user.family_name.as_deref(),
            ],
        ) && blocked.is_none_or(|b| user.blocked == b)
            && active.is_none_or(|a| user.is_active == a)
            && verified.is_none_or(|v| user.email_verified == v)
            && role_members.as_ref().is_none_or(|m| m.contains(key))
            && group_members.as_ref().is_none_or(|m| m.contains(key));
        if keep {
            users.push(user);
        }
        true
    })?;
    users.sort_by(|a, b| {
        let order = compare(a, b, field);
        if descending { order.reverse() } else { order }
    });
    let page = paginate(users, params.page);
    let items = page
        .items
        .into_iter()
        .map(|u| view(reader, u, false, admin))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::Users(Page {
        items,
        total: page.total,
        page: page.page,
        limit: page.limit,
    }))
}

fn links_of(reader: &OrgReader, user: UserId) -> Result<Vec<IdentityLink>> {
    let mut links = Vec::new();
    reader.scan::<IdentityLink>(Table::Identity, &user.to_bytes(), false, |_, link| {
        links.push(link);
        true
    })?;
    Ok(links)
}

pub(super) fn identities(reader: &OrgReader, key: &UserKey) -> Result<Reply> {
    let user = lookup::user(reader, key)?;
    let links = links_of(reader, user.id)?;
    let auth_source = if links.iter().any(|l| l.kind == IdentityKind::Ldap) {
        Some("ldap".to_string())
    } else if links.iter().any(|l| l.kind == IdentityKind::Saml) {
        Some("saml".to_string())
    } else if user.password_hash.is_some() {
        Some("local".to_string())
    } else {
        None
    };
    let ldap_only = links
        .iter()
        .any(|l| l.kind == IdentityKind::Ldap && l.ldap_only);
    Ok(Reply::Identities(IdentitiesView {
        auth_source,
        ldap_only,
        links,
    }))
}

/// Users bound by a bare NameID (a SAML link naming no IdP), and the IdPs that could claim
/// them (all of the org's; `idp_id` must name one of them when given).
pub(super) fn legacy_saml(reader: &OrgReader, idp_id: Option<u64>) -> Result<Reply> {
    let mut idps = Vec::new();
    reader.scan(
        Table::SamlUpstream,
        &[],
        false,
        |_, idp: crate::model::SamlIdp| {
            idps.push(idp);
            true
        },
    )?;
    if let Some(id) = idp_id
        && !idps.iter().any(|idp| idp.id == id)
    {
        return Err(crate::error::ClusterError::not_found(
            "SAML identity provider",
            id.to_string(),
        ));
    }
    let mut users = Vec::new();
    reader.scan::<IdentityLink>(Table::Identity, &[], false, |_, link| {
        if link.kind == IdentityKind::Saml && link.idp_id.is_none() {
            users.push(link);
        }
        true
    })?;
    let mut report = Vec::new();
    for link in users {
        if let Some(user) = reader.get::<User>(Table::User, &link.user_id.to_bytes())? {
            report.push((user, link));
        }
    }
    Ok(Reply::LegacySaml(LegacySamlReport {
        idp_count: idps.len() as u64,
        users: report,
        idps,
    }))
}
