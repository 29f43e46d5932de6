//! The on-disk format version, kept in the database's default column family (so checkpoints
//! and backups carry it). A binary opens the formats it knows and refuses, with a message that
//! says what to do, a data dir written in a format it cannot read.

use rocksdb::DB;

use crate::error::StorageError;

/// The format this binary writes.
pub const FORMAT_VERSION: u32 = 1;
/// The oldest format this binary reads.
pub const OLDEST_READABLE: u32 = 1;

const KEY: &[u8] = b"lumo.format_version";

/// Checks the data dir's format, recording [`FORMAT_VERSION`] in a new database. A database
/// without the key was written before formats were versioned: that is format 1.
pub(crate) fn check_or_stamp(db: &DB) -> Result<u32, StorageError> {
    let found = match stored(db)? {
        Some(version) => version,
        None => {
            write(db, FORMAT_VERSION)?;
            FORMAT_VERSION
        }
    };
    if found > FORMAT_VERSION {
        return Err(StorageError::Format(format!(
            "the data dir is in on-disk format {found}, written by a newer lumod; this lumod \
             reads formats {OLDEST_READABLE} to {FORMAT_VERSION}: run the newer version (or \
             restore a backup taken in format {FORMAT_VERSION})"
        )));
    }
    if found < OLDEST_READABLE {
        return Err(StorageError::Format(format!(
            "the data dir is in on-disk format {found}, which this lumod no longer reads \
             (formats {OLDEST_READABLE} to {FORMAT_VERSION}): upgrade through a release that \
             reads both first"
        )));
    }
    Ok(found)
}

/// The recorded version (format 1 when none is recorded).
pub(crate) fn read(db: &DB) -> Result<u32, StorageError> {
    Ok(stored(db)?.unwrap_or(1))
}

fn stored(db: &DB) -> Result<Option<u32>, StorageError> {
    let Some(bytes) = db.get(KEY)? else {
        return Ok(None);
    };
    let bytes: [u8; 4] = bytes.as_slice().try_into().map_err(|_| {
        StorageError::Format(format!(
            "the format version record is {} bytes, not 4: the data dir is damaged",
            bytes.len()
        ))
    })?;
    Ok(Some(u32::from_be_bytes(bytes)))
}

/// Records `version` (upgrades after a migration; tests that need a foreign format).
pub(crate) fn write(db: &DB, version: u32) -> Result<(), StorageError> {
    let mut options = rocksdb::WriteOptions::default();
    options.set_sync(true);
    db.put_opt(KEY, version.to_be_bytes(), &options)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;

    #[test]
    fn a_new_database_is_stamped_and_a_newer_format_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("db");
        {
            let db = Db::open(&path).expect("opens");
            assert_eq!(db.format_version().expect("read"), FORMAT_VERSION);
            db.set_format_version(FORMAT_VERSION + 1).expect("written");
        }
        let refused = Db::open(&path).err().expect("refused");
        assert!(refused.to_string().contains("newer lumod"), "{refused}");
        let db = Db::open_any_format(&path).expect("tools still open it");
        assert_eq!(db.format_version().expect("read"), FORMAT_VERSION + 1);
        db.set_format_version(0).expect("written");
        drop(db);
        let old = Db::open(&path).err().expect("refused");
        assert!(old.to_string().contains("no longer reads"), "{old}");
    }
}
