//! MFA challenges: starting one, and answering it. Five wrong answers use a challenge up; ten
//! failures within fifteen minutes lock the user's MFA for fifteen minutes, whichever node the
//! guesses came through (the count is replicated state).

use serde_json::json;

use super::{acting_user, load_user, record_failure, refuse_if_locked};
use crate::apply::Applied;
use crate::command::{CommandMeta, MfaProof};
use crate::error::{ClusterError, MfaCode, Result};
use crate::mfa::{self as rules, user_row_key};
use crate::model::mfa::UsedContext;
use crate::model::mfa::{APPROVED_BY_ACCESS_CODE, APPROVED_BY_RECOVERY_CODE, RECOVERY_CODES};
use crate::model::{
    AuditEvent, ChallengePurpose, ChallengeStatus, FactorKind, MfaChallenge, TemporaryAccessCode,
    User,
};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

fn event(action: &str, message: String, user: &User, challenge: &MfaChallenge) -> AuditEvent {
    AuditEvent::new("security", action.to_string(), message)
        .target("user", user.id, user.email.clone())
        .new_value(json!({"challengeId": challenge.id, "purpose": challenge.purpose.as_str()}))
}

pub(crate) fn start(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    challenge: &MfaChallenge,
) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    if challenge.user_id != user_id {
        return Err(ClusterError::internal("a challenge for another user"));
    }
    let user = load_user(tx, user_id)?;
    if user.blocked || !user.is_active {
        return Err(ClusterError::mfa(
            MfaCode::UserTokenRequired,
            "this account is blocked or inactive",
        ));
    }
    refuse_if_locked(&rules::lockout(tx, user_id)?, meta.at)?;
    if let Some(id) = &challenge.authenticator_id
        && !rules::authenticator(tx, user_id, id)?.is_active()
    {
        return Err(ClusterError::not_found("authenticator", id));
    }
    if tx.exists(Table::MfaChallenge, challenge.id.as_bytes())? {
        return Err(ClusterError::conflict("id", "challenge id reused"));
    }
    tx.put(Table::MfaChallenge, challenge.id.as_bytes(), challenge)?;
    let message = format!(
        "MFA challenge ({}) for {}",
        challenge.purpose.as_str(),
        user.email
    );
    Ok((
        Outcome::MfaChallenge(Box::new(challenge.clone())),
        vec![event("mfa.challenge.created", message, &user, challenge)],
    ))
}

/// What a right answer proved: the factor, its methods, and its tier.
struct Answered {
    with: String,
    amr: Vec<String>,
    tier: u8,
}

pub(crate) fn answer(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    id: &str,
    proof: &MfaProof,
    context: &UsedContext,
) -> Result<Applied> {
    let user_id = acting_user(meta)?;
    let mut challenge: MfaChallenge = tx
        .get(Table::MfaChallenge, id.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("challenge", id))?;
    if challenge.user_id != user_id {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeNotYours,
            "this challenge belongs to another user",
        ));
    }
    let user = load_user(tx, user_id)?;
    refuse_if_locked(&rules::lockout(tx, user_id)?, meta.at)?;
    let status = challenge.status_at(meta.at);
    if status != ChallengeStatus::Issued {
        return Err(ClusterError::mfa(
            MfaCode::ChallengeExpired,
            format!("the challenge is {}; start a new one", status.as_str()),
        ));
    }
    let answered = check(tx, meta, &challenge, proof, context)?.filter(|a| {
        // An administrator's access code stands in for any factor (it only lets the user
        // in to enroll one).
        a.with == APPROVED_BY_ACCESS_CODE || challenge.min_tier.is_none_or(|min| a.tier <= min)
    });
    let Some(answered) = answered else {
        challenge.attempts_remaining = challenge.attempts_remaining.saturating_sub(1);
        if challenge.attempts_remaining == 0 {
            challenge.status = ChallengeStatus::Failed;
        }
        tx.put(Table::MfaChallenge, id.as_bytes(), &challenge)?;
        let (lockout, mut events) = record_failure(tx, meta, &user)?;
        let message = format!("wrong MFA answer from {}", user.email);
        events.insert(
            0,
            event("mfa.challenge.failed", message, &user, &challenge).severity("warning"),
        );
        return Ok((
            Outcome::MfaRefused {
                attempts_remaining: challenge.attempts_remaining,
                locked_until: lockout.locked_until,
            },
            events,
        ));
    };
    challenge.status = ChallengeStatus::Approved;
    challenge.approved_at = Some(meta.at);
    challenge.amr = answered.amr;
    challenge.amr.push("mfa".into());
    let mut events = Vec::new();
    if answered.with == APPROVED_BY_RECOVERY_CODE {
        let message = format!("{} used a recovery code", user.email);
        events
            .push(event("mfa.recovery_code.used", message, &user, &challenge).severity("warning"));
    }
    if answered.with == APPROVED_BY_ACCESS_CODE {
        let message = format!("{} used a temporary access code", user.email);
        events.push(event("mfa.tap.used", message, &user, &challenge).severity("warning"));
    }
    challenge.approved_with = Some(answered.with);
    tx.put(Table::MfaChallenge, id.as_bytes(), &challenge)?;
    let message = format!("MFA challenge approved for {}", user.email);
    events.insert(
        0,
        event("mfa.challenge.approved", message, &user, &challenge),
    );
    Ok((Outcome::MfaChallenge(Box::new(challenge)), events))
}

/// Records a factor's use (with what the caller changed, e.g. the TOTP step it spent).
pub(super) fn spend(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    mut factor: crate::model::Authenticator,
    context: &UsedContext,
) -> Result<()> {
    factor.last_used_at = Some(meta.at);
    factor.last_used = Some(context.clone());
    tx.put(
        Table::MfaAuthenticator,
        &user_row_key(factor.user_id, &factor.id),
        &factor,
    )
}

/// Whether `proof` answers `challenge`; spends what it used (a TOTP step, a recovery code, a
/// single-use access code).
fn check(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    challenge: &MfaChallenge,
    proof: &MfaProof,
    context: &UsedContext,
) -> Result<Option<Answered>> {
    let user = challenge.user_id;
    let factor = |kind: FactorKind, with: &str| Answered {
        with: with.to_string(),
        amr: kind.amr().iter().map(|m| m.to_string()).collect(),
        tier: kind.tier(),
    };
    match proof {
        MfaProof::Totp {
            authenticator,
            step,
        } => {
            let Ok(mut factor_row) = rules::authenticator(tx, user, authenticator) else {
                return Ok(None);
            };
            let usable = factor_row.is_active()
                && factor_row.kind == FactorKind::Totp
                && factor_row.last_step.is_none_or(|last| *step > last);
            if !usable {
                return Ok(None);
            }
            factor_row.last_step = Some(*step);
            spend(tx, meta, factor_row, context)?;
            Ok(Some(factor(FactorKind::Totp, authenticator)))
        }
        MfaProof::EmailCode {
            authenticator,
            code_hash,
        } => {
            let Ok(factor_row) = rules::authenticator(tx, user, authenticator) else {
                return Ok(None);
            };
            let usable = factor_row.is_active()
                && challenge.authenticator_id.as_deref() == Some(authenticator.as_str())
                && challenge.code_hash.as_deref() == Some(code_hash.as_str());
            if !usable {
                return Ok(None);
            }
            let kind = factor_row.kind;
            spend(tx, meta, factor_row, context)?;
            Ok(Some(factor(kind, authenticator)))
        }
        MfaProof::RecoveryCode { code_hash } => {
            let Some(mut set) = rules::recovery_codes(tx, user)? else {
                return Ok(None);
            };
            let found = set
                .hashes
                .iter()
                .zip(set.used.iter())
                .position(|(hash, used)| !used && hash == code_hash);
            let Some(index) = found.filter(|i| *i < RECOVERY_CODES) else {
                return Ok(None);
            };
            set.used[index] = true;
            tx.put(Table::MfaRecoveryCodes, &user.to_bytes(), &set)?;
            Ok(Some(Answered {
                with: APPROVED_BY_RECOVERY_CODE.into(),
                amr: vec!["kba".into()],
                tier: 5,
            }))
        }
        MfaProof::TemporaryAccessCode { code_hash } => {
            if challenge.purpose != ChallengePurpose::Login {
                return Ok(None);
            }
            let found = rules::access_codes(tx.reader(), user)?
                .into_iter()
                .find(|c| c.usable(meta.at) && &c.code_hash == code_hash);
            let Some(mut code): Option<TemporaryAccessCode> = found else {
                return Ok(None);
            };
            code.used_at = Some(meta.at);
            tx.put(Table::MfaAccessCode, &user_row_key(user, &code.id), &code)?;
            Ok(Some(Answered {
                with: APPROVED_BY_ACCESS_CODE.into(),
                amr: vec!["otp".into()],
                tier: 5,
            }))
        }
        MfaProof::Passkey(used) => {
            let Ok(factor_row) = rules::authenticator(tx, user, &used.authenticator) else {
                return Ok(None);
            };
            let answered = challenge.authenticator_id.as_deref()
                == Some(used.authenticator.as_str())
                && super::passkeys::check_assertion(
                    tx,
                    meta.at,
                    &factor_row,
                    &challenge.id,
                    Some(user),
                    used,
                )?;
            if !answered {
                return Ok(None);
            }
            spend(tx, meta, factor_row, context)?;
            Ok(Some(factor(FactorKind::Passkey, &used.authenticator)))
        }
        MfaProof::Wrong => Ok(None),
    }
}
