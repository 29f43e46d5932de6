//! The org directory as this node sees it: slug -> placement, cached, read from the meta group.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::error::{ClusterError, Result};
use crate::ids::OrgId;
use crate::model::{DirectoryEntry, ShardDescriptor};
use crate::raft::GroupHandle;
use crate::tables::{OrgReader, Table};

/// Cached reads of the meta group's directory tables.
pub struct Directory {
    meta: GroupHandle,
    cache: RwLock<HashMap<String, DirectoryEntry>>,
}

impl Directory {
    /// A directory backed by `meta`.
    pub fn new(meta: GroupHandle) -> Self {
        Directory {
            meta,
            cache: RwLock::new(HashMap::new()),
        }
    }

    fn reader(&self) -> OrgReader {
        OrgReader::new(self.meta.store.clone(), OrgId::SYSTEM)
    }

    /// The placement of `slug` (cache first, then the meta group's applied state).
    pub fn lookup(&self, slug: &str) -> Result<Option<DirectoryEntry>> {
        if let Ok(cache) = self.cache.read()
            && let Some(entry) = cache.get(slug)
        {
            return Ok(Some(entry.clone()));
        }
        let entry: Option<DirectoryEntry> =
            self.reader().get(Table::DirectorySlug, slug.as_bytes())?;
        if let Some(entry) = &entry {
            self.remember(entry.clone());
        }
        Ok(entry)
    }

    /// Records a fresher entry (after a write to the meta group).
    pub fn remember(&self, entry: DirectoryEntry) {
        if let Ok(mut cache) = self.cache.write() {
            cache.insert(entry.slug.clone(), entry);
        }
    }

    /// The org a caller-chosen key was registered for, if any.
    pub fn key_route(&self, key_hash: &str) -> Result<Option<OrgId>> {
        self.reader().get(Table::KeyRoute, key_hash.as_bytes())
    }

    /// Every org in the directory.
    pub fn all(&self) -> Result<Vec<DirectoryEntry>> {
        let mut out = Vec::new();
        self.reader()
            .scan::<DirectoryEntry>(Table::DirectorySlug, &[], false, |_, e| {
                out.push(e);
                true
            })?;
        Ok(out)
    }

    /// Every shard the meta group knows.
    pub fn shards(&self) -> Result<Vec<ShardDescriptor>> {
        let mut out = Vec::new();
        self.reader()
            .scan::<ShardDescriptor>(Table::Shard, &[], false, |_, s| {
                out.push(s);
                true
            })?;
        Ok(out)
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
