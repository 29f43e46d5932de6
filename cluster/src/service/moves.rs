//! Moving an organization to another shard, online: freeze it in the source shard, copy its
//! rows to the target at a linearizable read, flip the directory entry with the next epoch,
//! then delete it from the source. Requests meanwhile wait (or get a retryable 503); none is
//! lost or applied twice, because a frozen shard refuses the org's commands before applying.

use super::Service;
use super::move_recovery::Settled;
use crate::command::{MetaOp, Op};
use crate::error::{ClusterError, Result};
use crate::ids::{OrgId, ShardId};
use crate::model::DirectoryEntry;
use crate::query::Outcome;
use crate::tables::OrgReader;
use crate::transport::{Rpc, RpcReply};

/// Largest amount of row data in one import command.
const CHUNK_BYTES: usize = 4 << 20;

impl Service {
    /// Moves `slug` to shard `to` (same residency region).
    pub async fn move_org(&self, slug: &str, to: ShardId) -> Result<DirectoryEntry> {
        let entry =
            self.lookup(slug, true)
                .await?
                .entry
                .ok_or_else(|| ClusterError::OrgNotFound {
                    slug: slug.to_string(),
                })?;
        self.propose_move_step(MetaOp::BeginMove {
            org: entry.org_id,
            to,
        })
        .await?;
        self.inner.directory.forget(slug);
        match self.copy_org(&entry, to).await {
            Ok(moved) => Ok(moved),
            Err(e) => match self.settle_failed_move(&entry, to).await? {
                Settled::Moved(moved) => Ok(moved),
                Settled::Stayed => Err(e),
            },
        }
    }

    async fn copy_org(&self, entry: &DirectoryEntry, to: ShardId) -> Result<DirectoryEntry> {
        let source = entry.shard;
        self.propose_to(source.0, self.system_command(entry, Op::FreezeOrg))
            .await?;
        let rows = self.export_org(source, entry.org_id).await?;
        let next = DirectoryEntry {
            epoch: entry.epoch + 1,
            shard: to,
            ..entry.clone()
        };
        let mut chunks: Vec<Vec<(Vec<u8>, Vec<u8>)>> = vec![Vec::new()];
        let mut size = 0;
        for row in rows {
            size += row.0.len() + row.1.len();
            if size > CHUNK_BYTES
                && let Some(last) = chunks.last()
                && !last.is_empty()
            {
                chunks.push(Vec::new());
                size = row.0.len() + row.1.len();
            }
            if let Some(last) = chunks.last_mut() {
                last.push(row);
            }
        }
        let count = chunks.len();
        for (i, rows) in chunks.into_iter().enumerate() {
            let op = Op::ImportOrg {
                rows,
                first: i == 0,
                last: i + 1 == count,
            };
            self.propose_to(to.0, self.system_command(&next, op))
                .await?;
        }
        let moved = self
            .propose_move_step(MetaOp::FinishMove { org: entry.org_id })
            .await?;
        self.inner.directory.remember(moved.clone());
        if let Err(e) = self
            .propose_to(source.0, self.system_command(entry, Op::DropOrg))
            .await
        {
            // The org is live on its new shard; the frozen copy only wastes space.
            tracing::warn!(error = %e, org = %entry.slug, "could not delete the moved org from its old shard");
        }
        Ok(moved)
    }

    /// Proposes a step of a move to the meta group (`BeginMove`, `FinishMove`, `AbortMove`);
    /// answers the org's directory entry after it.
    pub(super) async fn propose_move_step(&self, step: MetaOp) -> Result<DirectoryEntry> {
        match self.propose_meta(step).await? {
            Outcome::Directory(entry) => Ok(entry),
            other => Err(ClusterError::internal(format!(
                "unexpected outcome {other:?}"
            ))),
        }
    }

    /// Every row of `org` read on the leader of `shard`.
    async fn export_org(&self, shard: ShardId, org: OrgId) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        if let Some(handle) = self.group(shard.0)
            && handle.raft.is_leader()
        {
            return self.export_here(shard.0, org).await;
        }
        let rpc = Rpc::ExportOrg {
            group: shard.0,
            org,
        };
        let reply = match self
            .group(shard.0)
            .and_then(|g| super::routing::leader_of(&g))
        {
            Some((node, addr)) => self
                .inner
                .peers
                .call(node, &addr, &rpc, std::time::Duration::from_secs(120), true)
                .await
                .map_err(|e| ClusterError::Unavailable {
                    message: e.to_string(),
                })?,
            None => {
                let snapshot = self.meta_snapshot().await?;
                let replicas = snapshot
                    .shards
                    .iter()
                    .find(|s| s.id == shard)
                    .map(|s| s.replicas.clone())
                    .unwrap_or_default();
                let mut last = Err(ClusterError::Unavailable {
                    message: format!("no leader of shard {shard} answered"),
                });
                for id in replicas {
                    let Some(node) = snapshot.nodes.iter().find(|n| n.id == id) else {
                        continue;
                    };
                    match self
                        .inner
                        .peers
                        .call(
                            id.0,
                            &node.rpc_addr,
                            &rpc,
                            std::time::Duration::from_secs(120),
                            true,
                        )
                        .await
                    {
                        Ok(RpcReply::Rows(rows)) => {
                            last = Ok(RpcReply::Rows(rows));
                            break;
                        }
                        Ok(other) => last = Err(super::routing::unexpected(other)),
                        Err(e) => {
                            last = Err(ClusterError::Unavailable {
                                message: e.to_string(),
                            })
                        }
                    }
                }
                last?
            }
        };
        match reply {
            RpcReply::Rows(bytes) => {
                crate::transport::from_bytes(&bytes).map_err(ClusterError::internal)
            }
            other => Err(super::routing::unexpected(other)),
        }
    }

    /// The rows of `org`, read here after confirming this node leads `group`.
    pub(crate) async fn export_here(
        &self,
        group: u64,
        org: OrgId,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let handle = self
            .group(group)
            .filter(|g| g.raft.is_leader())
            .ok_or(ClusterError::NotLeader { leader: None })?;
        handle
            .raft
            .ensure_linearizable(openraft::ReadPolicy::ReadIndex)
            .await
            .map_err(|e| ClusterError::Unavailable {
                message: e.to_string(),
            })?;
        OrgReader::new(handle.store.clone(), org).export_rows()
    }
}
