//! Fail points for chaos runs: a slow disk. Every WAL sync (the group-commit `fsync` that makes
//! Raft log appends durable, and the synced vote writes) waits `sync_delay` first, as it would on
//! a saturated or failing disk. The delay is process-wide and zero unless a node started with
//! fault injection sets it (`PUT /cluster/v1/faults` with `disk_delay_ms`); production nodes
//! refuse to.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

static SYNC_DELAY_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the delay every later sync waits (zero turns the slow disk off).
pub fn set_sync_delay(delay: Duration) {
    let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
    SYNC_DELAY_MS.store(ms, Ordering::Relaxed);
}

/// The delay syncs wait now.
pub fn sync_delay() -> Duration {
    Duration::from_millis(SYNC_DELAY_MS.load(Ordering::Relaxed))
}

/// Called right before a sync: waits the configured delay, if any.
pub(crate) fn before_sync() {
    let delay = sync_delay();
    if !delay.is_zero() {
        std::thread::sleep(delay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_is_set_read_and_cleared() {
        set_sync_delay(Duration::from_millis(3));
        assert_eq!(sync_delay(), Duration::from_millis(3));
        let started = std::time::Instant::now();
        before_sync();
        assert!(started.elapsed() >= Duration::from_millis(3));
        set_sync_delay(Duration::ZERO);
        assert_eq!(sync_delay(), Duration::ZERO);
    }
}
