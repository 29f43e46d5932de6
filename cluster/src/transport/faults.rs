//! Fault injection: dropped messages between node pairs (a partition), added network delay, and
//! a slow disk (the storage layer's sync fail point). Only a node started with fault injection
//! enabled accepts rules; production nodes never do.

use std::collections::HashSet;
use std::sync::RwLock;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// One rule, set through the cluster admin API of a node started with fault injection on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultRule {
    /// Peers this node neither sends to nor accepts messages from.
    pub isolate_from: Vec<u64>,
    /// Delay added to every outgoing message, in milliseconds.
    pub delay_ms: u64,
    /// Delay before every WAL sync of this node's disk, in milliseconds (a slow disk).
    pub disk_delay_ms: u64,
}

/// The fault rules of this node.
#[derive(Debug, Default)]
pub struct Faults {
    enabled: bool,
    blocked: RwLock<HashSet<u64>>,
    delay_ms: RwLock<u64>,
}

impl Faults {
    /// Rules that are consulted only when `enabled`.
    pub fn new(enabled: bool) -> Self {
        Faults {
            enabled,
            ..Faults::default()
        }
    }

    /// True when this node accepts fault rules.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Replaces the rules; refused when fault injection is off.
    pub fn set(&self, rule: FaultRule) -> Result<(), String> {
        if !self.enabled {
            return Err(
                "fault injection is disabled on this node (start it with --fault-injection)".into(),
            );
        }
        if let Ok(mut blocked) = self.blocked.write() {
            *blocked = rule.isolate_from.into_iter().collect();
        }
        if let Ok(mut delay) = self.delay_ms.write() {
            *delay = rule.delay_ms;
        }
        lumo_storage::fail_points::set_sync_delay(Duration::from_millis(rule.disk_delay_ms));
        Ok(())
    }

    /// The current rules.
    pub fn get(&self) -> FaultRule {
        let mut isolate_from: Vec<u64> = self
            .blocked
            .read()
            .map(|b| b.iter().copied().collect())
            .unwrap_or_default();
        isolate_from.sort_unstable();
        FaultRule {
            isolate_from,
            delay_ms: self.delay_ms.read().map(|d| *d).unwrap_or(0),
            disk_delay_ms: u64::try_from(lumo_storage::fail_points::sync_delay().as_millis())
                .unwrap_or(u64::MAX),
        }
    }

    /// True when messages to or from `peer` are dropped.
    pub fn blocks(&self, peer: u64) -> bool {
        self.enabled
            && self
                .blocked
                .read()
                .map(|b| b.contains(&peer))
                .unwrap_or(false)
    }

    /// Delay to add before sending.
    pub fn delay(&self) -> Option<Duration> {
        if !self.enabled {
            return None;
        }
        let ms = self.delay_ms.read().map(|d| *d).unwrap_or(0);
        (ms > 0).then(|| Duration::from_millis(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_apply_only_when_enabled() {
        let off = Faults::new(false);
        assert!(
            off.set(FaultRule {
                isolate_from: vec![2],
                ..FaultRule::default()
            })
            .is_err()
        );
        assert!(!off.blocks(2));
        let on = Faults::new(true);
        on.set(FaultRule {
            isolate_from: vec![2, 3],
            delay_ms: 5,
            ..FaultRule::default()
        })
        .expect("enabled");
        assert!(on.blocks(3) && !on.blocks(4));
        assert_eq!(on.delay(), Some(Duration::from_millis(5)));
        on.set(FaultRule::default()).expect("heal");
        assert!(!on.blocks(3));
    }
}
