//! Moves whose mover stopped. A move is driven by the node whose cluster admin API was asked; if
//! that node dies mid-move, the org stays frozen on its shard or marked moving in the directory
//! and serves nothing, and no mover is left to settle it. The meta leader watches the directory:
//! an org seen moving to the same shard for [`ABANDONED_AFTER`] (longer than a live mover takes
//! to copy an org and settle its own failure) is settled here, the way a mover settles a failed
//! move (`move_recovery.rs`). A live mover that is merely slow finds its move aborted: its flip is
//! refused, it settles, and the org stays where it was, losing nothing.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::Service;
use crate::ids::{OrgId, ShardId};
use crate::model::OrgState;

const CHECK_EVERY: Duration = Duration::from_secs(30);
const ABANDONED_AFTER: Duration = Duration::from_secs(600);

impl Service {
    pub(crate) fn spawn_move_reconciler(&self) {
        let seen: Arc<Mutex<HashMap<(OrgId, ShardId), Instant>>> = Arc::default();
        self.spawn_every(CHECK_EVERY, move |service| {
            let seen = seen.clone();
            async move { service.settle_abandoned_moves(&seen).await }
        });
    }

    async fn settle_abandoned_moves(&self, seen: &Mutex<HashMap<(OrgId, ShardId), Instant>>) {
        if !self.leads_meta() {
            if let Ok(mut seen) = seen.lock() {
                seen.clear();
            }
            return;
        }
        let Ok(orgs) = self.orgs().await else {
            return;
        };
        let moving: Vec<_> = orgs
            .into_iter()
            .filter_map(|entry| match entry.state {
                OrgState::Moving { to } => Some((entry, to)),
                _ => None,
            })
            .collect();
        let due: Vec<_> = {
            let Ok(mut seen) = seen.lock() else { return };
            seen.retain(|(org, to), _| moving.iter().any(|(e, t)| e.org_id == *org && t == to));
            let now = Instant::now();
            moving
                .into_iter()
                .filter(|(entry, to)| {
                    let since = *seen.entry((entry.org_id, *to)).or_insert(now);
                    now.duration_since(since) >= ABANDONED_AFTER
                })
                .collect()
        };
        for (entry, to) in due {
            tracing::warn!(org = %entry.slug, shard = %to, "a move has not finished for {} s: settling it here", ABANDONED_AFTER.as_secs());
            match self.settle_failed_move(&entry, to).await {
                Ok(_) => {
                    if let Ok(mut seen) = seen.lock() {
                        seen.remove(&(entry.org_id, to));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, org = %entry.slug, "an abandoned move is not settled yet")
                }
            }
        }
    }
}
