//! The Raft groups this node hosts.

use std::collections::HashMap;
use std::sync::RwLock;

use crate::raft::GroupHandle;

/// Hosted groups by id.
#[derive(Default)]
pub struct GroupRegistry {
    groups: RwLock<HashMap<u64, GroupHandle>>,
}

impl GroupRegistry {
    /// The group `id`, if hosted here.
    pub fn get(&self, id: u64) -> Option<GroupHandle> {
        self.groups.read().ok()?.get(&id).cloned()
    }

    /// Records a hosted group.
    pub fn insert(&self, handle: GroupHandle) {
        if let Ok(mut groups) = self.groups.write() {
            groups.insert(handle.id, handle);
        }
    }

    /// Forgets a group (after it was shut down).
    pub fn remove(&self, id: u64) -> Option<GroupHandle> {
        self.groups.write().ok()?.remove(&id)
    }

    /// Every hosted group, meta first.
    pub fn all(&self) -> Vec<GroupHandle> {
        let mut all: Vec<GroupHandle> = self
            .groups
            .read()
            .map(|g| g.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by_key(|g| g.id);
        all
    }
}
