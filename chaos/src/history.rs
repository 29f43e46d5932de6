//! A history of operations on registers (one register per key), with invoke and return times,
//! as recorded by the load generator and checked for linearizability.

use serde::{Deserialize, Serialize};

/// What an operation did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// Read the register; `Outcome::Ok(value)` carries what was read.
    Read,
    /// Write this value.
    Write(String),
}

/// How an operation ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Acknowledged; reads carry the value read.
    Ok(Option<String>),
    /// Definitely not applied (refused before it could take effect).
    Failed,
    /// Unknown (timeout, connection lost, 5xx): it may or may not have taken effect.
    Unknown,
}

/// One operation of one client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Op {
    pub client: usize,
    pub key: String,
    pub kind: Kind,
    /// Nanoseconds since the start of the run.
    pub invoke: u64,
    pub ret: u64,
    pub outcome: Outcome,
}

/// Every operation of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct History {
    pub ops: Vec<Op>,
}

impl History {
    /// Keys in the history.
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.ops.iter().map(|o| o.key.clone()).collect();
        keys.sort();
        keys.dedup();
        keys
    }

    /// Acknowledged writes.
    pub fn acknowledged_writes(&self) -> usize {
        self.ops
            .iter()
            .filter(|o| matches!(o.kind, Kind::Write(_)) && matches!(o.outcome, Outcome::Ok(_)))
            .count()
    }
}
