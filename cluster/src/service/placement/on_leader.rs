//! The group leader's side of membership RPCs: adding and removing voters, handing over
//! leadership.

use std::collections::BTreeSet;

use openraft::ChangeMembers;

use super::super::Service;
use crate::error::{ClusterError, Result};
use crate::raft::NodeInfo;

impl Service {
    /// On the leader of `group`: adds a voter (as a learner first) and/or removes one.
    pub(crate) async fn change_membership_here(
        &self,
        group: u64,
        add: Option<(u64, NodeInfo)>,
        remove: Option<u64>,
    ) -> Result<()> {
        let handle = self
            .group(group)
            .filter(|g| g.raft.is_leader())
            .ok_or(ClusterError::NotLeader { leader: None })?;
        let map = |e: openraft::error::RaftError<
            crate::raft::TypeConfig,
            openraft::error::ClientWriteError<crate::raft::TypeConfig>,
        >| { crate::raft::write_error(e) };
        if let Some((id, info)) = add {
            handle.raft.add_learner(id, info, true).await.map_err(map)?;
            let voters: BTreeSet<u64> = [id].into_iter().collect();
            handle
                .raft
                .change_membership(ChangeMembers::AddVoterIds(voters), false)
                .await
                .map_err(map)?;
        }
        if let Some(id) = remove {
            if handle.raft.voter_ids().count() <= 1 {
                return Err(ClusterError::conflict(
                    "node",
                    format!("node {id} holds the last replica of group {group}"),
                ));
            }
            let voters: BTreeSet<u64> = [id].into_iter().collect();
            handle
                .raft
                .change_membership(ChangeMembers::RemoveVoters(voters), false)
                .await
                .map_err(map)?;
        }
        Ok(())
    }

    /// On the leader of `group`: hands leadership to `to`.
    pub(crate) async fn transfer_leader_here(&self, group: u64, to: u64) -> Result<()> {
        let handle = self
            .group(group)
            .filter(|g| g.raft.is_leader())
            .ok_or(ClusterError::NotLeader { leader: None })?;
        if !handle.raft.voter_ids().any(|v| v == to) {
            return Err(ClusterError::invalid(
                "to",
                format!("node {to} is not a voter of group {group}"),
            ));
        }
        handle
            .raft
            .trigger()
            .transfer_leader(to)
            .await
            .map_err(|e| ClusterError::Unavailable {
                message: e.to_string(),
            })
    }
}
