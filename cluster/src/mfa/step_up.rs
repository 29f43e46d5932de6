//! Step-up: a signed-in person proves a second factor again before a sensitive operation, by
//! sending the id of a challenge they answered within the policy's maximum age.

use crate::clock::Timestamp;
use crate::error::{ClusterError, MfaCode, Result};
use crate::model::{ChallengeStatus, MfaChallenge, Principal, PrincipalKind};
use crate::tables::{Rows, Table};

/// The header that carries the approved challenge's id.
pub const STEP_UP_HEADER: &str = "x-mfa-challenge";

/// Checks a step-up for `principal`: API keys and clients are not people and pass; a user must
/// present a challenge of their own, approved for step-up (or sign-in) within `max_age_secs`,
/// and, when `other_than` names one of their factors, answered with a different one. Returns
/// the challenge, if one was needed.
pub fn check_step_up(
    rows: &impl Rows,
    principal: &Principal,
    challenge_id: Option<&str>,
    now: Timestamp,
    max_age_secs: i64,
    other_than: Option<&str>,
) -> Result<Option<MfaChallenge>> {
    let PrincipalKind::User { id, .. } = &principal.kind else {
        return Ok(None);
    };
    let refuse = |why: &str| {
        ClusterError::mfa(
            MfaCode::StepUpRequired,
            format!(
                "this operation needs a fresh MFA pass: send X-MFA-Challenge with a challenge you approved in the last {max_age_secs} seconds ({why})"
            ),
        )
    };
    let Some(challenge_id) = challenge_id.filter(|c| !c.is_empty() && c.len() <= 64) else {
        return Err(refuse("no challenge was sent"));
    };
    let Some(challenge) = rows.row::<MfaChallenge>(Table::MfaChallenge, challenge_id.as_bytes())?
    else {
        return Err(refuse("the challenge is unknown"));
    };
    if challenge.user_id != *id {
        return Err(refuse("the challenge belongs to another user"));
    }
    let fresh = challenge
        .approved_at
        .is_some_and(|at| now.0 - at.0 <= max_age_secs.saturating_mul(1000));
    if challenge.status != ChallengeStatus::Approved || !fresh {
        return Err(refuse("the challenge is not approved, or too old"));
    }
    if other_than.is_some() && challenge.approved_with.as_deref() == other_than {
        return Err(refuse(
            "answer with a different factor than the one being removed",
        ));
    }
    Ok(Some(challenge))
}
