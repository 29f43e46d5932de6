//! Read barriers shared by the reads that wait at the same time, the way a group commit shares
//! one fsync between writes: each confirmation of leadership (`ensure_linearizable`) is a round
//! trip through the group's Raft core task, and under load most of them would confirm the same
//! thing. A round serves every read that arrived before it started, so each read still sees
//! everything committed before it arrived; reads that arrive while a round runs wait for the
//! next one. At most one round per group and policy runs at a time.

use std::sync::{Arc, Mutex};

use openraft::ReadPolicy;
use tokio::sync::oneshot;

use crate::error::{ClusterError, Result};

use super::Raft;

type Waiter = oneshot::Sender<Result<()>>;

/// The reads waiting for the next round, and whether a round is running.
#[derive(Default)]
struct Queue {
    waiting: Vec<Waiter>,
    running: bool,
}

/// Shared read barriers of one group, one queue per read policy.
#[derive(Default)]
pub struct ReadBatcher {
    read_index: Mutex<Queue>,
    lease: Mutex<Queue>,
}

impl ReadBatcher {
    /// Waits for a round of `policy` that started after this call, run by `confirm`.
    pub(super) async fn barrier<F, Fut>(
        self: &Arc<Self>,
        raft: &Raft,
        policy: ReadPolicy,
        confirm: F,
    ) -> Result<()>
    where
        F: Fn(Raft, ReadPolicy) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        let (done, answer) = oneshot::channel();
        let start = {
            let mut queue = self.queue(&policy).lock().map_err(poisoned)?;
            queue.waiting.push(done);
            !std::mem::replace(&mut queue.running, true)
        };
        if start {
            let batcher = self.clone();
            let raft = raft.clone();
            tokio::spawn(async move { batcher.drive(raft, policy, confirm).await });
        }
        answer.await.map_err(|_| ClusterError::Unavailable {
            message: "the read barrier was dropped (the node is stopping); retry".into(),
        })?
    }

    fn queue(&self, policy: &ReadPolicy) -> &Mutex<Queue> {
        match policy {
            ReadPolicy::LeaseRead => &self.lease,
            _ => &self.read_index,
        }
    }

    /// Runs rounds until no read waits.
    async fn drive<F, Fut>(self: Arc<Self>, raft: Raft, policy: ReadPolicy, confirm: F)
    where
        F: Fn(Raft, ReadPolicy) -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        loop {
            let batch = match self.queue(&policy).lock() {
                Ok(mut queue) => {
                    let batch = std::mem::take(&mut queue.waiting);
                    if batch.is_empty() {
                        queue.running = false;
                        return;
                    }
                    batch
                }
                // A panic elsewhere poisoned the queue: its waiters see their senders dropped.
                Err(_) => return,
            };
            let outcome = confirm(raft.clone(), policy.clone()).await;
            for waiter in batch {
                let _ = waiter.send(outcome.clone());
            }
        }
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> ClusterError {
    ClusterError::internal("the read barrier queue is poisoned")
}
