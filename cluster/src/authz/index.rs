//! The in-memory authorization state of one shard replica, derived from its applied state:
//! per org, the effective permissions of the subjects checked so far. It is filled lazily from
//! storage, changed by `apply` as entries are applied (never rebuilt per write), and dropped
//! when a snapshot replaces the replica's state.
//!
//! Concurrency: `apply` takes the write lock around writing any entry that changes decisions
//! and updating this index, so a reader holding the read lock sees storage and index agree.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock, RwLockReadGuard};

use tokio::sync::watch;

use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::ids::{OrgId, UserId};
use crate::tables::OrgReader;

use super::org_facts::OrgFacts;
use super::rbac::{EffectivePermission, effective_permissions};
use super::relations::Relations;

/// One org's derived state.
#[derive(Default)]
pub struct OrgAuthz {
    /// Effective permissions per user, filled on first check.
    rbac: Mutex<HashMap<UserId, std::sync::Arc<Vec<EffectivePermission>>>>,
    /// The relation schema and the tuple graph.
    relations: Relations,
    /// The compiled ABAC policies, filled on first check.
    abac: Mutex<Option<std::sync::Arc<Vec<super::abac::Policy>>>>,
}

impl OrgAuthz {
    fn load(reader: &OrgReader) -> Result<OrgAuthz> {
        Ok(OrgAuthz {
            rbac: Mutex::default(),
            relations: Relations::load(reader)?,
            abac: Mutex::default(),
        })
    }

    /// The org's ABAC policies, compiled (from the memo, else from storage).
    pub fn policies(&self, reader: &OrgReader) -> Result<std::sync::Arc<Vec<super::abac::Policy>>> {
        if let Some(found) = self.abac.lock().map_err(poisoned)?.as_ref() {
            return Ok(found.clone());
        }
        let compiled = std::sync::Arc::new(super::abac_store::compiled_policies(reader)?);
        *self.abac.lock().map_err(poisoned)? = Some(compiled.clone());
        Ok(compiled)
    }

    /// The relation schema and tuples.
    pub fn relations(&self) -> &Relations {
        &self.relations
    }

    /// The effective permissions of `user` (from the memo, else computed and remembered).
    pub fn permissions_of(
        &self,
        reader: &OrgReader,
        user: UserId,
    ) -> Result<std::sync::Arc<Vec<EffectivePermission>>> {
        if let Some(found) = self.rbac.lock().map_err(poisoned)?.get(&user) {
            return Ok(found.clone());
        }
        let computed = std::sync::Arc::new(effective_permissions(reader, user)?);
        self.rbac
            .lock()
            .map_err(poisoned)?
            .insert(user, computed.clone());
        Ok(computed)
    }

    /// The effective permissions of `user`, or `None` when the org has no such user. A user
    /// in the memo exists: deleting one clears the memo.
    pub fn permissions_of_existing(
        &self,
        reader: &OrgReader,
        user: UserId,
    ) -> Result<Option<std::sync::Arc<Vec<EffectivePermission>>>> {
        if let Some(found) = self.rbac.lock().map_err(poisoned)?.get(&user) {
            return Ok(Some(found.clone()));
        }
        if !reader.exists(crate::tables::Table::User, &user.to_bytes())? {
            return Ok(None);
        }
        self.permissions_of(reader, user).map(Some)
    }

    fn on_applied(&mut self, op: &Op) {
        if changes_rbac(op)
            && let Ok(memo) = self.rbac.get_mut()
        {
            memo.clear();
        }
        self.relations.on_applied(op);
        if changes_abac(op)
            && let Ok(memo) = self.abac.get_mut()
        {
            *memo = None;
        }
    }
}

/// Whether `op` can change any decision.
pub fn changes_decisions(op: &Op) -> bool {
    changes_rbac(op)
        || changes_abac(op)
        || super::org_facts::changes_facts(op)
        || matches!(
            op,
            Op::DropOrg
                | Op::ImportOrg { .. }
                | Op::FreezeOrg
                | Op::Sandbox(crate::command::SandboxWrite::Seed { .. })
                | Op::WriteRelationSchema { .. }
                | Op::WriteRelationTuples(_)
        )
}

fn changes_abac(op: &Op) -> bool {
    matches!(
        op,
        Op::CreateAbacAttribute(_)
            | Op::UpdateAbacAttribute { .. }
            | Op::DeleteAbacAttribute(_)
            | Op::CreateAbacPolicy(_)
            | Op::UpdateAbacPolicy { .. }
            | Op::DeleteAbacPolicy(_)
            | Op::ToggleAbacPolicy(_)
    )
}

fn changes_rbac(op: &Op) -> bool {
    matches!(
        op,
        Op::Relate { .. }
            | Op::FinishSocialLogin(_)
            | Op::Scim(_)
            | Op::DeleteUser(_)
            | Op::DeleteGroup(_)
            | Op::DeleteRole(_)
            | Op::UpdateRole { .. }
            | Op::DeletePermission(_)
            | Op::UpdatePermission { .. }
    )
}

fn poisoned<T>(_: T) -> ClusterError {
    ClusterError::internal("authorization index lock poisoned")
}

/// The orgs' derived state, and how often each org's decisions changed (so a load made
/// without the lock can tell whether it missed a change).
#[derive(Default)]
struct Orgs {
    loaded: HashMap<OrgId, OrgAuthz>,
    /// What every request to an org asks first (served here? whose key?), kept apart from
    /// `loaded` so that remembering it never loads the org's relation graph.
    facts: HashMap<OrgId, OrgFacts>,
    /// Changes applied per org, and snapshot installs (`clear`) under `None`.
    changes: HashMap<Option<OrgId>, u64>,
}

impl Orgs {
    /// The change count that a load of `org` must still see when it is inserted.
    fn version(&self, org: OrgId) -> (u64, u64) {
        let count = |key: Option<OrgId>| self.changes.get(&key).copied().unwrap_or(0);
        (count(None), count(Some(org)))
    }
}

/// The derived authorization state of one shard replica.
pub struct AuthzIndex {
    orgs: RwLock<Orgs>,
    applied: watch::Sender<u64>,
    /// Snapshot installs begun and ended: odd while one runs (the range is not whole then).
    installs: std::sync::atomic::AtomicU64,
}

/// Held while a snapshot is installed; the replica answers no local read meanwhile.
pub struct InstallGuard<'a> {
    index: &'a AuthzIndex,
}

impl Drop for InstallGuard<'_> {
    fn drop(&mut self) {
        // Anything remembered during the install may have seen half of the range.
        self.index.clear();
        self.index
            .installs
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Held by `apply` while it writes an entry that changes decisions.
pub struct ApplyGuard<'a> {
    orgs: std::sync::RwLockWriteGuard<'a, Orgs>,
}

impl ApplyGuard<'_> {
    /// Brings the org's derived state up to date with the applied `op`.
    pub fn applied(&mut self, org: OrgId, op: &Op) {
        *self.orgs.changes.entry(Some(org)).or_insert(0) += 1;
        if matches!(
            op,
            Op::DropOrg
                | Op::ImportOrg { .. }
                | Op::FreezeOrg
                | Op::Sandbox(crate::command::SandboxWrite::Seed { .. })
        ) {
            self.orgs.loaded.remove(&org);
            self.orgs.facts.remove(&org);
            return;
        }
        if let Some(state) = self.orgs.loaded.get_mut(&org) {
            state.on_applied(op);
        }
        if let Some(facts) = self.orgs.facts.get_mut(&org) {
            facts.on_applied(op);
        }
    }
}

impl Default for AuthzIndex {
    fn default() -> Self {
        AuthzIndex {
            orgs: RwLock::new(Orgs::default()),
            applied: watch::Sender::new(0),
            installs: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl AuthzIndex {
    /// The lock `apply` holds around an entry that changes decisions.
    pub fn begin_apply(&self) -> Result<ApplyGuard<'_>> {
        Ok(ApplyGuard {
            orgs: self.orgs.write().map_err(poisoned)?,
        })
    }

    /// Records that the replica applied the entry at `index`.
    pub fn set_applied(&self, index: u64) {
        self.applied.send_if_modified(|current| {
            let moved = index > *current;
            if moved {
                *current = index;
            }
            moved
        });
    }

    /// The last log index this replica applied.
    pub fn applied(&self) -> u64 {
        *self.applied.borrow()
    }

    /// Waits until the replica applied `index`, at most `within`; false on timeout.
    pub async fn wait_applied(&self, index: u64, within: std::time::Duration) -> bool {
        let mut watch = self.applied.subscribe();
        tokio::time::timeout(within, watch.wait_for(|applied| *applied >= index))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    /// Marks the replica's range as being replaced by a snapshot until the guard drops;
    /// forgets every org now and again then.
    pub fn installing(&self) -> InstallGuard<'_> {
        self.installs
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.clear();
        InstallGuard { index: self }
    }

    /// True while a snapshot is being installed: the range may be half written.
    pub fn is_installing(&self) -> bool {
        self.install_generation() % 2 == 1
    }

    /// Changes when an install begins and when it ends: a reader that sees the same even
    /// value before and after its reads read no half-installed range.
    pub fn install_generation(&self) -> u64 {
        self.installs.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Forgets every org (the replica's state was replaced by a snapshot).
    pub fn clear(&self) {
        if let Ok(mut orgs) = self.orgs.write() {
            orgs.loaded.clear();
            orgs.facts.clear();
            *orgs.changes.entry(None).or_insert(0) += 1;
        }
    }

    /// Runs `f` over the org's remembered facts. Storage read through `reader` inside `f`
    /// agrees with them. The first request to an org (after a start, a move or a snapshot)
    /// makes its empty memo and runs `f` under the write lock: one or two point reads.
    pub fn with_facts<R>(
        &self,
        reader: &OrgReader,
        f: impl FnOnce(&OrgFacts) -> Result<R>,
    ) -> Result<R> {
        let org = reader.org();
        {
            let orgs = self.orgs.read().map_err(poisoned)?;
            if let Some(facts) = orgs.facts.get(&org) {
                return f(facts);
            }
        }
        let mut orgs = self.orgs.write().map_err(poisoned)?;
        f(orgs.facts.entry(org).or_default())
    }

    /// Runs `f` over the org's derived state (loaded from `reader` first if needed). Storage
    /// read through `reader` inside `f` agrees with the state.
    ///
    /// A load (a million tuples take seconds) runs without the lock, so other orgs' questions
    /// and `apply` go on meanwhile; it is kept only if no change of the org (and no snapshot)
    /// was applied while it ran, else it is made again (the last try under the lock).
    pub fn with_org<R>(
        &self,
        reader: &OrgReader,
        f: impl FnOnce(&OrgAuthz) -> Result<R>,
    ) -> Result<R> {
        const TRIES: usize = 3;
        let org = reader.org();
        let mut version = {
            let orgs = self.orgs.read().map_err(poisoned)?;
            if let Some(state) = orgs.loaded.get(&org) {
                return f(state);
            }
            orgs.version(org)
        };
        for attempt in 1..=TRIES {
            let last = attempt == TRIES;
            let loaded = if last {
                None
            } else {
                Some(OrgAuthz::load(reader)?)
            };
            let mut orgs = self.orgs.write().map_err(poisoned)?;
            if orgs.loaded.contains_key(&org) {
                break;
            }
            let now = orgs.version(org);
            match loaded {
                Some(state) if now == version => {
                    orgs.loaded.insert(org, state);
                    break;
                }
                Some(_) => version = now,
                None => {
                    let state = OrgAuthz::load(reader)?;
                    orgs.loaded.insert(org, state);
                }
            }
        }
        let orgs: RwLockReadGuard<'_, _> = self.orgs.read().map_err(poisoned)?;
        let state = orgs
            .loaded
            .get(&org)
            .ok_or_else(|| ClusterError::internal("authorization state vanished"))?;
        f(state)
    }
}

#[cfg(test)]
mod tests {
    use super::AuthzIndex;

    #[test]
    fn an_install_changes_the_generation_when_it_begins_and_when_it_ends() {
        let index = AuthzIndex::default();
        let before = index.install_generation();
        assert!(!index.is_installing());
        {
            let _installing = index.installing();
            assert!(index.is_installing());
            assert_ne!(index.install_generation(), before);
        }
        assert!(!index.is_installing());
        assert_eq!(index.install_generation(), before + 2);
    }
}
