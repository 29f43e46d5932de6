//! Users: create, update, delete, block, verify, password, email requests.

use serde_json::{Map, Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, NewUser, UserKey, UserPatch};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup::{self, email_request_key, load_org, save_org};
use crate::model::{AuditEvent, EmailRequest, EmailRequestKind, IdentityLink, User};
use crate::query::Outcome;
use crate::relations::{EndKind, unlink_all};
use crate::tables::{OrgTx, Table};

use super::Applied;

pub(super) fn save(tx: &mut OrgTx, user: &User) -> Result<()> {
    tx.put(Table::User, &user.id.to_bytes(), user)
}

pub(super) fn label(user: &User) -> String {
    user.name.clone().unwrap_or_else(|| user.email.clone())
}

fn claim_email(tx: &mut OrgTx, email: &str, id: UserId) -> Result<()> {
    if tx.exists(Table::UserEmail, email.as_bytes())? {
        return Err(ClusterError::conflict(
            "email",
            format!("a user with email {email} already exists"),
        ));
    }
    tx.put(Table::UserEmail, email.as_bytes(), &id)
}

fn claim_username(tx: &mut OrgTx, username: &str, id: UserId) -> Result<()> {
    let key = username.to_lowercase();
    if tx.exists(Table::UserName, key.as_bytes())? {
        return Err(ClusterError::conflict(
            "username",
            format!("a user with username {username} already exists"),
        ));
    }
    tx.put(Table::UserName, key.as_bytes(), &id)
}

pub(super) fn create(tx: &mut OrgTx, meta: &CommandMeta, new: &NewUser) -> Result<Applied> {
    if tx.exists(Table::User, &new.id.to_bytes())? {
        return Err(ClusterError::conflict(
            "id",
            "a user with this id already exists",
        ));
    }
    let email = new.email.to_lowercase();
    claim_email(tx, &email, new.id)?;
    if let Some(username) = &new.username {
        claim_username(tx, username, new.id)?;
    }
    let user = User {
        id: new.id,
        email,
        username: new.username.clone(),
        name: new.name.clone(),
        given_name: new.given_name.clone(),
        family_name: new.family_name.clone(),
        picture: new.picture.clone(),
        email_verified: new.email_verified,
        phone_number: new.phone_number.clone(),
        phone_number_verified: false,
        is_active: new.is_active.unwrap_or(true),
        blocked: false,
        blocked_at: None,
        mfa_enabled: false,
        locale: new.locale.clone(),
        zoneinfo: new.zoneinfo.clone(),
        created_at: meta.at,
        updated_at: Some(meta.at),
        last_login_at: None,
        login_count: 0,
        password_hash: new.password_hash.clone(),
        password_changed_at: new.password_hash.as_ref().map(|_| meta.at),
        jit_provisioned_by: None,
    };
    save(tx, &user)?;
    let mut org = load_org(tx)?;
    org.user_count += 1;
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "user",
        "user.created",
        format!("user {} created", user.email),
    )
    .target("user", user.id, label(&user))
    .new_value(json!({
        "email": user.email,
        "name": user.name,
        "emailVerified": user.email_verified,
        "hasPassword": user.password_hash.is_some(),
    }));
    Ok((Outcome::Created(user.id.to_string()), vec![event]))
}

/// Records `field: {from, to}` when the value changes.
fn note<T: PartialEq + serde::Serialize>(
    changes: &mut Map<String, Value>,
    field: &str,
    from: &T,
    to: &T,
) {
    if from != to {
        changes.insert(field.to_string(), json!({"from": from, "to": to}));
    }
}

fn set_opt(
    changes: &mut Map<String, Value>,
    field: &str,
    slot: &mut Option<String>,
    patch: &Option<Option<String>>,
) {
    if let Some(value) = patch {
        note(changes, field, slot, value);
        slot.clone_from(value);
    }
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &UserKey,
    patch: &UserPatch,
) -> Result<Applied> {
    let mut user = lookup::user(tx, key)?;
    let mut changes = Map::new();
    if let Some(email) = &patch.email {
        let email = email.to_lowercase();
        if email != user.email {
            claim_email(tx, &email, user.id)?;
            tx.delete(Table::UserEmail, user.email.as_bytes());
            note(&mut changes, "email", &user.email, &email);
            user.email = email;
            user.email_verified = false;
        }
    }
    if let Some(username) = &patch.username
        && username.as_deref().map(str::to_lowercase)
            != user.username.as_deref().map(str::to_lowercase)
    {
        if let Some(new) = username {
            claim_username(tx, new, user.id)?;
        }
        if let Some(old) = &user.username {
            tx.delete(Table::UserName, old.to_lowercase().as_bytes());
        }
    }
    set_opt(
        &mut changes,
        "username",
        &mut user.username,
        &patch.username,
    );
    set_opt(&mut changes, "name", &mut user.name, &patch.name);
    set_opt(
        &mut changes,
        "givenName",
        &mut user.given_name,
        &patch.given_name,
    );
    set_opt(
        &mut changes,
        "familyName",
        &mut user.family_name,
        &patch.family_name,
    );
    set_opt(&mut changes, "picture", &mut user.picture, &patch.picture);
    set_opt(
        &mut changes,
        "phoneNumber",
        &mut user.phone_number,
        &patch.phone_number,
    );
    set_opt(&mut changes, "locale", &mut user.locale, &patch.locale);
    set_opt(
        &mut changes,
        "zoneinfo",
        &mut user.zoneinfo,
        &patch.zoneinfo,
    );
    let flags = [
        (
            "emailVerified",
            patch.email_verified,
            &mut user.email_verified,
        ),
        (
            "phoneNumberVerified",
            patch.phone_number_verified,
            &mut user.phone_number_verified,
        ),
        ("isActive", patch.is_active, &mut user.is_active),
    ];
    for (field, value, slot) in flags {
        if let Some(value) = value {
            note(&mut changes, field, slot, &value);
            *slot = value;
        }
    }
    if let Some(blocked) = patch.blocked {
        apply_block(&mut user, blocked, meta.at, &mut changes);
    }
    if let Some(hash) = &patch.password_hash {
        user.password_hash = Some(hash.clone());
        user.password_changed_at = Some(meta.at);
        changes.insert("password".into(), json!("changed"));
    }
    user.updated_at = Some(meta.at);
    save(tx, &user)?;
    let event = AuditEvent::new(
        "user",
        "user.updated",
        format!("user {} updated", user.email),
    )
    .target("user", user.id, label(&user))
    .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

fn apply_block(user: &mut User, blocked: bool, at: Timestamp, changes: &mut Map<String, Value>) {
    note(changes, "blocked", &user.blocked, &blocked);
    if blocked && !user.blocked {
        user.blocked_at = Some(at);
    }
    if !blocked {
        user.blocked_at = None;
    }
    user.blocked = blocked;
}

pub(super) fn delete(tx: &mut OrgTx, key: &UserKey) -> Result<Applied> {
    let user = lookup::user(tx, key)?;
    let id = user.id.to_bytes();
    unlink_all(tx, EndKind::User, &id)?;
    tx.delete(Table::ScimExtra, &id);
    let mut links = Vec::new();
    tx.reader()
        .scan::<IdentityLink>(Table::Identity, &id, false, |_, link| {
            links.push(link);
            true
        })?;
    for link in links {
        tx.delete(Table::IdentityIndex, link.uniqueness_key().as_bytes());
        tx.delete(Table::Identity, &identity_key(user.id, link.kind.tag()));
    }
    for kind in [
        EmailRequestKind::VerifyEmail,
        EmailRequestKind::PasswordReset,
    ] {
        tx.delete(Table::EmailRequest, &email_request_key(user.id, kind));
    }
    tx.delete(Table::UserEmail, user.email.as_bytes());
    if let Some(username) = &user.username {
        tx.delete(Table::UserName, username.to_lowercase().as_bytes());
    }
    super::suborg::forget_user(tx, user.id)?;
    tx.delete(Table::User, &id);
    let mut org = load_org(tx)?;
    org.user_count = org.user_count.saturating_sub(1);
    save_org(tx, &org)?;
    let event = AuditEvent::new(
        "user",
        "user.deleted",
        format!("user {} deleted", user.email),
    )
    .severity("warning")
    .target("user", user.id, label(&user))
    .old_value(json!({"email": user.email, "name": user.name}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn set_blocked(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &UserKey,
    blocked: bool,
) -> Result<Applied> {
    let mut user = lookup::user(tx, key)?;
    let mut changes = Map::new();
    apply_block(&mut user, blocked, meta.at, &mut changes);
    user.updated_at = Some(meta.at);
    save(tx, &user)?;
    let (action, verb) = if blocked {
        ("user.blocked", "blocked")
    } else {
        ("user.unblocked", "unblocked")
    };
    let event = AuditEvent::new("user", action, format!("user {} {verb}", user.email))
        .severity(if blocked { "warning" } else { "info" })
        .target("user", user.id, label(&user))
        .changes(Value::Object(changes));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn mark_verified(tx: &mut OrgTx, meta: &CommandMeta, key: &UserKey) -> Result<Applied> {
    let mut user = lookup::user(tx, key)?;
    let was = user.email_verified;
    user.email_verified = true;
    user.updated_at = Some(meta.at);
    save(tx, &user)?;
    tx.delete(
        Table::EmailRequest,
        &email_request_key(user.id, EmailRequestKind::VerifyEmail),
    );
    let event = AuditEvent::new(
        "user",
        "user.email_verified",
        format!("email of {} marked verified", user.email),
    )
    .target("user", user.id, label(&user))
    .changes(json!({"emailVerified": {"from": was, "to": true}}));
    Ok((Outcome::Done, vec![event]))
}

pub(super) fn set_password(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &UserKey,
    hash: &str,
) -> Result<Applied> {
    let mut user = lookup::user(tx, key)?;
    user.password_hash = Some(hash.to_string());
    user.password_changed_at = Some(meta.at);
    user.updated_at = Some(meta.at);
    save(tx, &user)?;
    tx.delete(
        Table::EmailRequest,
        &email_request_key(user.id, EmailRequestKind::PasswordReset),
    );
    let event = AuditEvent::new(
        "user",
        "user.password.changed",
        format!("password of {} set by an admin", user.email),
    )
    .severity("warning")
    .target("user", user.id, label(&user));
    Ok((Outcome::Done, vec![event]))
}

/// Key of a user's identity link of one kind.
pub fn identity_key(user: UserId, tag: u8) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.push(tag);
    key
}

pub(super) fn request_email(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &UserKey,
    kind: EmailRequestKind,
    token_hash: &str,
    expires_at: Timestamp,
    issuer: Option<&str>,
) -> Result<Applied> {
    let user = lookup::user(tx, key)?;
    if kind != EmailRequestKind::VerifyEmail && (user.blocked || !user.is_active) {
        return Err(ClusterError::Conflict {
            message: "cannot send a reset or sign-in link to a blocked or inactive user".into(),
            field: None,
        });
    }
    let request = EmailRequest {
        user_id: user.id,
        kind,
        token_hash: token_hash.to_string(),
        requested_at: meta.at,
        expires_at,
        delivered: false,
        issuer: issuer.map(str::to_string),
        continue_query: None,
    };
    tx.put(
        Table::EmailRequest,
        &email_request_key(user.id, kind),
        &request,
    )?;
    let action = match kind {
        EmailRequestKind::VerifyEmail => "user.verification_email.requested",
        EmailRequestKind::PasswordReset => "user.password_reset.requested",
        EmailRequestKind::MagicLink => "user.magic_link.requested",
    };
    let event = AuditEvent::new(
        "user",
        action,
        format!("{} email requested for {}", kind.as_str(), user.email),
    )
    .target("user", user.id, label(&user))
    .new_value(crate::model::email_request_fields(meta.at, expires_at));
    Ok((Outcome::Done, vec![event]))
}
