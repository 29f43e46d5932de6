//! SCIM provisioning writes: whole user and group states, checked against the org's inbound
//! SCIM settings (what SCIM may create, change and delete; protected attributes; how deletes
//! deprovision) and the version the client last saw. Users and groups are the admin API's own
//! records (same indexes, same audit trail); what SCIM adds is kept in `ScimExtra`.

use serde_json::Value;

use crate::command::{
    CommandMeta, EntityKey, GroupKey, NamedPatch, NewNamed, NewUser, RelateMode, Relation,
    ScimGroupState, ScimUserState, ScimWrite, UserKey, UserPatch,
};
use crate::error::{ClusterError, Result};
use crate::ids::{GroupId, UserId};
use crate::lookup;
use crate::model::{AuditEvent, ScimExtra, User, group_version, user_version};
use crate::query::Outcome;
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgTx, Table};

use super::{Applied, named, relations, users};

/// A put's outcome: the new resource's id, or done.
fn written(create: bool, id: impl ToString) -> Outcome {
    if create {
        Outcome::Created(id.to_string())
    } else {
        Outcome::Done
    }
}

fn inbound(tx: &OrgTx) -> Result<Value> {
    let section = SettingsSection::Scim;
    let stored: Option<Value> = tx.get(Table::Settings, section.as_str().as_bytes())?;
    Ok(render(section, stored.as_ref())["inbound"].clone())
}

fn allowed(inbound: &Value, switch: &str, what: &str) -> Result<()> {
    if inbound[switch].as_bool() == Some(false) {
        return Err(ClusterError::scim(
            403,
            None,
            format!("the organization's SCIM settings do not allow {what} ({switch})"),
        ));
    }
    Ok(())
}

fn check_version(current: &str, if_match: Option<&String>) -> Result<()> {
    match if_match {
        Some(expected) if expected != "*" && expected != current => Err(ClusterError::scim(
            412,
            None,
            format!("the resource changed (version {current}, not {expected})"),
        )),
        _ => Ok(()),
    }
}

fn extra(tx: &OrgTx, id: &[u8; 16]) -> Result<ScimExtra> {
    Ok(tx.get(Table::ScimExtra, id)?.unwrap_or_default())
}

fn save_extra(tx: &mut OrgTx, id: &[u8; 16], extra: &ScimExtra) -> Result<()> {
    if *extra == ScimExtra::default() {
        tx.delete(Table::ScimExtra, id);
        Ok(())
    } else {
        tx.put(Table::ScimExtra, id, extra)
    }
}

fn enterprise(text: Option<&String>) -> Result<Option<Value>> {
    text.map(|t| {
        serde_json::from_str::<Value>(t)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                ClusterError::scim(
                    400,
                    Some("invalidValue"),
                    "the enterprise extension must be an object",
                )
            })
    })
    .transpose()
}

/// A protected attribute (`protected_attributes`) that the write would change.
fn protected_change(inbound: &Value, user: &User, state: &ScimUserState) -> Option<&'static str> {
    let protected = |name: &str| inbound["protected_attributes"][name].as_bool() == Some(true);
    let name_changed = user.name != state.name
        || user.given_name != state.given_name
        || user.family_name != state.family_name;
    if protected("email") && user.email != state.email.to_lowercase() {
        Some("emails")
    } else if protected("name") && name_changed {
        Some("name")
    } else if protected("active") && user.is_active != state.active {
        Some("active")
    } else {
        None
    }
}

fn put_user(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: UserId,
    create: bool,
    if_match: Option<&String>,
    state: &ScimUserState,
) -> Result<Applied> {
    let settings = inbound(tx)?;
    let mut events = Vec::new();
    if create {
        allowed(&settings, "allow_user_creation", "creating users")?;
        let new = NewUser {
            id,
            email: state.email.clone(),
            password_hash: state.password_hash.clone(),
            username: Some(state.user_name.clone()),
            name: state.name.clone(),
            given_name: state.given_name.clone(),
            family_name: state.family_name.clone(),
            picture: state.picture.clone(),
            phone_number: state.phone_number.clone(),
            email_verified: state.email_verified,
            locale: state.locale.clone(),
            zoneinfo: state.zoneinfo.clone(),
            is_active: Some(
                state.active && settings["auto_activate_users"].as_bool() != Some(false),
            ),
        };
        let (_, created) = users::create(tx, meta, &new)?;
        events.extend(created);
    } else {
        allowed(&settings, "allow_user_updates", "updating users")?;
        let user = lookup::user(tx, &UserKey::Id(id))?;
        check_version(&user_version(&user), if_match)?;
        if let Some(attribute) = protected_change(&settings, &user, state) {
            return Err(ClusterError::scim(
                400,
                Some("mutability"),
                format!("{attribute} is protected from SCIM changes in this organization"),
            ));
        }
        let patch = UserPatch {
            email: Some(state.email.clone()),
            username: Some(Some(state.user_name.clone())),
            email_verified: Some(state.email_verified),
            is_active: Some(state.active),
            password_hash: state.password_hash.clone(),
            ..profile_patch(state)
        };
        events.extend(update_user(tx, meta, id, &patch)?);
    }
    let mut kept = extra(tx, &id.to_bytes())?;
    kept.external_id.clone_from(&state.external_id);
    kept.enterprise = enterprise(state.enterprise.as_ref())?;
    keep_as_sent(&mut kept, state);
    if state.active {
        kept.soft_deleted_at = None;
    }
    save_extra(tx, &id.to_bytes(), &kept)?;
    Ok((written(create, id), events))
}

fn delete_user(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: UserId,
    if_match: Option<&String>,
    hard: bool,
) -> Result<Applied> {
    let settings = inbound(tx)?;
    allowed(&settings, "allow_user_deletion", "deleting users")?;
    let mut user = lookup::user(tx, &UserKey::Id(id))?;
    check_version(&user_version(&user), if_match)?;
    let mut kept = extra(tx, &id.to_bytes())?;
    let action = settings["deprovisioning_action"]
        .as_str()
        .unwrap_or("soft_delete");
    if hard || action == "hard_delete" || kept.soft_deleted_at.is_some() {
        return users::delete(tx, &UserKey::Id(id));
    }
    user.is_active = false;
    user.updated_at = Some(meta.at);
    tx.put(Table::User, &id.to_bytes(), &user)?;
    if action == "soft_delete" {
        kept.soft_deleted_at = Some(meta.at);
        save_extra(tx, &id.to_bytes(), &kept)?;
    }
    let event = crate::model::AuditEvent::new(
        "user",
        if action == "soft_delete" {
            "user.soft_deleted"
        } else {
            "user.deactivated"
        },
        format!("user {} deprovisioned by SCIM ({action})", user.email),
    )
    .target("user", user.id, user.email.clone());
    Ok((Outcome::Done, vec![event]))
}

/// `PATCH /Me`: the calling user's own changes. The address, user name, state, password and
/// directory data (enterprise extension) stay as the administrator or the provisioning client
/// set them.
fn put_me(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    if_match: Option<&String>,
    state: &ScimUserState,
) -> Result<Applied> {
    let crate::model::PrincipalKind::User { id, .. } = &meta.actor.kind else {
        return Err(meta.actor.kind.scim_me_refusal());
    };
    let id = *id;
    let user = lookup::user(tx, &UserKey::Id(id))?;
    check_version(&user_version(&user), if_match)?;
    let mut kept = extra(tx, &id.to_bytes())?;
    let shown_name = user.username.clone().unwrap_or_else(|| user.email.clone());
    let enterprise = enterprise(state.enterprise.as_ref())?;
    let fixed = [
        ("userName", state.user_name != shown_name),
        ("emails", state.email != user.email),
        (
            "emails.verified",
            state.email_verified != user.email_verified,
        ),
        ("active", state.active != user.is_active),
        ("password", state.password_hash.is_some()),
        ("externalId", state.external_id != kept.external_id),
        (ENTERPRISE_URN, enterprise != kept.enterprise),
    ];
    if let Some((attribute, _)) = fixed.iter().find(|(_, changed)| *changed) {
        return Err(ClusterError::scim(
            400,
            Some("mutability"),
            format!("{attribute} cannot be changed through /Me"),
        ));
    }
    let events = update_user(tx, meta, id, &profile_patch(state))?;
    keep_as_sent(&mut kept, state);
    save_extra(tx, &id.to_bytes(), &kept)?;
    Ok((Outcome::Done, events))
}

/// How the enterprise extension is named in refusals.
const ENTERPRISE_URN: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// The profile fields of `state` (what a user may change about themselves too).
fn profile_patch(state: &ScimUserState) -> UserPatch {
    UserPatch {
        name: Some(state.name.clone()),
        given_name: Some(state.given_name.clone()),
        family_name: Some(state.family_name.clone()),
        picture: Some(state.picture.clone()),
        phone_number: Some(state.phone_number.clone()),
        locale: Some(state.locale.clone()),
        zoneinfo: Some(state.zoneinfo.clone()),
        ..UserPatch::default()
    }
}

/// Applies `patch` to user `id`; every SCIM write moves the version on, even one that changed
/// nothing else.
fn update_user(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: UserId,
    patch: &UserPatch,
) -> Result<Vec<AuditEvent>> {
    let (_, events) = users::update(tx, meta, &UserKey::Id(id), patch)?;
    let mut user = lookup::user(tx, &UserKey::Id(id))?;
    user.updated_at = Some(meta.at);
    tx.put(Table::User, &id.to_bytes(), &user)?;
    Ok(events)
}

/// Keeps what the request carried: which core attributes, and those without a field.
fn keep_as_sent(kept: &mut ScimExtra, state: &ScimUserState) {
    kept.sent = Some(state.sent.clone());
    kept.attributes = state
        .attributes
        .as_ref()
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .filter(|v| v.as_object().is_some_and(|o| !o.is_empty()));
}

/// A slug for a new group: its name's, or (taken) with the id's tail.
fn group_slug(tx: &OrgTx, name: &str, id: GroupId) -> Result<String> {
    let mut slug: String = name
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    slug = slug.trim_matches('-').chars().take(60).collect();
    if slug.is_empty() {
        slug = "group".into();
    }
    if tx.exists(Table::GroupSlug, slug.as_bytes())? {
        let tail = id.0.to_string().to_lowercase();
        slug = format!("{slug}-{}", &tail[tail.len() - 8..]);
    }
    Ok(slug)
}

fn put_group(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: GroupId,
    create: bool,
    if_match: Option<&String>,
    state: &ScimGroupState,
) -> Result<Applied> {
    let settings = inbound(tx)?;
    allowed(&settings, "allow_group_operations", "group changes")?;
    let mut events = Vec::new();
    if create {
        let fields = NewNamed {
            name: state.display_name.clone(),
            slug: group_slug(tx, &state.display_name, id)?,
            description: None,
        };
        events.extend(named::create::<GroupId>(tx, meta, id.to_bytes(), &fields)?.1);
    } else {
        let group = lookup::group(tx, &GroupKey::Id(id))?;
        check_version(&group_version(&group), if_match)?;
        let patch = NamedPatch {
            name: Some(state.display_name.clone()),
            slug: None,
            description: None,
        };
        events.extend(named::update::<GroupId>(tx, meta, id.to_bytes(), &patch)?.1);
        let mut group = lookup::group(tx, &GroupKey::Id(id))?;
        group.updated_at = Some(meta.at);
        tx.put(Table::Group, &id.to_bytes(), &group)?;
    }
    let members: Vec<EntityKey> = state
        .members
        .iter()
        .map(|u| EntityKey::User(UserKey::Id(*u)))
        .collect();
    let anchor = EntityKey::Group(GroupKey::Id(id));
    let (_, related) = relations::relate(
        tx,
        Relation::UserGroup,
        &anchor,
        &members,
        RelateMode::Replace,
    )?;
    events.extend(related);
    let mut kept = extra(tx, &id.to_bytes())?;
    kept.external_id.clone_from(&state.external_id);
    save_extra(tx, &id.to_bytes(), &kept)?;
    Ok((written(create, id), events))
}

fn delete_group(tx: &mut OrgTx, id: GroupId, if_match: Option<&String>) -> Result<Applied> {
    let settings = inbound(tx)?;
    allowed(&settings, "allow_group_operations", "group changes")?;
    let group = lookup::group(tx, &GroupKey::Id(id))?;
    check_version(&group_version(&group), if_match)?;
    named::delete::<GroupId>(tx, id.to_bytes())
}

pub(super) fn apply(tx: &mut OrgTx, meta: &CommandMeta, write: &ScimWrite) -> Result<Applied> {
    match write {
        ScimWrite::PutUser {
            id,
            create,
            if_match,
            user,
        } => put_user(tx, meta, *id, *create, if_match.as_ref(), user),
        ScimWrite::DeleteUser { id, if_match, hard } => {
            delete_user(tx, meta, *id, if_match.as_ref(), *hard)
        }
        ScimWrite::PutGroup {
            id,
            create,
            if_match,
            group,
        } => put_group(tx, meta, *id, *create, if_match.as_ref(), group),
        ScimWrite::DeleteGroup { id, if_match } => delete_group(tx, *id, if_match.as_ref()),
        ScimWrite::PutMe { if_match, user } => put_me(tx, meta, if_match.as_ref(), user),
    }
}
