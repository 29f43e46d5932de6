//! The meta group: shards and the org directory.

use crate::command::{MetaCommand, MetaOp};
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, ShardId};
use crate::model::{DirectoryEntry, NodeRecord, NodeState, OrgState, ShardDescriptor};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

const ORG_NUMBER: &[u8] = b"org_number";
/// Highest node id given out. The node that bootstraps a cluster is 1 by convention and joins
/// first, so the counter agrees with it.
const NODE_ID: &[u8] = b"node_id";

/// Applies a meta command (the transaction is on [`OrgId::SYSTEM`] of the meta group).
pub fn apply_meta(tx: &mut OrgTx, command: &MetaCommand) -> Result<Outcome> {
    match &command.op {
        MetaOp::RegisterShard {
            shard,
            region,
            replicas,
        } => {
            let descriptor = ShardDescriptor {
                id: *shard,
                region: region.clone(),
                replicas: replicas.iter().copied().map(NodeId).collect(),
            };
            tx.put(Table::Shard, &shard.0.to_be_bytes(), &descriptor)?;
            Ok(Outcome::Done)
        }
        MetaOp::RegisterOrg {
            org,
            slug,
            name,
            region,
            key_route,
        } => {
            if tx.exists(Table::DirectorySlug, slug.as_bytes())? {
                return Err(ClusterError::conflict(
                    "slug",
                    format!("organization {slug} already exists"),
                ));
            }
            if tx.exists(Table::DirectoryId, &org.to_bytes())? {
                return Err(ClusterError::conflict(
                    "id",
                    "organization id already in use",
                ));
            }
            let shard = place(tx, region.as_deref())?;
            let number = tx.get::<u64>(Table::MetaCounter, ORG_NUMBER)?.unwrap_or(0) + 1;
            tx.put(Table::MetaCounter, ORG_NUMBER, &number)?;
            let entry = DirectoryEntry {
                org_id: *org,
                slug: slug.clone(),
                name: name.clone(),
                number,
                shard,
                epoch: 1,
                region: region.clone(),
                state: OrgState::Provisioning,
                created_at: command.at,
            };
            tx.put(Table::DirectorySlug, slug.as_bytes(), &entry)?;
            tx.put(Table::DirectoryId, &org.to_bytes(), slug)?;
            if let Some(hash) = key_route {
                tx.put(Table::KeyRoute, hash.as_bytes(), org)?;
            }
            Ok(Outcome::Directory(entry))
        }
        MetaOp::JoinNode {
            nonce,
            rpc_addr,
            http_addr,
            region,
            zone,
        } => {
            if let Some(id) = tx.get::<u64>(Table::JoinNonce, nonce.as_bytes())? {
                let record: NodeRecord = tx
                    .get(Table::Node, &id.to_be_bytes())?
                    .ok_or_else(|| ClusterError::internal("join nonce without node"))?;
                return Ok(Outcome::Node(record));
            }
            let id = tx.get::<u64>(Table::MetaCounter, NODE_ID)?.unwrap_or(0) + 1;
            tx.put(Table::MetaCounter, NODE_ID, &id)?;
            let record = NodeRecord {
                id: NodeId(id),
                rpc_addr: rpc_addr.clone(),
                http_addr: http_addr.clone(),
                region: region.clone(),
                zone: zone.clone(),
                state: NodeState::Active,
                joined_at: command.at,
            };
            tx.put(Table::Node, &id.to_be_bytes(), &record)?;
            tx.put(Table::JoinNonce, nonce.as_bytes(), &id)?;
            Ok(Outcome::Node(record))
        }
        MetaOp::UpdateNode {
            node,
            rpc_addr,
            http_addr,
        } => {
            let mut record: NodeRecord = tx
                .get(Table::Node, &node.to_be_bytes())?
                .ok_or_else(|| ClusterError::not_found("node", node))?;
            record.rpc_addr = rpc_addr.clone();
            record.http_addr = http_addr.clone();
            tx.put(Table::Node, &node.to_be_bytes(), &record)?;
            Ok(Outcome::Node(record))
        }
        MetaOp::SetNodeState { node, state } => {
            let mut record: NodeRecord = tx
                .get(Table::Node, &node.to_be_bytes())?
                .ok_or_else(|| ClusterError::not_found("node", node))?;
            if record.state == NodeState::Removed && *state != NodeState::Removed {
                return Err(ClusterError::conflict(
                    "state",
                    format!("node {node} was removed; ids are never reused"),
                ));
            }
            record.state = *state;
            tx.put(Table::Node, &node.to_be_bytes(), &record)?;
            Ok(Outcome::Node(record))
        }
        MetaOp::SetShardReplicas { shard, replicas } => {
            let mut descriptor: ShardDescriptor = tx
                .get(Table::Shard, &shard.0.to_be_bytes())?
                .ok_or_else(|| ClusterError::not_found("shard", shard))?;
            descriptor.replicas = replicas.iter().copied().map(NodeId).collect();
            tx.put(Table::Shard, &shard.0.to_be_bytes(), &descriptor)?;
            Ok(Outcome::Done)
        }
        MetaOp::BeginMove { org, to } => {
            let mut entry = entry_of(tx, *org)?;
            if entry.state != OrgState::Active {
                return Err(ClusterError::conflict(
                    "state",
                    format!(
                        "organization {} is not active (already moving?)",
                        entry.slug
                    ),
                ));
            }
            if entry.shard == *to {
                return Err(ClusterError::invalid(
                    "to",
                    format!("organization {} is already on shard {to}", entry.slug),
                ));
            }
            let target: ShardDescriptor = tx
                .get(Table::Shard, &to.0.to_be_bytes())?
                .ok_or_else(|| ClusterError::not_found("shard", to))?;
            let home = home_region(tx)?;
            let wanted = entry.region.clone().or(home);
            if target.region != wanted {
                return Err(ClusterError::invalid(
                    "to",
                    format!(
                        "shard {to} is in region {}, organization {} must stay in {}",
                        target.region.as_deref().unwrap_or("(none)"),
                        entry.slug,
                        wanted.as_deref().unwrap_or("(none)")
                    ),
                ));
            }
            entry.state = OrgState::Moving { to: *to };
            tx.put(Table::DirectorySlug, entry.slug.as_bytes(), &entry)?;
            Ok(Outcome::Directory(entry))
        }
        MetaOp::FinishMove { org } => {
            let mut entry = entry_of(tx, *org)?;
            let OrgState::Moving { to } = entry.state else {
                return Err(ClusterError::conflict(
                    "state",
                    format!("organization {} is not moving", entry.slug),
                ));
            };
            entry.shard = to;
            entry.epoch += 1;
            entry.state = OrgState::Active;
            tx.put(Table::DirectorySlug, entry.slug.as_bytes(), &entry)?;
            Ok(Outcome::Directory(entry))
        }
        MetaOp::AbortMove { org } => {
            let mut entry = entry_of(tx, *org)?;
            if matches!(entry.state, OrgState::Moving { .. }) {
                entry.state = OrgState::Active;
                tx.put(Table::DirectorySlug, entry.slug.as_bytes(), &entry)?;
            }
            Ok(Outcome::Directory(entry))
        }
        MetaOp::RetireOrg { org } => {
            // Repeating it after a crash finds nothing left: done.
            if let Some(slug) = tx.get::<String>(Table::DirectoryId, &org.to_bytes())? {
                tx.delete(Table::DirectorySlug, slug.as_bytes());
                tx.delete(Table::DirectoryId, &org.to_bytes());
            }
            Ok(Outcome::Done)
        }
        MetaOp::ActivateOrg { org } => {
            let slug: String = tx
                .get(Table::DirectoryId, &org.to_bytes())?
                .ok_or_else(|| ClusterError::not_found("organization", org))?;
            let mut entry: DirectoryEntry = tx
                .get(Table::DirectorySlug, slug.as_bytes())?
                .ok_or_else(|| ClusterError::not_found("organization", &slug))?;
            entry.state = OrgState::Active;
            tx.put(Table::DirectorySlug, slug.as_bytes(), &entry)?;
            Ok(Outcome::Directory(entry))
        }
    }
}

fn entry_of(tx: &OrgTx, org: crate::ids::OrgId) -> Result<DirectoryEntry> {
    let slug: String = tx
        .get(Table::DirectoryId, &org.to_bytes())?
        .ok_or_else(|| ClusterError::not_found("organization", org))?;
    tx.get(Table::DirectorySlug, slug.as_bytes())?
        .ok_or_else(|| ClusterError::not_found("organization", slug))
}

/// The region of the first shard: where orgs without a region live.
fn home_region(tx: &OrgTx) -> Result<Option<String>> {
    let mut first: Option<ShardDescriptor> = None;
    tx.reader()
        .scan::<ShardDescriptor>(Table::Shard, &[], false, |_, shard| {
            first = Some(shard);
            false
        })?;
    Ok(first.and_then(|s| s.region))
}

/// The shard of `region` holding the fewest orgs. An org without a region lives in the
/// cluster's home region (that of the first shard), never in another region's shards.
fn place(tx: &OrgTx, region: Option<&str>) -> Result<ShardId> {
    let mut all: Vec<ShardDescriptor> = Vec::new();
    tx.reader()
        .scan::<ShardDescriptor>(Table::Shard, &[], false, |_, shard| {
            all.push(shard);
            true
        })?;
    let home = home_region(tx)?;
    let wanted = region.map(str::to_string).or(home);
    let shards: Vec<ShardDescriptor> = all.into_iter().filter(|s| s.region == wanted).collect();
    let mut load: Vec<(u64, ShardId)> = shards.iter().map(|s| (0, s.id)).collect();
    tx.reader()
        .scan::<DirectoryEntry>(Table::DirectorySlug, &[], false, |_, entry| {
            if let Some(slot) = load.iter_mut().find(|(_, id)| *id == entry.shard) {
                slot.0 += 1;
            }
            true
        })?;
    load.sort();
    load.first().map(|(_, id)| *id).ok_or_else(|| match region {
        Some(region) => {
            ClusterError::invalid("region", format!("no shard is placed in region {region}"))
        }
        None => ClusterError::Unavailable {
            message: "no shard exists yet".into(),
        },
    })
}
