//! Reads of B2B organizations, rendered in the contract's shapes (`Organization`,
//! `OrganizationRole`, `OrganizationMember`, `OrganizationInvitation`) as JSON text; the API
//! pages and filters them.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::error::Result;
use crate::lookup;
use crate::model::{SubOrg, SubOrgInvitation, SubOrgMember, SubOrgRole, User, sub_org_key};
use crate::query::{Reply, SubOrgRead};
use crate::tables::{OrgReader, Table};

fn time(at: Option<Timestamp>) -> Value {
    at.map_or(Value::Null, |t| json!(t.to_rfc3339()))
}

pub fn organization(org: &SubOrg) -> Value {
    json!({
        "id": org.id,
        "slug": org.slug,
        "name": org.name,
        "displayName": org.display_name,
        "description": org.description,
        "logoUrl": org.logo_url,
        "isActive": org.is_active,
        "memberCount": org.member_count,
        "metadata": org.metadata,
        "createdAt": org.created_at.to_rfc3339(),
        "updatedAt": time(org.updated_at),
    })
}

pub fn role(role: &SubOrgRole) -> Value {
    json!({
        "id": role.id,
        "slug": role.slug,
        "name": role.name,
        "description": role.description,
        "isDefault": role.is_default,
        "isOwner": role.is_owner,
        "isSystem": role.is_system,
    })
}

fn rows<T: serde::de::DeserializeOwned>(
    reader: &OrgReader,
    table: Table,
    org: &str,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    reader.scan::<T>(table, &sub_org_key(org, &[]), false, |_, row| {
        out.push(row);
        true
    })?;
    Ok(out)
}

fn member(reader: &OrgReader, member: &SubOrgMember, roles: &[SubOrgRole]) -> Result<Value> {
    let user: Option<User> = reader.get(Table::User, &member.user_id.to_bytes())?;
    let role = roles.iter().find(|r| r.id == member.role_id);
    Ok(json!({
        "id": member.id,
        "user": {
            "id": member.user_id.to_string(),
            "email": user.as_ref().map(|u| u.email.clone()),
            "name": user.and_then(|u| u.name),
        },
        "role": role.map(|r| json!({"id": r.id, "slug": r.slug, "name": r.name})),
        "status": member.status.as_str(),
        "joinedAt": member.joined_at.to_rfc3339(),
    }))
}

fn invitation(invitation: &SubOrgInvitation, roles: &[SubOrgRole], now: Timestamp) -> Value {
    let role = roles.iter().find(|r| r.id == invitation.role_id);
    json!({
        "id": invitation.id,
        "email": invitation.email,
        "role": role.map(|r| json!({"id": r.id, "slug": r.slug})),
        "status": invitation.status_at(now),
        "invitedBy": invitation.invited_by,
        "createdAt": invitation.created_at.to_rfc3339(),
        "expiresAt": invitation.expires_at.to_rfc3339(),
    })
}

pub(super) fn read(reader: &OrgReader, what: &SubOrgRead, now: Timestamp) -> Result<Reply> {
    let value = match what {
        SubOrgRead::List => {
            let mut all = Vec::new();
            reader.scan::<SubOrg>(Table::SubOrg, &[], false, |_, org| {
                all.push(organization(&org));
                true
            })?;
            Value::Array(all)
        }
        SubOrgRead::Get(key) => organization(&lookup::sub_org(reader, key)?),
        SubOrgRead::Roles(key) => {
            let org = lookup::sub_org(reader, key)?;
            let roles: Vec<SubOrgRole> = rows(reader, Table::SubOrgRole, &org.id)?;
            Value::Array(roles.iter().map(role).collect())
        }
        SubOrgRead::Members(key) => {
            let org = lookup::sub_org(reader, key)?;
            let roles: Vec<SubOrgRole> = rows(reader, Table::SubOrgRole, &org.id)?;
            let mut members: Vec<SubOrgMember> = rows(reader, Table::SubOrgMember, &org.id)?;
            members.sort_by_key(|m| m.id);
            let mut out = Vec::with_capacity(members.len());
            for m in &members {
                out.push(member(reader, m, &roles)?);
            }
            Value::Array(out)
        }
        SubOrgRead::Invitations(key) => {
            let org = lookup::sub_org(reader, key)?;
            let roles: Vec<SubOrgRole> = rows(reader, Table::SubOrgRole, &org.id)?;
            let mut all: Vec<SubOrgInvitation> = rows(reader, Table::SubOrgInvitation, &org.id)?;
            all.sort_by_key(|i| std::cmp::Reverse(i.id));
            Value::Array(all.iter().map(|i| invitation(i, &roles, now)).collect())
        }
        SubOrgRead::Invitation(key, id) => {
            let org = lookup::sub_org(reader, key)?;
            let found: SubOrgInvitation = reader
                .get(
                    Table::SubOrgInvitation,
                    &sub_org_key(&org.id, &id.to_be_bytes()),
                )?
                .ok_or_else(|| crate::error::ClusterError::not_found("invitation", id))?;
            let roles: Vec<SubOrgRole> = rows(reader, Table::SubOrgRole, &org.id)?;
            invitation(&found, &roles, now)
        }
        SubOrgRead::Member(key, user) => {
            let org = lookup::sub_org(reader, key)?;
            let user = lookup::user(reader, user)?;
            let found: SubOrgMember = reader
                .get(
                    Table::SubOrgMember,
                    &sub_org_key(&org.id, &user.id.to_bytes()),
                )?
                .ok_or_else(|| {
                    crate::error::ClusterError::not_found("organization member", &user.email)
                })?;
            let roles: Vec<SubOrgRole> = rows(reader, Table::SubOrgRole, &org.id)?;
            member(reader, &found, &roles)?
        }
    };
    Ok(Reply::Json(value.to_string()))
}
