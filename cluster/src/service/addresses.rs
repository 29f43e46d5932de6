//! Keeping the transport's address book current: every node's RPC address as the meta group
//! records it. A node may restart on another `--rpc-addr` (it announces it with
//! `MetaOp::UpdateNode`); the Raft memberships keep the address the node joined with, and the
//! transport dials the recorded one instead.

use std::time::Duration;

use super::Service;
use super::membership::META_GROUP;
use crate::directory::MetaReader;
use crate::error::Result;

/// How often the address book is refreshed.
const REFRESH: Duration = Duration::from_secs(1);

impl Service {
    pub(crate) fn spawn_address_refresh(&self) {
        self.spawn_every(REFRESH, |service| async move {
            if let Err(e) = service.refresh_addresses().await {
                tracing::debug!(error = %e, "address book not refreshed this time");
            }
        });
    }

    /// Reads the node records (from this node's meta replica when it has one, else from the
    /// meta leader) into the transport's address book.
    async fn refresh_addresses(&self) -> Result<()> {
        let nodes = match self.group(META_GROUP) {
            Some(meta) => MetaReader::new(meta.store.clone()).nodes()?,
            None => self.meta_snapshot().await?.nodes,
        };
        self.inner
            .peers
            .learn_addresses(nodes.into_iter().map(|n| (n.id.0, n.rpc_addr)));
        Ok(())
    }
}
