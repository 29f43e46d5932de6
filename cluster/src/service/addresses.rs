//! Keeping the transport's address book current: every node's RPC address as the meta group
//! records it. A node may restart on another `--rpc-addr` (it announces it with
//! `MetaOp::UpdateNode`); the Raft memberships keep the address the node joined with, and the
//! transport dials the recorded one instead (within a second on nodes with a meta replica,
//! within 15 on the others).

use std::time::Duration;

use super::Service;
use super::membership::META_GROUP;
use crate::directory::MetaReader;
use crate::error::Result;

/// How often the address book is refreshed from this node's meta replica (a local read).
const REFRESH: Duration = Duration::from_secs(1);
/// A node without a meta replica asks the meta leader, whose answer carries the whole org
/// directory: only every this many refreshes.
const REMOTE_EVERY: u64 = 15;

impl Service {
    pub(crate) fn spawn_address_refresh(&self) {
        let ticks = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        self.spawn_every(REFRESH, move |service| {
            let tick = ticks.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            async move {
                if let Err(e) = service
                    .refresh_addresses(tick.is_multiple_of(REMOTE_EVERY))
                    .await
                {
                    tracing::debug!(error = %e, "address book not refreshed this time");
                }
            }
        });
    }

    /// Reads the node records into the transport's address book: from this node's meta
    /// replica when it has one, else from the meta leader when `remote_due`.
    async fn refresh_addresses(&self, remote_due: bool) -> Result<()> {
        let nodes = match self.group(META_GROUP) {
            Some(meta) => MetaReader::new(meta.store.clone()).nodes()?,
            None if remote_due => self.meta_snapshot().await?.nodes,
            None => return Ok(()),
        };
        self.inner
            .peers
            .learn_addresses(nodes.into_iter().map(|n| (n.id.0, n.rpc_addr)));
        Ok(())
    }
}
