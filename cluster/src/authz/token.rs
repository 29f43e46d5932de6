//! Consistency tokens: every write that changes a decision returns the position of its Raft
//! entry (`lzt1.<group>.<index>`), and a later check that presents it is answered only from a
//! replica that applied at least that entry.

use serde::{Deserialize, Serialize};

use crate::error::{ClusterError, Result};

const PREFIX: &str = "lzt1.";

/// The position of an applied write in its shard's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyToken {
    pub group: u64,
    pub index: u64,
}

impl std::fmt::Display for ConsistencyToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}.{}", self.group, self.index)
    }
}

impl std::str::FromStr for ConsistencyToken {
    type Err = ClusterError;

    fn from_str(text: &str) -> Result<Self> {
        let bad = || {
            ClusterError::invalid(
                "consistency",
                "not a consistency token this server issued (expected lzt1.<group>.<index>)",
            )
        };
        let rest = text.strip_prefix(PREFIX).ok_or_else(bad)?;
        let (group, index) = rest.split_once('.').ok_or_else(bad)?;
        Ok(ConsistencyToken {
            group: group.parse().map_err(|_| bad())?,
            index: index.parse().map_err(|_| bad())?,
        })
    }
}

/// How fresh the state a decision is computed from must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Freshness {
    /// Whatever the chosen replica has applied (fastest).
    Local,
    /// At least the write the token names.
    AtLeast(ConsistencyToken),
    /// Everything committed before the check arrived (a read index on the shard leader).
    Full,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_reject_garbage() {
        let token = ConsistencyToken {
            group: 3,
            index: 1234,
        };
        assert_eq!(
            token.to_string().parse::<ConsistencyToken>().ok(),
            Some(token)
        );
        for bad in ["", "lzt1.", "lzt1.3", "lzt1.a.1", "zed.1.2", "lzt1.1.-2"] {
            assert!(bad.parse::<ConsistencyToken>().is_err(), "{bad}");
        }
    }
}
