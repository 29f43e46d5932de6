//! Running an authorized request: reads behind a linearizable barrier, writes through Raft.

use openraft::ReadPolicy;
use openraft::error::{ClientWriteError, LinearizableReadError, RaftError};

use crate::clock::Timestamp;
use crate::command::{Command, CommandMeta, RaftCommand};
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, OrgId};
use crate::model::Principal;
use crate::query::{Query, Reply, Request};
use crate::raft::{GroupHandle, TypeConfig};
use crate::read::run_query;
use crate::tables::OrgReader;

use super::org::RequestContext;

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

/// How long a write may wait for a quorum before the caller gets a retryable error.
const WRITE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// How long a read may wait to confirm leadership.
const READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Proposes `command` and returns what `apply` decided.
pub async fn propose(shard: &GroupHandle, command: RaftCommand) -> Result<crate::query::Outcome> {
    let write = shard.raft.client_write(command);
    let response = tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(|_| ClusterError::Unavailable {
            message:
                "the write was not confirmed by a quorum in time (it may still be applied); retry"
                    .into(),
        })?
        .map_err(write_error)?;
    response.data.0
}

async fn query(
    shard: &GroupHandle,
    org: OrgId,
    query: Query,
    principal: Principal,
    now: Timestamp,
) -> Result<Reply> {
    let reader = OrgReader::new(shard.store.clone(), org);
    if query.is_point_read() {
        // A handful of key lookups: cheaper inline than a hop to the blocking pool.
        return run_query(&reader, &query, &principal, now);
    }
    tokio::task::spawn_blocking(move || run_query(&reader, &query, &principal, now))
        .await
        .map_err(ClusterError::internal)?
}

/// Waits until this replica leads and has applied everything committed before now.
pub async fn read_barrier(shard: &GroupHandle) -> Result<()> {
    tokio::time::timeout(
        READ_TIMEOUT,
        shard.raft.ensure_linearizable(ReadPolicy::ReadIndex),
    )
    .await
    .map_err(|_| ClusterError::Unavailable {
        message: "leadership could not be confirmed by a quorum in time; retry".into(),
    })?
    .map_err(read_error)?;
    Ok(())
}

/// Executes an authorized request for `org`.
pub async fn execute(
    shard: GroupHandle,
    org: OrgId,
    epoch: u64,
    principal: Principal,
    request: Request,
    ctx: RequestContext,
    now: Timestamp,
) -> Result<Reply> {
    match request {
        Request::Read(q) => {
            read_barrier(&shard).await?;
            query(&shard, org, q, principal, now).await
        }
        Request::Admit { .. } | Request::Protocol(_) => {
            Ok(Reply::Done(crate::query::Outcome::Done))
        }
        Request::Write { op, then } => {
            let command = Command {
                org,
                epoch,
                meta: CommandMeta {
                    at: now,
                    actor: principal.clone(),
                    ip: ctx.ip,
                    user_agent: ctx.user_agent,
                    request_id: ctx.request_id,
                },
                op,
            };
            let outcome = propose(&shard, RaftCommand::Org(command)).await?;
            match then {
                // Applied on this replica already: read it without another barrier.
                Some(q) => query(&shard, org, q, principal, now).await,
                None => Ok(Reply::Done(outcome)),
            }
        }
    }
}
