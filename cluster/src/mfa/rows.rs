//! A user's MFA rows: authenticators, recovery codes, trusted devices, temporary access codes,
//! lockout; and the protection status they add up to.

use crate::error::{ClusterError, MfaCode, Result};
use crate::ids::UserId;
use crate::model::{
    Authenticator, MfaLockout, PasskeyCredential, Principal, PrincipalKind, RecoveryCodes,
    TemporaryAccessCode, TrustedDevice, WebauthnCeremony,
};
use crate::tables::{OrgReader, Rows, Table};

use super::MfaPolicy;

/// The user whose own credential `principal` is: MFA belongs to people, so API keys, clients,
/// agents and a user's token delegated to an agent are refused.
pub fn own_user(principal: &Principal) -> Result<UserId> {
    match &principal.kind {
        PrincipalKind::User { id, .. } if principal.acting_agent.is_none() => Ok(*id),
        _ => Err(ClusterError::mfa(
            MfaCode::UserTokenRequired,
            "multi-factor authentication belongs to the signed-in user: call with the user's own access token",
        )),
    }
}

/// The key of one of a user's rows (authenticator, trusted device, access code): the user's
/// id, then the row's, so a user's rows scan together.
pub fn user_row_key(user: UserId, id: &str) -> Vec<u8> {
    let mut key = user.to_bytes().to_vec();
    key.extend_from_slice(id.as_bytes());
    key
}

fn scan_user<T: serde::de::DeserializeOwned>(
    reader: &OrgReader,
    table: Table,
    user: UserId,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    reader.scan(table, &user.to_bytes(), false, |_, row: T| {
        out.push(row);
        true
    })?;
    Ok(out)
}

/// Every authenticator of `user`, oldest first (ids are ULIDs).
pub fn authenticators(reader: &OrgReader, user: UserId) -> Result<Vec<Authenticator>> {
    scan_user(reader, Table::MfaAuthenticator, user)
}

/// One authenticator of `user`, or not found.
pub fn authenticator(rows: &impl Rows, user: UserId, id: &str) -> Result<Authenticator> {
    rows.row(Table::MfaAuthenticator, &user_row_key(user, id))?
        .ok_or_else(|| ClusterError::not_found("authenticator", id))
}

/// The active authenticators of `user` that count as a second factor under `policy`.
pub fn active_factors(
    reader: &OrgReader,
    user: UserId,
    policy: &MfaPolicy,
) -> Result<Vec<Authenticator>> {
    Ok(authenticators(reader, user)?
        .into_iter()
        .filter(|a| a.is_active() && policy.counts(a.kind))
        .collect())
}

pub fn recovery_codes(rows: &impl Rows, user: UserId) -> Result<Option<RecoveryCodes>> {
    rows.row(Table::MfaRecoveryCodes, &user.to_bytes())
}

pub fn trusted_devices(reader: &OrgReader, user: UserId) -> Result<Vec<TrustedDevice>> {
    scan_user(reader, Table::MfaTrustedDevice, user)
}

pub fn access_codes(reader: &OrgReader, user: UserId) -> Result<Vec<TemporaryAccessCode>> {
    scan_user(reader, Table::MfaAccessCode, user)
}

pub fn lockout(rows: &impl Rows, user: UserId) -> Result<MfaLockout> {
    Ok(rows
        .row(Table::MfaLockout, &user.to_bytes())?
        .unwrap_or_default())
}

/// `protected` (two factors, or one and unused recovery codes), `add_backup` (one factor and
/// nothing to fall back on) or `at_risk` (no factor).
pub fn protection_status(active: usize, recovery_remaining: usize) -> &'static str {
    match (active, recovery_remaining) {
        (0, _) => "at_risk",
        (1, 0) => "add_backup",
        _ => "protected",
    }
}

/// The WebAuthn credential of a user's passkey authenticator.
pub fn passkey(
    rows: &impl Rows,
    user: UserId,
    authenticator: &str,
) -> Result<Option<PasskeyCredential>> {
    rows.row(Table::MfaPasskey, &user_row_key(user, authenticator))
}

/// Every passkey credential of `user`.
pub fn passkeys(reader: &OrgReader, user: UserId) -> Result<Vec<PasskeyCredential>> {
    scan_user(reader, Table::MfaPasskey, user)
}

/// A WebAuthn ceremony still waiting for the browser.
pub fn ceremony(rows: &impl Rows, id: &str) -> Result<Option<WebauthnCeremony>> {
    rows.row(Table::WebauthnCeremony, id.as_bytes())
}
