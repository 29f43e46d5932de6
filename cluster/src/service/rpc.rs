//! Answering other nodes.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::Serialize;

use super::Service;
use super::membership::META_GROUP;
use crate::command::RaftCommand;
use crate::error::{ClusterError, Result};
use crate::query::Request;
use crate::transport::{Rpc, RpcHandler, RpcReply};

fn error_reply(e: &ClusterError) -> RpcReply {
    RpcReply::Error(serde_json::to_vec(e).unwrap_or_default())
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

impl RpcHandler for Service {
    fn handle(
        self: Arc<Self>,
        from: u64,
        rpc: Rpc,
    ) -> Pin<Box<dyn Future<Output = RpcReply> + Send>> {
        Box::pin(async move {
            match self.answer(from, rpc).await {
                Ok(reply) => reply,
                Err(e) => error_reply(&e),
            }
        })
    }
}

impl Service {
    /// Answers `rpc` as if it came over the network (for steps the driver runs on itself).
    pub(crate) async fn answer_local(self: Arc<Self>, rpc: Rpc) -> RpcReply {
        match self.answer(self.inner.node_id.0, rpc).await {
            Ok(reply) => reply,
            Err(e) => error_reply(&e),
        }
    }

    async fn answer(&self, _from: u64, rpc: Rpc) -> Result<RpcReply> {
        match rpc {
            Rpc::Hello { .. } => Ok(RpcReply::Hello),
            Rpc::Raft { group, rpc } => Ok(RpcReply::Raft(
                self.hosted(group)?.answer_raft_message(&rpc).await?,
            )),
            Rpc::Snapshot {
                group,
                header,
                transfer,
                len,
                checksum,
            } => Ok(RpcReply::Raft(
                self.hosted(group)?
                    .install_snapshot(&header, &transfer, len, checksum)
                    .await?,
            )),
            Rpc::SnapshotChunk {
                group,
                transfer,
                len,
                offset,
                data,
            } => Ok(RpcReply::Raft(
                self.hosted(group)?
                    .receive_snapshot_chunk(&transfer, len, offset, &data)
                    .await?,
            )),
            Rpc::Join { nonce, info } => {
                let record = self.admit_node(nonce, info).await?;
                Ok(RpcReply::Joined {
                    node_id: record.id.0,
                    cluster_id: self.inner.cluster_id.clone(),
                    master_key: self.inner.master_key.as_ref().map(|k| k.encode()),
                })
            }
            Rpc::Forward {
                slug,
                credential,
                ctx,
                request,
                trace,
            } => {
                let request: Request = serde_json::from_slice(&request)?;
                let hops = ctx.hops;
                let span = tracing::info_span!("rpc.serve_forwarded", org = %slug, hops);
                if let Some(parent) = &trace {
                    crate::trace_context::adopt(&span, parent);
                }
                let served = self.call_routed(&slug, credential, request, ctx, hops);
                let (result, quota) =
                    crate::rate_limit::with_slot(tracing::Instrument::instrument(served, span))
                        .await;
                Ok(RpcReply::Forwarded {
                    answer: json(&result),
                    quota,
                })
            }
            Rpc::Propose { group, command } => {
                let command: RaftCommand =
                    crate::transport::from_bytes(&command).map_err(ClusterError::internal)?;
                let handle = self
                    .group(group)
                    .ok_or(ClusterError::NotLeader { leader: None })?;
                let result = if handle.raft.is_leader() {
                    handle.propose(command).await
                } else {
                    Err(ClusterError::NotLeader { leader: None })
                };
                Ok(RpcReply::Proposed(json(&result)))
            }
            Rpc::HostGroup {
                group,
                kind,
                bootstrap,
            } => {
                self.host_group(group, kind, bootstrap).await?;
                Ok(RpcReply::Done)
            }
            Rpc::Lookup { slug } => {
                let meta = self.group(META_GROUP);
                match meta {
                    Some(meta) if meta.raft.is_leader() => {
                        let key_hash = None;
                        Ok(RpcReply::Entry(json(
                            &self.local_lookup(&meta, &slug, key_hash).await?,
                        )))
                    }
                    _ => self.ask_meta_leader(&Rpc::Lookup { slug }).await,
                }
            }
            Rpc::MetaState => match self.group(META_GROUP) {
                Some(meta) if meta.raft.is_leader() => {
                    Ok(RpcReply::Meta(json(&self.meta_snapshot().await?)))
                }
                _ => self.ask_meta_leader(&Rpc::MetaState).await,
            },
            Rpc::ChangeMembership { group, add, remove } => {
                self.change_membership_here(group, add, remove).await?;
                Ok(RpcReply::Done)
            }
            Rpc::TransferLeader { group, to } => {
                self.transfer_leader_here(group, to).await?;
                Ok(RpcReply::Done)
            }
            Rpc::ExportOrg { group, org } => {
                let rows = self.export_here(group, org).await?;
                let bytes = crate::transport::to_bytes(&rows).map_err(ClusterError::internal)?;
                Ok(RpcReply::Rows(bytes))
            }
            Rpc::DropGroup { group } => {
                self.drop_group(group).await?;
                Ok(RpcReply::Done)
            }
            Rpc::Status => Ok(RpcReply::Status(json(&self.node_status()))),
            // Boxed: placement steps answer RPCs of their own through `answer_local`.
            Rpc::Rebalance { max_steps } => Ok(RpcReply::Placed(json(
                &Box::pin(self.rebalance(max_steps)).await,
            ))),
            Rpc::RemoveNode { node } => Ok(RpcReply::Placed(json(
                &Box::pin(self.remove_node(crate::ids::NodeId(node))).await,
            ))),
        }
    }

    fn hosted(&self, group: u64) -> Result<crate::raft::GroupHandle> {
        self.group(group).ok_or_else(|| ClusterError::Unavailable {
            message: format!("group {group} is not hosted on node {}", self.inner.node_id),
        })
    }
}
