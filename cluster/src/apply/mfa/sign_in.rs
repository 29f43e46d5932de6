//! A hosted sign-in after its second factor: the login challenge is spent (or the trusted
//! device checked) in the same entry that starts the session, which records how the user
//! proved who they are (`amr`).

use crate::apply::Applied;
use crate::apply::sessions::sign_in;
use crate::command::{CommandMeta, MfaSignIn, SecondFactor};
use crate::error::{ClusterError, MfaCode, Result};
use crate::mfa::user_row_key;
use crate::model::mfa::{APPROVED_BY_ACCESS_CODE, CHALLENGE_TTL_MS};
use crate::model::{ChallengePurpose, ChallengeStatus, MfaChallenge, TrustedDevice};
use crate::tables::{OrgTx, Table};

fn refused(message: &str) -> ClusterError {
    ClusterError::mfa(MfaCode::ChallengeExpired, message)
}

pub(crate) fn sign_in_with_mfa(
    tx: &mut OrgTx,
    meta: &CommandMeta,
    request: &MfaSignIn,
) -> Result<Applied> {
    let user = request.sign_in.session.user_id;
    // The first factor as the leader recorded it (`pwd`, `fed` after an upstream provider,
    // `email` after a sign-in link).
    let first = match request.sign_in.session.amr.first().map(String::as_str) {
        Some("fed") => "fed",
        Some("email") => "email",
        _ => "pwd",
    };
    let mut amr = vec![first.to_string()];
    match &request.second {
        SecondFactor::Challenge(id) => {
            let mut challenge: MfaChallenge = tx
                .get(Table::MfaChallenge, id.as_bytes())?
                .ok_or_else(|| refused("the sign-in challenge is unknown"))?;
            let purpose_ok = matches!(
                challenge.purpose,
                ChallengePurpose::Login | ChallengePurpose::Enroll
            );
            let fresh = challenge
                .approved_at
                .is_some_and(|at| meta.at.0 - at.0 <= CHALLENGE_TTL_MS);
            let usable = challenge.user_id == user
                && purpose_ok
                && challenge.status == ChallengeStatus::Approved
                && !challenge.consumed
                && fresh
                && challenge.approved_with.as_deref() != Some(APPROVED_BY_ACCESS_CODE);
            if !usable {
                return Err(refused(
                    "the sign-in challenge is not approved, or was used",
                ));
            }
            challenge.consumed = true;
            amr.extend(challenge.amr.iter().cloned());
            tx.put(Table::MfaChallenge, id.as_bytes(), &challenge)?;
        }
        SecondFactor::TrustedDevice { id, secret_hash } => {
            let key = user_row_key(user, id);
            let mut device: TrustedDevice = tx
                .get(Table::MfaTrustedDevice, &key)?
                .ok_or_else(|| refused("the trusted device is unknown"))?;
            if device.expires_at <= meta.at || device.secret_hash != *secret_hash {
                return Err(refused("the device is no longer trusted"));
            }
            device.last_used_at = Some(meta.at);
            tx.put(Table::MfaTrustedDevice, &key, &device)?;
        }
        SecondFactor::NotRequired => {}
    }
    if let Some(device) = &request.trust {
        if device.user_id != user || !matches!(request.second, SecondFactor::Challenge(_)) {
            return Err(ClusterError::internal(
                "only a sign-in that passed MFA may trust its device",
            ));
        }
        tx.put(
            Table::MfaTrustedDevice,
            &user_row_key(user, &device.id),
            device,
        )?;
    }
    let mut with_factors = request.sign_in.clone();
    with_factors.session.amr = amr;
    sign_in(tx, meta, &with_factors)
}
