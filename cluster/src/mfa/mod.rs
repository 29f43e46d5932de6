//! Multi-factor rules shared by `apply`, `read` and the provider: the org's MFA policy and who
//! it covers, a user's factors and protection status, and the step-up check. Pure functions
//! over committed rows.

mod policy;
mod rows;
mod session;
mod step_up;

pub use policy::{MfaPolicy, Requirement, policy, requirement};
pub use rows::{
    access_codes, active_factors, authenticator, authenticators, ceremony, lockout, own_user,
    passkey, passkeys, protection_status, recovery_codes, trusted_devices, user_row_key,
};
pub use session::session_meets_policy;
pub use step_up::{STEP_UP_HEADER, check_step_up};
