//! The Raft state machine of one group, over the node's RocksDB.

use std::io::{self, Seek};
use std::path::PathBuf;

use futures::{Stream, TryStreamExt};
use lumo_storage::SmStore;
use openraft::alias::{LogIdOf, SnapshotMetaOf, SnapshotOf, StoredMembershipOf};
use openraft::entry::RaftEntry;
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};

use super::group::GroupKind;
use super::snapshot_file::SnapshotFile;
use super::types::{ApplyResult, TypeConfig};
use crate::apply::{apply_meta, apply_org_command};
use crate::authz::{AuthzIndex, changes_decisions};
use crate::command::RaftCommand;
use crate::error::ClusterError;
use crate::ids::OrgId;
use crate::tables::OrgTx;

const LAST_APPLIED: &str = "last_applied";
/// The meta value holding the last applied log id (bincode `LogId`).
pub const LAST_APPLIED_META: &str = LAST_APPLIED;
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
    /// Held by a build (openraft runs it in its own task) and by an install, so neither sees
    /// the other's half-done range or renames an older file over the other's.
    snapshot_lock: std::sync::Arc<tokio::sync::Mutex<()>>,
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
            snapshot_lock: std::sync::Arc::default(),
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
    type SnapshotData = SnapshotFile;

    async fn build_snapshot(&mut self) -> io::Result<SnapshotOf<TypeConfig, SnapshotFile>> {
        let started = std::time::Instant::now();
        let store = self.store.clone();
        let building = self.snapshot_dir.join("current.snap.building");
        let current = self.snapshot_path();
        let dir = self.snapshot_dir.clone();
        let _exclusive = self.snapshot_lock.lock().await;
        let (meta, file) = tokio::task::spawn_blocking(move || {
            store
                .export_to_file(&[LAST_APPLIED, LAST_MEMBERSHIP], &building)
                .map_err(io::Error::from)?;
            // Opened before the rename: the handle stays this snapshot's whatever comes next.
            let opened = SnapshotFile::open(&building)?;
            std::fs::rename(&building, &current)?;
            sync_dir(&dir)?;
            Ok::<_, io::Error>(opened)
        })
        .await
        .map_err(io::Error::other)??;
        self.metrics.snapshot(
            self.store.group(),
            self.kind.as_str(),
            "build",
            started.elapsed().as_secs_f64(),
            file.len as usize,
        );
        Ok(SnapshotOf::<TypeConfig, SnapshotFile> {
            meta: meta_of(&meta)?,
            snapshot: file,
        })
    }
}

/// Makes renames in `dir` durable.
fn sync_dir(dir: &std::path::Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn meta_of(pairs: &[(String, Vec<u8>)]) -> io::Result<SnapshotMetaOf<TypeConfig>> {
    let find = |name: &str| pairs.iter().find(|(n, _)| n == name).map(|(_, v)| v);
    let decode_err = |e: bincode::error::DecodeError| io::Error::new(io::ErrorKind::InvalidData, e);
    let last_log_id = match find(LAST_APPLIED) {
        Some(bytes) => Some(
            bincode::serde::decode_from_slice::<LogIdOf<TypeConfig>, _>(
                bytes,
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
                bytes,
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
    type SnapshotData = SnapshotFile;
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
        let size = snapshot.len;
        let store = self.store.clone();
        let current = self.snapshot_path();
        let own_dir = self.snapshot_dir.clone();
        let _exclusive = self.snapshot_lock.lock().await;
        // Local reads go to the leader until the range is whole again.
        let _installing = self.authz.installing();
        tokio::task::spawn_blocking(move || {
            let SnapshotFile {
                mut file,
                path,
                verified,
                ..
            } = snapshot;
            if !verified {
                // Written by this node or checked on arrival, but a disk can still damage it.
                lumo_storage::snapshot_file::verify_file(&path).map_err(io::Error::from)?;
            }
            // The file becomes the replica's current snapshot (durably) first, so a crash
            // during the install (which leaves no `last_applied`) installs it again at start.
            if path != current {
                let moved = path.starts_with(&own_dir) && std::fs::rename(&path, &current).is_ok();
                if !moved {
                    // Elsewhere, or deleted meanwhile: copied from the open handle.
                    let copying = own_dir.join("current.snap.copying");
                    file.seek(io::SeekFrom::Start(0))?;
                    let mut out = std::fs::File::create(&copying)?;
                    io::copy(&mut file, &mut out)?;
                    out.sync_all()?;
                    std::fs::rename(&copying, &current)?;
                }
                sync_dir(&own_dir)?;
            }
            file.seek(io::SeekFrom::Start(0))?;
            store
                .install_from_file(file, &[LAST_APPLIED, LAST_MEMBERSHIP])
                .map_err(io::Error::from)
        })
        .await
        .map_err(io::Error::other)??;
        if let Some(log_id) = &meta.last_log_id {
            self.authz.set_applied(log_id.index);
        }
        self.metrics.snapshot(
            self.store.group(),
            self.kind.as_str(),
            "install",
            started.elapsed().as_secs_f64(),
            size as usize,
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
        let opened = SnapshotFile::open(&path);
        let (meta, file) = match opened {
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                // A snapshot in an older layout: openraft builds a new one when it needs one.
                tracing::warn!(group = self.store.group(), error = %e, "dropping an unreadable snapshot file");
                std::fs::remove_file(&path)?;
                return Ok(None);
            }
            other => other?,
        };
        Ok(Some(SnapshotOf::<TypeConfig, SnapshotFile> {
            meta: meta_of(&meta)?,
            snapshot: file,
        }))
    }
}
