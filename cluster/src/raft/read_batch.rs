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
    /// Waits for a round of `policy` that started after this call: `confirm(raft, policy)`.
    pub(super) async fn barrier<R, F, Fut>(
        self: &Arc<Self>,
        raft: &R,
        policy: ReadPolicy,
        confirm: F,
    ) -> Result<()>
    where
        R: Clone + Send + Sync + 'static,
        F: Fn(R, ReadPolicy) -> Fut + Send + 'static,
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
    async fn drive<R, F, Fut>(self: Arc<Self>, raft: R, policy: ReadPolicy, confirm: F)
    where
        R: Clone,
        F: Fn(R, ReadPolicy) -> Fut,
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
            // Boxed: the driver task stays small to spawn.
            let outcome = Box::pin(confirm(raft.clone(), policy.clone())).await;
            for waiter in batch {
                let _ = waiter.send(outcome.clone());
            }
        }
    }
}

fn poisoned<T>(_: std::sync::PoisonError<T>) -> ClusterError {
    ClusterError::internal("the read barrier queue is poisoned")
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    /// A confirmation that counts its rounds and takes `ms` milliseconds.
    fn counting(
        ms: u64,
        outcome: Result<()>,
    ) -> impl Fn(
        Arc<AtomicUsize>,
        ReadPolicy,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send>>
    + Send
    + 'static {
        move |rounds: Arc<AtomicUsize>, _| {
            let outcome = outcome.clone();
            Box::pin(async move {
                rounds.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(ms)).await;
                outcome
            })
        }
    }

    #[tokio::test]
    async fn reads_waiting_together_share_rounds() {
        let batcher = Arc::new(ReadBatcher::default());
        let rounds = Arc::new(AtomicUsize::new(0));
        let mut reads = Vec::new();
        for _ in 0..50 {
            let batcher = batcher.clone();
            let rounds = rounds.clone();
            reads.push(tokio::spawn(async move {
                let confirm = counting(20, Ok(()));
                batcher
                    .barrier(&rounds, ReadPolicy::ReadIndex, confirm)
                    .await
            }));
        }
        for read in reads {
            assert_eq!(read.await.ok(), Some(Ok(())));
        }
        let rounds = rounds.load(Ordering::SeqCst);
        assert!((1..=2).contains(&rounds), "{rounds} rounds for 50 reads");
    }

    #[tokio::test]
    async fn a_read_arriving_during_a_round_waits_for_the_next() {
        let batcher = Arc::new(ReadBatcher::default());
        let rounds = Arc::new(AtomicUsize::new(0));
        let first = {
            let (batcher, rounds) = (batcher.clone(), rounds.clone());
            tokio::spawn(async move {
                let confirm = counting(50, Ok(()));
                batcher
                    .barrier(&rounds, ReadPolicy::ReadIndex, confirm)
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(rounds.load(Ordering::SeqCst), 1, "the first round runs");
        let confirm = counting(50, Ok(()));
        let second = batcher
            .barrier(&rounds, ReadPolicy::ReadIndex, confirm)
            .await;
        assert_eq!(second, Ok(()));
        // The round running when the second read arrived did not answer it.
        assert_eq!(rounds.load(Ordering::SeqCst), 2);
        assert_eq!(first.await.ok(), Some(Ok(())));
    }

    #[tokio::test]
    async fn a_failed_round_fails_every_read_it_serves_and_the_next_round_starts_afresh() {
        let batcher = Arc::new(ReadBatcher::default());
        let rounds = Arc::new(AtomicUsize::new(0));
        let refused = ClusterError::NotLeader { leader: None };
        let mut reads = Vec::new();
        for _ in 0..5 {
            let (batcher, rounds, refused) = (batcher.clone(), rounds.clone(), refused.clone());
            reads.push(tokio::spawn(async move {
                let confirm = counting(5, Err(refused));
                batcher
                    .barrier(&rounds, ReadPolicy::LeaseRead, confirm)
                    .await
            }));
        }
        for read in reads {
            assert_eq!(read.await.ok(), Some(Err(refused.clone())));
        }
        let confirm = counting(1, Ok(()));
        assert_eq!(
            batcher
                .barrier(&rounds, ReadPolicy::LeaseRead, confirm)
                .await,
            Ok(())
        );
    }
}
