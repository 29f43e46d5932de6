//! B2B organizations in `apply`: the organization (with its three system roles), roles,
//! members (an organization keeps an active owner), and invitations (emailed from the outbox;
//! accepting one makes the membership, and the user when the address has none).

use serde_json::{Value, json};

use crate::command::{
    CommandMeta, NewUser, SubOrgFields, SubOrgRoleFields, SubOrgRoleRef, SubOrgWrite, UserKey,
};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{self, derive_ulid};
use crate::model::{
    AuditEvent, InvitationStatus, MemberStatus, SubOrg, SubOrgHead, SubOrgInvitation, SubOrgMember,
    SubOrgRole, User, member_of_key, sub_org_key,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn apply(tx: &mut OrgTx, meta: &CommandMeta, write: &SubOrgWrite) -> Result<Applied> {
    match write {
        SubOrgWrite::Create(fields) => create(tx, meta, fields),
        SubOrgWrite::Update { org, fields } => update(tx, meta, org, fields),
        SubOrgWrite::Delete { org } => delete(tx, org),
        SubOrgWrite::CreateRole { org, fields } => create_role(tx, org, fields),
        SubOrgWrite::UpdateRole { org, role, fields } => update_role(tx, org, *role, fields),
        SubOrgWrite::DeleteRole { org, role } => delete_role(tx, org, *role),
        SubOrgWrite::AddMember { org, user, role } => {
            let org = lookup::sub_org(tx, org)?;
            let user = lookup::user(tx, user)?;
            let role = match role {
                Some(r) => role_of(tx, &org, r)?,
                None => default_role(tx, &org)?,
            };
            let member = add_member(tx, meta, &org, &user, &role)?;
            let event = event(
                &org,
                "organization.member.added",
                &format!("{} added", user.email),
            )
            .new_value(json!({"userId": user.id.to_string(), "role": role.slug}));
            Ok((Outcome::Created(member.id.to_string()), vec![event]))
        }
        SubOrgWrite::UpdateMember {
            org,
            user,
            role,
            status,
        } => update_member(tx, org, user, role.as_ref(), *status),
        SubOrgWrite::RemoveMember { org, user } => remove_member(tx, org, user),
        SubOrgWrite::Invite {
            org,
            email,
            role,
            nonce,
            expires_at,
            issuer,
        } => invite(
            tx,
            meta,
            org,
            email,
            role.as_ref(),
            nonce,
            *expires_at,
            issuer,
        ),
        SubOrgWrite::Resend {
            org,
            invitation,
            nonce,
            expires_at,
            issuer,
        } => resend(tx, meta, org, *invitation, nonce, *expires_at, issuer),
        SubOrgWrite::Revoke { org, invitation } => revoke(tx, org, *invitation),
        SubOrgWrite::Accept {
            org,
            invitation,
            nonce,
            new_user,
            name,
            password_hash,
        } => accept(
            tx,
            meta,
            org,
            *invitation,
            nonce,
            *new_user,
            name.as_deref(),
            password_hash.as_deref(),
        ),
        SubOrgWrite::Choose {
            session_id,
            client_id,
            sub_org,
        } => super::suborg_choice::choose(tx, meta, *session_id, client_id, sub_org),
    }
}

fn event(org: &SubOrg, action: &str, message: &str) -> AuditEvent {
    AuditEvent::new(
        "organization",
        action,
        format!("organization {}: {message}", org.slug),
    )
    .target("organization", &org.id, org.name.clone())
}

fn head(tx: &OrgTx) -> Result<SubOrgHead> {
    Ok(tx.get(Table::SubOrgHead, &[])?.unwrap_or_default())
}

fn save(tx: &mut OrgTx, org: &SubOrg) -> Result<()> {
    tx.put(Table::SubOrg, org.id.as_bytes(), org)
}

fn save_role(tx: &mut OrgTx, role: &SubOrgRole) -> Result<()> {
    tx.put(
        Table::SubOrgRole,
        &sub_org_key(&role.sub_org, &role.id.to_be_bytes()),
        role,
    )
}

fn save_member(tx: &mut OrgTx, member: &SubOrgMember) -> Result<()> {
    tx.put(
        Table::SubOrgMember,
        &sub_org_key(&member.sub_org, &member.user_id.to_bytes()),
        member,
    )
}

fn save_invitation(tx: &mut OrgTx, invitation: &SubOrgInvitation) -> Result<()> {
    tx.put(
        Table::SubOrgInvitation,
        &sub_org_key(&invitation.sub_org, &invitation.id.to_be_bytes()),
        invitation,
    )
}

/// Every row of `table` of organization `org`.
fn rows_of<T: serde::de::DeserializeOwned>(tx: &OrgTx, table: Table, org: &str) -> Result<Vec<T>> {
    let mut out = Vec::new();
    tx.reader()
        .scan::<T>(table, &sub_org_key(org, &[]), false, |_, row| {
            out.push(row);
            true
        })?;
    Ok(out)
}

fn roles(tx: &OrgTx, org: &SubOrg) -> Result<Vec<SubOrgRole>> {
    rows_of(tx, Table::SubOrgRole, &org.id)
}

fn role_of(tx: &OrgTx, org: &SubOrg, role: &SubOrgRoleRef) -> Result<SubOrgRole> {
    let found = roles(tx, org)?.into_iter().find(|r| match role {
        SubOrgRoleRef::Id(id) => r.id == *id,
        SubOrgRoleRef::Slug(slug) => r.slug.eq_ignore_ascii_case(slug),
    });
    found.ok_or_else(|| {
        let named = match role {
            SubOrgRoleRef::Id(id) => id.to_string(),
            SubOrgRoleRef::Slug(slug) => slug.clone(),
        };
        ClusterError::invalid(
            "role",
            format!("{named} is not a role of organization {}", org.slug),
        )
    })
}

fn default_role(tx: &OrgTx, org: &SubOrg) -> Result<SubOrgRole> {
    roles(tx, org)?
        .into_iter()
        .find(|r| r.is_default)
        .ok_or_else(|| {
            ClusterError::invalid("role", "is required (the organization has no default role)")
        })
}

fn claim_slug(tx: &mut OrgTx, slug: &str, id: &str) -> Result<()> {
    if let Some(owner) = tx.get::<String>(Table::SubOrgSlug, slug.as_bytes())?
        && owner != id
    {
        return Err(ClusterError::conflict(
            "slug",
            format!("an organization with slug {slug} already exists"),
        ));
    }
    tx.put(Table::SubOrgSlug, slug.as_bytes(), &id.to_string())
}

fn text(value: &Option<Option<String>>, old: Option<String>) -> Option<String> {
    match value {
        Some(new) => new.clone(),
        None => old,
    }
}

fn metadata(value: &Option<Option<String>>, old: Option<Value>) -> Result<Option<Value>> {
    match value {
        None => Ok(old),
        Some(None) => Ok(None),
        Some(Some(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .map(Some)
            .ok_or_else(|| ClusterError::invalid("metadata", "must be a JSON object")),
    }
}

fn create(tx: &mut OrgTx, meta: &CommandMeta, fields: &SubOrgFields) -> Result<Applied> {
    let slug = fields
        .slug
        .clone()
        .ok_or_else(|| ClusterError::invalid("slug", "is required"))?
        .to_lowercase();
    let name = fields
        .name
        .clone()
        .ok_or_else(|| ClusterError::invalid("name", "is required"))?;
    let id = format!(
        "org_{}",
        derive_ulid(meta.at, slug.as_bytes())
            .to_string()
            .to_lowercase()
    );
    claim_slug(tx, &slug, &id)?;
    let org = SubOrg {
        id: id.clone(),
        slug,
        name,
        display_name: text(&fields.display_name, None),
        description: text(&fields.description, None),
        logo_url: text(&fields.logo_url, None),
        is_active: fields.is_active.unwrap_or(true),
        metadata: metadata(&fields.metadata, None)?,
        member_count: 0,
        created_at: meta.at,
        updated_at: None,
    };
    save(tx, &org)?;
    let mut counters = head(tx)?;
    for (slug, name, is_owner, is_default) in [
        ("owner", "Owner", true, false),
        ("admin", "Admin", false, false),
        ("member", "Member", false, true),
    ] {
        counters.last_role_id += 1;
        save_role(
            tx,
            &SubOrgRole {
                id: counters.last_role_id,
                sub_org: id.clone(),
                slug: slug.into(),
                name: name.into(),
                description: None,
                is_default,
                is_owner,
                is_system: true,
            },
        )?;
    }
    tx.put(Table::SubOrgHead, &[], &counters)?;
    let event = event(&org, "organization.created", "created")
        .new_value(json!({"slug": org.slug, "name": org.name}));
    Ok((Outcome::Created(id), vec![event]))
}

fn update(tx: &mut OrgTx, meta: &CommandMeta, key: &str, fields: &SubOrgFields) -> Result<Applied> {
    let mut org = lookup::sub_org(tx, key)?;
    let before = json!({"slug": org.slug, "name": org.name, "isActive": org.is_active});
    if let Some(slug) = &fields.slug {
        let slug = slug.to_lowercase();
        if slug != org.slug {
            claim_slug(tx, &slug, &org.id)?;
            tx.delete(Table::SubOrgSlug, org.slug.as_bytes());
            org.slug = slug;
        }
    }
    if let Some(name) = &fields.name {
        org.name = name.clone();
    }
    org.display_name = text(&fields.display_name, org.display_name.take());
    org.description = text(&fields.description, org.description.take());
    org.logo_url = text(&fields.logo_url, org.logo_url.take());
    if let Some(active) = fields.is_active {
        org.is_active = active;
    }
    org.metadata = metadata(&fields.metadata, org.metadata.take())?;
    org.updated_at = Some(meta.at);
    save(tx, &org)?;
    let event = event(&org, "organization.updated", "updated")
        .old_value(before)
        .new_value(json!({"slug": org.slug, "name": org.name, "isActive": org.is_active}));
    Ok((Outcome::Done, vec![event]))
}

fn delete(tx: &mut OrgTx, key: &str) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    for member in rows_of::<SubOrgMember>(tx, Table::SubOrgMember, &org.id)? {
        tx.delete(
            Table::SubOrgMemberOf,
            &member_of_key(member.user_id, &org.id),
        );
        tx.delete(
            Table::SubOrgMember,
            &sub_org_key(&org.id, &member.user_id.to_bytes()),
        );
    }
    for role in roles(tx, &org)? {
        tx.delete(
            Table::SubOrgRole,
            &sub_org_key(&org.id, &role.id.to_be_bytes()),
        );
    }
    for invitation in rows_of::<SubOrgInvitation>(tx, Table::SubOrgInvitation, &org.id)? {
        tx.delete(
            Table::SubOrgInviteEmail,
            &sub_org_key(&org.id, invitation.email.as_bytes()),
        );
        tx.delete(
            Table::SubOrgInvitation,
            &sub_org_key(&org.id, &invitation.id.to_be_bytes()),
        );
    }
    tx.delete(Table::SubOrgSlug, org.slug.as_bytes());
    tx.delete(Table::SubOrg, org.id.as_bytes());
    let event = event(&org, "organization.deleted", "deleted")
        .severity("warning")
        .old_value(json!({"slug": org.slug, "name": org.name, "memberCount": org.member_count}));
    Ok((Outcome::Done, vec![event]))
}

/// Makes `role` the only default of its organization when it is one.
fn keep_one_default(tx: &mut OrgTx, org: &SubOrg, role: &SubOrgRole) -> Result<()> {
    if !role.is_default {
        return Ok(());
    }
    for mut other in roles(tx, org)? {
        if other.id != role.id && other.is_default {
            other.is_default = false;
            save_role(tx, &other)?;
        }
    }
    Ok(())
}

fn create_role(tx: &mut OrgTx, key: &str, fields: &SubOrgRoleFields) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let slug = fields
        .slug
        .clone()
        .ok_or_else(|| ClusterError::invalid("slug", "is required"))?
        .to_lowercase();
    if roles(tx, &org)?.iter().any(|r| r.slug == slug) {
        return Err(ClusterError::conflict(
            "slug",
            format!("organization {} already has a role {slug}", org.slug),
        ));
    }
    let mut counters = head(tx)?;
    counters.last_role_id += 1;
    tx.put(Table::SubOrgHead, &[], &counters)?;
    let role = SubOrgRole {
        id: counters.last_role_id,
        sub_org: org.id.clone(),
        slug,
        name: fields
            .name
            .clone()
            .ok_or_else(|| ClusterError::invalid("name", "is required"))?,
        description: text(&fields.description, None),
        is_default: fields.is_default.unwrap_or(false),
        is_owner: false,
        is_system: false,
    };
    save_role(tx, &role)?;
    keep_one_default(tx, &org, &role)?;
    let event = event(
        &org,
        "organization.role.created",
        &format!("role {} created", role.slug),
    );
    Ok((Outcome::Created(role.id.to_string()), vec![event]))
}

fn update_role(tx: &mut OrgTx, key: &str, id: u64, fields: &SubOrgRoleFields) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let mut role = roles(tx, &org)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ClusterError::not_found("organization role", id))?;
    if let Some(slug) = &fields.slug {
        let slug = slug.to_lowercase();
        if slug != role.slug {
            if role.is_system {
                return Err(ClusterError::invalid(
                    "slug",
                    "the slug of a system role cannot change",
                ));
            }
            if roles(tx, &org)?.iter().any(|r| r.slug == slug) {
                return Err(ClusterError::conflict(
                    "slug",
                    format!("organization {} already has a role {slug}", org.slug),
                ));
            }
            role.slug = slug;
        }
    }
    if let Some(name) = &fields.name {
        role.name = name.clone();
    }
    role.description = text(&fields.description, role.description.take());
    if let Some(default) = fields.is_default {
        if !default && role.is_default {
            return Err(ClusterError::invalid(
                "isDefault",
                "make another role the default instead",
            ));
        }
        role.is_default = default;
    }
    save_role(tx, &role)?;
    keep_one_default(tx, &org, &role)?;
    let event = event(
        &org,
        "organization.role.updated",
        &format!("role {} updated", role.slug),
    );
    Ok((Outcome::Done, vec![event]))
}

fn delete_role(tx: &mut OrgTx, key: &str, id: u64) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let role = roles(tx, &org)?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ClusterError::not_found("organization role", id))?;
    if role.is_system {
        return Err(ClusterError::invalid(
            "roleId",
            "a system role cannot be deleted",
        ));
    }
    let members = rows_of::<SubOrgMember>(tx, Table::SubOrgMember, &org.id)?;
    let invitations = rows_of::<SubOrgInvitation>(tx, Table::SubOrgInvitation, &org.id)?;
    let used = members.iter().filter(|m| m.role_id == id).count()
        + invitations
            .iter()
            .filter(|i| i.role_id == id && i.status == InvitationStatus::Pending)
            .count();
    if used > 0 {
        return Err(ClusterError::invalid(
            "roleId",
            format!("the role is held by {used} members or pending invitations; change them first"),
        ));
    }
    if role.is_default {
        return Err(ClusterError::invalid(
            "roleId",
            "the default role cannot be deleted; make another role the default first",
        ));
    }
    tx.delete(Table::SubOrgRole, &sub_org_key(&org.id, &id.to_be_bytes()));
    let event = event(
        &org,
        "organization.role.deleted",
        &format!("role {} deleted", role.slug),
    );
    Ok((Outcome::Done, vec![event]))
}

fn add_member(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    org: &SubOrg,
    user: &User,
    role: &SubOrgRole,
) -> Result<SubOrgMember> {
    let key = sub_org_key(&org.id, &user.id.to_bytes());
    if tx.exists(Table::SubOrgMember, &key)? {
        return Err(ClusterError::conflict(
            "userId",
            format!("{} is already a member of {}", user.email, org.slug),
        ));
    }
    let mut counters = head(tx)?;
    counters.last_member_id += 1;
    tx.put(Table::SubOrgHead, &[], &counters)?;
    let member = SubOrgMember {
        id: counters.last_member_id,
        sub_org: org.id.clone(),
        user_id: user.id,
        role_id: role.id,
        status: MemberStatus::Active,
        joined_at: meta.at,
    };
    save_member(tx, &member)?;
    tx.put(Table::SubOrgMemberOf, &member_of_key(user.id, &org.id), &())?;
    let mut org = org.clone();
    org.member_count += 1;
    save(tx, &org)?;
    Ok(member)
}

fn member(tx: &OrgTx, org: &SubOrg, user: &User) -> Result<SubOrgMember> {
    tx.get(
        Table::SubOrgMember,
        &sub_org_key(&org.id, &user.id.to_bytes()),
    )?
    .ok_or_else(|| ClusterError::not_found("organization member", &user.email))
}

/// Refuses a change that would leave `org` without an active owner.
fn keeps_an_owner(
    tx: &OrgTx,
    org: &SubOrg,
    changed: Option<&SubOrgMember>,
    gone: UserId,
) -> Result<()> {
    let owner_roles: Vec<u64> = roles(tx, org)?
        .iter()
        .filter(|r| r.is_owner)
        .map(|r| r.id)
        .collect();
    let members = rows_of::<SubOrgMember>(tx, Table::SubOrgMember, &org.id)?;
    let owns =
        |m: &SubOrgMember| owner_roles.contains(&m.role_id) && m.status == MemberStatus::Active;
    if !members.iter().any(owns) {
        return Ok(());
    }
    let still = members
        .iter()
        .filter(|m| m.user_id != gone)
        .chain(changed)
        .any(owns);
    if still {
        Ok(())
    } else {
        Err(ClusterError::invalid(
            "userId",
            format!(
                "{} would have no active owner left; make another member owner first",
                org.slug
            ),
        ))
    }
}

fn update_member(
    tx: &mut OrgTx,
    key: &str,
    user: &UserKey,
    role: Option<&SubOrgRoleRef>,
    status: Option<MemberStatus>,
) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let user = lookup::user(tx, user)?;
    let mut member = member(tx, &org, &user)?;
    let before = member.clone();
    if let Some(role) = role {
        member.role_id = role_of(tx, &org, role)?.id;
    }
    if let Some(status) = status {
        member.status = status;
    }
    keeps_an_owner(tx, &org, Some(&member), user.id)?;
    save_member(tx, &member)?;
    let event = event(
        &org,
        "organization.member.updated",
        &format!("{} updated", user.email),
    )
    .old_value(json!({"roleId": before.role_id, "status": before.status.as_str()}))
    .new_value(json!({"roleId": member.role_id, "status": member.status.as_str()}));
    Ok((Outcome::Done, vec![event]))
}

fn remove_member(tx: &mut OrgTx, key: &str, user: &UserKey) -> Result<Applied> {
    let mut org = lookup::sub_org(tx, key)?;
    let user = lookup::user(tx, user)?;
    member(tx, &org, &user)?;
    keeps_an_owner(tx, &org, None, user.id)?;
    tx.delete(
        Table::SubOrgMember,
        &sub_org_key(&org.id, &user.id.to_bytes()),
    );
    tx.delete(Table::SubOrgMemberOf, &member_of_key(user.id, &org.id));
    org.member_count = org.member_count.saturating_sub(1);
    save(tx, &org)?;
    let event = event(
        &org,
        "organization.member.removed",
        &format!("{} removed", user.email),
    )
    .severity("warning");
    Ok((Outcome::Done, vec![event]))
}

/// Removes `user` from every organization (the user is being deleted).
pub(super) fn forget_user(tx: &mut OrgTx, user: UserId) -> Result<()> {
    let mut orgs = Vec::new();
    tx.reader()
        .scan_keys(Table::SubOrgMemberOf, &user.to_bytes(), |key| {
            if let Ok(id) = std::str::from_utf8(key) {
                orgs.push(id.to_string());
            }
            true
        })?;
    for id in orgs {
        tx.delete(Table::SubOrgMemberOf, &member_of_key(user, &id));
        tx.delete(Table::SubOrgMember, &sub_org_key(&id, &user.to_bytes()));
        if let Some(mut org) = tx.get::<SubOrg>(Table::SubOrg, id.as_bytes())? {
            org.member_count = org.member_count.saturating_sub(1);
            save(tx, &org)?;
        }
    }
    Ok(())
}

fn invitation(tx: &OrgTx, org: &SubOrg, id: u64) -> Result<SubOrgInvitation> {
    tx.get(
        Table::SubOrgInvitation,
        &sub_org_key(&org.id, &id.to_be_bytes()),
    )?
    .ok_or_else(|| ClusterError::not_found("invitation", id))
}

/// The audit event that also queues the invitation's email (its `sentAt` picks the latest).
fn invitation_event(org: &SubOrg, invitation: &SubOrgInvitation, action: &str) -> AuditEvent {
    AuditEvent::new(
        "organization",
        action,
        format!("organization {}: {} invited", org.slug, invitation.email),
    )
    .target(
        "organization_invitation",
        format!("{}-{}", org.id, invitation.id),
        invitation.email.clone(),
    )
    .new_value(json!({
        "email": invitation.email,
        "roleId": invitation.role_id,
        "sentAt": invitation.sent_at.0,
        "expiresAt": invitation.expires_at.to_rfc3339(),
    }))
}

#[allow(clippy::too_many_arguments)]
fn invite(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &str,
    email: &str,
    role: Option<&SubOrgRoleRef>,
    nonce: &str,
    expires_at: crate::clock::Timestamp,
    issuer: &str,
) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let email = email.to_lowercase();
    let role = match role {
        Some(r) => role_of(tx, &org, r)?,
        None => default_role(tx, &org)?,
    };
    if let Some(id) = tx.get::<UserId>(Table::UserEmail, email.as_bytes())?
        && tx.exists(Table::SubOrgMember, &sub_org_key(&org.id, &id.to_bytes()))?
    {
        return Err(ClusterError::conflict(
            "email",
            format!("{email} is already a member of {}", org.slug),
        ));
    }
    let now = meta.at;
    let email_key = sub_org_key(&org.id, email.as_bytes());
    let previous = match tx.get::<u64>(Table::SubOrgInviteEmail, &email_key)? {
        Some(id) => tx.get::<SubOrgInvitation>(
            Table::SubOrgInvitation,
            &sub_org_key(&org.id, &id.to_be_bytes()),
        )?,
        None => None,
    };
    if previous.is_some_and(|i| i.status_at(now) == "pending") {
        return Err(ClusterError::conflict(
            "email",
            format!(
                "{email} already has a pending invitation to {}; resend it instead",
                org.slug
            ),
        ));
    }
    let mut counters = head(tx)?;
    counters.last_invitation_id += 1;
    tx.put(Table::SubOrgHead, &[], &counters)?;
    let invitation = SubOrgInvitation {
        id: counters.last_invitation_id,
        sub_org: org.id.clone(),
        email,
        role_id: role.id,
        status: InvitationStatus::Pending,
        invited_by: Some(meta.actor.actor_name()),
        nonce: nonce.to_string(),
        issuer: issuer.to_string(),
        created_at: now,
        expires_at,
        sent_at: now,
        accepted_by: None,
    };
    save_invitation(tx, &invitation)?;
    tx.put(Table::SubOrgInviteEmail, &email_key, &invitation.id)?;
    let event = invitation_event(&org, &invitation, "organization.invitation.created");
    Ok((Outcome::Created(invitation.id.to_string()), vec![event]))
}

fn resend(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &str,
    id: u64,
    nonce: &str,
    expires_at: crate::clock::Timestamp,
    issuer: &str,
) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let mut invitation = invitation(tx, &org, id)?;
    if matches!(
        invitation.status,
        InvitationStatus::Accepted | InvitationStatus::Revoked
    ) {
        return Err(ClusterError::invalid(
            "invId",
            format!(
                "the invitation is {}; invite again instead",
                invitation.status_at(meta.at)
            ),
        ));
    }
    invitation.nonce = nonce.to_string();
    invitation.expires_at = expires_at;
    invitation.sent_at = meta.at;
    invitation.issuer = issuer.to_string();
    save_invitation(tx, &invitation)?;
    let event = invitation_event(&org, &invitation, "organization.invitation.resent");
    Ok((Outcome::Done, vec![event]))
}

fn revoke(tx: &mut OrgTx, key: &str, id: u64) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let mut invitation = invitation(tx, &org, id)?;
    if invitation.status == InvitationStatus::Accepted {
        return Err(ClusterError::invalid(
            "invId",
            "the invitation was accepted; remove the member instead",
        ));
    }
    invitation.status = InvitationStatus::Revoked;
    save_invitation(tx, &invitation)?;
    let event = event(
        &org,
        "organization.invitation.revoked",
        &format!("invitation of {} revoked", invitation.email),
    );
    Ok((Outcome::Done, vec![event]))
}

#[allow(clippy::too_many_arguments)]
fn accept(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &str,
    id: u64,
    nonce: &str,
    new_user: UserId,
    name: Option<&str>,
    password_hash: Option<&str>,
) -> Result<Applied> {
    let org = lookup::sub_org(tx, key)?;
    let mut invitation = invitation(tx, &org, id)?;
    if let Some(problem) = invitation.refusal(nonce, meta.at) {
        return Err(ClusterError::invalid("token", problem));
    }
    let mut events = Vec::new();
    let user = match tx.get::<UserId>(Table::UserEmail, invitation.email.as_bytes())? {
        Some(id) => lookup::user(tx, &UserKey::Id(id))?,
        None => {
            let hash = password_hash.ok_or_else(|| {
                ClusterError::invalid("password", "is required to create the account")
            })?;
            let new = NewUser {
                id: new_user,
                email: invitation.email.clone(),
                password_hash: Some(hash.to_string()),
                username: None,
                name: name.map(str::to_string),
                given_name: None,
                family_name: None,
                picture: None,
                phone_number: None,
                // The invitation link proved the address.
                email_verified: true,
                locale: None,
                zoneinfo: None,
                is_active: None,
            };
            let (_, created) = super::users::create(tx, meta, &new)?;
            events.extend(created);
            lookup::user(tx, &UserKey::Id(new_user))?
        }
    };
    let role = role_of(tx, &org, &SubOrgRoleRef::Id(invitation.role_id))?;
    add_member(tx, meta, &org, &user, &role)?;
    invitation.status = InvitationStatus::Accepted;
    invitation.accepted_by = Some(user.id);
    save_invitation(tx, &invitation)?;
    events.push(
        event(
            &org,
            "organization.invitation.accepted",
            &format!("{} accepted the invitation", user.email),
        )
        .new_value(json!({"userId": user.id.to_string(), "role": role.slug})),
    );
    Ok((Outcome::Created(user.id.to_string()), events))
}
