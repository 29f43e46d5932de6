//! Shipping a snapshot file to a follower in bounded chunks, resumable.
//!
//! The sender asks what the follower already holds of this snapshot (a transfer is named by
//! the file's checksum), then sends chunks from there; every answer says how many bytes the
//! follower now holds, so a lost answer or a broken connection costs at most one chunk: the
//! next try starts where the follower is. What the follower holds survives a failed transfer
//! (and its own restart) as a `.part` file; a transfer of another snapshot replaces it. Once
//! all bytes are there, the follower checks length and checksum before anything is installed.

use std::future::Future;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

use super::snapshot_file::SnapshotFile;

/// Failed chunk sends in a row before a transfer gives up (openraft retries it later, and it
/// resumes where the follower is).
const MAX_FAILURES: u32 = 5;

/// What a sender needs from the link to the follower: hand over `data` to be written at
/// `offset` (nothing, to only ask) and learn how many bytes the follower holds.
pub trait ChunkLink {
    type Error;
    fn send(
        &mut self,
        transfer: &str,
        len: u64,
        offset: u64,
        data: Vec<u8>,
    ) -> impl Future<Output = Result<u64, Self::Error>> + Send;
}

/// Why a transfer stopped.
#[derive(Debug)]
pub enum PushError<E> {
    Link(E),
    Io(io::Error),
    /// The follower claims more bytes than the snapshot has.
    Confused(u64),
}

fn backoff(failures: u32) -> Duration {
    Duration::from_millis(50u64 << failures.min(5))
}

/// Sends `snapshot` through `link` in chunks of `chunk` bytes, starting where the follower
/// is; answers how many bytes were sent (less than the file's length after a resume).
pub async fn push<L: ChunkLink>(
    snapshot: &SnapshotFile,
    chunk: usize,
    link: &mut L,
) -> Result<u64, PushError<L::Error>> {
    let transfer = snapshot.transfer_id();
    let chunk = chunk.max(1);
    let mut failures = 0;
    let mut sent = 0u64;
    let mut offset = None;
    loop {
        let data = match offset {
            None => Vec::new(),
            Some(at) if at == snapshot.len => return Ok(sent),
            Some(at) if at > snapshot.len => return Err(PushError::Confused(at)),
            Some(at) => read_chunk(snapshot, at, chunk)
                .await
                .map_err(PushError::Io)?,
        };
        let len = data.len() as u64;
        match link
            .send(&transfer, snapshot.len, offset.unwrap_or(0), data)
            .await
        {
            Ok(held) => {
                failures = 0;
                sent += len;
                offset = Some(held);
            }
            Err(e) => {
                failures += 1;
                if failures >= MAX_FAILURES {
                    return Err(PushError::Link(e));
                }
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

async fn read_chunk(snapshot: &SnapshotFile, at: u64, chunk: usize) -> io::Result<Vec<u8>> {
    let file = snapshot.file.try_clone()?;
    let want = chunk.min((snapshot.len - at) as usize);
    tokio::task::spawn_blocking(move || {
        let mut data = vec![0u8; want];
        file.read_exact_at(&mut data, at)?;
        Ok(data)
    })
    .await
    .map_err(io::Error::other)?
}

/// The part of a snapshot a follower holds so far.
struct Partial {
    transfer: String,
    file: tokio::fs::File,
    held: u64,
}

/// Where a follower's replica of one group receives snapshots.
pub struct SnapshotInbox {
    dir: PathBuf,
    partial: Mutex<Option<Partial>>,
}

fn part_path(dir: &Path, transfer: &str) -> PathBuf {
    dir.join(format!("{transfer}.part"))
}

fn valid_transfer(transfer: &str) -> io::Result<()> {
    if transfer.len() == 64 && transfer.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "a snapshot transfer is named by a hex SHA-256",
        ))
    }
}

impl SnapshotInbox {
    /// An inbox writing into `dir`.
    pub fn new(dir: PathBuf) -> Self {
        SnapshotInbox {
            dir,
            partial: Mutex::new(None),
        }
    }

    /// The folder received snapshots are written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Takes `data` if it continues what is held of `transfer` (a file of `len` bytes);
    /// answers the bytes held.
    pub async fn receive(
        &self,
        transfer: &str,
        len: u64,
        offset: u64,
        data: &[u8],
    ) -> io::Result<u64> {
        valid_transfer(transfer)?;
        let mut slot = self.partial.lock().await;
        if slot.as_ref().is_none_or(|p| p.transfer != transfer) {
            *slot = Some(self.resume_or_start(transfer, len).await?);
        }
        let partial = slot
            .as_mut()
            .ok_or_else(|| io::Error::other("snapshot partial vanished"))?;
        if offset == partial.held && !data.is_empty() {
            // Flushed: tokio writes in the background otherwise, and `held` must be on file.
            let written = match partial.file.write_all(data).await {
                Ok(()) => partial.file.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                // What reached the file is unknown: the next chunk learns it from the file.
                *slot = None;
                return Err(e);
            }
            partial.held += data.len() as u64;
        }
        Ok(partial.held)
    }

    /// Opens what an earlier transfer of the same snapshot left, or starts afresh; drops the
    /// parts of any other snapshot.
    async fn resume_or_start(&self, transfer: &str, len: u64) -> io::Result<Partial> {
        tokio::fs::create_dir_all(&self.dir).await?;
        let path = part_path(&self.dir, transfer);
        let mut entries = tokio::fs::read_dir(&self.dir).await?;
        while let Some(entry) = entries.next_entry().await? {
            let other = entry.path();
            let stale = other
                .extension()
                .is_some_and(|e| e == "part" || e == "ready");
            let own = other.file_stem().is_some_and(|stem| stem == transfer);
            if stale && !own {
                // An install still waiting on a `.ready` file copies it from its open handle.
                tokio::fs::remove_file(&other).await?;
            }
        }
        if tokio::fs::metadata(&path)
            .await
            .is_ok_and(|m| m.len() > len)
        {
            tokio::fs::remove_file(&path).await?;
        }
        let file = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .await?;
        let held = file.metadata().await?.len();
        Ok(Partial {
            transfer: transfer.to_string(),
            file,
            held,
        })
    }

    /// The received snapshot once all `len` bytes are there and its checksum matches
    /// `checksum`; the part is handed over (a bad one is deleted).
    pub async fn complete(
        &self,
        transfer: &str,
        len: u64,
        checksum: [u8; 32],
    ) -> io::Result<(lumo_storage::snapshot_file::MetaPairs, SnapshotFile)> {
        valid_transfer(transfer)?;
        let mut slot = self.partial.lock().await;
        if let Some(partial) = slot.take() {
            partial.file.sync_all().await?;
        }
        let path = part_path(&self.dir, transfer);
        let ready = self.dir.join(format!("{transfer}.ready"));
        let checked = path.clone();
        let ready_path = ready.clone();
        let verified = tokio::task::spawn_blocking(move || {
            if !checked.exists() && ready_path.exists() {
                // The leader asks again for a snapshot already checked (its call timed out).
                std::fs::rename(&ready_path, &checked)?;
            }
            std::fs::File::open(&checked)?.sync_all()?;
            let held = std::fs::metadata(&checked)?.len();
            if held != len {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("snapshot has {held} of {len} bytes"),
                ));
            }
            let found =
                lumo_storage::snapshot_file::verify_file(&checked).map_err(io::Error::from)?;
            if found != checksum {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "snapshot checksum differs from the sender's",
                ));
            }
            // Out of the way of the next transfer's clean-up while it waits to be installed.
            std::fs::rename(&checked, &ready_path)?;
            let (meta, mut file) = SnapshotFile::open(&ready_path)?;
            file.verified = true;
            Ok((meta, file))
        })
        .await
        .map_err(io::Error::other)?;
        if verified.is_err() {
            // Received wrong: the next transfer starts from nothing.
            let _ = tokio::fs::remove_file(&path).await;
        }
        verified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lumo_storage::{Db, SmStore};
    use std::sync::Arc;

    /// A link into an inbox that breaks where told: `drop_before` fails a send before the
    /// follower sees it, `drop_after` after it wrote (the answer is lost), `dead_after` fails
    /// every send from that many calls on.
    struct Flaky {
        inbox: Arc<SnapshotInbox>,
        calls: usize,
        drop_before: Vec<usize>,
        drop_after: Vec<usize>,
        dead_after: Option<usize>,
    }

    impl ChunkLink for Flaky {
        type Error = String;
        fn send(
            &mut self,
            transfer: &str,
            len: u64,
            offset: u64,
            data: Vec<u8>,
        ) -> impl Future<Output = Result<u64, String>> + Send {
            self.calls += 1;
            let call = self.calls;
            let dead = self.dead_after.is_some_and(|d| call > d);
            let before = dead || self.drop_before.contains(&call);
            let after = self.drop_after.contains(&call);
            let inbox = self.inbox.clone();
            let transfer = transfer.to_string();
            async move {
                if before {
                    return Err(format!("connection cut before call {call}"));
                }
                let held = inbox
                    .receive(&transfer, len, offset, &data)
                    .await
                    .map_err(|e| e.to_string())?;
                if after {
                    return Err(format!("answer to call {call} lost"));
                }
                Ok(held)
            }
        }
    }

    fn snapshot(dir: &Path) -> anyhow::Result<SnapshotFile> {
        let db = Db::open(&dir.join("db"))?;
        let store = SmStore::new(db, 3);
        let mut batch = store.batch();
        for i in 0..2000 {
            batch.put(format!("user-{i:05}").as_bytes(), vec![b'u'; 500]);
        }
        batch.put_meta("last_applied", &9u64)?;
        store.write(batch)?;
        let path = dir.join("leader.snap");
        store.export_to_file(&["last_applied"], &path)?;
        Ok(SnapshotFile::open(&path)?.1)
    }

    fn flaky(inbox: &Arc<SnapshotInbox>) -> Flaky {
        Flaky {
            inbox: inbox.clone(),
            calls: 0,
            drop_before: vec![],
            drop_after: vec![],
            dead_after: None,
        }
    }

    #[tokio::test]
    async fn a_transfer_survives_lost_chunks_and_resumes_after_a_cut_connection()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let source = snapshot(dir.path())?;
        let chunk = 16 << 10;
        assert!(
            source.len > 40 * chunk as u64,
            "many chunks: {}",
            source.len
        );
        let inbox = Arc::new(SnapshotInbox::new(dir.path().join("inbox")));

        // First attempt: a lost send and a lost answer are retried, then the connection dies
        // for good in the middle.
        let mut first = flaky(&inbox);
        first.drop_before = vec![3];
        first.drop_after = vec![6];
        first.dead_after = Some(20);
        assert!(matches!(
            push(&source, chunk, &mut first).await,
            Err(PushError::Link(_))
        ));
        let held = inbox
            .receive(&source.transfer_id(), source.len, 0, &[])
            .await?;
        assert!(held > 0 && held < source.len, "held {held}");

        // The next attempt starts where the follower is.
        let mut second = flaky(&inbox);
        let sent = push(&source, chunk, &mut second)
            .await
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        assert_eq!(sent, source.len - held);
        let (meta, received) = inbox
            .complete(&source.transfer_id(), source.len, source.checksum)
            .await?;
        assert_eq!(received.checksum, source.checksum);
        assert_eq!(meta.len(), 1);
        assert_eq!(std::fs::read(&received.path)?, std::fs::read(&source.path)?);
        Ok(())
    }

    #[tokio::test]
    async fn a_wrong_or_short_snapshot_is_refused_and_forgotten() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let source = snapshot(dir.path())?;
        let inbox = SnapshotInbox::new(dir.path().join("inbox"));
        let transfer = source.transfer_id();
        let bytes = std::fs::read(&source.path)?;
        let half = bytes.len() / 2;
        assert_eq!(
            inbox
                .receive(&transfer, source.len, 0, &bytes[..half])
                .await?,
            half as u64
        );
        // Out of order: not written.
        assert_eq!(
            inbox.receive(&transfer, source.len, 10, b"xx").await?,
            half as u64
        );
        assert!(
            inbox
                .complete(&transfer, source.len, source.checksum)
                .await
                .is_err()
        );
        // The short part was deleted: the next transfer starts from nothing.
        assert_eq!(inbox.receive(&transfer, source.len, 0, &[]).await?, 0);
        let mut damaged = bytes.clone();
        damaged[half] ^= 1;
        inbox.receive(&transfer, source.len, 0, &damaged).await?;
        assert!(
            inbox
                .complete(&transfer, source.len, source.checksum)
                .await
                .is_err()
        );
        assert!(inbox.receive("../../etc/passwd", 1, 0, &[]).await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn a_checked_snapshot_stays_readable_when_the_next_transfer_clears_the_inbox()
    -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let source = snapshot(dir.path())?;
        let inbox = SnapshotInbox::new(dir.path().join("inbox"));
        let (transfer, bytes) = (source.transfer_id(), std::fs::read(&source.path)?);
        inbox.receive(&transfer, source.len, 0, &bytes).await?;
        let (_, received) = inbox
            .complete(&transfer, source.len, source.checksum)
            .await?;
        assert!(received.verified);
        // Another leader's transfer starts before the install ran: the file is unlinked, the
        // handle the install copies from still reads all of it.
        let other = "ab".repeat(32);
        inbox.receive(&other, 10, 0, b"0123").await?;
        assert!(!received.path.exists());
        let mut copy = vec![0u8; source.len as usize];
        received.file.read_exact_at(&mut copy, 0)?;
        assert_eq!(copy, bytes);

        // A part longer than the snapshot it claims to be (a write that failed half-way and
        // was retried elsewhere) is started afresh.
        let again = SnapshotInbox::new(dir.path().join("inbox"));
        assert_eq!(again.receive(&other, 2, 0, &[]).await?, 0);
        Ok(())
    }
}
