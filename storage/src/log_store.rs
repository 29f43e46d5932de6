//! The Raft log and vote of one group, as openraft's `RaftLogStorage`.

use std::fmt::Debug;
use std::io;
use std::marker::PhantomData;
use std::ops::{Bound, RangeBounds};

use openraft::alias::{EntryOf, LogIdOf, VoteOf};
use openraft::entry::RaftEntry;
use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader, RaftTypeConfig};
use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch, WriteOptions};

use crate::GroupId;
use crate::db::{CF_RAFT_LOG, CF_RAFT_STATE, Db};
use crate::error::{StorageError, decode, encode};
use crate::keys::{group_prefix, log_index, log_key, prefix_end, state_key};

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const LAST_PURGED: &str = "last_purged";

/// RocksDB-backed log store of one Raft group.
pub struct RaftLogStore<C: RaftTypeConfig> {
    db: Db,
    group: GroupId,
    _config: PhantomData<C>,
}

impl<C: RaftTypeConfig> Clone for RaftLogStore<C> {
    fn clone(&self) -> Self {
        RaftLogStore {
            db: self.db.clone(),
            group: self.group,
            _config: PhantomData,
        }
    }
}

impl<C: RaftTypeConfig> RaftLogStore<C> {
    /// The log store of `group` inside `db`.
    pub fn new(db: Db, group: GroupId) -> Self {
        RaftLogStore {
            db,
            group,
            _config: PhantomData,
        }
    }

    fn read_state<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StorageError> {
        let cf = self.db.cf(CF_RAFT_STATE)?;
        match self.db.raw().get_cf(cf, state_key(self.group, name))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    fn write_state<T: serde::Serialize>(
        &self,
        name: &str,
        value: &T,
        sync: bool,
    ) -> Result<(), StorageError> {
        let cf = self.db.cf(CF_RAFT_STATE)?;
        let mut options = WriteOptions::default();
        options.set_sync(sync);
        if sync {
            crate::fail_points::before_sync();
        }
        self.db
            .raw()
            .put_cf_opt(cf, state_key(self.group, name), encode(value)?, &options)?;
        Ok(())
    }

    fn group_bounds(&self) -> ReadOptions {
        let mut options = ReadOptions::default();
        let prefix = group_prefix(self.group);
        options.set_iterate_lower_bound(prefix.to_vec());
        if let Some(end) = prefix_end(&prefix) {
            options.set_iterate_upper_bound(end);
        }
        options
    }

    fn read_range(
        &self,
        start: u64,
        end_inclusive: Option<u64>,
    ) -> Result<Vec<EntryOf<C>>, StorageError> {
        let cf = self.db.cf(CF_RAFT_LOG)?;
        let mut options = self.group_bounds();
        if let Some(end) = end_inclusive.and_then(|last| last.checked_add(1)) {
            options.set_iterate_upper_bound(log_key(self.group, end).to_vec());
        }
        let start_key = log_key(self.group, start);
        let iter = self.db.raw().iterator_cf_opt(
            cf,
            options,
            IteratorMode::From(&start_key, Direction::Forward),
        );
        let mut entries = Vec::new();
        for item in iter {
            let (key, value) = item?;
            let entry: EntryOf<C> = decode(&value)?;
            debug_assert_eq!(log_index(&key), Some(entry.index()));
            entries.push(entry);
        }
        Ok(entries)
    }

    fn last_entry(&self) -> Result<Option<EntryOf<C>>, StorageError> {
        let cf = self.db.cf(CF_RAFT_LOG)?;
        let mut iter = self
            .db
            .raw()
            .iterator_cf_opt(cf, self.group_bounds(), IteratorMode::End);
        match iter.next() {
            Some(item) => {
                let (_, value) = item?;
                Ok(Some(decode(&value)?))
            }
            None => Ok(None),
        }
    }

    fn delete_from(&self, first: u64) -> Result<(), StorageError> {
        let cf = self.db.cf(CF_RAFT_LOG)?;
        let end = prefix_end(&group_prefix(self.group))
            .unwrap_or_else(|| log_key(self.group, u64::MAX).to_vec());
        self.db
            .raw()
            .delete_range_cf(cf, log_key(self.group, first).to_vec(), end)?;
        Ok(())
    }
}

fn range_start<RB: RangeBounds<u64>>(range: &RB) -> u64 {
    match range.start_bound() {
        Bound::Included(x) => *x,
        Bound::Excluded(x) => x.saturating_add(1),
        Bound::Unbounded => 0,
    }
}

fn range_last<RB: RangeBounds<u64>>(range: &RB) -> Option<Option<u64>> {
    match range.end_bound() {
        Bound::Included(x) => Some(Some(*x)),
        Bound::Excluded(0) => None,
        Bound::Excluded(x) => Some(Some(x - 1)),
        Bound::Unbounded => Some(None),
    }
}

impl<C: RaftTypeConfig> RaftLogReader<C> for RaftLogStore<C> {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<C::Entry>, io::Error> {
        let Some(last) = range_last(&range) else {
            return Ok(Vec::new());
        };
        let start = range_start(&range);
        if last.is_some_and(|l| l < start) {
            return Ok(Vec::new());
        }
        Ok(self.read_range(start, last)?)
    }

    async fn read_vote(&mut self) -> Result<Option<VoteOf<C>>, io::Error> {
        Ok(self.read_state(VOTE)?)
    }
}

impl<C: RaftTypeConfig> RaftLogStorage<C> for RaftLogStore<C> {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<C>, io::Error> {
        let last_purged_log_id: Option<LogIdOf<C>> = self.read_state(LAST_PURGED)?;
        let last_log_id = match self.last_entry()? {
            Some(entry) => Some(entry.log_id()),
            None => last_purged_log_id.clone(),
        };
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &VoteOf<C>) -> Result<(), io::Error> {
        Ok(self.write_state(VOTE, vote, true)?)
    }

    async fn save_committed(&mut self, committed: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        Ok(self.write_state(COMMITTED, &committed, false)?)
    }

    async fn read_committed(&mut self) -> Result<Option<LogIdOf<C>>, io::Error> {
        Ok(self.read_state::<Option<LogIdOf<C>>>(COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: IOFlushed<C>) -> Result<(), io::Error>
    where
        I: IntoIterator<Item = C::Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let cf = self.db.cf(CF_RAFT_LOG)?;
        let mut batch = WriteBatch::default();
        for entry in entries {
            batch.put_cf(cf, log_key(self.group, entry.index()), encode(&entry)?);
        }
        // Written now (so the entries are readable when this returns), made durable by the
        // group-commit thread, which fires the callback after its fsync.
        self.db.raw().write(batch).map_err(StorageError::from)?;
        self.db
            .syncer()
            .after_sync(Box::new(move |result| callback.io_completed(result)));
        Ok(())
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogIdOf<C>>) -> Result<(), io::Error> {
        let first = last_log_id.map_or(0, |id| id.index() + 1);
        Ok(self.delete_from(first)?)
    }

    async fn purge(&mut self, log_id: LogIdOf<C>) -> Result<(), io::Error> {
        self.write_state(LAST_PURGED, &log_id, false)?;
        let cf = self.db.cf(CF_RAFT_LOG)?;
        let end = log_id.index().saturating_add(1);
        self.db
            .raw()
            .delete_range_cf(cf, log_key(self.group, 0), log_key(self.group, end))
            .map_err(StorageError::from)?;
        Ok(())
    }
}
