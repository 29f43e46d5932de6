//! A group's snapshot as a file, written and installed in bounded pieces.
//!
//! Layout: the magic `LUMOSNP1`; one record with the meta values; data records (each a batch
//! of pairs of about [`RECORD_BYTES`], in key order); an empty record; the SHA-256 of every byte
//! before it. A record is a little-endian `u32` length and that many bincode bytes. Export
//! reads one RocksDB snapshot through an iterator; install writes one record per write batch.
//! Neither side ever holds more than a record in memory, whatever the group's size.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use rocksdb::{IteratorMode, WriteBatch};
use sha2::{Digest, Sha256};

use crate::db::{CF_SM_DATA, CF_SM_META};
use crate::error::{StorageError, decode, encode};
use crate::keys::{group_prefix, sm_key, state_key};
use crate::sm_store::SmStore;

/// The first bytes of every snapshot file (format 1).
pub const SNAPSHOT_MAGIC: &[u8; 8] = b"LUMOSNP1";
/// About how many bytes of pairs one data record holds.
pub const RECORD_BYTES: usize = 256 << 10;
/// The largest record a reader accepts (one pair may exceed [`RECORD_BYTES`]).
const MAX_RECORD: usize = 256 << 20;
/// Bytes of the trailing checksum.
pub const CHECKSUM_LEN: usize = 32;

/// The meta values a snapshot carries, by name.
pub type MetaPairs = Vec<(String, Vec<u8>)>;
/// Data pairs: key suffix (after the group prefix) and value.
pub type DataPairs = Vec<(Vec<u8>, Vec<u8>)>;

/// What writing a snapshot file produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotSummary {
    /// The file's whole length, checksum included.
    pub len: u64,
    /// SHA-256 of the file's bytes before the checksum.
    pub checksum: [u8; CHECKSUM_LEN],
    pub meta: MetaPairs,
    /// Data pairs written.
    pub pairs: u64,
}

fn corrupt(message: impl Into<String>) -> StorageError {
    StorageError::Decode(message.into())
}

/// Fills `buf`; a file that ends first is truncated.
fn read_whole(input: &mut impl Read, buf: &mut [u8]) -> Result<(), StorageError> {
    input.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            corrupt("snapshot file is truncated")
        } else {
            StorageError::Io(e)
        }
    })
}

/// Writes records while hashing them.
struct RecordWriter<W: Write> {
    out: W,
    hash: Sha256,
    len: u64,
}

impl<W: Write> RecordWriter<W> {
    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.hash.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }

    fn record(&mut self, body: &[u8]) -> Result<(), StorageError> {
        let len = u32::try_from(body.len()).map_err(|_| corrupt("snapshot record over 4 GiB"))?;
        self.raw(&len.to_le_bytes())?;
        self.raw(body)?;
        Ok(())
    }

    fn finish(mut self) -> Result<(W, u64, [u8; CHECKSUM_LEN]), StorageError> {
        self.raw(&0u32.to_le_bytes())?;
        let checksum: [u8; CHECKSUM_LEN] = self.hash.finalize().into();
        self.out.write_all(&checksum)?;
        Ok((self.out, self.len + CHECKSUM_LEN as u64, checksum))
    }
}

/// Reads records while hashing them.
pub struct RecordReader<R: Read> {
    input: R,
    hash: Sha256,
}

impl<R: Read> RecordReader<R> {
    /// Starts reading a snapshot file: checks the magic and reads the meta record.
    pub fn open(input: R) -> Result<(Self, MetaPairs), StorageError> {
        let mut reader = RecordReader {
            input,
            hash: Sha256::new(),
        };
        let mut magic = [0u8; 8];
        reader.exact(&mut magic)?;
        if &magic != SNAPSHOT_MAGIC {
            return Err(corrupt("not a Lumo snapshot file (wrong magic)"));
        }
        let meta = match reader.next_record()? {
            Some(body) => decode(&body)?,
            None => return Err(corrupt("snapshot file without its meta record")),
        };
        Ok((reader, meta))
    }

    fn exact(&mut self, buf: &mut [u8]) -> Result<(), StorageError> {
        read_whole(&mut self.input, buf)?;
        self.hash.update(&*buf);
        Ok(())
    }

    /// The next record's body; `None` at the end marker.
    fn next_record(&mut self) -> Result<Option<Vec<u8>>, StorageError> {
        let mut len = [0u8; 4];
        self.exact(&mut len)?;
        let len = u32::from_le_bytes(len) as usize;
        if len == 0 {
            return Ok(None);
        }
        if len > MAX_RECORD {
            return Err(corrupt(format!("snapshot record of {len} bytes")));
        }
        let mut body = vec![0u8; len];
        self.exact(&mut body)?;
        Ok(Some(body))
    }

    /// The next batch of data pairs; `None` once the end marker and checksum were read and the
    /// checksum matched.
    pub fn next_pairs(&mut self) -> Result<Option<DataPairs>, StorageError> {
        match self.next_record()? {
            Some(body) => Ok(Some(decode(&body)?)),
            None => {
                let computed: [u8; CHECKSUM_LEN] = self.hash.clone().finalize().into();
                let mut stored = [0u8; CHECKSUM_LEN];
                read_whole(&mut self.input, &mut stored)?;
                if computed != stored {
                    return Err(corrupt(
                        "snapshot file checksum does not match its contents",
                    ));
                }
                Ok(None)
            }
        }
    }
}

/// The checksum a snapshot file carries at its end (not verified: see [`verify_file`]).
pub fn stored_checksum(file: &mut File) -> Result<[u8; CHECKSUM_LEN], StorageError> {
    // Magic, a meta record's length, the end marker and the checksum at the least.
    let shortest = (SNAPSHOT_MAGIC.len() + 4 + 4 + CHECKSUM_LEN) as u64;
    if file.metadata()?.len() < shortest {
        return Err(corrupt("snapshot file is truncated"));
    }
    let mut checksum = [0u8; CHECKSUM_LEN];
    file.seek(SeekFrom::End(-(CHECKSUM_LEN as i64)))?;
    file.read_exact(&mut checksum)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(checksum)
}

/// Reads the whole file at `path` and checks its structure and checksum; answers the checksum.
pub fn verify_file(path: &Path) -> Result<[u8; CHECKSUM_LEN], StorageError> {
    let mut file = File::open(path)?;
    let stored = stored_checksum(&mut file)?;
    let (mut reader, _) = RecordReader::open(BufReader::new(file))?;
    while reader.next_pairs()?.is_some() {}
    Ok(stored)
}

/// A replica's range summed up: replicas that applied the same entries have equal digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeDigest {
    /// The raw value of the meta named when asked (e.g. `last_applied`), read with the data.
    pub meta: Option<Vec<u8>>,
    pub pairs: u64,
    /// SHA-256 over every key (after the group prefix) and value, with their lengths, in key
    /// order.
    pub sha256: [u8; CHECKSUM_LEN],
}

impl SmStore {
    /// The digest of the group's data and one meta value, read from one RocksDB snapshot.
    pub fn digest(&self, meta_name: &str) -> Result<RangeDigest, StorageError> {
        let db = self.db();
        let data_cf = db.cf(CF_SM_DATA)?;
        let meta_cf = db.cf(CF_SM_META)?;
        let snapshot = db.raw().snapshot();
        let meta = snapshot.get_cf(meta_cf, state_key(self.group(), meta_name))?;
        let prefix = group_prefix(self.group());
        let options = self.range_options();
        let mut hash = Sha256::new();
        let mut pairs = 0u64;
        for item in snapshot.iterator_cf_opt(data_cf, options, IteratorMode::Start) {
            let (key, value) = item?;
            let suffix = &key[prefix.len()..];
            hash.update((suffix.len() as u64).to_le_bytes());
            hash.update(suffix);
            hash.update((value.len() as u64).to_le_bytes());
            hash.update(&value);
            pairs += 1;
        }
        Ok(RangeDigest {
            meta,
            pairs,
            sha256: hash.finalize().into(),
        })
    }

    /// Writes every pair of the group and the named meta values, read from one consistent
    /// RocksDB snapshot, to a new file at `path` (synced before it returns).
    pub fn export_to_file(
        &self,
        meta_names: &[&str],
        path: &Path,
    ) -> Result<SnapshotSummary, StorageError> {
        let db = self.db();
        let data_cf = db.cf(CF_SM_DATA)?;
        let meta_cf = db.cf(CF_SM_META)?;
        let snapshot = db.raw().snapshot();
        let mut meta = Vec::new();
        for name in meta_names {
            if let Some(value) = snapshot.get_cf(meta_cf, state_key(self.group(), name))? {
                meta.push((name.to_string(), value));
            }
        }
        let mut out = RecordWriter {
            out: BufWriter::new(File::create(path)?),
            hash: Sha256::new(),
            len: 0,
        };
        out.raw(SNAPSHOT_MAGIC)?;
        out.record(&encode(&meta)?)?;
        let prefix = group_prefix(self.group());
        let options = self.range_options();
        let mut batch: DataPairs = Vec::new();
        let mut batch_bytes = 0usize;
        let mut pairs = 0u64;
        for item in snapshot.iterator_cf_opt(data_cf, options, IteratorMode::Start) {
            let (key, value) = item?;
            batch_bytes += key.len() + value.len();
            batch.push((key[prefix.len()..].to_vec(), value.to_vec()));
            pairs += 1;
            if batch_bytes >= RECORD_BYTES {
                out.record(&encode(&batch)?)?;
                batch.clear();
                batch_bytes = 0;
            }
        }
        if !batch.is_empty() {
            out.record(&encode(&batch)?)?;
        }
        let (writer, len, checksum) = out.finish()?;
        let file = writer
            .into_inner()
            .map_err(|e| StorageError::Io(e.into_error()))?;
        file.sync_all()?;
        Ok(SnapshotSummary {
            len,
            checksum,
            meta,
            pairs,
        })
    }

    /// Replaces the group's range with a snapshot file's contents, one write batch per record.
    ///
    /// The first batch deletes the range and the meta values named in `clear_meta`; the last
    /// writes the snapshot's meta values (so `last_applied` names the snapshot only once all
    /// its data is in). A crash in between leaves a replica without `last_applied`, which
    /// installs its current snapshot again when it starts. Answers the meta values written.
    pub fn install_from_file(
        &self,
        file: File,
        clear_meta: &[&str],
    ) -> Result<MetaPairs, StorageError> {
        let db = self.db();
        let data_cf = db.cf(CF_SM_DATA)?;
        let meta_cf = db.cf(CF_SM_META)?;
        let (mut reader, meta) = RecordReader::open(BufReader::new(file))?;
        let prefix = group_prefix(self.group());
        let mut clear = WriteBatch::default();
        clear.delete_range_cf(data_cf, prefix.to_vec(), self.range_end());
        for name in clear_meta {
            clear.delete_cf(meta_cf, state_key(self.group(), name));
        }
        db.raw().write(clear)?;
        while let Some(pairs) = reader.next_pairs()? {
            let mut batch = WriteBatch::default();
            for (suffix, value) in pairs {
                batch.put_cf(data_cf, sm_key(self.group(), &suffix), value);
            }
            db.raw().write(batch)?;
        }
        let mut last = WriteBatch::default();
        for (name, value) in &meta {
            last.put_cf(meta_cf, state_key(self.group(), name), value);
        }
        db.raw().write(last)?;
        db.sync_wal()?;
        Ok(meta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Db;

    fn filled(db: &Db, group: u64, pairs: usize) -> Result<SmStore, StorageError> {
        let store = SmStore::new(db.clone(), group);
        let mut batch = store.batch();
        for i in 0..pairs {
            batch.put(format!("key-{i:06}").as_bytes(), vec![b'v'; 1000]);
        }
        batch.put_meta("last_applied", &42u64)?;
        store.write(batch)?;
        Ok(store)
    }

    #[test]
    fn a_group_larger_than_many_records_round_trips_through_a_file() -> Result<(), StorageError> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(&dir.path().join("db"))?;
        // About 1.2 MB of pairs: five records or more.
        let source = filled(&db, 1, 1200)?;
        let path = dir.path().join("one.snap");
        let summary = source.export_to_file(&["last_applied", "absent"], &path)?;
        assert_eq!(summary.pairs, 1200);
        assert_eq!(summary.meta.len(), 1);
        assert_eq!(std::fs::metadata(&path)?.len(), summary.len);
        assert_eq!(verify_file(&path)?, summary.checksum);

        let target = SmStore::new(db.clone(), 2);
        let mut stale = target.batch();
        stale.put(b"stale", b"x".to_vec());
        target.write(stale)?;
        let meta = target.install_from_file(File::open(&path)?, &["last_applied"])?;
        assert_eq!(meta, summary.meta);
        assert_eq!(target.get(b"stale")?, None);
        assert_eq!(target.export(&["last_applied"])?.meta, summary.meta);
        let (copied, original) = (target.export(&[])?, source.export(&[])?);
        assert_eq!(copied.data, original.data);
        let (copied, original) = (
            target.digest("last_applied")?,
            source.digest("last_applied")?,
        );
        assert_eq!(copied, original);
        assert_eq!(copied.pairs, 1200);
        Ok(())
    }

    #[test]
    fn a_damaged_or_truncated_file_is_refused() -> Result<(), StorageError> {
        let dir = tempfile::tempdir()?;
        let db = Db::open(&dir.path().join("db"))?;
        let source = filled(&db, 1, 600)?;
        let path = dir.path().join("one.snap");
        let summary = source.export_to_file(&["last_applied"], &path)?;
        let mut bytes = std::fs::read(&path)?;
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x55;
        let damaged = dir.path().join("damaged.snap");
        std::fs::write(&damaged, &bytes)?;
        assert!(matches!(
            verify_file(&damaged),
            Err(StorageError::Decode(_))
        ));
        let truncated = dir.path().join("truncated.snap");
        std::fs::write(&truncated, &bytes[..middle])?;
        assert!(verify_file(&truncated).is_err());
        let tiny = dir.path().join("tiny.snap");
        std::fs::write(&tiny, b"LUMOSNP1")?;
        assert!(matches!(verify_file(&tiny), Err(StorageError::Decode(_))));
        assert_eq!(verify_file(&path)?, summary.checksum);
        Ok(())
    }
}
