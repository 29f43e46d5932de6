//! The Raft state machine of one group, over the node's RocksDB.

use std::io::{self, Cursor};
use std::path::PathBuf;

use futures::{Stream, TryStreamExt};
use lumo_storage::{SmStore, SnapshotPairs};
use openraft::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};

use super::group::GroupKind;
use super::types::{ApplyResult, TypeConfig};
use crate::apply::{apply_meta, apply_org_command};
use crate::authz::{AuthzIndex, changes_decisions};
use crate::command::RaftCommand;
use crate::error::ClusterError;
use crate::ids::OrgId;
use crate::tables::OrgTx;

const LAST_APPLIED: &str = "last_applied";
const LAST_MEMBERSHIP: &str = "last_membership";

/// State machine of one group: applies commands into the group's key range.
#[derive(Clone)]
pub struct StateMachine {
    store: SmStore,
    kind: GroupKind,
    snapshot_dir: PathBuf,
    /// Decisions derived from the applied state (shards only use it).
    authz: std::sync::Arc<AuthzIndex>,
    metrics: std::sync::Arc<crate::metrics::Metrics>,
}

impl StateMachine {
    /// The state machine of the group `store` covers.
    pub fn new(
        store: SmStore,
        kind: GroupKind,
        snapshot_dir: PathBuf,
        authz: std::sync::Arc<AuthzIndex>,
        metrics: std::sync::Arc<crate::metrics::Metrics>,
    ) -> io::Result<Self> {
        std::fs::create_dir_all(&snapshot_dir)?;
        Ok(StateMachine {
            store,
            kind,
            snapshot_dir,
            authz,
            metrics,
        })
    }

    fn apply_command(
        &self,
        command: &RaftCommand,
        log_id: &LogIdOf<TypeConfig>,
    ) -> io::Result<ApplyResult> {
        let (result, batch) = match (self.kind, command) {
            (GroupKind::Shard, RaftCommand::Org(cmd)) => {
                let mut tx = OrgTx::new(self.store.clone(), cmd.org).at_log_index(log_id.index);
                match apply_org_command(&mut tx, cmd) {
                    Ok(outcome) => (Ok(outcome), tx.into_batch()),
                    Err(e) => (Err(e), self.store.batch()),
                }
            }
            (GroupKind::Meta, RaftCommand::Meta(cmd)) => {
                let mut tx = OrgTx::new(self.store.clone(), OrgId::SYSTEM);
                match apply_meta(&mut tx, cmd) {
                    Ok(outcome) => (Ok(outcome), tx.into_batch()),
                    Err(e) => (Err(e), self.store.batch()),
                }
            }
            _ => (
                Err(ClusterError::internal(
                    "command sent to the wrong kind of group",
                )),
                self.store.batch(),
            ),
        };
        if let Err(ClusterError::Internal { message }) = &result {
            // A storage failure must not be mistaken for a deterministic refusal.
            if message.starts_with("storage:") {
                return Err(io::Error::other(message.clone()));
            }
        }
        let mut batch = batch;
        batch
            .put_meta(LAST_APPLIED, log_id)
            .map_err(io::Error::from)?;
        match command {
            RaftCommand::Org(cmd) if result.is_ok() && changes_decisions(&cmd.op) => {
                // Readers of the index see storage and index change together.
                let mut guard = self.authz.begin_apply().map_err(io::Error::other)?;
                self.store.write(batch).map_err(io::Error::from)?;
                guard.applied(cmd.org, &cmd.op);
            }
            _ => self.store.write(batch).map_err(io::Error::from)?,
        }
        self.authz.set_applied(log_id.index);
        Ok(ApplyResult(result))
    }

    fn write_meta_only<T: serde::Serialize>(
        &self,
        extra: Option<(&str, &T)>,
        log_id: &LogIdOf<TypeConfig>,
    ) -> io::Result<()> {
        let mut batch = self.store.batch();
        batch
            .put_meta(LAST_APPLIED, log_id)
            .map_err(io::Error::from)?;
        if let Some((name, value)) = extra {
            batch.put_meta(name, value).map_err(io::Error::from)?;
        }
        self.store.write(batch).map_err(io::Error::from)?;
        self.authz.set_applied(log_id.index);
        Ok(())
    }

    fn snapshot_path(&self) -> PathBuf {
        self.snapshot_dir.join("current.snap")
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachine {
    type SnapshotData = Cursor<Vec<u8>>;

    async fn build_snapshot(&mut self) -> io::Result<SnapshotOf<TypeConfig, Cursor<Vec<u8>>>> {
        let started = std::time::Instant::now();
        let store = self.store.clone();
        let pairs =
            tokio::task::spawn_blocking(move || store.export(&[LAST_APPLIED, LAST_MEMBERSHIP]))
                .await
                .map_err(io::Error::other)?
                .map_err(io::Error::from)?;
        let meta = meta_of(&pairs)?;
        let bytes = SmStore::encode_pairs(&pairs).map_err(io::Error::from)?;
        let file = bincode::serde::encode_to_vec((&meta, &bytes), bincode::config::standard())
            .map_err(io::Error::other)?;
        let tmp = self.snapshot_dir.join("current.snap.tmp");
        std::fs::write(&tmp, &file)?;
        std::fs::rename(&tmp, self.snapshot_path())?;
        self.metrics.snapshot(
            self.store.group(),
            self.kind.as_str(),
            "build",
            started.elapsed().as_secs_f64(),
            file.len(),
        );
        Ok(SnapshotOf::<TypeConfig, Cursor<Vec<u8>>> {
            meta,
            snapshot: Cursor::new(bytes),
        })
    }
}

fn meta_of(pairs: &SnapshotPairs) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    let find = |name: &str| {
        pairs
            .meta
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let decode_err = |e: bincode::error::DecodeError| io::Error::new(io::ErrorKind::InvalidData, e);
    let last_log_id = match find(LAST_APPLIED) {
        Some(bytes) => Some(
            bincode::serde::decode_from_slice::<LogIdOf<TypeConfig>, _>(
                &bytes,
                bincode::config::standard(),
            )
            .map_err(decode_err)?
            .0,
        ),
        None => None,
    };
    let last_membership = match find(LAST_MEMBERSHIP) {
        Some(bytes) => {
            bincode::serde::decode_from_slice::<StoredMembershipOf<TypeConfig>, _>(
                &bytes,
                bincode::config::standard(),
            )
            .map_err(decode_err)?
            .0
        }
        None => StoredMembershipOf::<TypeConfig>::default(),
    };
    Ok(SnapshotMetaOf::<TypeConfig> {
        last_log_id,
        last_membership,
    })
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = Cursor<Vec<u8>>;
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> io::Result<(Option<LogIdOf<TypeConfig>>, StoredMembershipOf<TypeConfig>)> {
        let applied: Option<LogIdOf<TypeConfig>> =
            self.store.get_meta(LAST_APPLIED).map_err(io::Error::from)?;
        if let Some(log_id) = &applied {
            self.authz.set_applied(log_id.index);
        }
        let membership = self
            .store
            .get_meta(LAST_MEMBERSHIP)
            .map_err(io::Error::from)?
            .unwrap_or_default();
        Ok((applied, membership))
    }

    async fn apply<Strm>(&mut self, mut entries: Strm) -> io::Result<()>
    where
        Strm: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        while let Some((entry, responder)) = entries.try_next().await? {
            let log_id = entry.log_id();
            let response = match &entry.payload {
                EntryPayload::Blank => {
                    self.write_meta_only::<()>(None, &log_id)?;
                    ApplyResult(Ok(crate::query::Outcome::Done))
                }
                EntryPayload::Normal(command) => self.apply_command(command, &log_id)?,
                EntryPayload::Membership(membership) => {
                    let stored =
                        StoredMembershipOf::<TypeConfig>::new(Some(log_id), membership.clone());
                    self.write_meta_only(Some((LAST_MEMBERSHIP, &stored)), &log_id)?;
                    ApplyResult(Ok(crate::query::Outcome::Done))
                }
            };
            if let Some(responder) = responder {
                responder.send(response);
            }
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMetaOf<TypeConfig>,
        snapshot: Self::SnapshotData,
    ) -> io::Result<()> {
        let started = std::time::Instant::now();
        let bytes = snapshot.into_inner();
        let pairs = SmStore::decode_pairs(&bytes).map_err(io::Error::from)?;
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || store.install(pairs))
            .await
            .map_err(io::Error::other)?
            .map_err(io::Error::from)?;
        // The replica's state was replaced: derived decisions are rebuilt from it on demand.
        self.authz.clear();
        if let Some(log_id) = &meta.last_log_id {
            self.authz.set_applied(log_id.index);
        }
        let file = bincode::serde::encode_to_vec((meta, &bytes), bincode::config::standard())
            .map_err(io::Error::other)?;
        let size = file.len();
        std::fs::write(self.snapshot_path(), file)?;
        self.metrics.snapshot(
            self.store.group(),
            self.kind.as_str(),
            "install",
            started.elapsed().as_secs_f64(),
            size,
        );
        Ok(())
    }

    async fn get_current_snapshot(
        &mut self,
    ) -> io::Result<Option<SnapshotOf<TypeConfig, Self::SnapshotData>>> {
        let path = self.snapshot_path();
        if !path.exists() {
            return Ok(None);
        }
        let file = std::fs::read(path)?;
        let ((meta, bytes), _): ((SnapshotMetaOf<TypeConfig>, Vec<u8>), usize) =
            bincode::serde::decode_from_slice(&file, bincode::config::standard())
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
        Ok(Some(SnapshotOf::<TypeConfig, Cursor<Vec<u8>>> {
            meta,
            snapshot: Cursor::new(bytes),
        }))
    }
}
