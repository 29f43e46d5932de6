//! Social login: the providers (admin writes) and the logins through them. A login's end is
//! one entry: the state is spent, and the upstream identity names its user: the user already
//! linked to it, or the user whose address the upstream vouches for (linked now), or a user
//! provisioned now when the provider allows it.

use serde_json::{Value, json};

use crate::clock::Timestamp;
use crate::command::{CommandMeta, RoleKey, SocialProviderFields, SocialSignIn};
use crate::error::{ClusterError, ErrorCode, Result};
use crate::ids::{SocialProviderId, UserId};
use crate::lookup;
use crate::model::{
    AuditEvent, IdentityKind, IdentityLink, SocialHead, SocialLoginState, SocialProvider,
    UpstreamIdentity,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

use super::Applied;
use super::federated::{Upstream, refused, resolve, sweep};

fn parse_object(field: &str, text: Option<&String>) -> Result<Option<Value>> {
    text.map(|t| {
        serde_json::from_str::<Value>(t)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| ClusterError::invalid(field, "must be a JSON object"))
    })
    .transpose()
}

fn save(tx: &mut OrgTx, provider: &SocialProvider) -> Result<()> {
    tx.put(
        Table::SocialProvider,
        &provider.id.0.to_be_bytes(),
        provider,
    )
}

fn event(provider: &SocialProvider, action: &str) -> AuditEvent {
    AuditEvent::new(
        "social_provider",
        action,
        format!("{action}: {}", provider.provider),
    )
    .target("social_provider", provider.id.0, provider.provider.clone())
}

/// Writes `fields` over `provider` (what is absent stays).
fn merge(provider: &mut SocialProvider, fields: &SocialProviderFields) -> Result<()> {
    let set = |slot: &mut Option<String>, value: &Option<Option<String>>| {
        if let Some(value) = value {
            slot.clone_from(value);
        }
    };
    if let Some(slug) = &fields.provider {
        provider.provider.clone_from(slug);
    }
    if let Some(kind) = &fields.kind {
        provider.kind.clone_from(kind);
    }
    if let Some(name) = &fields.display_name {
        provider.display_name.clone_from(name);
    }
    if let Some(enabled) = fields.enabled {
        provider.enabled = enabled;
    }
    set(&mut provider.brand_color, &fields.brand_color);
    set(&mut provider.icon_url, &fields.icon_url);
    if let Some(jit) = fields.jit_provisioning_enabled {
        provider.jit_provisioning_enabled = jit;
    }
    if let Some(client_id) = &fields.client_id {
        provider.client_id.clone_from(client_id);
    }
    if let Some(scopes) = &fields.requested_scopes {
        provider.requested_scopes.clone_from(scopes);
    }
    set(&mut provider.issuer, &fields.issuer);
    set(&mut provider.authorization_url, &fields.authorization_url);
    set(&mut provider.token_url, &fields.token_url);
    set(&mut provider.user_info_url, &fields.user_info_url);
    set(&mut provider.jwks_url, &fields.jwks_url);
    if let Some(text) = &fields.claim_mapping {
        provider.claim_mapping = parse_object("claimMapping", text.as_ref())?;
    }
    if let Some(text) = &fields.custom_claims {
        provider.custom_claims = parse_object("customClaims", text.as_ref())?;
    }
    if let Some(text) = &fields.provider_config {
        provider.provider_config = parse_object("providerConfig", text.as_ref())?;
    }
    if let Some(roles) = &fields.default_roles {
        provider.default_roles.clone_from(roles);
    }
    Ok(())
}

/// Every default role must exist.
fn check_roles(tx: &OrgTx, provider: &SocialProvider) -> Result<()> {
    for role in &provider.default_roles {
        lookup::role(tx, &RoleKey::Id(*role)).map_err(|_| {
            ClusterError::invalid("defaultRoles", format!("role {role} does not exist"))
        })?;
    }
    Ok(())
}

fn claim_slug(tx: &mut OrgTx, provider: &SocialProvider) -> Result<()> {
    if let Some(holder) =
        tx.get::<SocialProviderId>(Table::SocialProviderSlug, provider.provider.as_bytes())?
        && holder != provider.id
    {
        return Err(ClusterError::conflict(
            "provider",
            format!(
                "a social provider named {} already exists",
                provider.provider
            ),
        ));
    }
    tx.put(
        Table::SocialProviderSlug,
        provider.provider.as_bytes(),
        &provider.id,
    )
}

pub(super) fn create(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    fields: &SocialProviderFields,
    sealed_secret: Option<&String>,
) -> Result<Applied> {
    let mut head: SocialHead = tx.get(Table::SocialHead, &[])?.unwrap_or_default();
    head.last_provider_id += 1;
    tx.put(Table::SocialHead, &[], &head)?;
    let mut provider = SocialProvider {
        id: SocialProviderId(head.last_provider_id),
        provider: String::new(),
        kind: String::new(),
        display_name: String::new(),
        enabled: true,
        brand_color: None,
        icon_url: None,
        jit_provisioning_enabled: true,
        client_id: String::new(),
        sealed_client_secret: sealed_secret.cloned(),
        requested_scopes: Vec::new(),
        issuer: None,
        authorization_url: None,
        token_url: None,
        user_info_url: None,
        jwks_url: None,
        claim_mapping: None,
        custom_claims: None,
        provider_config: None,
        default_roles: Vec::new(),
        created_at: meta.at,
        updated_at: meta.at,
    };
    merge(&mut provider, fields)?;
    check_roles(tx, &provider)?;
    claim_slug(tx, &provider)?;
    save(tx, &provider)?;
    let audit = event(&provider, "social_provider.created");
    Ok((Outcome::Created(provider.id.0.to_string()), vec![audit]))
}

pub(super) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: SocialProviderId,
    fields: &SocialProviderFields,
    sealed_secret: Option<&Option<String>>,
) -> Result<Applied> {
    let mut provider = lookup::social_provider(tx, id)?;
    let was_enabled = provider.enabled;
    let old_slug = provider.provider.clone();
    merge(&mut provider, fields)?;
    if let Some(secret) = sealed_secret {
        provider.sealed_client_secret.clone_from(secret);
    }
    check_roles(tx, &provider)?;
    if provider.provider != old_slug {
        claim_slug(tx, &provider)?;
        tx.delete(Table::SocialProviderSlug, old_slug.as_bytes());
    }
    provider.updated_at = meta.at;
    save(tx, &provider)?;
    let action = match (was_enabled, provider.enabled) {
        (true, false) => "social_provider.disabled",
        (false, true) => "social_provider.enabled",
        _ => "social_provider.updated",
    };
    Ok((Outcome::Done, vec![event(&provider, action)]))
}

pub(super) fn delete(tx: &mut OrgTx, id: SocialProviderId) -> Result<Applied> {
    let provider = lookup::social_provider(tx, id)?;
    tx.delete(Table::SocialProvider, &id.0.to_be_bytes());
    tx.delete(Table::SocialProviderSlug, provider.provider.as_bytes());
    // The provider's links go with it: a new provider never inherits its subjects.
    let mut links = Vec::new();
    tx.reader()
        .scan::<IdentityLink>(Table::Identity, &[], false, |key, link| {
            if link.kind == IdentityKind::Social && link.idp_id == Some(id.0) {
                links.push((key.to_vec(), link.uniqueness_key()));
            }
            true
        })?;
    for (key, unique) in &links {
        tx.delete(Table::Identity, key);
        tx.delete(Table::IdentityIndex, unique.as_bytes());
    }
    let event = event(&provider, "social_provider.deleted")
        .new_value(json!({"identity_links_removed": links.len()}));
    Ok((Outcome::Done, vec![event]))
}

/// Records a login sent upstream, dropping a few expired ones (ULID ids: oldest first).
pub(super) fn begin(tx: &mut OrgTx, at: Timestamp, state: &SocialLoginState) -> Result<Applied> {
    if tx.exists(Table::SocialLoginState, state.id.as_bytes())? {
        return Err(ClusterError::conflict("state", "login state id reused"));
    }
    sweep(
        tx,
        Table::SocialLoginState,
        b"sls_",
        true,
        |old: &SocialLoginState| !old.live(at),
    )?;
    tx.put(Table::SocialLoginState, state.id.as_bytes(), state)?;
    Ok((Outcome::Done, Vec::new()))
}

fn social_link(
    provider: &SocialProvider,
    identity: &UpstreamIdentity,
    user: UserId,
) -> IdentityLink {
    IdentityLink {
        user_id: user,
        kind: IdentityKind::Social,
        idp_id: Some(provider.id.0),
        name_id: Some(identity.subject.clone()),
        ldap_config_id: None,
        dn: None,
        provider: Some(provider.provider.clone()),
        ldap_only: false,
        created_at: Timestamp(0),
    }
}

/// The login comes back: spends its state and answers the user it names (`Created(user id)`).
pub(super) fn finish(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    sign_in: &SocialSignIn,
) -> Result<Applied> {
    let state: Option<SocialLoginState> =
        tx.get(Table::SocialLoginState, sign_in.state_id.as_bytes())?;
    let Some(state) = state.filter(|s| s.live(meta.at) && s.provider_id == sign_in.provider_id)
    else {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidRequest,
            "the login expired or was already used",
        ));
    };
    tx.delete(Table::SocialLoginState, state.id.as_bytes());
    let provider = lookup::social_provider(tx, sign_in.provider_id)?;
    if !provider.enabled {
        return Err(refused("this sign-in provider is disabled"));
    }
    let identity = &sign_in.identity;
    let upstream = Upstream {
        identity,
        link: social_link(&provider, identity, UserId(ulid::Ulid::nil())),
        provision: provider.jit_provisioning_enabled,
        provisioned_by: format!("social:{}", provider.provider),
        default_roles: &provider.default_roles,
        new_user_id: sign_in.new_user_id,
    };
    let (user, mut events) = resolve(tx, meta, &upstream)?;
    events.push(
        AuditEvent::new(
            "identity",
            "social.login",
            format!("{} came back from {}", user.email, provider.provider),
        )
        .target("user", user.id, user.email.clone())
        .new_value(json!({"provider": provider.provider, "subject": identity.subject})),
    );
    Ok((Outcome::Created(user.id.to_string()), events))
}
