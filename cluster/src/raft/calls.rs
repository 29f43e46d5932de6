//! Calls into a group's Raft: proposals that wait for a quorum and read barriers that confirm
//! leadership, with their deadlines and the mapping of openraft's errors to ours.

use openraft::ReadPolicy;
use openraft::error::{ClientWriteError, LinearizableReadError, RaftError};

use crate::command::RaftCommand;
use crate::error::{ClusterError, Result};
use crate::ids::NodeId;
use crate::query::Outcome;

use super::{GroupHandle, TypeConfig};

/// How long a write may wait for a quorum before the caller gets a retryable error.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a read may wait to confirm leadership.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl GroupHandle {
    /// Proposes `command` and returns what `apply` decided.
    pub async fn propose(&self, command: RaftCommand) -> Result<Outcome> {
        let started = std::time::Instant::now();
        let span = tracing::info_span!("raft.propose", group = self.id, kind = self.kind.as_str());
        let write = self.raft.client_write(command);
        let response =
            tracing::Instrument::instrument(tokio::time::timeout(WRITE_TIMEOUT, write), span)
                .await
                .map_err(|_| {
                    ClusterError::Unavailable {
            message:
                "the write was not confirmed by a quorum in time (it may still be applied); retry"
                    .into(),
        }
                })?
                .map_err(write_error)?;
        self.metrics
            .raft_write(self.kind.as_str(), started.elapsed().as_secs_f64());
        response.data.0
    }

    /// Waits until this replica leads and has applied everything committed before now.
    pub async fn read_barrier(&self) -> Result<()> {
        self.barrier(ReadPolicy::ReadIndex).await
    }

    /// Like [`GroupHandle::read_barrier`], but trusting the leader lease while it holds (no
    /// round trip to a quorum on the hot path of authorization checks).
    pub async fn lease_barrier(&self) -> Result<()> {
        self.barrier(ReadPolicy::LeaseRead).await
    }

    /// One confirmation shared by the reads waiting at the same time (`read_batch.rs`).
    async fn barrier(&self, policy: ReadPolicy) -> Result<()> {
        self.reads.barrier(&self.raft, policy, confirm).await
    }
}

/// Confirms leadership under `policy` and waits until everything committed before is applied.
async fn confirm(raft: super::Raft, policy: ReadPolicy) -> Result<()> {
    tokio::time::timeout(READ_TIMEOUT, raft.ensure_linearizable(policy))
        .await
        .map_err(|_| ClusterError::Unavailable {
            message: "leadership could not be confirmed by a quorum in time; retry".into(),
        })?
        .map_err(read_error)?;
    Ok(())
}

/// Maps a failed proposal to the caller's error.
pub fn write_error(e: RaftError<TypeConfig, ClientWriteError<TypeConfig>>) -> ClusterError {
    match e {
        RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => ClusterError::NotLeader {
            leader: f.leader_id.map(NodeId),
        },
        RaftError::APIError(ClientWriteError::LogEntryDiscarded(_)) => {
            ClusterError::OutcomeUnknown {
                message: "leadership changed while the write was in flight; its outcome is unknown"
                    .into(),
            }
        }
        RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => ClusterError::Conflict {
            message: format!("membership change refused: {e}"),
            field: None,
        },
        RaftError::APIError(other) => ClusterError::internal(other),
        RaftError::Fatal(fatal) => ClusterError::Unavailable {
            message: format!("raft group stopped: {fatal}"),
        },
    }
}

fn read_error(e: RaftError<TypeConfig, LinearizableReadError<TypeConfig>>) -> ClusterError {
    match e {
        RaftError::APIError(LinearizableReadError::ForwardToLeader(f)) => ClusterError::NotLeader {
            leader: f.leader_id.map(NodeId),
        },
        RaftError::APIError(other) => ClusterError::Unavailable {
            message: format!("cannot confirm leadership for a consistent read: {other}"),
        },
        RaftError::Fatal(fatal) => ClusterError::Unavailable {
            message: format!("raft group stopped: {fatal}"),
        },
    }
}
