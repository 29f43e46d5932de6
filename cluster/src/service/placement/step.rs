//! One membership change the planner asks for, and how it reads in the log and in the answer
//! to a rebalance request.

use std::fmt;

use crate::ids::ShardId;

/// The next membership change. Node ids are those of the meta group's records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// Make `node` a voter of the meta group.
    AddMetaVoter { node: u64 },
    /// Remove `node` from the meta group's voters.
    RemoveMetaVoter { node: u64 },
    /// Register `shard` for `region` with `node` as its only replica, and bootstrap it there.
    CreateShard {
        shard: ShardId,
        region: Option<String>,
        node: u64,
    },
    /// Add a voter on `node` to a shard short of replicas (asking `leader`), then record
    /// `replicas` as the shard's replicas.
    AddShardReplica {
        shard: ShardId,
        leader: u64,
        node: u64,
        replicas: Vec<u64>,
    },
    /// Remove the voter on `node` (asking `leader`), record `replicas` as the shard's replicas
    /// and let `node` drop the group.
    RemoveShardReplica {
        shard: ShardId,
        leader: u64,
        node: u64,
        replicas: Vec<u64>,
        why: Removal,
    },
    /// Add a voter on the lightly loaded `node` (asking `leader`) so that a later step can
    /// remove the replica of the heavily loaded node `relieves`.
    AddBalancingReplica {
        shard: ShardId,
        leader: u64,
        node: u64,
        relieves: u64,
    },
    /// Record `replicas` (the voters the shard's leader reports) in the meta group.
    RecordShardReplicas { shard: ShardId, replicas: Vec<u64> },
    /// Hand the leadership of `shard` from `from` to `to`.
    TransferLeader {
        shard: ShardId,
        from: u64,
        to: u64,
        why: LeaderMove,
    },
}

/// Why a shard replica is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Removal {
    /// Its node may not keep it: draining, down, or outside the shard's region.
    Unhealthy,
    /// The shard has more voters than it needs (after a balancing add).
    Surplus,
}

/// Why a shard's leadership moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeaderMove {
    /// The leader's own replica is about to be removed.
    OffUnhealthyReplica,
    /// The leader is not active (draining or down).
    OffInactiveNode,
    /// The leader leads at least two shards more than the idlest node.
    Balance,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::AddMetaVoter { node } => write!(f, "meta group: added voter {node}"),
            Step::RemoveMetaVoter { node } => write!(f, "meta group: removed voter {node}"),
            Step::CreateShard {
                shard,
                region,
                node,
            } => write!(
                f,
                "created shard {shard} for region {} on node {node}",
                region.as_deref().unwrap_or("(none)")
            ),
            Step::AddShardReplica { shard, node, .. } => {
                write!(f, "shard {shard}: added replica on node {node}")
            }
            Step::RemoveShardReplica {
                shard, node, why, ..
            } => match why {
                Removal::Unhealthy => write!(f, "shard {shard}: removed replica on node {node}"),
                Removal::Surplus => write!(f, "shard {shard}: moved a replica off node {node}"),
            },
            Step::AddBalancingReplica {
                shard,
                node,
                relieves,
                ..
            } => write!(
                f,
                "shard {shard}: added a replica on node {node} to balance node {relieves}"
            ),
            Step::RecordShardReplicas { shard, replicas } => {
                write!(f, "shard {shard}: recorded replicas {replicas:?}")
            }
            Step::TransferLeader {
                shard,
                from,
                to,
                why,
            } => match why {
                LeaderMove::OffUnhealthyReplica => {
                    write!(f, "shard {shard}: moved leadership off node {from}")
                }
                LeaderMove::OffInactiveNode => {
                    write!(
                        f,
                        "shard {shard}: moved leadership off inactive node {from}"
                    )
                }
                LeaderMove::Balance => write!(
                    f,
                    "shard {shard}: moved leadership from node {from} to node {to}"
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LeaderMove, Removal, Step};
    use crate::ids::ShardId;

    /// The texts are what a rebalance request answers and the driver logs; they keep their
    /// wording.
    #[test]
    fn every_step_reads_as_the_change_it_makes() {
        let shard = ShardId(2);
        let cases = [
            (Step::AddMetaVoter { node: 4 }, "meta group: added voter 4"),
            (
                Step::RemoveMetaVoter { node: 3 },
                "meta group: removed voter 3",
            ),
            (
                Step::CreateShard {
                    shard,
                    region: Some("eu".into()),
                    node: 5,
                },
                "created shard 2 for region eu on node 5",
            ),
            (
                Step::CreateShard {
                    shard,
                    region: None,
                    node: 5,
                },
                "created shard 2 for region (none) on node 5",
            ),
            (
                Step::AddShardReplica {
                    shard,
                    leader: 1,
                    node: 4,
                    replicas: vec![1, 4],
                },
                "shard 2: added replica on node 4",
            ),
            (
                Step::RemoveShardReplica {
                    shard,
                    leader: 1,
                    node: 3,
                    replicas: vec![1],
                    why: Removal::Unhealthy,
                },
                "shard 2: removed replica on node 3",
            ),
            (
                Step::RemoveShardReplica {
                    shard,
                    leader: 1,
                    node: 3,
                    replicas: vec![1],
                    why: Removal::Surplus,
                },
                "shard 2: moved a replica off node 3",
            ),
            (
                Step::AddBalancingReplica {
                    shard,
                    leader: 1,
                    node: 4,
                    relieves: 3,
                },
                "shard 2: added a replica on node 4 to balance node 3",
            ),
            (
                Step::RecordShardReplicas {
                    shard,
                    replicas: vec![1, 3],
                },
                "shard 2: recorded replicas [1, 3]",
            ),
            (
                Step::TransferLeader {
                    shard,
                    from: 3,
                    to: 1,
                    why: LeaderMove::OffUnhealthyReplica,
                },
                "shard 2: moved leadership off node 3",
            ),
            (
                Step::TransferLeader {
                    shard,
                    from: 3,
                    to: 1,
                    why: LeaderMove::OffInactiveNode,
                },
                "shard 2: moved leadership off inactive node 3",
            ),
            (
                Step::TransferLeader {
                    shard,
                    from: 3,
                    to: 1,
                    why: LeaderMove::Balance,
                },
                "shard 2: moved leadership from node 3 to node 1",
            ),
        ];
        for (step, text) in cases {
            assert_eq!(step.to_string(), text, "{step:?}");
        }
    }
}
