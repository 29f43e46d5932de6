use std::io;

/// Failures of the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("rocksdb: {0}")]
    Rocks(#[from] rocksdb::Error),
    #[error("encoding: {0}")]
    Encode(String),
    #[error("decoding: {0}")]
    Decode(String),
    #[error("io: {0}")]
    Io(#[from] io::Error),
    #[error("missing column family {0}")]
    MissingColumnFamily(&'static str),
    /// The data dir is in an on-disk format this binary does not read.
    #[error("{0}")]
    Format(String),
}

impl From<StorageError> for io::Error {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Io(e) => e,
            // Bytes that are not what they should be (a damaged or foreign file).
            StorageError::Decode(_) => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            other => io::Error::other(other.to_string()),
        }
    }
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, StorageError> {
    bincode::serde::encode_to_vec(value, bincode::config::standard())
        .map_err(|e| StorageError::Encode(e.to_string()))
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, StorageError> {
    bincode::serde::decode_from_slice(bytes, bincode::config::standard())
        .map(|(v, _)| v)
        .map_err(|e| StorageError::Decode(e.to_string()))
}
