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
    if shard.authz.is_installing() {
        // Half of a snapshot is no state to answer from.
        return Ok(false);
    }
    match freshness {
        Freshness::Local => Ok(true),
        Freshness::AtLeast(token) if token.group == shard.id => {
            // The leader applies what it committed, so it waits longer before refusing a token
            // ahead of its log; a follower hands the question to the leader sooner.
            let leads = shard.raft.is_leader();
            let within = if leads { CATCH_UP * 5 } else { CATCH_UP };
            if shard.authz.wait_applied(token.index, within).await {
                return Ok(true);
            }
            if leads {
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
