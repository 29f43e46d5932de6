//! The only code in Lumo that touches RocksDB.
//!
//! One RocksDB per node holds every Raft group the node hosts. Four column families (DESIGN.md
//! section 6): `raft_log` and `raft_state` for the Raft log and vote of each group, `sm_data` and
//! `sm_meta` for each group's state machine. Every key starts with the group id (big-endian), so
//! a group's data is one contiguous range; state-machine keys continue with the org id.

mod db;
mod error;
pub mod fail_points;
mod format;
mod group_commit;
pub mod keys;
mod log_store;
mod sm_store;
pub mod snapshot_file;

pub use db::Db;
pub use error::StorageError;
pub use format::{FORMAT_VERSION, OLDEST_READABLE};
pub use group_commit::WalSyncStats;
pub use log_store::RaftLogStore;
pub use sm_store::{SmBatch, SmStore, SnapshotPairs};

/// The id of one Raft group (0 is the meta group, shards start at 1).
pub type GroupId = u64;
