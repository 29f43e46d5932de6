//! The org's MFA policy (the `mfa_policy` object of the authentication settings) and whom it
//! requires a second factor of.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::command::Relation;
use crate::error::Result;
use crate::ids::{GroupId, RoleId, UserId};
use crate::model::{FactorKind, NamedEntity, User};
use crate::relations::{Direction, neighbours};
use crate::settings::{SettingsSection, render};
use crate::tables::{OrgReader, Table};

const DAY_MS: i64 = 86_400_000;

/// The policy as enforcement reads it (the stored document is validated on write).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MfaPolicy {
    pub requirement: String,
    pub allowed_factors: Vec<String>,
    pub min_tier_login: u8,
    pub min_tier_step_up: u8,
    pub required_factor_count: u8,
    pub grace_period_days: i64,
    pub trusted_device_days: i64,
    pub email_otp_counts_as_mfa: bool,
    /// Users may sign in with a passkey alone (no password) from the hosted login.
    pub passwordless_passkey: bool,
    pub step_up_max_age_seconds: i64,
    /// Unix seconds when `required` took effect (the grace period counts from it).
    pub required_since: Option<i64>,
    /// Role slugs whose members must use MFA even when the org-wide requirement is optional.
    pub required_roles: Vec<String>,
    /// Group slugs whose members must use MFA.
    pub required_groups: Vec<String>,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        MfaPolicy {
            requirement: "optional".into(),
            allowed_factors: vec!["passkey".into(), "totp".into(), "email_otp".into()],
            min_tier_login: 4,
            min_tier_step_up: 4,
            required_factor_count: 1,
            grace_period_days: 7,
            trusted_device_days: 30,
            email_otp_counts_as_mfa: false,
            passwordless_passkey: false,
            step_up_max_age_seconds: 600,
            required_since: None,
            required_roles: Vec::new(),
            required_groups: Vec::new(),
        }
    }
}

impl MfaPolicy {
    /// True when users may enroll factors of `kind`.
    pub fn allows(&self, kind: FactorKind) -> bool {
        self.requirement != "off" && self.allowed_factors.iter().any(|f| f == kind.as_str())
    }

    /// The factor types users may enroll, in the order the org listed them.
    pub fn allowed(&self) -> Vec<FactorKind> {
        if self.requirement == "off" {
            return Vec::new();
        }
        self.allowed_factors
            .iter()
            .filter_map(|f| FactorKind::parse(f))
            .collect()
    }

    /// True when a factor of `kind` counts as a second factor for the requirement.
    pub fn counts(&self, kind: FactorKind) -> bool {
        kind != FactorKind::EmailOtp || self.email_otp_counts_as_mfa
    }
}

/// The org's MFA policy, defaults applied.
pub fn policy(reader: &OrgReader) -> Result<MfaPolicy> {
    let stored: Option<serde_json::Value> =
        reader.get(Table::Settings, SettingsSection::Auth.as_str().as_bytes())?;
    let doc = render(SettingsSection::Auth, stored.as_ref());
    Ok(serde_json::from_value(doc["mfa_policy"].clone()).unwrap_or_default())
}

/// What the policy asks of one user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Requirement {
    /// MFA is optional (it is still asked of users who enrolled a factor).
    Optional,
    /// Required, but the user may still sign in without a factor until then.
    InGrace(Timestamp),
    Required,
}

/// What `policy` asks of `user` at `now`: the org-wide requirement, or membership of a role or
/// group the policy names. The grace period counts from when the requirement took effect (or
/// the user was created, if later).
pub fn requirement(
    reader: &OrgReader,
    policy: &MfaPolicy,
    user: &User,
    now: Timestamp,
) -> Result<Requirement> {
    let required = match policy.requirement.as_str() {
        "off" => false,
        "required" => true,
        _ => member_of_required(reader, policy, user.id)?,
    };
    if !required {
        return Ok(Requirement::Optional);
    }
    let since = policy
        .required_since
        .map(|s| Timestamp(s.saturating_mul(1000)))
        .unwrap_or(user.created_at)
        .max(user.created_at);
    let until = since.plus_millis(policy.grace_period_days.saturating_mul(DAY_MS));
    Ok(if until > now {
        Requirement::InGrace(until)
    } else {
        Requirement::Required
    })
}

fn member_of_required(reader: &OrgReader, policy: &MfaPolicy, user: UserId) -> Result<bool> {
    Ok(linked_slug_in::<RoleId>(
        reader,
        Relation::UserRole,
        Table::Role,
        user,
        &policy.required_roles,
    )? || linked_slug_in::<GroupId>(
        reader,
        Relation::UserGroup,
        Table::Group,
        user,
        &policy.required_groups,
    )?)
}

/// True when one of the roles (or groups) `relation` links `user` to has a slug in `slugs`.
fn linked_slug_in<I: serde::de::DeserializeOwned>(
    reader: &OrgReader,
    relation: Relation,
    table: Table,
    user: UserId,
    slugs: &[String],
) -> Result<bool> {
    if slugs.is_empty() {
        return Ok(false);
    }
    for id in neighbours(reader, relation, Direction::Forward, &user.to_bytes())? {
        let linked: Option<NamedEntity<I>> = reader.get(table, &id)?;
        if linked.is_some_and(|l| slugs.contains(&l.slug)) {
            return Ok(true);
        }
    }
    Ok(false)
}
