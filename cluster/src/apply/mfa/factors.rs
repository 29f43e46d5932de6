//! A user's factors: enrolling and verifying authenticators, renaming, removing, recovery
//! codes, trusted devices, and administrators' temporary access codes.

use serde_json::json;

use super::{acting_user, load_user, record_failure, refresh_mfa_flag, refuse_if_locked};
use crate::apply::Applied;
use crate::command::{AuthenticatorPatch, CommandMeta, MfaProof, NewAccessCode, UserKey};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::lookup;
use crate::mfa::{self as rules, Requirement, check_step_up, user_row_key};
use crate::model::mfa::{MAX_AUTHENTICATORS, RECOVERY_CODES};
use crate::model::{
    AuditEvent, Authenticator, AuthenticatorState, ChallengeStatus, FactorKind, MfaChallenge,
    RecoveryCodes, TemporaryAccessCode, User,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

fn event(action: &str, message: String, user: &User) -> AuditEvent {
    AuditEvent::new("security", action.to_string(), message).target(
        "user",
        user.id,
        user.email.clone(),
    )
}

/// The command's step-up, judged against the org's policy (people only; see `check_step_up`).
fn require_step_up(
    tx: &OrgTx,
    meta: &CommandMeta,
    step_up: Option<&str>,
    other_than: Option<&str>,
) -> Result<()> {
    let max_age = rules::policy(tx.reader())?.step_up_max_age_seconds;
    check_step_up(tx, &meta.actor, step_up, meta.at, max_age, other_than).map(|_| ())
}

fn save(tx: &mut OrgTx, authenticator: &Authenticator) -> Result<()> {
    tx.put(
        Table::MfaAuthenticator,
        &user_row_key(authenticator.user_id, &authenticator.id),
        authenticator,
    )
}

/// A pending authenticator; expired pending ones of the user are dropped first.
pub(crate) fn enroll(tx: &mut OrgTx, meta: &CommandMeta, new: &Authenticator) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    if new.user_id != user_id || new.state != AuthenticatorState::Pending {
        return Err(ClusterError::internal("an enrollment for another user"));
    }
    let user = load_user(tx, user_id)?;
    let mut kept = 0;
    for existing in rules::authenticators(tx.reader(), user_id)? {
        if existing.pending_expired(meta.at) {
            tx.delete(
                Table::MfaAuthenticator,
                &user_row_key(user_id, &existing.id),
            );
        } else {
            kept += 1;
        }
    }
    if kept >= MAX_AUTHENTICATORS {
        return Err(ClusterError::conflict(
            "authenticators",
            format!("a user holds at most {MAX_AUTHENTICATORS} authenticators"),
        ));
    }
    save(tx, new)?;
    let message = format!("{} started enrolling {}", user.email, new.kind.as_str());
    let events = vec![
        event("mfa.enrollment.started", message, &user)
            .new_value(json!({"authenticatorId": new.id, "type": new.kind.as_str()})),
    ];
    Ok((Outcome::Authenticator(Box::new(new.clone())), events))
}

/// Proof of possession activates a pending authenticator; a wrong proof counts toward the
/// lockout. The first active factor becomes the default.
pub(crate) fn verify(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: &str,
    proof: &MfaProof,
    approves: Option<&str>,
) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    let mut user = load_user(tx, user_id)?;
    let mut authenticator = rules::authenticator(tx, user_id, id)?;
    if authenticator.is_active() {
        return Err(ClusterError::conflict(
            "state",
            "the authenticator is already active",
        ));
    }
    if authenticator.pending_expired(meta.at) {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeExpired,
            "the enrollment expired; start it again",
        ));
    }
    refuse_if_locked(&rules::lockout(tx, user_id)?, meta.at)?;
    let proven = match proof {
        MfaProof::Totp {
            authenticator: a,
            step,
        } => {
            let fresh = a == id && authenticator.last_step.is_none_or(|last| *step > last);
            if fresh {
                authenticator.last_step = Some(*step);
            }
            fresh
        }
        MfaProof::EmailCode {
            authenticator: a,
            code_hash,
        } => a == id && authenticator.pending_code_hash.as_deref() == Some(code_hash.as_str()),
        MfaProof::Passkey(used) => {
            authenticator.kind == FactorKind::Passkey
                && super::passkeys::register(tx, meta.at, user_id, id, used)?
        }
        _ => false,
    };
    if !proven {
        let (lockout, events) = record_failure(tx, meta, &user)?;
        return Ok((super::refusal(&lockout), events));
    }
    let active = rules::authenticators(tx.reader(), user_id)?
        .into_iter()
        .filter(Authenticator::is_active)
        .count();
    authenticator.state = AuthenticatorState::Active;
    authenticator.activated_at = Some(meta.at);
    authenticator.pending_code_hash = None;
    authenticator.is_default = active == 0;
    save(tx, &authenticator)?;
    refresh_mfa_flag(tx, &mut user, true)?;
    if let Some(challenge) = approves {
        complete_sign_in_challenge(tx, meta, user_id, challenge, &authenticator)?;
    }
    let message = format!("{} enrolled {}", user.email, authenticator.kind.as_str());
    let events = vec![
        event("mfa.authenticator.enrolled", message, &user).new_value(
            json!({"authenticatorId": authenticator.id, "type": authenticator.kind.as_str()}),
        ),
    ];
    Ok((Outcome::Authenticator(Box::new(authenticator)), events))
}

/// A hosted sign-in that had to enroll a factor: the new factor answers its challenge.
fn complete_sign_in_challenge(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user: UserId,
    id: &str,
    authenticator: &Authenticator,
) -> Result<()> {
    let mut challenge: MfaChallenge = tx
        .get(Table::MfaChallenge, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("challenge", id))?;
    let open = match challenge.status_at(meta.at) {
        ChallengeStatus::Issued => true,
        // Let in by a temporary access code, to enroll.
        ChallengeStatus::Approved => challenge.let_in_to_enroll(),
        _ => false,
    };
    if challenge.user_id != user || !open {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeExpired,
            "the sign-in this enrollment belongs to is over; sign in again",
        ));
    }
    challenge.status = ChallengeStatus::Approved;
    challenge.approved_at = Some(meta.at);
    challenge.approved_with = Some(authenticator.id.clone());
    challenge.amr = authenticator
        .kind
        .amr()
        .iter()
        .map(|m| m.to_string())
        .chain(["mfa".to_string()])
        .collect();
    tx.put(Table::MfaChallenge, id.as_bytes(), &challenge)
}

pub(crate) fn update(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: &str,
    patch: &AuthenticatorPatch,
) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    let user = load_user(tx, user_id)?;
    let mut authenticator = rules::authenticator(tx, user_id, id)?;
    if let Some(name) = &patch.display_name {
        authenticator.display_name = name.clone();
    }
    if let Some(is_default) = patch.is_default {
        if is_default && !authenticator.is_active() {
            return Err(ClusterError::invalid(
                "is_default",
                "only an active authenticator can be the default",
            ));
        }
        if is_default {
            for mut other in rules::authenticators(tx.reader(), user_id)? {
                if other.is_default && other.id != authenticator.id {
                    other.is_default = false;
                    save(tx, &other)?;
                }
            }
        }
        authenticator.is_default = is_default;
    }
    save(tx, &authenticator)?;
    let message = format!("{} updated an authenticator", user.email);
    let events = vec![
        event("mfa.authenticator.updated", message, &user)
            .new_value(json!({"authenticatorId": id, "displayName": authenticator.display_name, "isDefault": authenticator.is_default})),
    ];
    Ok((Outcome::Authenticator(Box::new(authenticator)), events))
}

/// Removes an authenticator. The user's own removal needs a fresh MFA pass (with another
/// factor when there is one) and keeps the last factor when the org requires MFA; an
/// administrator's removal also ends the user's trusted devices.
pub(crate) fn remove(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user_key: Option<&UserKey>,
    id: &str,
    step_up: Option<&str>,
) -> Result<Applied> {
    let by_admin = user_key.is_some();
    let user_id = match user_key {
        Some(key) => lookup::user(tx, key)?.id,
        None => acting_user(meta)?,
    };
    let mut user = load_user(tx, user_id)?;
    let removed = rules::authenticator(tx, user_id, id)?;
    let all = rules::authenticators(tx.reader(), user_id)?;
    let policy = rules::policy(tx.reader())?;
    let others: Vec<&Authenticator> = all
        .iter()
        .filter(|a| a.is_active() && a.id != removed.id)
        .collect();
    if !by_admin && removed.is_active() {
        let other_than = (!others.is_empty()).then_some(id);
        require_step_up(tx, meta, step_up, other_than)?;
        let counting = others.iter().filter(|a| policy.counts(a.kind)).count();
        let requirement = rules::requirement(tx.reader(), &policy, &user, meta.at)?;
        if counting == 0 && requirement == Requirement::Required && policy.counts(removed.kind) {
            return Err(ClusterError::mfa(
                MfaCode::LastFactorRequired,
                "the organization requires MFA and this is your last factor: enroll another one first",
            ));
        }
    }
    tx.delete(Table::MfaAuthenticator, &user_row_key(user_id, id));
    tx.delete(Table::MfaPasskey, &user_row_key(user_id, id));
    if removed.is_default
        && let Some(next) = others.first()
    {
        let mut next = (*next).clone();
        next.is_default = true;
        save(tx, &next)?;
    }
    if by_admin {
        for device in rules::trusted_devices(tx.reader(), user_id)? {
            tx.delete(Table::MfaTrustedDevice, &user_row_key(user_id, &device.id));
        }
    }
    refresh_mfa_flag(tx, &mut user, !others.is_empty())?;
    let message = format!(
        "{} authenticator of {} removed{}",
        removed.kind.as_str(),
        user.email,
        if by_admin { " by an administrator" } else { "" }
    );
    let events = vec![
        event("mfa.authenticator.removed", message, &user)
            .severity("warning")
            .old_value(json!({"authenticatorId": removed.id, "type": removed.kind.as_str()})),
    ];
    Ok((Outcome::Authenticator(Box::new(removed)), events))
}

/// A new set of recovery codes; replacing a set with codes left needs a fresh MFA pass.
pub(crate) fn set_recovery_codes(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    hashes: &[String],
    step_up: Option<&str>,
) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    let user = load_user(tx, user_id)?;
    if hashes.len() != RECOVERY_CODES {
        return Err(ClusterError::internal("a recovery set has ten codes"));
    }
    if rules::recovery_codes(tx, user_id)?.is_some_and(|set| set.remaining() > 0) {
        require_step_up(tx, meta, step_up, None)?;
    }
    let set = RecoveryCodes {
        hashes: hashes.to_vec(),
        used: vec![false; hashes.len()],
        generated_at: meta.at,
    };
    tx.put(Table::MfaRecoveryCodes, &user_id.to_bytes(), &set)?;
    let message = format!("{} generated recovery codes", user.email);
    Ok((
        Outcome::Done,
        vec![event("mfa.recovery_codes.generated", message, &user)],
    ))
}

pub(crate) fn revoke_device(tx: &mut OrgTx, meta: &CommandMeta, id: &str) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    let user = load_user(tx, user_id)?;
    let key = user_row_key(user_id, id);
    if !tx.exists(Table::MfaTrustedDevice, &key)? {
        return Err(ClusterError::not_found("trusted device", id));
    }
    tx.delete(Table::MfaTrustedDevice, &key);
    let message = format!("{} revoked a trusted device", user.email);
    Ok((
        Outcome::Done,
        vec![
            event("mfa.trusted_device.revoked", message, &user).new_value(json!({"deviceId": id})),
        ],
    ))
}

fn issuer_name(actor: &crate::model::Principal) -> String {
    use crate::model::PrincipalKind;
    match &actor.kind {
        PrincipalKind::ApiKey { name, .. } => format!("api_key:{name}"),
        PrincipalKind::User { email, .. } => email.clone(),
        _ => actor.actor_type().to_string(),
    }
}

/// An administrator's temporary access code (signed-in administrators step up first).
pub(crate) fn issue_access_code(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    new: &NewAccessCode,
) -> Result<Applied> {
    let user = lookup::user(tx, &new.user)?;
    require_step_up(tx, meta, new.step_up.as_deref(), None)?;
    if user.blocked || !user.is_active {
        return Err(ClusterError::conflict(
            "user",
            "cannot issue a temporary access code to a blocked or inactive user",
        ));
    }
    let code = TemporaryAccessCode {
        id: new.id.clone(),
        user_id: user.id,
        code_hash: new.code_hash.clone(),
        reason: new.reason.clone(),
        issued_by: issuer_name(&meta.actor),
        created_at: meta.at,
        expires_at: new.expires_at,
        single_use: new.single_use,
        used_at: None,
    };
    tx.put(
        Table::MfaAccessCode,
        &user_row_key(user.id, &code.id),
        &code,
    )?;
    let message = format!("temporary access code issued for {}", user.email);
    let events = vec![
        event("mfa.tap.issued", message, &user)
            .severity("warning")
            .new_value(json!({
                "id": code.id,
                "reason": code.reason,
                "expiresAt": code.expires_at.to_rfc3339(),
                "singleUse": code.single_use,
            })),
    ];
    Ok((Outcome::Created(code.id), events))
}
