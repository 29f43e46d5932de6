//! MFA reads: a user's own factors, recovery status, trusted devices and challenges; an
//! administrator's view of a user's factors; the coverage report; the step-up check.

use std::collections::BTreeMap;

use crate::clock::Timestamp;
use crate::command::UserKey;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::mfa::{self as rules, Requirement};
use crate::model::{Authenticator, Principal, User};
use crate::query::{
    AuthenticatorsView, MfaChallengeView, MfaCoverageView, Outcome, RecoveryStatusView, Reply,
};
use crate::tables::{OrgReader, Table};

fn recovery(reader: &OrgReader, user: UserId) -> Result<RecoveryStatusView> {
    Ok(match rules::recovery_codes(reader, user)? {
        Some(set) => RecoveryStatusView {
            remaining: Some(set.remaining() as u64),
            generated_at: Some(set.generated_at),
        },
        None => RecoveryStatusView::default(),
    })
}

fn view(reader: &OrgReader, user: UserId, now: Timestamp) -> Result<AuthenticatorsView> {
    let policy = rules::policy(reader)?;
    let items: Vec<Authenticator> = rules::authenticators(reader, user)?
        .into_iter()
        .filter(|a| !a.pending_expired(now))
        .collect();
    let active = items.iter().filter(|a| a.is_active()).count();
    let recovery = recovery(reader, user)?;
    let left = usize::try_from(recovery.remaining.unwrap_or(0)).unwrap_or(0);
    Ok(AuthenticatorsView {
        status: rules::protection_status(active, left).to_string(),
        default: items.iter().find(|a| a.is_default).map(|a| a.id.clone()),
        items,
        recovery,
        allowed_types: policy
            .allowed()
            .into_iter()
            .map(|k| k.as_str().to_string())
            .collect(),
    })
}

pub(super) fn mine(reader: &OrgReader, principal: &Principal, now: Timestamp) -> Result<Reply> {
    Ok(Reply::Authenticators(view(
        reader,
        rules::own_user(principal)?,
        now,
    )?))
}

pub(super) fn of_user(reader: &OrgReader, key: &UserKey, now: Timestamp) -> Result<Reply> {
    let user = lookup::user(reader, key)?;
    Ok(Reply::Authenticators(view(reader, user.id, now)?))
}

pub(super) fn recovery_status(reader: &OrgReader, principal: &Principal) -> Result<Reply> {
    Ok(Reply::RecoveryCodeStatus(recovery(
        reader,
        rules::own_user(principal)?,
    )?))
}

pub(super) fn trusted_devices(
    reader: &OrgReader,
    principal: &Principal,
    now: Timestamp,
) -> Result<Reply> {
    let devices = rules::trusted_devices(reader, rules::own_user(principal)?)?
        .into_iter()
        .filter(|d| d.expires_at > now)
        .collect();
    Ok(Reply::TrustedDevices(devices))
}

pub(super) fn challenge(
    reader: &OrgReader,
    principal: &Principal,
    id: &str,
    now: Timestamp,
) -> Result<Reply> {
    let user = rules::own_user(principal)?;
    let challenge: crate::model::MfaChallenge = reader
        .get(Table::MfaChallenge, id.as_bytes())?
        .filter(|c: &crate::model::MfaChallenge| c.user_id == user)
        .ok_or_else(|| ClusterError::not_found("challenge", id))?;
    let mut authenticator = None;
    let mut alternatives = Vec::new();
    for factor in rules::authenticators(reader, user)? {
        if !factor.is_active() {
            continue;
        }
        if challenge.authenticator_id.as_deref() == Some(factor.id.as_str()) {
            authenticator = Some(factor);
        } else {
            alternatives.push(factor);
        }
    }
    let status = challenge.status_at(now);
    let public_key = rules::ceremony(reader, &challenge.id)?
        .filter(|c| c.live(now) && status == crate::model::ChallengeStatus::Issued)
        .map(|c| c.options);
    Ok(Reply::MfaChallenge(MfaChallengeView {
        public_key,
        status,
        challenge,
        authenticator,
        alternatives,
    }))
}

pub(super) fn coverage(reader: &OrgReader, now: Timestamp) -> Result<Reply> {
    let policy = rules::policy(reader)?;
    let mut users: Vec<User> = Vec::new();
    reader.scan(Table::User, &[], false, |_, user: User| {
        users.push(user);
        true
    })?;
    let mut report = MfaCoverageView {
        total_users: users.len() as u64,
        enrolled_users: 0,
        by_type: BTreeMap::new(),
        by_tier: BTreeMap::new(),
        requirement: policy.requirement.clone(),
        in_grace: 0,
        past_grace: 0,
        deferred: 0,
    };
    for user in &users {
        let factors = rules::active_factors(reader, user.id, &policy)?;
        if factors.is_empty() {
            match rules::requirement(reader, &policy, user, now)? {
                Requirement::InGrace(_) => report.in_grace += 1,
                Requirement::Required => report.past_grace += 1,
                Requirement::Optional => report.deferred += 1,
            }
            continue;
        }
        report.enrolled_users += 1;
        let mut kinds: Vec<&str> = factors.iter().map(|f| f.kind.as_str()).collect();
        kinds.sort_unstable();
        kinds.dedup();
        for kind in kinds {
            *report.by_type.entry(kind.to_string()).or_default() += 1;
        }
        if let Some(best) = factors.iter().map(|f| f.kind.tier()).min() {
            *report.by_tier.entry(best.to_string()).or_default() += 1;
        }
    }
    Ok(Reply::MfaCoverage(report))
}

pub(super) fn step_up(
    reader: &OrgReader,
    principal: &Principal,
    challenge: Option<&str>,
    now: Timestamp,
) -> Result<Reply> {
    let policy = rules::policy(reader)?;
    rules::check_step_up(
        reader,
        principal,
        challenge,
        now,
        policy.step_up_max_age_seconds,
        None,
    )?;
    Ok(Reply::Done(Outcome::Done))
}
