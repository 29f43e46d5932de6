//! State-machine data of one Raft group: point reads, bounded prefix scans, atomic write
//! batches (data plus `last_applied` together), and snapshot export/install of the group range.

use rocksdb::{Direction, IteratorMode, ReadOptions, WriteBatch};

use crate::GroupId;
use crate::db::{CF_SM_DATA, CF_SM_META, Db};
use crate::error::{StorageError, decode, encode};
use crate::keys::{group_prefix, prefix_end, sm_key, state_key};

/// All `(key suffix, value)` pairs of a group's state machine, plus its meta values.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct SnapshotPairs {
    pub data: Vec<(Vec<u8>, Vec<u8>)>,
    pub meta: Vec<(String, Vec<u8>)>,
}

/// Handle on one group's state-machine data.
#[derive(Clone)]
pub struct SmStore {
    db: Db,
    group: GroupId,
}

/// Writes that become visible together.
pub struct SmBatch {
    group: GroupId,
    batch: WriteBatch,
    data: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    meta: Vec<(String, Vec<u8>)>,
}

impl SmBatch {
    /// Puts `value` at `suffix` (the key after the group prefix).
    pub fn put(&mut self, suffix: &[u8], value: Vec<u8>) {
        self.data.push((sm_key(self.group, suffix), Some(value)));
    }

    /// Deletes the key `suffix`.
    pub fn delete(&mut self, suffix: &[u8]) {
        self.data.push((sm_key(self.group, suffix), None));
    }

    /// Records a meta value (e.g. `last_applied`) in the same atomic write.
    pub fn put_meta<T: serde::Serialize>(
        &mut self,
        name: &str,
        value: &T,
    ) -> Result<(), StorageError> {
        self.meta.push((name.to_string(), encode(value)?));
        Ok(())
    }

    /// True when the batch holds no data change.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The value this batch will write at `suffix`: `Some(Some(v))` put, `Some(None)` deleted,
    /// `None` untouched.
    pub fn pending(&self, suffix: &[u8]) -> Option<Option<&[u8]>> {
        let key = sm_key(self.group, suffix);
        self.data
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_deref())
    }
}

impl SmStore {
    /// The state machine data of `group`.
    pub fn new(db: Db, group: GroupId) -> Self {
        SmStore { db, group }
    }

    /// The node's database.
    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// Read options bounding an iterator to the group's whole data range.
    pub(crate) fn range_options(&self) -> ReadOptions {
        let prefix = group_prefix(self.group);
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(prefix.to_vec());
        options.set_iterate_upper_bound(self.range_end());
        options
    }

    /// The first key after the group's range.
    pub(crate) fn range_end(&self) -> Vec<u8> {
        let prefix = group_prefix(self.group);
        prefix_end(&prefix).unwrap_or_else(|| vec![0xff; prefix.len() + 1])
    }

    /// The group this store covers.
    pub fn group(&self) -> GroupId {
        self.group
    }

    /// An empty batch for this group.
    pub fn batch(&self) -> SmBatch {
        SmBatch {
            group: self.group,
            batch: WriteBatch::default(),
            data: Vec::new(),
            meta: Vec::new(),
        }
    }

    /// Applies `batch` atomically (unsynced: the Raft log that produced it is already durable).
    pub fn write(&self, batch: SmBatch) -> Result<(), StorageError> {
        let data_cf = self.db.cf(CF_SM_DATA)?;
        let meta_cf = self.db.cf(CF_SM_META)?;
        let SmBatch {
            mut batch,
            data,
            meta,
            ..
        } = batch;
        for (key, value) in data {
            match value {
                Some(v) => batch.put_cf(data_cf, key, v),
                None => batch.delete_cf(data_cf, key),
            }
        }
        for (name, value) in meta {
            batch.put_cf(meta_cf, state_key(self.group, &name), value);
        }
        self.db.raw().write(batch)?;
        Ok(())
    }

    /// Reads the value at `suffix`.
    pub fn get(&self, suffix: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        let cf = self.db.cf(CF_SM_DATA)?;
        Ok(self.db.raw().get_cf(cf, sm_key(self.group, suffix))?)
    }

    /// Reads a meta value.
    pub fn get_meta<T: serde::de::DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Option<T>, StorageError> {
        let cf = self.db.cf(CF_SM_META)?;
        match self.db.raw().get_cf(cf, state_key(self.group, name))? {
            Some(bytes) => Ok(Some(decode(&bytes)?)),
            None => Ok(None),
        }
    }

    /// Visits `(suffix, value)` for keys starting with `prefix`, from `start` (a suffix at or
    /// after `prefix`, or `prefix` itself) in order (or reverse order), until `visit` returns
    /// false.
    pub fn scan(
        &self,
        prefix: &[u8],
        start: Option<&[u8]>,
        reverse: bool,
        mut visit: impl FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StorageError> {
        let cf = self.db.cf(CF_SM_DATA)?;
        let lower = sm_key(self.group, prefix);
        let upper = prefix_end(&lower);
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(lower.clone());
        if let Some(upper) = &upper {
            options.set_iterate_upper_bound(upper.clone());
        }
        let start_key = start.map(|s| sm_key(self.group, s));
        let mode = match (&start_key, reverse) {
            (Some(key), false) => IteratorMode::From(key, Direction::Forward),
            (Some(key), true) => IteratorMode::From(key, Direction::Reverse),
            (None, false) => IteratorMode::Start,
            (None, true) => IteratorMode::End,
        };
        let skip = crate::keys::GROUP_LEN;
        for item in self.db.raw().iterator_cf_opt(cf, options, mode) {
            let (key, value) = item?;
            if !visit(&key[skip..], &value) {
                break;
            }
        }
        Ok(())
    }

    /// Every pair of the group, read from one consistent RocksDB snapshot.
    pub fn export(&self, meta_names: &[&str]) -> Result<SnapshotPairs, StorageError> {
        let data_cf = self.db.cf(CF_SM_DATA)?;
        let meta_cf = self.db.cf(CF_SM_META)?;
        let snapshot = self.db.raw().snapshot();
        let prefix = group_prefix(self.group);
        let options = self.range_options();
        let mut pairs = SnapshotPairs::default();
        for item in snapshot.iterator_cf_opt(data_cf, options, IteratorMode::Start) {
            let (key, value) = item?;
            pairs
                .data
                .push((key[prefix.len()..].to_vec(), value.to_vec()));
        }
        for name in meta_names {
            if let Some(value) = snapshot.get_cf(meta_cf, state_key(self.group, name))? {
                pairs.meta.push((name.to_string(), value));
            }
        }
        Ok(pairs)
    }

    /// Replaces the whole group range with `pairs`, atomically.
    pub fn install(&self, pairs: SnapshotPairs) -> Result<(), StorageError> {
        let data_cf = self.db.cf(CF_SM_DATA)?;
        let meta_cf = self.db.cf(CF_SM_META)?;
        let prefix = group_prefix(self.group);
        let mut batch = WriteBatch::default();
        batch.delete_range_cf(data_cf, prefix.to_vec(), self.range_end());
        for (suffix, value) in pairs.data {
            batch.put_cf(data_cf, sm_key(self.group, &suffix), value);
        }
        for (name, value) in pairs.meta {
            batch.put_cf(meta_cf, state_key(self.group, &name), value);
        }
        self.db.raw().write(batch)?;
        self.db.sync_wal()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_stays_inside_group_and_prefix() -> Result<(), StorageError> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let one = SmStore::new(db.clone(), 1);
        let two = SmStore::new(db.clone(), 2);
        let mut b = one.batch();
        b.put(b"a1", b"x".to_vec());
        b.put(b"a2", b"y".to_vec());
        b.put(b"b1", b"z".to_vec());
        one.write(b)?;
        let mut b = two.batch();
        b.put(b"a3", b"w".to_vec());
        two.write(b)?;
        let mut seen = Vec::new();
        one.scan(b"a", None, false, |k, v| {
            seen.push((k.to_vec(), v.to_vec()));
            true
        })?;
        assert_eq!(
            seen,
            vec![
                (b"a1".to_vec(), b"x".to_vec()),
                (b"a2".to_vec(), b"y".to_vec())
            ]
        );
        let mut reversed = Vec::new();
        one.scan(b"a", None, true, |k, _| {
            reversed.push(k.to_vec());
            true
        })?;
        assert_eq!(reversed, vec![b"a2".to_vec(), b"a1".to_vec()]);
        Ok(())
    }

    #[test]
    fn install_replaces_only_its_group() -> Result<(), StorageError> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(dir.path())?;
        let one = SmStore::new(db.clone(), 1);
        let two = SmStore::new(db.clone(), 2);
        let mut b = one.batch();
        b.put(b"old", b"1".to_vec());
        b.put_meta("last_applied", &7u64)?;
        one.write(b)?;
        let mut b = two.batch();
        b.put(b"keep", b"2".to_vec());
        two.write(b)?;
        let exported = one.export(&["last_applied"])?;
        assert_eq!(exported.meta.len(), 1);
        let fresh = SnapshotPairs {
            data: vec![(b"new".to_vec(), b"3".to_vec())],
            meta: vec![],
        };
        one.install(fresh)?;
        assert_eq!(one.get(b"old")?, None);
        assert_eq!(one.get(b"new")?, Some(b"3".to_vec()));
        assert_eq!(two.get(b"keep")?, Some(b"2".to_vec()));
        Ok(())
    }
}
