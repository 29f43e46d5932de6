//! The counters: fixed windows aligned to the clock (a minute or an hour), per org, class and
//! subject, on this node. Memory is bounded: a shard of counters that grows past its cap
//! forgets the windows that ended, and if that is not enough, everything (failing open).

use std::collections::HashMap;
use std::collections::hash_map::RandomState;
use std::sync::{Mutex, RwLock};

use super::{OrgLimits, Quota, RateClass, Subject};
use crate::clock::Timestamp;
use crate::ids::OrgId;

const SHARDS: usize = 16;
/// Counters one shard keeps before it prunes.
const SHARD_CAP: usize = 16_384;
/// How long an org's limits are used before its settings are read again.
pub const LIMITS_TTL_MILLIS: i64 = 5_000;

type Key = (OrgId, RateClass, Subject);

#[derive(Debug, Clone, Copy)]
struct Window {
    start: i64,
    count: u32,
}

/// This node's counters and the orgs' limits it read recently.
pub struct Limiter {
    enabled: bool,
    hasher: RandomState,
    shards: Vec<Mutex<HashMap<Key, Window>>>,
    limits: RwLock<HashMap<OrgId, (OrgLimits, i64)>>,
}

impl Limiter {
    /// A limiter; a disabled one counts nothing (`--rate-limits false`).
    pub fn new(enabled: bool) -> Limiter {
        Limiter {
            enabled,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            limits: RwLock::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Hashes subjects (keyed per process, so nobody can aim at another caller's counter).
    pub fn hasher(&self) -> &RandomState {
        &self.hasher
    }

    /// The org's limits if read within [`LIMITS_TTL_MILLIS`].
    pub fn cached_limits(&self, org: OrgId, now: Timestamp) -> Option<OrgLimits> {
        let limits = self.limits.read().ok()?;
        let (limits, read_at) = limits.get(&org)?;
        (now.0 - read_at < LIMITS_TTL_MILLIS).then_some(*limits)
    }

    /// Keeps the org's limits as read from its settings at `now`.
    pub fn remember_limits(&self, org: OrgId, limits: OrgLimits, now: Timestamp) {
        if let Ok(mut cached) = self.limits.write() {
            if cached.len() > SHARD_CAP {
                cached.retain(|_, (_, at)| now.0 - *at < LIMITS_TTL_MILLIS);
            }
            cached.insert(org, (limits, now.0));
        }
    }

    /// Counts one request of `subject` against `limit`: `Ok` with what is left, or `Err` with
    /// the exhausted quota (nothing counted).
    pub fn take(
        &self,
        org: OrgId,
        class: RateClass,
        subject: Subject,
        limit: u32,
        now: Timestamp,
    ) -> Result<Quota, Quota> {
        let window = class.window_secs();
        let secs = now.0.div_euclid(1_000);
        let start = secs - secs.rem_euclid(window);
        let reset = start + window;
        let shard = &self.shards[(subject.0 as usize) % SHARDS];
        let Ok(mut counters) = shard.lock() else {
            return Ok(Quota {
                limit,
                remaining: limit,
                reset,
            });
        };
        if counters.len() >= SHARD_CAP {
            counters.retain(|(_, class, _), w| w.start + class.window_secs() > secs);
            if counters.len() >= SHARD_CAP {
                counters.clear();
            }
        }
        let counter = counters
            .entry((org, class, subject))
            .or_insert(Window { start, count: 0 });
        if counter.start != start {
            *counter = Window { start, count: 0 };
        }
        if counter.count >= limit {
            return Err(Quota {
                limit,
                remaining: 0,
                reset,
            });
        }
        counter.count += 1;
        Ok(Quota {
            limit,
            remaining: limit - counter.count,
            reset,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_runs_out_and_the_next_one_starts_afresh() {
        let limiter = Limiter::new(true);
        let org = OrgId(ulid::Ulid::from(7u128));
        let at = Timestamp(120_000); // a minute boundary
        for left in (0..3).rev() {
            let quota = limiter
                .take(org, RateClass::AdminWrite, Subject(1), 3, at)
                .expect("within the limit");
            assert_eq!((quota.remaining, quota.reset), (left, 180));
        }
        let refused = limiter
            .take(
                org,
                RateClass::AdminWrite,
                Subject(1),
                3,
                Timestamp(179_999),
            )
            .expect_err("exhausted");
        assert_eq!(refused.remaining, 0);
        assert!(
            limiter
                .take(org, RateClass::AdminWrite, Subject(2), 3, at)
                .is_ok(),
            "another subject has its own count"
        );
        assert!(
            limiter
                .take(org, RateClass::AdminRead, Subject(1), 3, at)
                .is_ok(),
            "another class has its own count"
        );
        let next = limiter
            .take(
                org,
                RateClass::AdminWrite,
                Subject(1),
                3,
                Timestamp(180_000),
            )
            .expect("a new window");
        assert_eq!((next.remaining, next.reset), (2, 240));
    }

    #[test]
    fn limits_are_cached_for_a_few_seconds() {
        let limiter = Limiter::new(true);
        let org = OrgId(ulid::Ulid::from(1u128));
        limiter.remember_limits(org, OrgLimits::default(), Timestamp(1_000));
        assert!(limiter.cached_limits(org, Timestamp(5_999)).is_some());
        assert!(limiter.cached_limits(org, Timestamp(6_000)).is_none());
    }
}
