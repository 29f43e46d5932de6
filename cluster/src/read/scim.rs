//! SCIM reads: users and groups with what SCIM shows beyond the admin API's fields (their
//! `ScimExtra`, a user's groups, a group's members). Lists hand every resource over; the api
//! filters, sorts and pages them with the SCIM grammar.

use crate::command::{GroupKey, Relation, UserKey};
use crate::error::Result;
use crate::ids::{GroupId, UserId};
use crate::lookup;
use crate::model::{Group, ScimExtra, User};
use crate::query::{Reply, ScimGroupView, ScimUserView};
use crate::relations::{Direction, neighbours};
use crate::tables::{OrgReader, Table};

/// Most resources one SCIM list reads (the api pages within them).
pub const MAX_LISTED: usize = 50_000;

/// A list would be cut short: refused rather than answered partly (`tooMany`).
fn too_many(read: usize) -> Result<()> {
    if read >= MAX_LISTED {
        return Err(crate::error::ClusterError::scim(
            400,
            Some("tooMany"),
            format!("the organization has more than {MAX_LISTED} of these; SCIM lists stop there"),
        ));
    }
    Ok(())
}

fn extra(reader: &OrgReader, id: &[u8; 16]) -> Result<ScimExtra> {
    Ok(reader.get(Table::ScimExtra, id)?.unwrap_or_default())
}

fn user_view(reader: &OrgReader, user: User) -> Result<ScimUserView> {
    let id = user.id.to_bytes();
    let mut groups = Vec::new();
    for raw in neighbours(reader, Relation::UserGroup, Direction::Forward, &id)? {
        if let Some(group_id) = GroupId::from_bytes(&raw)
            && let Some(group) = reader.get::<Group>(Table::Group, &group_id.to_bytes())?
        {
            groups.push((group_id, group.name));
        }
    }
    Ok(ScimUserView {
        extra: extra(reader, &id)?,
        user,
        groups,
    })
}

fn group_view(reader: &OrgReader, group: Group) -> Result<ScimGroupView> {
    let id = group.id.to_bytes();
    let mut members = Vec::new();
    for raw in neighbours(reader, Relation::UserGroup, Direction::Backward, &id)? {
        if let Some(user_id) = UserId::from_bytes(&raw)
            && let Some(user) = reader.get::<User>(Table::User, &user_id.to_bytes())?
        {
            members.push((user_id, user.name.unwrap_or(user.email)));
        }
    }
    Ok(ScimGroupView {
        extra: extra(reader, &id)?,
        group,
        members,
    })
}

pub(super) fn user(reader: &OrgReader, id: UserId) -> Result<Reply> {
    let user = lookup::user(reader, &UserKey::Id(id))?;
    Ok(Reply::ScimUser(Box::new(user_view(reader, user)?)))
}

pub(super) fn users(reader: &OrgReader) -> Result<Reply> {
    let mut all = Vec::new();
    reader.scan::<User>(Table::User, &[], false, |_, user| {
        all.push(user);
        all.len() < MAX_LISTED
    })?;
    too_many(all.len())?;
    let views = all
        .into_iter()
        .map(|u| user_view(reader, u))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::ScimUsers(views))
}

pub(super) fn group(reader: &OrgReader, id: GroupId) -> Result<Reply> {
    let group = lookup::group(reader, &GroupKey::Id(id))?;
    Ok(Reply::ScimGroup(Box::new(group_view(reader, group)?)))
}

pub(super) fn groups(reader: &OrgReader) -> Result<Reply> {
    let mut all = Vec::new();
    reader.scan::<Group>(Table::Group, &[], false, |_, group| {
        all.push(group);
        all.len() < MAX_LISTED
    })?;
    too_many(all.len())?;
    let views = all
        .into_iter()
        .map(|g| group_view(reader, g))
        .collect::<Result<Vec<_>>>()?;
    Ok(Reply::ScimGroups(views))
}

/// The inbound `attribute_mapping` (JSON object text).
pub(super) fn inbound_mapping(reader: &OrgReader) -> Result<Reply> {
    let section = crate::settings::SettingsSection::Scim;
    let stored: Option<serde_json::Value> =
        reader.get(Table::Settings, section.as_str().as_bytes())?;
    let doc = crate::settings::render(section, stored.as_ref());
    Ok(Reply::Json(doc["inbound"]["attribute_mapping"].to_string()))
}
