//! Where a data node's master key comes from: the operator (`LUMO_MASTER_KEY`), the key file
//! in the data dir, the node it joined through, or (first node of a new cluster) a fresh one.

use std::path::Path;

use crate::error::{ClusterError, Result};

use super::MasterKey;

/// The key file's name inside the data dir.
pub const MASTER_KEY_FILE: &str = "master.key";

/// The master key of this data node, written to `data_dir/master.key` (mode 0600) unless the
/// operator gave it.
pub fn resolve_master_key(
    data_dir: &Path,
    given: Option<MasterKey>,
    from_cluster: Option<&str>,
) -> Result<MasterKey> {
    if let Some(key) = given {
        return Ok(key);
    }
    let path = data_dir.join(MASTER_KEY_FILE);
    if let Ok(text) = std::fs::read_to_string(&path) {
        return MasterKey::parse(&text)
            .map_err(|e| ClusterError::internal(format!("{}: {e}", path.display())));
    }
    let key = match from_cluster {
        Some(text) => MasterKey::parse(text)
            .map_err(|e| ClusterError::internal(format!("master key from the cluster: {e}")))?,
        None => MasterKey::generate(),
    };
    write_private(&path, &key.encode())?;
    Ok(key)
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .map_err(|e| ClusterError::internal(format!("{}: {e}", path.display())))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| ClusterError::internal(format!("{}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_is_kept_and_reused() {
        let dir = tempfile::tempdir().expect("dir");
        let first = resolve_master_key(dir.path(), None, None).expect("first");
        let again = resolve_master_key(dir.path(), None, None).expect("again");
        assert_eq!(first.encode(), again.encode());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(MASTER_KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }

    #[test]
    fn a_joining_node_keeps_the_clusters_key() {
        let dir = tempfile::tempdir().expect("dir");
        let cluster = MasterKey::generate();
        let key = resolve_master_key(dir.path(), None, Some(&cluster.encode())).expect("key");
        assert_eq!(key.encode(), cluster.encode());
    }
}
