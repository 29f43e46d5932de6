//! openraft's storage conformance suite against our RocksDB log store and state machine.

use lumo_cluster::raft::{GroupKind, StateMachine, TypeConfig};
use lumo_storage::{Db, RaftLogStore, SmStore};
use openraft::StorageError;
use openraft::testing::log::{StoreBuilder, Suite};
use openraft::type_config::TypeConfigExt;
use tempfile::TempDir;

struct RocksBuilder;

impl StoreBuilder<TypeConfig, RaftLogStore<TypeConfig>, StateMachine, TempDir> for RocksBuilder {
    async fn build(
        &self,
    ) -> Result<(TempDir, RaftLogStore<TypeConfig>, StateMachine), StorageError<TypeConfig>> {
        let err = |e: &dyn std::fmt::Display| {
            StorageError::read(TypeConfig::err_from_string(e.to_string()))
        };
        let dir = TempDir::new().map_err(|e| err(&e))?;
        let db = Db::open(&dir.path().join("db")).map_err(|e| err(&e))?;
        let log = RaftLogStore::<TypeConfig>::new(db.clone(), 7);
        let sm = StateMachine::new(
            SmStore::new(db, 7),
            GroupKind::Shard,
            dir.path().join("snapshots"),
            std::sync::Arc::default(),
            std::sync::Arc::default(),
        )
        .map_err(|e| err(&e))?;
        Ok((dir, log, sm))
    }
}

#[test]
fn rocksdb_log_store_and_state_machine_pass_the_openraft_suite()
-> Result<(), StorageError<TypeConfig>> {
    TypeConfig::run(async { Suite::test_all(RocksBuilder).await })
}
