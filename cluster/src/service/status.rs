//! Health and status: of this node's groups, and of the whole cluster.

use std::time::Duration;

use openraft::ServerState;
use openraft::async_runtime::watch::WatchReceiver;
use serde::{Deserialize, Serialize};

use super::{MetaSnapshot, Service};
use crate::error::Result;
pub use crate::model::GroupStatus;
use crate::raft::GroupHandle;
use crate::transport::{NodeStatus, Rpc, RpcReply};

/// Readiness of this node's groups.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Readiness {
    pub ready: bool,
    pub groups: Vec<GroupStatus>,
}

/// Every node's view, plus the meta group's records.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ClusterStatus {
    pub meta: MetaSnapshot,
    /// Status of each reachable node (unreachable nodes are absent).
    pub nodes: Vec<NodeStatus>,
    pub unreachable: Vec<u64>,
}

pub(crate) fn group_status(group: &GroupHandle) -> GroupStatus {
    let metrics = group.raft.metrics().borrow_watched().clone();
    let membership = metrics.membership_config.membership();
    GroupStatus {
        group: group.id,
        kind: group.kind.as_str().into(),
        leader: metrics.current_leader,
        state: match metrics.state {
            ServerState::Leader => "leader".into(),
            ServerState::Follower => "follower".into(),
            ServerState::Candidate => "candidate".into(),
            ServerState::Learner => "learner".into(),
            ServerState::Shutdown => "shutdown".into(),
        },
        voters: membership.voter_ids().collect(),
        learners: membership.learner_ids().collect(),
        last_log_index: metrics.last_log_index,
        committed: metrics.local_committed.as_ref().map(|l| l.index()),
        last_applied: metrics.last_applied.as_ref().map(|l| l.index()),
    }
}

impl Service {
    /// The node's metrics.
    pub fn metrics(&self) -> &std::sync::Arc<crate::metrics::Metrics> {
        &self.inner.metrics
    }

    /// The Prometheus text exposition of this node, with the gauges read now.
    pub fn metrics_text(&self) -> String {
        let metrics = &self.inner.metrics;
        for group in self.inner.groups.all() {
            let raft = group.raft.metrics().borrow_watched().clone();
            let reading = crate::metrics::GroupReading {
                last_log_index: raft.last_log_index.unwrap_or(0),
                applied_index: raft.last_applied.as_ref().map_or(0, |l| l.index()),
                term: raft.current_term,
                is_leader: raft.state == ServerState::Leader,
                snapshot_index: raft.snapshot.as_ref().map_or(0, |l| l.index()),
            };
            metrics.group(group.id, group.kind.as_str(), reading, raft.current_leader);
        }
        let (running, in_flight) = self.inner.actors.load();
        metrics.actors(running, in_flight);
        metrics.encode()
    }

    /// Ready when every group hosted here has a leader and has applied what it committed
    /// (a frontend is ready when it can reach the meta leader).
    pub async fn readiness(&self) -> Readiness {
        let groups: Vec<GroupStatus> = self.inner.groups.all().iter().map(group_status).collect();
        let ready = if self.inner.db.is_none() {
            self.meta_snapshot().await.is_ok()
        } else {
            let handles = self.inner.groups.all();
            for (handle, status) in handles.iter().zip(&groups) {
                if status.last_applied.is_some()
                    && status.committed.unwrap_or(0) <= status.last_applied.unwrap_or(0)
                {
                    handle
                        .recovered
                        .store(true, std::sync::atomic::Ordering::SeqCst);
                }
            }
            !groups.is_empty()
                && handles.iter().zip(&groups).all(|(handle, status)| {
                    status.leader.is_some()
                        && handle.recovered.load(std::sync::atomic::Ordering::SeqCst)
                })
        };
        Readiness { ready, groups }
    }

    /// This node's groups.
    pub fn node_status(&self) -> NodeStatus {
        NodeStatus {
            node: self.inner.node_id.0,
            info: self.inner.node.clone(),
            groups: self.inner.groups.all().iter().map(group_status).collect(),
        }
    }

    /// The meta records plus the status of every node that answers.
    pub async fn cluster_status(&self) -> Result<ClusterStatus> {
        let meta = self.meta_snapshot().await?;
        let mut nodes = Vec::new();
        let mut unreachable = Vec::new();
        for record in &meta.nodes {
            if record.state == crate::model::NodeState::Removed {
                continue;
            }
            if record.id == self.inner.node_id {
                nodes.push(self.node_status());
                continue;
            }
            let reply = self
                .inner
                .peers
                .call(
                    record.id.0,
                    &record.rpc_addr,
                    &Rpc::Status,
                    Duration::from_secs(2),
                    false,
                )
                .await;
            match reply {
                Ok(RpcReply::Status(json)) => match serde_json::from_slice(&json) {
                    Ok(status) => nodes.push(status),
                    Err(_) => unreachable.push(record.id.0),
                },
                _ => unreachable.push(record.id.0),
            }
        }
        Ok(ClusterStatus {
            meta,
            nodes,
            unreachable,
        })
    }
}
