//! Settling a move that failed. A move can fail at any step: a quorum lost for a while, a leader
//! change, a timeout whose write may still apply. Until it is settled the org is frozen on its
//! shard or marked moving in the directory, so it serves nothing. The mover therefore keeps
//! settling (with backoff, for a bounded time) until the directory says where the org lives and
//! that copy is the live one: the new shard when the flip went through after all, else the old
//! one, thawed, with the partial copy on the target dropped.

use std::time::Duration;

use super::Service;
use crate::command::{MetaOp, Op};
use crate::error::{ClusterError, Result};
use crate::ids::ShardId;
use crate::model::{DirectoryEntry, OrgState};

/// How long a mover keeps settling before it gives up and reports the org stuck.
const SETTLE_FOR: Duration = Duration::from_secs(180);
const LONGEST_PAUSE: Duration = Duration::from_secs(5);

/// Where a failed move left the org, once settled.
pub(super) enum Settled {
    /// The flip went through (its answer was lost): the org lives on the target.
    Moved(DirectoryEntry),
    /// The org lives on its old shard again.
    Stayed,
}

impl Service {
    /// Settles the failed move of `entry` (as it was before the move) to `to`.
    pub(super) async fn settle_failed_move(
        &self,
        entry: &DirectoryEntry,
        to: ShardId,
    ) -> Result<Settled> {
        let deadline = tokio::time::Instant::now() + SETTLE_FOR;
        let mut pause = Duration::from_millis(100);
        loop {
            match self.settle_once(entry, to).await {
                Ok(settled) => return Ok(settled),
                Err(e) if tokio::time::Instant::now() + pause >= deadline => return Err(e),
                Err(e) => {
                    tracing::warn!(error = %e, org = %entry.slug, "settling a failed move; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(LONGEST_PAUSE);
                }
            }
        }
    }

    async fn settle_once(&self, entry: &DirectoryEntry, to: ShardId) -> Result<Settled> {
        self.inner.directory.forget(&entry.slug);
        let now = self.lookup(&entry.slug, true).await?.entry.ok_or_else(|| {
            ClusterError::OrgNotFound {
                slug: entry.slug.clone(),
            }
        })?;
        let now = match now.state {
            // The abort is the point of no return: once the directory says the org is active
            // on its old shard, a flip still in flight (`FinishMove`, which needs `Moving`) can
            // no longer apply. Its answer says which of the two came first.
            OrgState::Moving { .. } => {
                self.propose_move_step(MetaOp::AbortMove { org: entry.org_id })
                    .await?
            }
            _ => now,
        };
        let source = entry.shard.0;
        if now.shard == to && now.epoch > entry.epoch {
            // The flip went through (its answer was lost): finish like a move.
            if let Err(e) = self
                .propose_to(source, self.system_command(entry, Op::DropOrg))
                .await
            {
                tracing::warn!(error = %e, org = %entry.slug, "could not delete the moved org from its old shard");
            }
            self.inner.directory.remember(now.clone());
            return Ok(Settled::Moved(now));
        }
        // Active where it was (aborted now or before, or the move never got past its start).
        self.propose_to(source, self.system_command(entry, Op::ThawOrg))
            .await?;
        self.drop_partial_copy(entry, to).await;
        Ok(Settled::Stayed)
    }

    /// Deletes what the failed move copied to `to` (at the next epoch): a complete copy there is
    /// active at that epoch, and a later move to the same shard, which uses the same epoch,
    /// would take it for its own finished import and skip copying. Nothing there is fine. (A
    /// new move to `to` started by someone else between the abort and this drop would lose its
    /// first chunks to it; moves of one org are an operator's action, one at a time.)
    async fn drop_partial_copy(&self, entry: &DirectoryEntry, to: ShardId) {
        let next = DirectoryEntry {
            epoch: entry.epoch + 1,
            shard: to,
            ..entry.clone()
        };
        match self
            .propose_to(to.0, self.system_command(&next, Op::DropOrg))
            .await
        {
            Ok(_) | Err(ClusterError::WrongShard) => {}
            Err(e) => {
                tracing::warn!(error = %e, org = %entry.slug, "could not delete a failed move's copy")
            }
        }
        self.inner.directory.forget(&entry.slug);
    }
}
