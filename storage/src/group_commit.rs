//! Group commit: log appends are written unsynced (readable at once) and their durability
//! callbacks queue here; one thread makes a single `fsync` of the WAL cover every queued append.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;

use rocksdb::DB;

type SyncJob = Box<dyn FnOnce(io::Result<()>) + Send>;

/// How many WAL syncs covered how many appends since the node started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WalSyncStats {
    pub syncs: u64,
    pub appends: u64,
}

pub(crate) struct WalSyncer {
    tx: Option<mpsc::Sender<SyncJob>>,
    thread: Option<std::thread::JoinHandle<()>>,
    syncs: Arc<AtomicU64>,
    appends: Arc<AtomicU64>,
}

impl WalSyncer {
    pub(crate) fn start(db: Arc<DB>) -> WalSyncer {
        let (tx, rx) = mpsc::channel::<SyncJob>();
        let syncs = Arc::new(AtomicU64::new(0));
        let appends = Arc::new(AtomicU64::new(0));
        let (s, a) = (syncs.clone(), appends.clone());
        let spawned = std::thread::Builder::new()
            .name("lumo-wal-sync".into())
            .spawn(move || run(db, rx, s, a));
        let thread = match spawned {
            Ok(handle) => Some(handle),
            Err(e) => {
                tracing::error!(error = %e, "cannot start the wal sync thread");
                None
            }
        };
        WalSyncer {
            tx: Some(tx),
            thread,
            syncs,
            appends,
        }
    }

    /// Queues `done` to run once every write made before this call is durable.
    pub(crate) fn after_sync(&self, done: SyncJob) {
        let Some(tx) = &self.tx else {
            done(Err(io::Error::other("wal sync thread stopped")));
            return;
        };
        if let Err(mpsc::SendError(job)) = tx.send(done) {
            job(Err(io::Error::other("wal sync thread stopped")));
        }
    }

    pub(crate) fn stats(&self) -> WalSyncStats {
        WalSyncStats {
            syncs: self.syncs.load(Ordering::Relaxed),
            appends: self.appends.load(Ordering::Relaxed),
        }
    }
}

impl Drop for WalSyncer {
    /// Stops the thread and waits for it, so its handle on RocksDB is released (and the
    /// database closed) before the caller goes on, never concurrently with process exit.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(db: Arc<DB>, rx: mpsc::Receiver<SyncJob>, syncs: Arc<AtomicU64>, appends: Arc<AtomicU64>) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        jobs.extend(rx.try_iter());
        crate::fail_points::before_sync();
        let result = db.flush_wal(true).map_err(|e| e.to_string());
        syncs.fetch_add(1, Ordering::Relaxed);
        appends.fetch_add(jobs.len() as u64, Ordering::Relaxed);
        for job in jobs {
            job(result.clone().map_err(io::Error::other));
        }
    }
}
