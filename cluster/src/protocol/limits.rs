//! Token lifetimes and limits.

/// Authorization codes live this long.
pub const CODE_TTL_MS: i64 = 60_000;
/// Default access token lifetime.
pub const ACCESS_TTL_SECS: u64 = 3600;
/// Default refresh token lifetime.
pub const REFRESH_TTL_SECS: u64 = 30 * 86_400;
/// Device codes and CIBA requests live this long.
pub const DEVICE_TTL_SECS: u64 = 600;
/// Seconds between polls of the token endpoint for device and CIBA grants.
pub const POLL_INTERVAL_SECS: u64 = 5;
/// Pushed authorization requests live this long.
pub const PAR_TTL_SECS: u64 = 90;
/// Largest pushed authorization request (names and values together).
pub const MAX_PUSHED_BYTES: usize = 8 * 1024;
/// Failed sign-ins in a row that lock an account.
pub const LOCK_THRESHOLD: u32 = 5;
/// How long a lock lasts.
pub const LOCK_MS: i64 = 15 * 60_000;
/// Browser sessions last this long without a `session_timeout` setting.
pub const SESSION_TTL_SECS: u64 = 24 * 3600;
/// Deepest delegation chain token exchange builds.
pub const MAX_DELEGATION_DEPTH: usize = 3;
