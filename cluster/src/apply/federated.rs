//! Who an upstream identity (social, OpenID Connect or SAML) signs in as: the user already
//! linked to it, or the user with the address the upstream vouches for (linked now), or a user
//! provisioned now when the upstream allows it. Refusals: an unverified address that matches
//! an account (`Conflict` on `email`), no account and no provisioning (`NotFound` user), an
//! account linked to another identity of the same kind (`Conflict`), an unusable account
//! (`AccessDenied`).

use crate::command::{CommandMeta, EntityKey, NewUser, RelateMode, Relation, RoleKey, UserKey};
use crate::error::{ClusterError, ErrorCode, Result};
use crate::ids::{RoleId, UserId};
use crate::lookup;
use crate::model::{AuditEvent, IdentityLink, UpstreamIdentity, User};
use crate::tables::{OrgTx, Table};

use super::{identities, relations, users};

/// Expired rows dropped per new login.
const SWEEP: usize = 16;
/// Rows looked at per sweep of a table whose keys are not in time order.
const SWEEP_SCAN: usize = 64;

/// Drops up to [`SWEEP`] rows of `table` under `prefix` that `expired` says are over. With
/// `time_ordered` keys (ULID ids), the first live row ends the sweep; otherwise at most
/// [`SWEEP_SCAN`] rows are looked at, so a login never pays for the whole table.
pub(super) fn sweep<T: serde::de::DeserializeOwned>(
    tx: &mut OrgTx,
    table: Table,
    prefix: &[u8],
    time_ordered: bool,
    expired: impl Fn(&T) -> bool,
) -> Result<()> {
    let mut over = Vec::new();
    let mut seen = 0;
    tx.reader().scan(table, prefix, false, |rest, row: T| {
        seen += 1;
        if !expired(&row) {
            return !time_ordered && seen < SWEEP_SCAN;
        }
        over.push([prefix, rest].concat());
        over.len() < SWEEP && seen < SWEEP_SCAN
    })?;
    for key in over {
        tx.delete(table, &key);
    }
    Ok(())
}

/// An upstream sign-in as `apply` judges it.
pub(super) struct Upstream<'a> {
    pub identity: &'a UpstreamIdentity,
    /// The link the identity makes (any `user_id`; stamped when bound).
    pub link: IdentityLink,
    /// Users the identity does not name may be created.
    pub provision: bool,
    /// What `jit_provisioned_by` records (`social:corp`, `saml:3`).
    pub provisioned_by: String,
    pub default_roles: &'a [RoleId],
    pub new_user_id: UserId,
}

pub(super) fn refused(description: &str) -> ClusterError {
    ClusterError::OAuth {
        error: ErrorCode::AccessDenied,
        description: description.to_string(),
        status: 403,
    }
}

/// Provisions a user for the identity.
fn provision(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    upstream: &Upstream,
    email: &str,
) -> Result<(User, Vec<AuditEvent>)> {
    let identity = upstream.identity;
    let new = NewUser {
        id: upstream.new_user_id,
        email: email.to_string(),
        password_hash: None,
        username: None,
        name: identity.name.clone(),
        given_name: identity.given_name.clone(),
        family_name: identity.family_name.clone(),
        picture: identity.picture.clone(),
        phone_number: None,
        email_verified: identity.email_verified,
        locale: None,
        zoneinfo: None,
        is_active: Some(true),
    };
    let (_, mut events) = users::create(tx, meta, &new)?;
    let mut user = lookup::user(tx, &UserKey::Id(new.id))?;
    user.jit_provisioned_by = Some(upstream.provisioned_by.clone());
    tx.put(Table::User, &user.id.to_bytes(), &user)?;
    if !upstream.default_roles.is_empty() {
        let roles: Vec<EntityKey> = upstream
            .default_roles
            .iter()
            .map(|r| EntityKey::Role(RoleKey::Id(*r)))
            .collect();
        let anchor = EntityKey::User(UserKey::Id(user.id));
        let (_, more) =
            relations::relate(tx, Relation::UserRole, &anchor, &roles, RelateMode::Add)?;
        events.extend(more);
    }
    Ok((user, events))
}

/// Who the identity names: its linked user, or the user with the address it vouches for.
fn known_user(tx: &OrgTx, upstream: &Upstream) -> Result<Option<User>> {
    if let Some(id) = identities::holder(tx, &upstream.link.uniqueness_key())? {
        return Ok(Some(lookup::user(tx, &UserKey::Id(id))?));
    }
    let identity = upstream.identity;
    let Some(email) = identity.email.as_deref() else {
        return Ok(None);
    };
    match lookup::user(tx, &UserKey::Email(email.to_lowercase())) {
        Ok(user) if identity.email_verified => Ok(Some(user)),
        Ok(_) => Err(ClusterError::conflict(
            "email",
            "an account with this address exists, and the provider has not verified the address",
        )),
        Err(ClusterError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The user the identity signs in as, linked to it now if it was not.
pub(super) fn resolve(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    upstream: &Upstream,
) -> Result<(User, Vec<AuditEvent>)> {
    let identity = upstream.identity;
    let mut events = Vec::new();
    let user = match known_user(tx, upstream)? {
        Some(user) => user,
        None if upstream.provision => {
            let Some(email) = identity.email.as_deref() else {
                return Err(refused("the provider did not share an email address"));
            };
            if !identity.email_verified {
                // An account here owns its address: the upstream must vouch for it.
                return Err(ClusterError::conflict(
                    "email",
                    "the provider has not verified this email address",
                ));
            }
            let (user, created) = provision(tx, meta, upstream, &email.to_lowercase())?;
            events.extend(created);
            user
        }
        None => return Err(ClusterError::not_found("user", "of this identity")),
    };
    if !user.is_active || user.blocked {
        return Err(refused("this account cannot sign in"));
    }
    let mut link = upstream.link.clone();
    link.user_id = user.id;
    link.created_at = meta.at;
    match identities::link_of(tx, user.id, link.kind)? {
        Some(current) if current.uniqueness_key() == link.uniqueness_key() => {}
        Some(_) => {
            return Err(ClusterError::conflict(
                "identity",
                format!(
                    "this account is linked to another {} identity",
                    link.kind.as_str()
                ),
            ));
        }
        None => events.push(identities::bind(tx, &user, link)?),
    }
    Ok((user, events))
}
