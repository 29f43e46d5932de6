//! Passkeys in apply. The leader verifies a WebAuthn answer (signature, challenge, origin, RP
//! id, user verification); apply decides, deterministically, whether it still counts: the
//! ceremony it answers is open and is spent by this answer, a new credential is not one the
//! user already holds, and an assertion's signature counter rose (a counter that did not may
//! come from a cloned authenticator).

use super::{acting_user, load_user, record_failure, refuse_if_locked};
use crate::apply::Applied;
use crate::apply::sessions::sign_in;
use crate::clock::Timestamp;
use crate::command::{CommandMeta, PasskeyUse, SignIn};
use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::mfa::{self as rules, user_row_key};
use crate::model::{Authenticator, FactorKind, MfaChallenge, PasskeyCredential, WebauthnCeremony};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

/// Expired ceremonies dropped each time one opens (oldest first, of the same kind).
const SWEEP: usize = 16;

/// The methods a passwordless passkey sign-in records: a hardware key, and the user verified
/// on it (PIN or biometric), two factors in one.
const PASSWORDLESS_AMR: [&str; 3] = ["hwk", "user", "mfa"];

fn mismatch() -> ClusterError {
    ClusterError::internal("a WebAuthn ceremony that does not match what it is for")
}

/// Stores a new ceremony, first dropping expired ones of its kind.
fn open_ceremony(tx: &mut OrgTx, ceremony: &WebauthnCeremony, at: Timestamp) -> Result<()> {
    if tx.exists(Table::WebauthnCeremony, ceremony.id.as_bytes())? {
        return Err(ClusterError::conflict("id", "ceremony id reused"));
    }
    sweep(tx, &ceremony.id, at)?;
    tx.put(Table::WebauthnCeremony, ceremony.id.as_bytes(), ceremony)
}

/// Drops up to [`SWEEP`] expired ceremonies sharing `id`'s prefix (`mfa_`, `mfc_`, `wac_`).
/// Ids are ULIDs and every ceremony lives as long, so the oldest come first and the scan stops
/// at the first live one.
fn sweep(tx: &mut OrgTx, id: &str, at: Timestamp) -> Result<()> {
    let prefix = &id[..id.find('_').map_or(0, |i| i + 1)];
    let mut expired = Vec::new();
    tx.reader().scan(
        Table::WebauthnCeremony,
        prefix.as_bytes(),
        false,
        |rest, ceremony: WebauthnCeremony| {
            if ceremony.live(at) {
                return false;
            }
            expired.push([prefix.as_bytes(), rest].concat());
            expired.len() < SWEEP
        },
    )?;
    for key in expired {
        tx.delete(Table::WebauthnCeremony, &key);
    }
    Ok(())
}

/// A pending passkey with its registration ceremony (the ceremony's id is the
/// authenticator's).
pub(crate) fn enroll_passkey(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    authenticator: &Authenticator,
    ceremony: &WebauthnCeremony,
) -> Result<Applied> {
    if authenticator.kind != FactorKind::Passkey
        || ceremony.id != authenticator.id
        || ceremony.user_id != Some(authenticator.user_id)
    {
        return Err(mismatch());
    }
    let applied = super::enroll(tx, meta, authenticator)?;
    open_ceremony(tx, ceremony, meta.at)?;
    Ok(applied)
}

/// A challenge a passkey answers, with its assertion ceremony (same id).
pub(crate) fn start_challenge(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    challenge: &MfaChallenge,
    ceremony: &WebauthnCeremony,
) -> Result<Applied> {
    if ceremony.id != challenge.id || ceremony.user_id != Some(challenge.user_id) {
        return Err(mismatch());
    }
    let applied = super::start(tx, meta, challenge)?;
    open_ceremony(tx, ceremony, meta.at)?;
    Ok(applied)
}

/// A passwordless sign-in's ceremony: no user yet (the passkey names them).
pub(crate) fn begin_sign_in(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    ceremony: &WebauthnCeremony,
) -> Result<Applied> {
    if ceremony.user_id.is_some() || !rules::policy(tx.reader())?.passwordless_passkey {
        return Err(passwordless_off());
    }
    open_ceremony(tx, ceremony, meta.at)?;
    Ok((Outcome::Done, Vec::new()))
}

fn passwordless_off() -> ClusterError {
    ClusterError::mfa(
        MfaCode::FactorNotAllowed,
        "passwordless passkey sign-in is off for this organization (mfa_policy.passwordless_passkey)",
    )
}

/// Spends the ceremony `used` answers when it is `expected`, still open, and for `user`
/// (none: a passwordless sign-in). False when it is not.
fn close_ceremony(
    tx: &mut OrgTx,
    at: Timestamp,
    used: &PasskeyUse,
    expected: &str,
    user: Option<UserId>,
) -> Result<bool> {
    let Some(ceremony) = rules::ceremony(tx, &used.ceremony)? else {
        return Ok(false);
    };
    if used.ceremony != expected || ceremony.user_id != user || !ceremony.live(at) {
        return Ok(false);
    }
    tx.delete(Table::WebauthnCeremony, used.ceremony.as_bytes());
    Ok(true)
}

/// Registers the credential of the pending passkey `authenticator`: its ceremony was open and
/// the user holds no passkey with the same credential id.
pub(super) fn register(
    tx: &mut OrgTx,
    at: Timestamp,
    user: UserId,
    authenticator: &str,
    used: &PasskeyUse,
) -> Result<bool> {
    if used.authenticator != authenticator
        || !close_ceremony(tx, at, used, authenticator, Some(user))?
    {
        return Ok(false);
    }
    let taken = rules::passkeys(tx.reader(), user)?
        .iter()
        .any(|p| p.credential_id == used.credential_id);
    if taken {
        return Ok(false);
    }
    let credential = PasskeyCredential {
        authenticator_id: authenticator.to_string(),
        user_id: user,
        credential_id: used.credential_id.clone(),
        passkey: used.passkey.clone(),
        counter: used.counter,
    };
    tx.put(
        Table::MfaPasskey,
        &user_row_key(user, authenticator),
        &credential,
    )?;
    Ok(true)
}

/// An assertion of `factor` (the user's authenticator `used` names) answering ceremony
/// `expected` (bound to `ceremony_user`): the factor is an active passkey, the credential is
/// its, and its counter rose (authenticators that keep no counter always send 0). The stored
/// credential takes the answer's state.
pub(super) fn check_assertion(
    tx: &mut OrgTx,
    at: Timestamp,
    factor: &Authenticator,
    expected: &str,
    ceremony_user: Option<UserId>,
    used: &PasskeyUse,
) -> Result<bool> {
    let user = factor.user_id;
    let Some(mut stored) = rules::passkey(tx, user, &factor.id)? else {
        return Ok(false);
    };
    let active = factor.is_active() && factor.kind == FactorKind::Passkey;
    let counter_rose = used.counter > stored.counter || (used.counter == 0 && stored.counter == 0);
    if !active || stored.credential_id != used.credential_id || !counter_rose {
        return Ok(false);
    }
    if !close_ceremony(tx, at, used, expected, ceremony_user)? {
        return Ok(false);
    }
    stored.counter = used.counter;
    stored.passkey = used.passkey.clone();
    tx.put(Table::MfaPasskey, &user_row_key(user, &factor.id), &stored)?;
    Ok(true)
}

/// A passwordless sign-in: the passkey's assertion answers the sign-in's ceremony and starts
/// the session. A refused assertion counts toward the user's lockout.
pub(crate) fn sign_in_with_passkey(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    request: &SignIn,
    used: &PasskeyUse,
) -> Result<Applied> {
    if !rules::policy(tx.reader())?.passwordless_passkey {
        return Err(passwordless_off());
    }
    let user_id = request.session.user_id;
    if acting_user(meta)? != user_id {
        return Err(mismatch());
    }
    let user = load_user(tx, user_id)?;
    refuse_if_locked(&rules::lockout(tx, user_id)?, meta.at)?;
    let factor = rules::authenticator(tx, user_id, &used.authenticator).ok();
    let answered = match &factor {
        Some(f) => check_assertion(tx, meta.at, f, &used.ceremony, None, used)?,
        None => false,
    };
    let (Some(factor), true) = (factor, answered) else {
        let (lockout, events) = record_failure(tx, meta, &user)?;
        return Ok((super::refusal(&lockout), events));
    };
    super::challenges::spend(tx, meta, factor, &Default::default())?;
    let mut with_passkey = request.clone();
    with_passkey.session.amr = PASSWORDLESS_AMR.iter().map(|m| m.to_string()).collect();
    sign_in(tx, meta, &with_passkey)
}
