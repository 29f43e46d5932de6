//! The meta group: shards and the org directory.

use crate::command::{MetaCommand, MetaOp};
use crate::error::{ClusterError, Result};
use crate::ids::{NodeId, ShardId};
use crate::model::{DirectoryEntry, OrgState, ShardDescriptor};
use crate::query::Outcome;
use crate::tables::{OrgTx, Table};

const ORG_NUMBER: &[u8] = b"org_number";

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

/// The shard of `region` holding the fewest orgs (any shard when the org has no region).
fn place(tx: &OrgTx, region: Option<&str>) -> Result<ShardId> {
    let mut shards: Vec<ShardDescriptor> = Vec::new();
    tx.reader()
        .scan::<ShardDescriptor>(Table::Shard, &[], false, |_, shard| {
            if region.is_none() || shard.region.as_deref() == region {
                shards.push(shard);
            }
            true
        })?;
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
