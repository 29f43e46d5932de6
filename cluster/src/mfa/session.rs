//! Whether a signed-in session still meets the org's MFA policy. The policy takes effect at a
//! user's next authentication: a session that signed in without a second factor before the
//! policy required one is not reused (single sign-on, approval pages); the browser signs in
//! again through the hosted login, which asks for the factor.

use crate::clock::Timestamp;
use crate::error::Result;
use crate::model::{LoginSession, User};
use crate::tables::OrgReader;

use super::{Requirement, policy, requirement, trusted_devices};

/// True when `session` passed a second factor, signed in on a device the user trusts (the
/// device's last use is this sign-in's), or its user need not use MFA now.
pub fn session_meets_policy(
    reader: &OrgReader,
    session: &LoginSession,
    user: &User,
    now: Timestamp,
) -> Result<bool> {
    if session.amr.iter().any(|m| m == "mfa") {
        return Ok(true);
    }
    if requirement(reader, &policy(reader)?, user, now)? != Requirement::Required {
        return Ok(true);
    }
    Ok(trusted_devices(reader, user.id)?.iter().any(|device| {
        device.expires_at > now
            && device
                .last_used_at
                .is_some_and(|used| used >= session.auth_time)
    }))
}
