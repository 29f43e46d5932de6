//! The snapshot data openraft passes between the state machine and the network: an open
//! snapshot file (`lumo_storage::snapshot_file` is its layout), never its contents in memory.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use lumo_storage::snapshot_file::{CHECKSUM_LEN, MetaPairs, RecordReader, stored_checksum};

/// An open snapshot file. The handle, not the path, is what is read: a newer snapshot renamed
/// over the path does not change a transfer or an install under way.
#[derive(Debug)]
pub struct SnapshotFile {
    pub file: File,
    /// Where the file was when it was opened.
    pub path: PathBuf,
    /// Length in bytes, checksum included.
    pub len: u64,
    /// SHA-256 of the bytes before the checksum (as the file's last bytes say).
    pub checksum: [u8; CHECKSUM_LEN],
    /// The whole file was read and matched its checksum since it was opened.
    pub verified: bool,
}

impl SnapshotFile {
    /// Opens the snapshot file at `path` and reads its meta values.
    pub fn open(path: &Path) -> io::Result<(MetaPairs, SnapshotFile)> {
        let mut file = File::open(path)?;
        let len = file.metadata()?.len();
        let checksum = stored_checksum(&mut file).map_err(io::Error::from)?;
        let (_, meta) =
            RecordReader::open(io::BufReader::new(file.try_clone()?)).map_err(io::Error::from)?;
        Ok((
            meta,
            SnapshotFile {
                file,
                path: path.to_path_buf(),
                len,
                checksum,
                verified: false,
            },
        ))
    }

    /// The name a transfer of this file goes by: its checksum in hex, so a receiver keeps
    /// what it already holds of the same snapshot.
    pub fn transfer_id(&self) -> String {
        hex::encode(self.checksum)
    }
}
