//! What the placement planner decides on: the meta group's records, what each reachable node
//! reports about the groups it hosts, and how long each node has gone unanswered. The driver
//! builds it from a [`ClusterStatus`]; the planner only reads it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::ClusterStatus;
use super::super::membership::META_GROUP;
use crate::model::{NodeState, ShardDescriptor};

/// A node as the meta group records it, reduced to what placement decides on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct NodeView {
    pub(super) id: u64,
    pub(super) region: Option<String>,
    pub(super) zone: Option<String>,
    pub(super) state: NodeState,
}

/// One group hosted on a reachable node, as that node reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct HostedGroup {
    pub(super) group: u64,
    /// The node believes it leads the group.
    pub(super) leads: bool,
    /// The group's voters as this node knows them.
    pub(super) voters: Vec<u64>,
}

/// A node that answered this round, with the groups it hosts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ReachableNode {
    pub(super) id: u64,
    pub(super) groups: Vec<HostedGroup>,
}

impl ReachableNode {
    /// How many shard replicas (every group but the meta group) the node hosts.
    pub(super) fn shard_replicas(&self) -> usize {
        self.groups.iter().filter(|g| g.group != META_GROUP).count()
    }
}

/// How long each node has gone without answering the placement driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Liveness {
    pub(super) silent_for: BTreeMap<u64, Duration>,
    /// A node silent this long, or missing from `silent_for`, is down: it keeps no replicas.
    pub(super) down_after: Duration,
}

impl Liveness {
    /// Whether node `id` answered recently enough to keep its replicas (a restarting node is
    /// not replaced at once).
    pub(super) fn is_alive(&self, id: u64) -> bool {
        self.silent_for
            .get(&id)
            .is_some_and(|silent| *silent < self.down_after)
    }
}

/// Everything one placement decision looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ClusterView {
    /// Every node the meta group records, in its order.
    pub(super) nodes: Vec<NodeView>,
    /// Every shard the meta group records, in its order.
    pub(super) shards: Vec<ShardDescriptor>,
    /// Voters of the meta group, as the meta group records them.
    pub(super) meta_voters: Vec<u64>,
    /// Nodes that answered this round, in the order they were asked.
    pub(super) reachable: Vec<ReachableNode>,
    pub(super) liveness: Liveness,
    /// Voters wanted per shard (fewer while fewer eligible nodes exist).
    pub(super) replication_factor: usize,
}

/// The leader of a group and its voters, as the leader reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct GroupMembers<'a> {
    pub(super) leader: u64,
    pub(super) voters: &'a [u64],
}

impl ClusterView {
    /// The view of `status`, with `liveness` as the driver remembers it.
    pub(super) fn new(
        status: &ClusterStatus,
        liveness: Liveness,
        replication_factor: usize,
    ) -> ClusterView {
        let nodes = status
            .meta
            .nodes
            .iter()
            .map(|record| NodeView {
                id: record.id.0,
                region: record.region.clone(),
                zone: record.zone.clone(),
                state: record.state,
            })
            .collect();
        let reachable = status
            .nodes
            .iter()
            .map(|node| ReachableNode {
                id: node.node,
                groups: node
                    .groups
                    .iter()
                    .map(|group| HostedGroup {
                        group: group.group,
                        leads: group.state == "leader",
                        voters: group.voters.clone(),
                    })
                    .collect(),
            })
            .collect();
        ClusterView {
            nodes,
            shards: status.meta.shards.clone(),
            meta_voters: status.meta.meta_voters.clone(),
            reachable,
            liveness,
            replication_factor,
        }
    }

    /// Nodes that may keep replicas: active and alive, in the meta group's order.
    pub(super) fn active_nodes(&self) -> Vec<&NodeView> {
        self.nodes
            .iter()
            .filter(|n| n.state == NodeState::Active && self.liveness.is_alive(n.id))
            .collect()
    }

    /// Whether node `id` answered this round (only such nodes receive new replicas).
    pub(super) fn is_reachable(&self, id: u64) -> bool {
        self.reachable.iter().any(|n| n.id == id)
    }

    /// Leader and voters of `group`, from the first reachable node that leads it.
    pub(super) fn group(&self, group: u64) -> Option<GroupMembers<'_>> {
        self.reachable.iter().find_map(|node| {
            node.groups
                .iter()
                .find(|g| g.group == group && g.leads)
                .map(|g| GroupMembers {
                    leader: node.id,
                    voters: &g.voters,
                })
        })
    }

    /// Shard replicas hosted on node `id`, as it reports them (none when it did not answer).
    pub(super) fn shard_load(&self, id: u64) -> usize {
        self.reachable
            .iter()
            .find(|n| n.id == id)
            .map(ReachableNode::shard_replicas)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use super::{ClusterView, GroupMembers, Liveness};
    use crate::clock::Timestamp;
    use crate::ids::{NodeId, ShardId};
    use crate::model::{NodeRecord, NodeState, ShardDescriptor};
    use crate::raft::NodeInfo;
    use crate::service::{ClusterStatus, GroupStatus, MetaSnapshot};
    use crate::transport::NodeStatus;

    fn record(id: u64, state: NodeState) -> NodeRecord {
        NodeRecord {
            id: NodeId(id),
            rpc_addr: format!("127.0.0.1:{id}"),
            http_addr: format!("127.0.0.1:{}", 100 + id),
            region: Some("us".into()),
            zone: Some(format!("zone-{id}")),
            state,
            joined_at: Timestamp(0),
        }
    }

    fn group(group: u64, state: &str, voters: &[u64]) -> GroupStatus {
        GroupStatus {
            group,
            kind: if group == 0 { "meta" } else { "shard" }.into(),
            leader: None,
            state: state.into(),
            voters: voters.to_vec(),
            learners: Vec::new(),
            last_log_index: None,
            committed: None,
            last_applied: None,
        }
    }

    fn answered(node: u64, groups: Vec<GroupStatus>) -> NodeStatus {
        NodeStatus {
            node,
            info: NodeInfo {
                rpc_addr: String::new(),
                http_addr: String::new(),
                region: Some("us".into()),
                zone: None,
            },
            groups,
        }
    }

    #[test]
    fn the_view_reads_leaders_loads_and_liveness_from_the_status() {
        let status = ClusterStatus {
            meta: MetaSnapshot {
                nodes: vec![
                    record(1, NodeState::Active),
                    record(2, NodeState::Draining),
                    record(3, NodeState::Active),
                ],
                shards: vec![ShardDescriptor {
                    id: ShardId(1),
                    region: Some("us".into()),
                    replicas: vec![NodeId(1), NodeId(2)],
                }],
                orgs: Vec::new(),
                meta_voters: vec![1],
            },
            nodes: vec![
                answered(
                    1,
                    vec![group(0, "leader", &[1]), group(1, "follower", &[1, 2])],
                ),
                answered(2, vec![group(1, "leader", &[1, 2])]),
            ],
            unreachable: vec![3],
        };
        let liveness = Liveness {
            silent_for: BTreeMap::from([
                (1, Duration::ZERO),
                (2, Duration::ZERO),
                (3, Duration::from_secs(10)),
            ]),
            down_after: Duration::from_secs(10),
        };
        let view = ClusterView::new(&status, liveness, 3);
        assert_eq!(
            view.group(1),
            Some(GroupMembers {
                leader: 2,
                voters: &[1, 2],
            })
        );
        assert_eq!(view.group(7), None);
        // The meta group is no shard replica; a node that did not answer holds none.
        assert_eq!(view.shard_load(1), 1);
        assert_eq!(view.shard_load(3), 0);
        assert!(view.is_reachable(2));
        assert!(!view.is_reachable(3));
        // Node 2 drains and node 3 has been silent for the whole threshold.
        let active: Vec<u64> = view.active_nodes().iter().map(|n| n.id).collect();
        assert_eq!(active, vec![1]);
        assert_eq!(view.meta_voters, vec![1]);
        assert_eq!(view.shards, status.meta.shards);
        assert_eq!(view.replication_factor, 3);
    }
}
