//! Polls of the token endpoint for requests a user decides elsewhere (device codes and CIBA
//! requests): expired, still pending (or polled too fast), denied, used, or approved.

use crate::clock::Timestamp;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::ApprovalState;
use crate::protocol::ErrorCode;

use crate::oauth::runtime::ProtocolCtx;

/// A token-endpoint poll of a device or CIBA request.
pub(super) struct Poll<'a> {
    pub hash: &'a str,
    /// How errors name the request.
    pub what: &'static str,
    pub expires_at: Timestamp,
    pub interval_secs: u64,
}

impl Poll<'_> {
    /// The approving user and session, or the error a client polling now gets (expired,
    /// pending or too fast, denied, already used).
    pub fn approval(
        &self,
        ctx: &ProtocolCtx,
        state: &ApprovalState,
    ) -> Result<(UserId, Option<u64>)> {
        if self.expires_at <= ctx.now {
            return Err(ClusterError::oauth(
                ErrorCode::ExpiredToken,
                format!("the {} expired", self.what),
            ));
        }
        match state {
            ApprovalState::Pending => Err(self.waiting(ctx)),
            ApprovalState::Denied => Err(ClusterError::oauth(
                ErrorCode::AccessDenied,
                "the user denied the request",
            )),
            ApprovalState::Used => Err(ClusterError::oauth(
                ErrorCode::InvalidGrant,
                format!("the {} was already used", self.what),
            )),
            ApprovalState::Approved {
                user_id,
                session_id,
                ..
            } => Ok((*user_id, *session_id)),
        }
    }

    /// What the token endpoint answers while a user has not decided yet.
    fn waiting(&self, ctx: &ProtocolCtx) -> ClusterError {
        if ctx
            .runtime
            .polled_too_fast(self.hash, ctx.now, self.interval_secs)
        {
            ClusterError::oauth(ErrorCode::SlowDown, "poll less often")
        } else {
            ClusterError::oauth(
                ErrorCode::AuthorizationPending,
                "the user has not decided yet",
            )
        }
    }
}
