//! SAML service provider mode: the upstream IdPs (unique entity ids; deleting one removes its
//! users' links) and the logins through them. A login's end is one entry: the state is spent,
//! the assertion id is remembered until the assertion expires (a replay is refused), and the
//! asserted identity names its user (`federated::resolve`).

use serde_json::json;

use crate::clock::Timestamp;
use crate::command::{CommandMeta, SamlIdpFields, SamlIdpMore, SamlSpSignIn};
use crate::error::{ClusterError, ErrorCode, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::model::{AuditEvent, IdentityKind, IdentityLink, SamlHead, SamlIdp, SamlSpLogin};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::super::federated::{Upstream, refused, resolve, sweep};
use super::super::{Applied, identities};

fn event(idp: &SamlIdp, action: &str) -> AuditEvent {
    AuditEvent::new("saml_idp", action, format!("{action}: {}", idp.name)).target(
        "saml_idp",
        idp.id,
        idp.entity_id.clone(),
    )
}

fn merge(idp: &mut SamlIdp, fields: &SamlIdpFields, more: &SamlIdpMore) {
    if let Some(slo_url) = &more.slo_url {
        idp.slo_url.clone_from(slo_url);
    }
    let text = |slot: &mut String, value: &Option<String>| {
        if let Some(value) = value {
            slot.clone_from(value);
        }
    };
    let flag = |slot: &mut bool, value: Option<bool>| {
        if let Some(value) = value {
            *slot = value;
        }
    };
    text(&mut idp.name, &fields.name);
    text(&mut idp.entity_id, &fields.entity_id);
    text(&mut idp.sso_url, &fields.sso_url);
    text(&mut idp.certificate, &fields.certificate);
    flag(&mut idp.jit_provisioning, fields.jit_provisioning);
    flag(&mut idp.trust_email, fields.trust_email);
    flag(&mut idp.enabled, fields.enabled);
    if let Some(mapping) = &fields.attribute_mapping {
        idp.attribute_mapping.clone_from(mapping);
    }
}

fn check(idp: &SamlIdp) -> Result<()> {
    for (field, value) in [
        ("name", &idp.name),
        ("entityId", &idp.entity_id),
        ("ssoUrl", &idp.sso_url),
        ("certificate", &idp.certificate),
    ] {
        if value.is_empty() {
            return Err(ClusterError::invalid(field, "is required"));
        }
    }
    Ok(())
}

fn claim_entity(tx: &mut OrgTx, idp: &SamlIdp) -> Result<()> {
    if let Some(holder) = tx.get::<u64>(Table::SamlUpstreamEntity, idp.entity_id.as_bytes())?
        && holder != idp.id
    {
        return Err(ClusterError::conflict(
            "entityId",
            format!(
                "a SAML identity provider with entity id {} already exists",
                idp.entity_id
            ),
        ));
    }
    tx.put(Table::SamlUpstreamEntity, idp.entity_id.as_bytes(), &idp.id)
}

fn save(tx: &mut OrgTx, idp: &SamlIdp) -> Result<()> {
    tx.put(Table::SamlUpstream, &idp.id.to_be_bytes(), idp)
}

pub(super) fn create(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    fields: &SamlIdpFields,
    more: &SamlIdpMore,
) -> Result<Applied> {
    let mut head: SamlHead = tx.get(Table::SamlHead, &[])?.unwrap_or_default();
    head.last_idp_id += 1;
    tx.put(Table::SamlHead, &[], &head)?;
    let mut idp = SamlIdp {
        id: head.last_idp_id,
        name: String::new(),
        entity_id: String::new(),
        sso_url: String::new(),
        certificate: String::new(),
        jit_provisioning: true,
        trust_email: true,
        enabled: true,
        attribute_mapping: Vec::new(),
        created_at: meta.at,
        updated_at: meta.at,
        slo_url: None,
    };
    merge(&mut idp, fields, more);
    check(&idp)?;
    claim_entity(tx, &idp)?;
    save(tx, &idp)?;
    let audit = event(&idp, "saml_idp.created");
    Ok((Outcome::Created(idp.id.to_string()), vec![audit]))
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: u64,
    fields: &SamlIdpFields,
    more: &SamlIdpMore,
) -> Result<Applied> {
    let mut idp = lookup::saml_upstream(tx, id)?;
    let old_entity = idp.entity_id.clone();
    merge(&mut idp, fields, more);
    check(&idp)?;
    if idp.entity_id != old_entity {
        claim_entity(tx, &idp)?;
        tx.delete(Table::SamlUpstreamEntity, old_entity.as_bytes());
    }
    idp.updated_at = meta.at;
    save(tx, &idp)?;
    Ok((Outcome::Done, vec![event(&idp, "saml_idp.updated")]))
}

pub(super) fn delete(tx: &mut OrgTx, id: u64) -> Result<Applied> {
    let idp = lookup::saml_upstream(tx, id)?;
    tx.delete(Table::SamlUpstream, &id.to_be_bytes());
    tx.delete(Table::SamlUpstreamEntity, idp.entity_id.as_bytes());
    // Its links go with it: a new IdP never inherits its subjects.
    let mut links = Vec::new();
    tx.reader()
        .scan::<IdentityLink>(Table::Identity, &[], false, |key, link| {
            if link.kind == IdentityKind::Saml && link.idp_id == Some(id) {
                links.push((key.to_vec(), link.uniqueness_key()));
            }
            true
        })?;
    for (key, unique) in &links {
        tx.delete(Table::Identity, key);
        tx.delete(Table::IdentityIndex, unique.as_bytes());
    }
    let event =
        event(&idp, "saml_idp.deleted").new_value(json!({"identity_links_removed": links.len()}));
    Ok((Outcome::Done, vec![event]))
}

/// Records a login sent to an upstream IdP, dropping a few expired ones.
pub(super) fn begin(tx: &mut OrgTx, at: Timestamp, state: &SamlSpLogin) -> Result<Applied> {
    if tx.exists(Table::SamlSpLogin, state.id.as_bytes())? {
        return Err(ClusterError::conflict("state", "login state id reused"));
    }
    sweep(
        tx,
        Table::SamlSpLogin,
        b"sps_",
        true,
        |old: &SamlSpLogin| !old.live(at),
    )?;
    sweep(
        tx,
        Table::SamlSeenAssertion,
        &[],
        false,
        |until: &Timestamp| until.0 < at.0,
    )?;
    tx.put(Table::SamlSpLogin, state.id.as_bytes(), state)?;
    Ok((Outcome::Done, Vec::new()))
}

/// The SAML link of `user` naming `idp`.
fn link_to(idp: u64, user: UserId, name_id: &str, at: Timestamp) -> IdentityLink {
    IdentityLink {
        user_id: user,
        kind: IdentityKind::Saml,
        idp_id: Some(idp),
        name_id: Some(name_id.to_string()),
        ldap_config_id: None,
        dn: None,
        provider: None,
        ldap_only: false,
        created_at: at,
    }
}

/// Binds each user's bare-NameID link to `idp_id`; refused whole when one is no longer bare
/// or its NameID at that IdP belongs to someone else.
pub(super) fn relink(tx: &mut OrgTx, idp_id: u64, users: &[UserId]) -> Result<Applied> {
    let idp = lookup::saml_upstream(tx, idp_id)?;
    let mut events = Vec::new();
    for id in users {
        let user = lookup::user(tx, &crate::command::UserKey::Id(*id))?;
        let current = identities::link_of(tx, user.id, IdentityKind::Saml)?
            .filter(|link| link.idp_id.is_none())
            .ok_or_else(|| {
                ClusterError::conflict(
                    "user_ids",
                    format!("{} has no bare NameID link", user.email),
                )
            })?;
        let name_id = current.name_id.clone().unwrap_or_default();
        let link = link_to(idp.id, user.id, &name_id, current.created_at);
        events.push(identities::bind(tx, &user, link)?);
    }
    Ok((Outcome::Done, events))
}

/// Org IdPs, counted (at most 2: "one" or "several").
fn idp_count(tx: &OrgTx) -> Result<usize> {
    let mut count = 0;
    tx.reader().scan_keys(Table::SamlUpstream, &[], |_| {
        count += 1;
        count < 2
    })?;
    Ok(count)
}

/// A user bound by a bare NameID signs in: with one IdP in the org, the link is that IdP's and
/// is made explicit now; with several, nobody can tell which IdP vouched for it, so the sign-in
/// is refused until an administrator relinks it (`~/admin/identities/legacy-saml`).
fn claim_bare_link(
    tx: &mut OrgTx,
    idp: u64,
    name_id: &str,
    at: Timestamp,
) -> Result<Vec<AuditEvent>> {
    let explicit = link_to(idp, UserId(ulid::Ulid::nil()), name_id, at);
    if identities::holder(tx, &explicit.uniqueness_key())?.is_some() {
        return Ok(Vec::new());
    }
    let bare = IdentityLink {
        idp_id: None,
        ..explicit.clone()
    };
    let Some(holder) = identities::holder(tx, &bare.uniqueness_key())? else {
        return Ok(Vec::new());
    };
    if idp_count(tx)? > 1 {
        return Err(refused(
            "this account is bound by a bare NameID and the organization has several SAML identity providers; an administrator must relink it",
        ));
    }
    let user = lookup::user(tx, &crate::command::UserKey::Id(holder))?;
    let link = IdentityLink {
        user_id: holder,
        ..explicit
    };
    Ok(vec![identities::bind(tx, &user, link)?])
}

fn seen_key(idp: u64, assertion: &str) -> Vec<u8> {
    [idp.to_be_bytes().as_slice(), assertion.as_bytes()].concat()
}

/// The response comes back: spends the state and the assertion id, and answers the user it
/// names (`Created(user id)`).
pub(super) fn finish(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    sign_in: &SamlSpSignIn,
) -> Result<Applied> {
    let state: Option<SamlSpLogin> = tx.get(Table::SamlSpLogin, sign_in.state_id.as_bytes())?;
    let Some(state) = state.filter(|s| s.live(meta.at) && s.idp_id == sign_in.idp_id) else {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "the login expired or was already used",
        ));
    };
    tx.delete(Table::SamlSpLogin, state.id.as_bytes());
    let seen = seen_key(sign_in.idp_id, &sign_in.assertion_id);
    if tx.exists(Table::SamlSeenAssertion, &seen)? {
        return Err(refused("this assertion was already used"));
    }
    tx.put(Table::SamlSeenAssertion, &seen, &sign_in.assertion_expires)?;
    let idp = lookup::saml_upstream(tx, sign_in.idp_id)?;
    if !idp.enabled {
        return Err(refused("this identity provider is disabled"));
    }
    let identity = &sign_in.identity;
    let claimed = claim_bare_link(tx, idp.id, &identity.subject, meta.at)?;
    let upstream = Upstream {
        identity,
        link: link_to(
            idp.id,
            UserId(ulid::Ulid::nil()),
            &identity.subject,
            Timestamp(0),
        ),
        provision: idp.jit_provisioning,
        provisioned_by: format!("saml:{}", idp.id),
        default_roles: &[],
        new_user_id: sign_in.new_user_id,
    };
    let (user, mut events) = resolve(tx, meta, &upstream)?;
    events.extend(claimed);
    events.push(
        AuditEvent::new(
            "identity",
            "saml.login",
            format!("{} came back from {}", user.email, idp.name),
        )
        .target("user", user.id, user.email.clone())
        .new_value(json!({"idp_id": idp.id, "name_id": identity.subject})),
    );
    Ok((Outcome::Created(user.id.to_string()), events))
}
