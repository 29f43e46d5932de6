//! Running an authorized request: reads behind a linearizable barrier, writes through Raft.

use crate::caller::RequestContext;
use crate::clock::Timestamp;
use crate::command::{Command, CommandMeta, RaftCommand};
use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::model::Principal;
use crate::query::{Query, Reply, Request};
use crate::raft::GroupHandle;
use crate::read::run_query;
use crate::tables::OrgReader;

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
            shard.read_barrier().await?;
            query(&shard, org, q, principal, now).await
        }
        Request::Admit { .. } | Request::Protocol(_) => {
            Ok(Reply::Done(crate::query::Outcome::Done))
        }
        Request::Check(_) => Err(ClusterError::internal(
            "authorization questions are answered by the shard replicas, not the org actor",
        )),
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
            let outcome = shard.propose(RaftCommand::Org(command)).await?;
            match then {
                // Applied on this replica already: read it without another barrier.
                Some(q) => query(&shard, org, q, principal, now).await,
                None => Ok(Reply::Done(outcome)),
            }
        }
    }
}
