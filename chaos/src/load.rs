//! A bounded-time closed-loop load runner: `concurrency` workers each repeat an operation until
//! the deadline; every operation's latency and outcome is recorded.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::stats::ScenarioStats;

/// Runs `op(worker, sequence)` from `concurrency` workers for `duration` (and at most
/// `max_ops` operations in total). `op` returns whether the operation succeeded.
pub async fn run<F, Fut>(
    name: &str,
    concurrency: usize,
    duration: Duration,
    max_ops: u64,
    op: F,
) -> ScenarioStats
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let op = Arc::new(op);
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let op = op.clone();
        let issued = issued.clone();
        workers.push(tokio::spawn(async move {
            let (mut ok, mut errors, mut latencies) = (0u64, 0u64, Vec::new());
            while Instant::now() < deadline {
                let seq = issued.fetch_add(1, Ordering::Relaxed);
                if seq >= max_ops {
                    break;
                }
                let t = Instant::now();
                if op(worker, seq).await {
                    ok += 1;
                    latencies.push(t.elapsed().as_micros() as u64);
                } else {
                    errors += 1;
                }
            }
            (ok, errors, latencies)
        }));
    }
    let (mut ok, mut errors, mut latencies) = (0, 0, Vec::new());
    for worker in workers {
        if let Ok((o, e, l)) = worker.await {
            ok += o;
            errors += e;
            latencies.extend(l);
        }
    }
    ScenarioStats::new(name, ok, errors, started.elapsed(), latencies)
}
