//! Federated identity links (SAML / LDAP / social) of a user.

use serde_json::json;

use crate::command::{CommandMeta, NewIdentityLink, UserKey};
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{AuditEvent, IdentityKind, IdentityLink, User};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;
use super::users::identity_key;

fn existing(tx: &OrgTx, user: UserId) -> Result<Vec<IdentityLink>> {
    let mut links = Vec::new();
    for kind in [IdentityKind::Saml, IdentityKind::Ldap, IdentityKind::Social] {
        if let Some(link) =
            tx.get::<IdentityLink>(Table::Identity, &identity_key(user, kind.tag()))?
        {
            links.push(link);
        }
    }
    Ok(links)
}

pub(super) fn link(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    key: &UserKey,
    new: &NewIdentityLink,
) -> Result<Applied> {
    let user = lookup::user(tx, key)?;
    let link = IdentityLink {
        user_id: user.id,
        kind: new.kind,
        idp_id: new.idp_id,
        name_id: new.name_id.clone(),
        ldap_config_id: new.ldap_config_id,
        dn: new.dn.clone(),
        provider: None,
        ldap_only: new.ldap_only,
        created_at: meta.at,
    };
    let event = bind(tx, &user, link)?;
    Ok((Outcome::Done, vec![event]))
}

/// Binds `link` to `user` (replacing the user's link of the same kind): refused when another
/// user holds the identity, or the user holds a SAML or LDAP link of the other kind.
pub(super) fn bind(tx: &mut OrgTx, user: &User, link: IdentityLink) -> Result<AuditEvent> {
    let current = existing(tx, user.id)?;
    if let Some(other) = current
        .iter()
        .find(|l| l.kind != link.kind && l.kind != IdentityKind::Social)
    {
        return Err(ClusterError::conflict(
            "type",
            format!(
                "user is linked to a {} identity; unlink it before linking {}",
                other.kind.as_str(),
                link.kind.as_str()
            ),
        ));
    }
    let unique = link.uniqueness_key();
    if let Some(holder) = tx.get::<UserId>(Table::IdentityIndex, unique.as_bytes())?
        && holder != user.id
    {
        return Err(ClusterError::conflict(
            "name_id",
            "another user already holds this identity",
        ));
    }
    if let Some(old) = current.iter().find(|l| l.kind == link.kind) {
        tx.delete(Table::IdentityIndex, old.uniqueness_key().as_bytes());
    }
    tx.put(Table::IdentityIndex, unique.as_bytes(), &user.id)?;
    tx.put(
        Table::Identity,
        &identity_key(user.id, link.kind.tag()),
        &link,
    )?;
    Ok(AuditEvent::new(
        "identity",
        "identity.link.created",
        format!("{} identity linked to {}", link.kind.as_str(), user.email),
    )
    .severity("warning")
    .target("user", user.id, user.email.clone())
    .new_value(json!({
        "type": link.kind.as_str(),
        "idp_id": link.idp_id,
        "name_id": link.name_id,
        "ldap_config_id": link.ldap_config_id,
        "dn": link.dn,
        "provider": link.provider,
    })))
}

/// The user holding the federated identity with `uniqueness_key`, if any.
pub(super) fn holder(tx: &OrgTx, uniqueness_key: &str) -> Result<Option<UserId>> {
    tx.get::<UserId>(Table::IdentityIndex, uniqueness_key.as_bytes())
}

/// The user's link of `kind`, if any.
pub(super) fn link_of(
    tx: &OrgTx,
    user: UserId,
    kind: IdentityKind,
) -> Result<Option<IdentityLink>> {
    tx.get::<IdentityLink>(Table::Identity, &identity_key(user, kind.tag()))
}

pub(super) fn unlink(tx: &mut OrgTx, key: &UserKey, kind: IdentityKind) -> Result<Applied> {
    let user = lookup::user(tx, key)?;
    let k = identity_key(user.id, kind.tag());
    let Some(link) = tx.get::<IdentityLink>(Table::Identity, &k)? else {
        return Err(ClusterError::not_found("identity link", kind.as_str()));
    };
    tx.delete(Table::Identity, &k);
    tx.delete(Table::IdentityIndex, link.uniqueness_key().as_bytes());
    let event = AuditEvent::new(
        "identity",
        "identity.link.removed",
        format!("{} identity unlinked from {}", kind.as_str(), user.email),
    )
    .severity("warning")
    .target("user", user.id, user.email.clone());
    Ok((Outcome::Done, vec![event]))
}
