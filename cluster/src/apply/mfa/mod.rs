//! Multi-factor authentication in apply: factors (`factors.rs`), challenges and the lockout
//! (`challenges.rs`), passkeys' ceremonies and passwordless sign-in (`passkeys.rs`), and the
//! hosted sign-in that passed its second factor (`sign_in.rs`).
//! Every self-service op acts for the user of the command's principal.

mod challenges;
mod factors;
mod passkeys;
mod sign_in;

pub(super) use challenges::{answer, start};
pub(super) use factors::{
    enroll, issue_access_code, remove, revoke_device, set_recovery_codes, update, verify,
};
pub(super) use passkeys::{begin_sign_in, enroll_passkey, sign_in_with_passkey, start_challenge};
pub(super) use sign_in::sign_in_with_mfa;

use crate::command::CommandMeta;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::mfa::{LOCK_FAILURES, LOCK_MS, LOCK_WINDOW_MS};
use crate::model::{AuditEvent, MfaLockout, User};
use crate::tables::{OrgTx, Table};

/// The user the command acts for: a person's own credential, not one delegated to an agent.
fn acting_user(meta: &CommandMeta) -> Result<UserId> {
    crate::mfa::own_user(&meta.actor)
}

fn load_user(tx: &OrgTx, id: UserId) -> Result<User> {
    tx.get::<User>(Table::User, &id.to_bytes())?
        .ok_or_else(|| ClusterError::not_found("user", id))
}

/// Refuses while the user's MFA is locked.
fn refuse_if_locked(lockout: &MfaLockout, at: crate::clock::Timestamp) -> Result<()> {
    match lockout.locked_at(at) {
        Some(until) => Err(crate::model::mfa::locked_error(until, at)),
        None => Ok(()),
    }
}

/// Counts one failure toward the user's lockout; returns the lockout as it is now and the
/// events it caused.
fn record_failure(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    user: &User,
) -> Result<(MfaLockout, Vec<AuditEvent>)> {
    let at = meta.at;
    let mut lockout = crate::mfa::lockout(tx, user.id)?;
    lockout
        .failures
        .retain(|t| at.0 - t.0 < LOCK_WINDOW_MS && *t <= at);
    lockout.failures.push(at);
    let mut events = Vec::new();
    if lockout.failures.len() >= LOCK_FAILURES {
        let until = at.plus_millis(LOCK_MS);
        lockout.locked_until = Some(until);
        lockout.failures.clear();
        events.push(
            AuditEvent::new(
                "security",
                "mfa.locked",
                format!(
                    "MFA of {} locked until {} after {LOCK_FAILURES} failures",
                    user.email,
                    until.to_rfc3339()
                ),
            )
            .severity("warning")
            .target("user", user.id, user.email.clone()),
        );
    }
    tx.put(Table::MfaLockout, &user.id.to_bytes(), &lockout)?;
    Ok((lockout, events))
}

/// A wrong answer as the caller is told: the failures left before the lockout, and the lock.
fn refusal(lockout: &MfaLockout) -> crate::query::Outcome {
    let left = LOCK_FAILURES.saturating_sub(lockout.failures.len());
    crate::query::Outcome::MfaRefused {
        attempts_remaining: u32::try_from(left).unwrap_or(0),
        locked_until: lockout.locked_until,
    }
}

/// Sets the user's `mfa_enabled` to whether any active authenticator is left.
fn refresh_mfa_flag(tx: &mut OrgTx, user: &mut User, active_left: bool) -> Result<()> {
    if user.mfa_enabled != active_left {
        user.mfa_enabled = active_left;
        tx.put(Table::User, &user.id.to_bytes(), user)?;
    }
    Ok(())
}
