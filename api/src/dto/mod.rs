//! Wire shapes of the LumoAuth admin API (field names and JSON types as in `models.json`).

pub mod audit;
pub mod catalog;
pub mod mfa;
pub mod org;
pub mod user;

/// Unwraps the expected variant of a cluster reply, or fails as a bug.
#[macro_export]
macro_rules! reply {
    ($reply:expr, $variant:path) => {
        match $reply {
            $variant(inner) => inner,
            other => return Err($crate::error::ApiError::unexpected(other)),
        }
    };
}
