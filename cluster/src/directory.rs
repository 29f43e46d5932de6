//! The org directory: a cache of slug -> placement on every node, and typed reads of the meta
//! group's tables on nodes that host a meta replica.

use std::collections::HashMap;
use std::sync::RwLock;

use lumo_storage::SmStore;

use crate::error::{ClusterError, Result};
use crate::ids::{OrgId, ShardId};
use crate::model::{DirectoryEntry, NodeRecord, ShardDescriptor};
use crate::tables::{OrgReader, Table};

/// Cached directory entries (dropped and re-read when they prove stale).
#[derive(Default)]
pub struct Directory {
    cache: RwLock<HashMap<String, DirectoryEntry>>,
}

impl Directory {
    /// The cached entry of `slug`.
    pub fn cached(&self, slug: &str) -> Option<DirectoryEntry> {
        self.cache.read().ok()?.get(slug).cloned()
    }

    /// Records a fresher entry.
    pub fn remember(&self, entry: DirectoryEntry) {
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(entry.slug.clone(), entry);
        }
    }

    /// The slug of a cached org.
    pub fn cached_slug_of(&self, org: OrgId) -> Option<String> {
        let cache = self.cache.read().ok()?;
        cache
            .values()
            .find(|entry| entry.org_id == org)
            .map(|entry| entry.slug.clone())
    }

    /// Drops a cached entry (it proved stale).
    pub fn forget(&self, slug: &str) {
        if let Ok(mut cache) = self.cache.write() {
            cache.remove(slug);
        }
    }
}

/// Typed reads of a meta replica's tables.
pub struct MetaReader(OrgReader);

impl MetaReader {
    /// Reads the meta group's state machine in `store`.
    pub fn new(store: SmStore) -> Self {
        MetaReader(OrgReader::new(store, OrgId::SYSTEM))
    }

    /// The entry of `slug`.
    pub fn entry(&self, slug: &str) -> Result<Option<DirectoryEntry>> {
        self.0.get(Table::DirectorySlug, slug.as_bytes())
    }

    /// The slug of the org `org` (slugs never change).
    pub fn slug_of(&self, org: OrgId) -> Result<Option<String>> {
        self.0.get(Table::DirectoryId, &org.to_bytes())
    }

    /// The org a caller-chosen key was registered for.
    pub fn key_route(&self, key_hash: &str) -> Result<Option<OrgId>> {
        self.0.get(Table::KeyRoute, key_hash.as_bytes())
    }

    /// A shard.
    pub fn shard(&self, id: ShardId) -> Result<Option<ShardDescriptor>> {
        self.0.get(Table::Shard, &id.0.to_be_bytes())
    }

    /// A node.
    pub fn node(&self, id: u64) -> Result<Option<NodeRecord>> {
        self.0.get(Table::Node, &id.to_be_bytes())
    }

    fn all<T: serde::de::DeserializeOwned>(&self, table: Table) -> Result<Vec<T>> {
        let mut out = Vec::new();
        self.0.scan::<T>(table, &[], false, |_, item| {
            out.push(item);
            true
        })?;
        Ok(out)
    }

    /// Every org.
    pub fn orgs(&self) -> Result<Vec<DirectoryEntry>> {
        self.all(Table::DirectorySlug)
    }

    /// Every shard.
    pub fn shards(&self) -> Result<Vec<ShardDescriptor>> {
        self.all(Table::Shard)
    }

    /// Every node ever admitted.
    pub fn nodes(&self) -> Result<Vec<NodeRecord>> {
        self.all(Table::Node)
    }
}

/// Slug rules: 2-63 chars of `a-z 0-9 -`, starting with a letter or digit.
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (2..=63).contains(&slug.len())
        && slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ClusterError::invalid(
            "slug",
            "must be 2-63 characters of a-z, 0-9 and '-', not starting or ending with '-'",
        ))
    }
}
