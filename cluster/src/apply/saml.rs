//! SAML identity provider writes: apps (unique entity ids), the org's signing key (the first
//! one committed wins), and the audit record of a sign-on.

use crate::command::{CommandMeta, SamlAppFields, SamlAppMore, SamlIdpMore, SamlWrite};
use crate::error::{ClusterError, Result};
use crate::ids::SamlAppId;
use crate::lookup;
use crate::model::{
    AuditEvent, DEFAULT_ATTRIBUTES, SamlApp, SamlHead, SamlIdpKey, SamlLogoutChain, SamlSessionApp,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;

#[path = "saml_upstream.rs"]
mod upstream;

pub(super) fn apply(tx: &mut OrgTx, meta: &CommandMeta, write: &SamlWrite) -> Result<Applied> {
    match write {
        SamlWrite::CreateApp(fields) => create(tx, meta, fields, &SamlAppMore::default()),
        SamlWrite::UpdateApp { id, fields } => {
            update(tx, meta, *id, fields, &SamlAppMore::default())
        }
        SamlWrite::CreateAppWithMore(fields, more) => create(tx, meta, fields, more),
        SamlWrite::UpdateAppWithMore { id, fields, more } => update(tx, meta, *id, fields, more),
        SamlWrite::DeleteApp(id) => delete(tx, *id),
        SamlWrite::SetIdpKey(key) => set_key(tx, key),
        SamlWrite::SignedOn {
            app,
            user,
            initiated_by_idp,
        } => signed_on(tx, *app, *user, *initiated_by_idp),
        SamlWrite::CreateIdp(fields) => upstream::create(tx, meta, fields, &SamlIdpMore::default()),
        SamlWrite::UpdateIdp { id, fields } => {
            upstream::update(tx, meta, *id, fields, &SamlIdpMore::default())
        }
        SamlWrite::SignedOnInSession {
            app,
            user,
            initiated_by_idp,
            session,
            name_id,
            name_id_format,
        } => {
            let record = SamlSessionApp {
                name_id: name_id.clone(),
                name_id_format: name_id_format.clone(),
                at: meta.at,
            };
            tx.put(
                Table::SamlSessionApp,
                &session_app_key(*session, *app),
                &record,
            )?;
            signed_on(tx, *app, *user, *initiated_by_idp)
        }
        SamlWrite::PutLogoutChain(chain) => put_chain(tx, chain),
        SamlWrite::EndLogoutChain(id) => {
            tx.delete(Table::SamlLogoutChain, id.as_bytes());
            Ok((Outcome::Done, Vec::new()))
        }
        SamlWrite::CreateIdpWithMore(fields, more) => upstream::create(tx, meta, fields, more),
        SamlWrite::UpdateIdpWithMore { id, fields, more } => {
            upstream::update(tx, meta, *id, fields, more)
        }
        SamlWrite::DeleteIdp(id) => upstream::delete(tx, *id),
        SamlWrite::RelinkLegacy { idp_id, users } => upstream::relink(tx, *idp_id, users),
        SamlWrite::BeginSpLogin(state) => upstream::begin(tx, meta.at, state),
        SamlWrite::FinishSpLogin(sign_in) => upstream::finish(tx, meta, sign_in),
    }
}

fn event(app: &SamlApp, action: &str) -> AuditEvent {
    AuditEvent::new("saml_app", action, format!("{action}: {}", app.name)).target(
        "saml_app",
        app.id.0,
        app.entity_id.clone(),
    )
}

fn save(tx: &mut OrgTx, app: &SamlApp) -> Result<()> {
    tx.put(Table::SamlApp, &app.id.0.to_be_bytes(), app)
}

/// Writes `fields` and `more` over `app` (what is absent stays).
fn merge(app: &mut SamlApp, fields: &SamlAppFields, more: &SamlAppMore) {
    if let Some(certificate) = &more.encryption_certificate {
        app.encryption_certificate.clone_from(certificate);
    }
    let set = |slot: &mut Option<String>, value: &Option<Option<String>>| {
        if let Some(value) = value {
            slot.clone_from(value);
        }
    };
    if let Some(name) = &fields.name {
        app.name.clone_from(name);
    }
    if let Some(entity_id) = &fields.entity_id {
        app.entity_id.clone_from(entity_id);
    }
    if let Some(urls) = &fields.acs_urls {
        app.acs_urls.clone_from(urls);
    }
    set(&mut app.slo_url, &fields.slo_url);
    if let Some(format) = &fields.name_id_format {
        app.name_id_format.clone_from(format);
    }
    let flag = |slot: &mut bool, value: Option<bool>| {
        if let Some(value) = value {
            *slot = value;
        }
    };
    flag(&mut app.sign_response, fields.sign_response);
    flag(&mut app.sign_assertion, fields.sign_assertion);
    flag(
        &mut app.want_authn_requests_signed,
        fields.want_authn_requests_signed,
    );
    set(&mut app.sp_certificate, &fields.sp_certificate);
    flag(&mut app.allow_idp_initiated, fields.allow_idp_initiated);
    set(&mut app.default_relay_state, &fields.default_relay_state);
    if let Some(mapping) = &fields.attribute_mapping {
        app.attribute_mapping.clone_from(mapping);
    }
    flag(&mut app.enabled, fields.enabled);
}

/// The rules a whole app keeps, whatever the change.
fn check(app: &SamlApp) -> Result<()> {
    if app.name.is_empty() {
        return Err(ClusterError::invalid("name", "is required"));
    }
    if app.entity_id.is_empty() {
        return Err(ClusterError::invalid("entityId", "is required"));
    }
    if app.acs_urls.is_empty() {
        return Err(ClusterError::invalid(
            "acsUrls",
            "must name at least one URL",
        ));
    }
    if app.want_authn_requests_signed && app.sp_certificate.is_none() {
        return Err(ClusterError::invalid(
            "spCertificate",
            "is required when wantAuthnRequestsSigned is true",
        ));
    }
    Ok(())
}

fn claim_entity(tx: &mut OrgTx, app: &SamlApp) -> Result<()> {
    if let Some(holder) = tx.get::<SamlAppId>(Table::SamlAppEntity, app.entity_id.as_bytes())?
        && holder != app.id
    {
        return Err(ClusterError::conflict(
            "entityId",
            format!("a SAML app with entity id {} already exists", app.entity_id),
        ));
    }
    tx.put(Table::SamlAppEntity, app.entity_id.as_bytes(), &app.id)
}

fn create(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    fields: &SamlAppFields,
    more: &SamlAppMore,
) -> Result<Applied> {
    let mut head: SamlHead = tx.get(Table::SamlHead, &[])?.unwrap_or_default();
    head.last_app_id += 1;
    tx.put(Table::SamlHead, &[], &head)?;
    let mut app = SamlApp {
        id: SamlAppId(head.last_app_id),
        name: String::new(),
        entity_id: String::new(),
        acs_urls: Vec::new(),
        slo_url: None,
        name_id_format: "emailAddress".into(),
        sign_response: true,
        sign_assertion: true,
        want_authn_requests_signed: false,
        sp_certificate: None,
        allow_idp_initiated: false,
        default_relay_state: None,
        attribute_mapping: DEFAULT_ATTRIBUTES
            .iter()
            .map(|(name, source)| (name.to_string(), source.to_string()))
            .collect(),
        enabled: true,
        created_at: meta.at,
        updated_at: meta.at,
        encryption_certificate: None,
    };
    merge(&mut app, fields, more);
    check(&app)?;
    claim_entity(tx, &app)?;
    save(tx, &app)?;
    let audit = event(&app, "saml_app.created");
    Ok((Outcome::Created(app.id.0.to_string()), vec![audit]))
}

fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: SamlAppId,
    fields: &SamlAppFields,
    more: &SamlAppMore,
) -> Result<Applied> {
    let mut app = lookup::saml_app(tx, id)?;
    let old_entity = app.entity_id.clone();
    merge(&mut app, fields, more);
    check(&app)?;
    if app.entity_id != old_entity {
        claim_entity(tx, &app)?;
        tx.delete(Table::SamlAppEntity, old_entity.as_bytes());
    }
    app.updated_at = meta.at;
    save(tx, &app)?;
    Ok((Outcome::Done, vec![event(&app, "saml_app.updated")]))
}

fn delete(tx: &mut OrgTx, id: SamlAppId) -> Result<Applied> {
    let app = lookup::saml_app(tx, id)?;
    tx.delete(Table::SamlApp, &id.0.to_be_bytes());
    tx.delete(Table::SamlAppEntity, app.entity_id.as_bytes());
    Ok((Outcome::Done, vec![event(&app, "saml_app.deleted")]))
}

fn set_key(tx: &mut OrgTx, key: &SamlIdpKey) -> Result<Applied> {
    if tx.get::<SamlIdpKey>(Table::SamlIdpKey, &[])?.is_none() {
        tx.put(Table::SamlIdpKey, &[], key)?;
        let audit = AuditEvent::new(
            "saml_idp",
            "saml_idp.key_created",
            "SAML signing certificate created",
        );
        return Ok((Outcome::Done, vec![audit]));
    }
    Ok((Outcome::Done, Vec::new()))
}

/// The key of a session's sign-on record for `app`.
pub(crate) fn session_app_key(session: u64, app: SamlAppId) -> Vec<u8> {
    [session.to_be_bytes(), app.0.to_be_bytes()].concat()
}

/// Writes a logout chain; a new one also forgets its session's sign-on records (the session
/// has ended).
fn put_chain(tx: &mut OrgTx, chain: &SamlLogoutChain) -> Result<Applied> {
    if !tx.exists(Table::SamlLogoutChain, chain.id.as_bytes())? {
        let mut records = Vec::new();
        tx.reader().scan_keys(
            Table::SamlSessionApp,
            &chain.session.to_be_bytes(),
            |rest| {
                records.push(rest.to_vec());
                true
            },
        )?;
        for rest in records {
            let key = [chain.session.to_be_bytes().as_slice(), &rest].concat();
            tx.delete(Table::SamlSessionApp, &key);
        }
    }
    tx.put(Table::SamlLogoutChain, chain.id.as_bytes(), chain)?;
    Ok((Outcome::Done, Vec::new()))
}

fn signed_on(
    tx: &mut OrgTx,
    app: SamlAppId,
    user: crate::ids::UserId,
    initiated_by_idp: bool,
) -> Result<Applied> {
    let app = lookup::saml_app(tx, app)?;
    let user = lookup::user(tx, &crate::command::UserKey::Id(user))?;
    let how = if initiated_by_idp {
        "IdP-initiated"
    } else {
        "SP-initiated"
    };
    let audit = AuditEvent::new(
        "authentication",
        "saml.sso",
        format!("{} signed in to {} ({how} SAML)", user.email, app.name),
    )
    .target("saml_app", app.id.0, app.entity_id.clone());
    Ok((Outcome::Done, vec![audit]))
}
