//! Where the serving node leaves the caller's quota for the frontend: a task-local slot the
//! api opens around each request. A forwarded request is served inside its own slot on the
//! node that serves it, and its quota travels back with the reply.

use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// What the caller has left in its current window: the `X-RateLimit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// When the window ends, Unix seconds.
    pub reset: i64,
}

/// A request's quota, once a node counted it.
pub type QuotaSlot = Arc<Mutex<Option<Quota>>>;

tokio::task_local! {
    static SLOT: QuotaSlot;
}

/// Runs `work` with a fresh slot; answers what it produced and the quota left in the slot.
pub async fn with_slot<F: std::future::Future>(work: F) -> (F::Output, Option<Quota>) {
    let slot = QuotaSlot::default();
    let output = SLOT.scope(slot.clone(), work).await;
    let quota = slot.lock().ok().and_then(|q| *q);
    (output, quota)
}

/// The slot of the request this task serves, if any.
pub fn current_slot() -> Option<QuotaSlot> {
    SLOT.try_with(Clone::clone).ok()
}

/// Leaves `quota` for the frontend of the request this task serves.
pub fn record(quota: Quota) {
    if let Some(slot) = current_slot()
        && let Ok(mut held) = slot.lock()
    {
        *held = Some(quota);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_quota_recorded_inside_the_slot_comes_out() {
        let quota = Quota {
            limit: 10,
            remaining: 9,
            reset: 60,
        };
        let ((), seen) = with_slot(async move { record(quota) }).await;
        assert_eq!(seen, Some(quota));
        record(quota); // outside any slot: nowhere to go, no panic
        assert!(current_slot().is_none());
    }
}
