use std::path::Path;
use std::sync::Arc;

use rocksdb::{
    ColumnFamily, ColumnFamilyDescriptor, DB, DBCompressionType, Options, SliceTransform,
};

use crate::error::StorageError;
use crate::group_commit::{WalSyncStats, WalSyncer};
use crate::keys::GROUP_LEN;

pub(crate) const CF_RAFT_LOG: &str = "raft_log";
pub(crate) const CF_RAFT_STATE: &str = "raft_state";
pub(crate) const CF_SM_DATA: &str = "sm_data";
pub(crate) const CF_SM_META: &str = "sm_meta";

/// The node's RocksDB, shared by every Raft group hosted on the node.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

// Field order matters: `db` is released first, then dropping `syncer` joins the sync thread,
// which releases the last handle, so RocksDB closes before `Db` finishes dropping.
struct Inner {
    db: Arc<DB>,
    syncer: WalSyncer,
}

impl Db {
    /// Opens (or creates) the database under `path` with the four column families.
    /// Refuses a data dir in an on-disk format this binary does not read (see `format`).
    pub fn open(path: &Path) -> Result<Db, StorageError> {
        Self::open_with(path, true)
    }

    /// Opens the database whatever its on-disk format says: for tools that inspect, migrate
    /// or repair a data dir, never for serving it.
    pub fn open_any_format(path: &Path) -> Result<Db, StorageError> {
        Self::open_with(path, false)
    }

    fn open_with(path: &Path, check_format: bool) -> Result<Db, StorageError> {
        std::fs::create_dir_all(path)?;
        let mut options = Options::default();
        options.create_if_missing(true);
        options.create_missing_column_families(true);
        options.set_compression_type(DBCompressionType::Lz4);
        options.set_bottommost_compression_type(DBCompressionType::Zstd);
        let families = [CF_RAFT_LOG, CF_RAFT_STATE, CF_SM_DATA, CF_SM_META].map(|name| {
            let mut cf = Options::default();
            cf.set_compression_type(DBCompressionType::Lz4);
            if name == CF_RAFT_LOG || name == CF_SM_DATA {
                cf.set_prefix_extractor(SliceTransform::create_fixed_prefix(GROUP_LEN));
            }
            ColumnFamilyDescriptor::new(name, cf)
        });
        let db = Arc::new(DB::open_cf_descriptors(&options, path, families)?);
        if check_format {
            crate::format::check_or_stamp(&db).map_err(|e| match e {
                StorageError::Format(why) => {
                    StorageError::Format(format!("{}: {why}", path.display()))
                }
                other => other,
            })?;
        }
        let syncer = WalSyncer::start(db.clone());
        Ok(Db {
            inner: Arc::new(Inner { db, syncer }),
        })
    }

    pub(crate) fn raw(&self) -> &DB {
        &self.inner.db
    }

    pub(crate) fn cf(&self, name: &'static str) -> Result<&ColumnFamily, StorageError> {
        self.inner
            .db
            .cf_handle(name)
            .ok_or(StorageError::MissingColumnFamily(name))
    }

    pub(crate) fn syncer(&self) -> &WalSyncer {
        &self.inner.syncer
    }

    /// Counters of the group-commit thread (syncs done, appends covered).
    pub fn wal_sync_stats(&self) -> WalSyncStats {
        self.inner.syncer.stats()
    }

    /// Forces the WAL to disk now.
    pub fn sync_wal(&self) -> Result<(), StorageError> {
        self.inner.db.flush_wal(true)?;
        Ok(())
    }

    /// Groups that have Raft state (a vote) in this database: the groups this node hosts.
    pub fn hosted_groups(&self) -> Result<Vec<u64>, StorageError> {
        let cf = self.cf(CF_RAFT_STATE)?;
        let mut groups = Vec::new();
        for item in self.inner.db.iterator_cf(cf, rocksdb::IteratorMode::Start) {
            let (key, _) = item?;
            if key.len() > GROUP_LEN && &key[GROUP_LEN..] == b"vote" {
                let mut id = [0u8; GROUP_LEN];
                id.copy_from_slice(&key[..GROUP_LEN]);
                groups.push(u64::from_be_bytes(id));
            }
        }
        Ok(groups)
    }

    /// Deletes every key of `group` in every column family (the node left the group).
    pub fn drop_group(&self, group: crate::GroupId) -> Result<(), StorageError> {
        let start = crate::keys::group_prefix(group).to_vec();
        let end = crate::keys::prefix_end(&start).unwrap_or_else(|| vec![0xff; GROUP_LEN + 1]);
        let mut batch = rocksdb::WriteBatch::default();
        for name in [CF_RAFT_LOG, CF_RAFT_STATE, CF_SM_DATA, CF_SM_META] {
            batch.delete_range_cf(self.cf(name)?, start.clone(), end.clone());
        }
        self.inner.db.write(batch)?;
        self.sync_wal()
    }

    /// The data dir's on-disk format version.
    pub fn format_version(&self) -> Result<u32, StorageError> {
        crate::format::read(&self.inner.db)
    }

    /// Records another on-disk format version (after a migration; tests of the refusal).
    pub fn set_format_version(&self, version: u32) -> Result<(), StorageError> {
        crate::format::write(&self.inner.db, version)
    }

    /// Writes a consistent copy of the database (hard links where possible) into `dir`.
    pub fn checkpoint(&self, dir: &Path) -> Result<(), StorageError> {
        let checkpoint = rocksdb::checkpoint::Checkpoint::new(&self.inner.db)?;
        checkpoint.create_checkpoint(dir)?;
        Ok(())
    }
}
