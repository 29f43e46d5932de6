//! Bringing a replica to the freshness a question asks for.

use std::time::Duration;

use crate::authz::Freshness;
use crate::error::Result;
use crate::raft::GroupHandle;

/// How long a replica waits to apply the write a token names before the leader is asked.
const CATCH_UP: Duration = Duration::from_millis(500);

/// Makes sure this replica's applied state is as fresh as `freshness` asks; false when only
/// the shard leader can serve it.
pub(super) async fn reach(shard: &GroupHandle, freshness: Freshness) -> Result<bool> {
    match freshness {
        Freshness::Local => Ok(true),
        Freshness::AtLeast(token) if token.group == shard.id => {
            if shard.authz.wait_applied(token.index, CATCH_UP).await {
                return Ok(true);
            }
            if shard.raft.is_leader() {
                // The leader applies what it committed; a token beyond that was never issued
                // by this shard's current log.
                if shard.authz.wait_applied(token.index, CATCH_UP * 4).await {
                    return Ok(true);
                }
                return Err(crate::error::ClusterError::Unavailable {
                    message: "the consistency token is ahead of the shard's log; retry".into(),
                });
            }
            Ok(false)
        }
        // A token of another shard (the org moved since): nothing to compare it with.
        Freshness::AtLeast(_) | Freshness::Full => {
            if !shard.raft.is_leader() {
                return Ok(false);
            }
            shard.lease_barrier().await?;
            Ok(true)
        }
    }
}
