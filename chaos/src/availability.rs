//! Availability of a chaos run: every client operation's start time and whether the cluster
//! served it, summed per minute of the run (or per shorter bucket for short runs).

use std::sync::Mutex;
use std::time::Duration;

/// How one operation ended, from the client's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Served {
    /// Answered as asked (2xx, or a 4xx the operation expects).
    Yes,
    /// Refused as retryable (503), timed out, or the connection failed.
    No,
}

/// The operations of a run, by start time.
#[derive(Debug, Default)]
pub struct Ledger {
    ops: Mutex<Vec<(Duration, &'static str, Served)>>,
}

/// One bucket's figures.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: Duration,
    pub ops: usize,
    pub served: usize,
    /// Operations per kind in this bucket: (kind, ops, served).
    pub kinds: Vec<(&'static str, usize, usize)>,
}

impl Bucket {
    /// Served operations over all operations, in percent (100 when there were none).
    pub fn availability(&self) -> f64 {
        if self.ops == 0 {
            100.0
        } else {
            self.served as f64 * 100.0 / self.ops as f64
        }
    }
}

impl Ledger {
    /// Records an operation of `kind` started `at` into the run.
    pub fn record(&self, at: Duration, kind: &'static str, served: Served) {
        if let Ok(mut ops) = self.ops.lock() {
            ops.push((at, kind, served));
        }
    }

    /// The figures per `width` of run time, in order, from the first bucket to the last one
    /// that holds an operation.
    pub fn buckets(&self, width: Duration) -> Vec<Bucket> {
        let Ok(ops) = self.ops.lock() else {
            return Vec::new();
        };
        let width_ns = width.as_nanos().max(1);
        let index = |at: &Duration| (at.as_nanos() / width_ns) as usize;
        let count = ops
            .iter()
            .map(|(at, _, _)| index(at) + 1)
            .max()
            .unwrap_or(0);
        let mut buckets: Vec<Bucket> = (0..count)
            .map(|i| Bucket {
                start: width * i as u32,
                ops: 0,
                served: 0,
                kinds: Vec::new(),
            })
            .collect();
        for (at, kind, served) in ops.iter() {
            let bucket = &mut buckets[index(at)];
            let yes = usize::from(*served == Served::Yes);
            bucket.ops += 1;
            bucket.served += yes;
            match bucket.kinds.iter_mut().find(|(k, _, _)| k == kind) {
                Some(entry) => {
                    entry.1 += 1;
                    entry.2 += yes;
                }
                None => bucket.kinds.push((kind, 1, yes)),
            }
        }
        buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_are_summed_per_bucket_and_kind() {
        let ledger = Ledger::default();
        ledger.record(Duration::from_secs(1), "read", Served::Yes);
        ledger.record(Duration::from_secs(2), "token", Served::No);
        ledger.record(Duration::from_secs(61), "read", Served::Yes);
        ledger.record(Duration::from_secs(185), "read", Served::No);
        let buckets = ledger.buckets(Duration::from_secs(60));
        assert_eq!(buckets.len(), 4);
        assert_eq!((buckets[0].ops, buckets[0].served), (2, 1));
        assert_eq!(buckets[0].availability(), 50.0);
        assert_eq!(buckets[0].kinds, vec![("read", 1, 1), ("token", 1, 0)]);
        assert_eq!((buckets[1].ops, buckets[1].served), (1, 1));
        assert_eq!(buckets[2].ops, 0);
        assert_eq!(buckets[2].availability(), 100.0);
        assert_eq!(buckets[3].start, Duration::from_secs(180));
        assert_eq!(buckets[3].availability(), 0.0);
    }
}
