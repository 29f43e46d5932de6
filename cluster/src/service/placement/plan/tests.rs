//! The planner on small clusters, one decision at a time: each test builds the view a cluster
//! would show at some moment and checks the exact step planned for it.

use std::collections::BTreeMap;
use std::time::Duration;

use super::super::step::{LeaderMove, Removal, Step};
use super::super::view::{ClusterView, HostedGroup, Liveness, NodeView, ReachableNode};
use super::plan;
use crate::ids::{NodeId, ShardId};
use crate::model::{NodeState, ShardDescriptor};
use crate::service::membership::META_GROUP;

const DOWN_AFTER: Duration = Duration::from_secs(30);

/// A view under construction. Nodes start active, reachable and just heard from; a replication
/// factor of 3.
struct Fixture(ClusterView);

/// A cluster of `nodes` given as `(id, region, zone)`, with no shard and no meta voter yet.
fn cluster(nodes: &[(u64, &str, &str)]) -> Fixture {
    Fixture(ClusterView {
        nodes: nodes
            .iter()
            .map(|(id, region, zone)| NodeView {
                id: *id,
                region: Some(region.to_string()),
                zone: Some(zone.to_string()),
                state: NodeState::Active,
            })
            .collect(),
        shards: Vec::new(),
        meta_voters: Vec::new(),
        reachable: nodes
            .iter()
            .map(|(id, _, _)| ReachableNode {
                id: *id,
                groups: Vec::new(),
            })
            .collect(),
        liveness: Liveness {
            silent_for: nodes
                .iter()
                .map(|(id, _, _)| (*id, Duration::ZERO))
                .collect(),
            down_after: DOWN_AFTER,
        },
        replication_factor: 3,
    })
}

/// Nodes `1..=count` in region `us`, each in a zone of its own.
fn us(count: u64) -> Fixture {
    let zones = ["a", "b", "c", "d", "e", "f"];
    let nodes: Vec<(u64, &str, &str)> = (1..=count)
        .map(|id| (id, "us", zones[id as usize - 1]))
        .collect();
    cluster(&nodes)
}

impl Fixture {
    /// Hosts `group` on every reachable node of `voters`; `leader` reports itself leader.
    fn host(&mut self, group: u64, leader: u64, voters: &[u64]) {
        for node in &mut self.0.reachable {
            node.groups.retain(|g| g.group != group);
            if voters.contains(&node.id) {
                node.groups.push(HostedGroup {
                    group,
                    leads: node.id == leader,
                    voters: voters.to_vec(),
                });
            }
        }
    }

    /// The meta group has `voters` (the first leads).
    fn meta(mut self, voters: &[u64]) -> Self {
        self.0.meta_voters = voters.to_vec();
        self.host(META_GROUP, voters[0], voters);
        self
    }

    /// Shard `id` of `region` has `voters` led by `leader`, and the meta group records them.
    fn shard(mut self, id: u64, region: &str, leader: u64, voters: &[u64]) -> Self {
        self.0.shards.retain(|s| s.id != ShardId(id));
        self.0.shards.push(ShardDescriptor {
            id: ShardId(id),
            region: Some(region.to_string()),
            replicas: voters.iter().copied().map(NodeId).collect(),
        });
        self.host(id, leader, voters);
        self
    }

    /// The meta group records `replicas` for shard `id` (whatever its voters are).
    fn recorded(mut self, id: u64, replicas: &[u64]) -> Self {
        for shard in &mut self.0.shards {
            if shard.id == ShardId(id) {
                shard.replicas = replicas.iter().copied().map(NodeId).collect();
            }
        }
        self
    }

    /// Node `id` has been told to drain.
    fn draining(mut self, id: u64) -> Self {
        for node in &mut self.0.nodes {
            if node.id == id {
                node.state = NodeState::Draining;
            }
        }
        self
    }

    /// Node `id` stopped answering `silent` ago.
    fn silent(mut self, id: u64, silent: Duration) -> Self {
        self.0.reachable.retain(|n| n.id != id);
        self.0.liveness.silent_for.insert(id, silent);
        self
    }

    /// A node that joined: active, reachable, no replicas yet.
    fn join(mut self, id: u64, region: &str, zone: &str) -> Self {
        self.0.nodes.push(NodeView {
            id,
            region: Some(region.to_string()),
            zone: Some(zone.to_string()),
            state: NodeState::Active,
        });
        self.0.reachable.push(ReachableNode {
            id,
            groups: Vec::new(),
        });
        self.0.liveness.silent_for.insert(id, Duration::ZERO);
        self
    }

    fn replication_factor(mut self, factor: usize) -> Self {
        self.0.replication_factor = factor;
        self
    }

    fn plan(&self) -> Option<Step> {
        plan(&self.0)
    }
}

fn add_meta(node: u64) -> Option<Step> {
    Some(Step::AddMetaVoter { node })
}

fn add_replica(shard: u64, leader: u64, node: u64, replicas: &[u64]) -> Option<Step> {
    Some(Step::AddShardReplica {
        shard: ShardId(shard),
        leader,
        node,
        replicas: replicas.to_vec(),
    })
}

fn remove_replica(
    shard: u64,
    leader: u64,
    node: u64,
    replicas: &[u64],
    why: Removal,
) -> Option<Step> {
    Some(Step::RemoveShardReplica {
        shard: ShardId(shard),
        leader,
        node,
        replicas: replicas.to_vec(),
        why,
    })
}

fn transfer(shard: u64, from: u64, to: u64, why: LeaderMove) -> Option<Step> {
    Some(Step::TransferLeader {
        shard: ShardId(shard),
        from,
        to,
        why,
    })
}

#[test]
fn a_settled_cluster_needs_no_step() {
    let settled = us(3).meta(&[1, 2, 3]).shard(1, "us", 1, &[1, 2, 3]);
    assert_eq!(settled.plan(), None);
    let alone = us(1).meta(&[1]).shard(1, "us", 1, &[1]);
    assert_eq!(alone.plan(), None);
}

#[test]
fn meta_voters_grow_from_one_to_three_to_five_before_any_shard_replica() {
    // Two nodes keep one meta voter: the shard is replicated instead.
    let two = us(2).meta(&[1]).shard(1, "us", 1, &[1]);
    assert_eq!(two.plan(), add_replica(1, 1, 2, &[1, 2]));
    let three = || us(3).shard(1, "us", 1, &[1]);
    assert_eq!(three().meta(&[1]).plan(), add_meta(2));
    assert_eq!(three().meta(&[1, 2]).plan(), add_meta(3));
    assert_eq!(
        three().meta(&[1, 2, 3]).plan(),
        add_replica(1, 1, 2, &[1, 2])
    );
    // Four nodes still want three voters.
    let four = us(4).meta(&[1, 2, 3]).shard(1, "us", 1, &[1, 2, 3]);
    assert_eq!(four.plan(), None);
    let five = || us(5).shard(1, "us", 1, &[1, 2, 3]);
    assert_eq!(five().meta(&[1, 2, 3]).plan(), add_meta(4));
    assert_eq!(five().meta(&[1, 2, 3, 4]).plan(), add_meta(5));
    assert_eq!(five().meta(&[1, 2, 3, 4, 5]).plan(), None);
}

#[test]
fn a_meta_voter_that_drains_is_removed_only_after_its_replacement_votes() {
    let cluster = || us(4).draining(2).shard(1, "us", 1, &[1, 3, 4]);
    assert_eq!(cluster().meta(&[1, 2, 3]).plan(), add_meta(4));
    assert_eq!(
        cluster().meta(&[1, 2, 3, 4]).plan(),
        Some(Step::RemoveMetaVoter { node: 2 })
    );
    assert_eq!(cluster().meta(&[1, 3, 4]).plan(), None);
}

#[test]
fn a_draining_replica_is_replaced_before_it_is_removed() {
    let cluster = || us(4).meta(&[1, 3, 4]).draining(2);
    // Add first: the shard keeps three replicas throughout.
    let before = cluster().shard(1, "us", 1, &[1, 2, 3]);
    assert_eq!(before.plan(), add_replica(1, 1, 4, &[1, 2, 3, 4]));
    // The replacement votes: now the draining replica goes, and the node drops the group.
    let added = cluster().shard(1, "us", 1, &[1, 2, 3, 4]);
    assert_eq!(
        added.plan(),
        remove_replica(1, 1, 2, &[1, 3, 4], Removal::Unhealthy)
    );
    let after = cluster().shard(1, "us", 1, &[1, 3, 4]);
    assert_eq!(after.plan(), None);
}

#[test]
fn a_draining_leader_hands_over_before_its_replica_is_removed() {
    let drained = us(4)
        .meta(&[1, 3, 4])
        .draining(2)
        .shard(1, "us", 2, &[1, 2, 3, 4]);
    assert_eq!(
        drained.plan(),
        transfer(1, 2, 1, LeaderMove::OffUnhealthyReplica)
    );
}

#[test]
fn leadership_leaves_a_draining_node_even_while_its_replica_must_stay() {
    // Node 1 is alive but did not answer this round, so the draining node 3 cannot be
    // replaced yet; its leadership moves to the other voter meanwhile.
    let stuck = us(3)
        .meta(&[2])
        .draining(3)
        .shard(1, "us", 3, &[2, 3])
        .silent(1, Duration::from_secs(1));
    assert_eq!(stuck.plan(), transfer(1, 3, 2, LeaderMove::OffInactiveNode));
}

#[test]
fn a_new_replica_goes_to_an_unused_zone_even_on_a_busier_node() {
    let nodes = [(1, "us", "a"), (2, "us", "a"), (3, "us", "b")];
    let cluster = |voters: &[u64], factor| {
        cluster(&nodes)
            .meta(&[1, 2, 3])
            .shard(1, "us", 1, voters)
            .shard(2, "us", 3, &[3])
            .replication_factor(factor)
    };
    // Node 2 holds nothing but shares zone a with node 1; node 3 holds shard 2 but is in b.
    assert_eq!(cluster(&[1], 2).plan(), add_replica(1, 1, 3, &[1, 3]));
    // With every zone in use, the same zone is fine.
    assert_eq!(cluster(&[1, 3], 3).plan(), add_replica(1, 1, 2, &[1, 3, 2]));
}

#[test]
fn among_unused_zones_the_node_with_fewest_replicas_then_the_lowest_id_wins() {
    // Node 2 is busier (shard 2); nodes 3 and 4 tie, so the lower id gets it.
    let cluster = us(4)
        .meta(&[1, 2, 3])
        .shard(1, "us", 1, &[1])
        .shard(2, "us", 2, &[2]);
    assert_eq!(cluster.plan(), add_replica(1, 1, 3, &[1, 3]));
}

#[test]
fn an_eu_shard_is_replicated_only_on_eu_nodes() {
    let cluster = || {
        us(3)
            .join(4, "eu", "eu-a")
            .meta(&[1, 2, 3])
            .shard(1, "us", 1, &[1, 2, 3])
    };
    // One EU node: the EU shard keeps one replica although three US nodes are idle enough.
    let one_eu = cluster().shard(2, "eu", 4, &[4]);
    assert_eq!(one_eu.plan(), None);
    // A second EU node gets the second replica.
    let two_eu = cluster()
        .join(5, "eu", "eu-b")
        .meta(&[1, 2, 3, 4, 5])
        .shard(2, "eu", 4, &[4]);
    assert_eq!(two_eu.plan(), add_replica(2, 4, 5, &[4, 5]));
}

#[test]
fn a_replica_outside_its_shards_region_is_removed() {
    let misplaced = us(3)
        .join(4, "eu", "eu-a")
        .meta(&[1, 2, 3])
        .shard(2, "eu", 4, &[4])
        .shard(1, "us", 1, &[1, 2, 3, 4]);
    assert_eq!(
        misplaced.plan(),
        remove_replica(1, 1, 4, &[1, 2, 3], Removal::Unhealthy)
    );
}

#[test]
fn a_region_with_nodes_but_no_shard_gets_the_next_shard_id() {
    let cluster = || {
        us(3)
            .join(7, "eu", "eu-a")
            .meta(&[1, 2, 3])
            .shard(1, "us", 1, &[1, 2, 3])
            .shard(5, "us", 2, &[1, 2, 3])
    };
    assert_eq!(
        cluster().plan(),
        Some(Step::CreateShard {
            shard: ShardId(6),
            region: Some("eu".into()),
            node: 7,
        })
    );
    // Only an active node that answers brings its region a shard.
    assert_eq!(cluster().draining(7).plan(), None);
    assert_eq!(cluster().silent(7, Duration::from_secs(1)).plan(), None);
}

#[test]
fn a_shard_led_by_the_busiest_node_moves_to_the_idlest_replica() {
    let three = || us(3).meta(&[1, 2, 3]);
    let all_on_one = three()
        .shard(1, "us", 1, &[1, 2, 3])
        .shard(2, "us", 1, &[1, 2, 3])
        .shard(3, "us", 1, &[1, 2, 3]);
    assert_eq!(all_on_one.plan(), transfer(1, 1, 2, LeaderMove::Balance));
    let two_on_one = three()
        .shard(1, "us", 2, &[1, 2, 3])
        .shard(2, "us", 1, &[1, 2, 3])
        .shard(3, "us", 1, &[1, 2, 3]);
    assert_eq!(two_on_one.plan(), transfer(2, 1, 3, LeaderMove::Balance));
    // A difference of one is balanced enough.
    let balanced = three()
        .shard(1, "us", 2, &[1, 2, 3])
        .shard(2, "us", 1, &[1, 2, 3])
        .shard(3, "us", 1, &[1, 2, 3])
        .shard(4, "us", 3, &[1, 2, 3]);
    assert_eq!(balanced.plan(), None);
}

#[test]
fn replica_counts_are_balanced_by_adding_first_then_removing_the_heaviest() {
    let cluster = |voters: &[u64]| {
        us(4)
            .meta(&[1, 2, 3])
            .shard(1, "us", 1, voters)
            .shard(2, "us", 2, &[1, 2, 3])
    };
    // Nodes 1-3 hold two replicas each, node 4 none.
    assert_eq!(
        cluster(&[1, 2, 3]).plan(),
        Some(Step::AddBalancingReplica {
            shard: ShardId(1),
            leader: 1,
            node: 4,
            relieves: 3,
        })
    );
    // Node 4 votes (not yet recorded): the heaviest replica but the leader's goes.
    let added = cluster(&[1, 2, 3, 4]).recorded(1, &[1, 2, 3]);
    assert_eq!(
        added.plan(),
        remove_replica(1, 1, 3, &[1, 2, 4], Removal::Surplus)
    );
}

#[test]
fn a_node_down_longer_than_the_threshold_has_its_replicas_rebuilt_elsewhere() {
    let cluster = || us(4).shard(1, "us", 1, &[1, 2, 3]);
    // Briefly down (a restart): nothing moves.
    let restarting = cluster()
        .meta(&[1, 2, 4])
        .silent(3, Duration::from_secs(29));
    assert_eq!(restarting.plan(), None);
    // Down for the threshold: the meta voter is replaced first, then the shard replica.
    let lost = || cluster().silent(3, DOWN_AFTER);
    assert_eq!(lost().meta(&[1, 2, 3]).plan(), add_meta(4));
    assert_eq!(
        lost().meta(&[1, 2, 3, 4]).plan(),
        Some(Step::RemoveMetaVoter { node: 3 })
    );
    assert_eq!(
        lost().meta(&[1, 2, 4]).plan(),
        add_replica(1, 1, 4, &[1, 2, 3, 4])
    );
    let rebuilt = lost().meta(&[1, 2, 4]).shard(1, "us", 1, &[1, 2, 3, 4]);
    assert_eq!(
        rebuilt.plan(),
        remove_replica(1, 1, 3, &[1, 2, 4], Removal::Unhealthy)
    );
}

#[test]
fn the_recorded_replicas_follow_the_voters_the_leader_reports() {
    let stale = us(3)
        .meta(&[1, 2, 3])
        .shard(1, "us", 1, &[1, 2, 3])
        .recorded(1, &[1, 2]);
    assert_eq!(
        stale.plan(),
        Some(Step::RecordShardReplicas {
            shard: ShardId(1),
            replicas: vec![1, 2, 3],
        })
    );
}

#[test]
fn a_shard_whose_leader_did_not_answer_is_left_alone() {
    let leaderless = us(4)
        .meta(&[2, 3, 4])
        .shard(1, "us", 1, &[1, 2, 3])
        .silent(1, DOWN_AFTER);
    assert_eq!(leaderless.plan(), None);
}

#[test]
fn a_node_never_heard_from_counts_as_down() {
    let mut unknown = us(4).meta(&[1, 2, 4]).shard(1, "us", 1, &[1, 2, 3]);
    unknown.0.reachable.retain(|n| n.id != 3);
    unknown.0.liveness.silent_for = BTreeMap::from([
        (1, Duration::ZERO),
        (2, Duration::ZERO),
        (4, Duration::ZERO),
    ]);
    assert_eq!(unknown.plan(), add_replica(1, 1, 4, &[1, 2, 3, 4]));
}
