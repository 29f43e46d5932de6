//! What every request to an org asks before anything else, remembered per shard replica: is
//! the org served here at this epoch, and whose API key is this. Both used to be read (and
//! decoded) from storage on every request. Kept under the authorization index's lock, so a
//! change of either is applied to storage and to the memo together.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use crate::command::Op;
use crate::error::{ClusterError, Result};
use crate::model::ApiKey;
use crate::tables::OrgReader;

/// How many API keys of one org the memo holds at most; past this it starts over.
const MAX_REMEMBERED_KEYS: usize = 1024;

/// One org's remembered facts.
#[derive(Default)]
pub struct OrgFacts {
    /// The epoch at which the org was found served here (active, not frozen). Set once: a
    /// freeze, an import or a drop of the org (and a snapshot) drops the whole memo.
    served_at: OnceLock<u64>,
    /// The org's API keys read so far, by hash; a revocation clears them. Unknown hashes are
    /// not remembered.
    api_keys: Mutex<HashMap<String, ApiKey>>,
}

/// Whether `op` changes a fact the memo holds (creating a key changes none it holds; a
/// freeze, import or drop drops the whole memo).
pub fn changes_facts(op: &Op) -> bool {
    matches!(op, Op::RevokeApiKey(_))
}

impl OrgFacts {
    /// Checks the org is served by this shard at `epoch`, as `lookup::check_org_here` does.
    pub fn check_served(&self, reader: &OrgReader, epoch: u64) -> Result<()> {
        if self.served_at.get() == Some(&epoch) {
            return Ok(());
        }
        crate::lookup::check_org_here(reader, epoch)?;
        let _ = self.served_at.set(epoch);
        Ok(())
    }

    /// The record of the org's API key whose hash is `hash`.
    pub fn api_key(&self, reader: &OrgReader, hash: &str) -> Result<Option<ApiKey>> {
        if let Some(found) = self.api_keys.lock().map_err(poisoned)?.get(hash) {
            return Ok(Some(found.clone()));
        }
        let Some(record) = crate::lookup::api_key(reader, hash)? else {
            return Ok(None);
        };
        let mut memo = self.api_keys.lock().map_err(poisoned)?;
        if memo.len() >= MAX_REMEMBERED_KEYS {
            memo.clear();
        }
        memo.insert(hash.to_string(), record.clone());
        Ok(Some(record))
    }

    pub(super) fn on_applied(&mut self, op: &Op) {
        if changes_facts(op)
            && let Ok(memo) = self.api_keys.get_mut()
        {
            memo.clear();
        }
    }
}

fn poisoned<T>(_: T) -> ClusterError {
    ClusterError::internal("the org facts lock is poisoned")
}
