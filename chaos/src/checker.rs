//! Linearizability of a register history, key by key (a history is linearizable iff each key's
//! sub-history is), with the Wing-Gong-Lowe search: take the earliest-returning pending call that
//! the model accepts, backtrack when stuck, and never revisit a (linearized set, value) pair.
//! Operations with an unknown outcome may take effect at any point after their invocation, or
//! not at all (they are given an infinitely late return); failed operations are dropped.

use std::collections::HashSet;

use crate::history::{History, Kind, Op, Outcome};

/// Why a key's history is not linearizable, or could not be decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub key: String,
    /// The operations of that key, in invocation order.
    pub ops: Vec<Op>,
    /// True when the search gave up (too many concurrent unknown operations) rather than
    /// proving that no order exists.
    pub inconclusive: bool,
}

enum Verdict {
    Linearizable,
    NotLinearizable,
    GaveUp,
}

/// Register step: `Some(new value)` when the operation fits `state`.
fn step(state: &Option<String>, op: &Op) -> Option<Option<String>> {
    match (&op.kind, &op.outcome) {
        (Kind::Write(v), _) => Some(Some(v.clone())),
        (Kind::Read, Outcome::Ok(read)) => (read == state).then(|| state.clone()),
        (Kind::Read, _) => Some(state.clone()),
    }
}

#[derive(Clone, Copy)]
struct Entry {
    op: usize,
    call: bool,
    time: u64,
}

/// Checks every key; the first violation found is returned.
pub fn check(history: &History, initial: &Option<String>) -> Result<(), Violation> {
    for key in history.keys() {
        let ops: Vec<Op> = history
            .ops
            .iter()
            .filter(|o| o.key == key && o.outcome != Outcome::Failed)
            .filter(|o| !(matches!(o.kind, Kind::Read) && o.outcome == Outcome::Unknown))
            .cloned()
            .collect();
        let verdict = check_key(&ops, initial);
        if !matches!(verdict, Verdict::Linearizable) {
            let mut ops = ops;
            ops.sort_by_key(|o| o.invoke);
            return Err(Violation {
                key,
                ops,
                inconclusive: matches!(verdict, Verdict::GaveUp),
            });
        }
    }
    Ok(())
}

/// WGL search over one key's operations.
fn check_key(ops: &[Op], initial: &Option<String>) -> Verdict {
    let n = ops.len();
    if n == 0 {
        return Verdict::Linearizable;
    }
    let mut entries: Vec<Entry> = Vec::with_capacity(2 * n);
    for (i, op) in ops.iter().enumerate() {
        let ret = if op.outcome == Outcome::Unknown {
            u64::MAX
        } else {
            op.ret
        };
        entries.push(Entry {
            op: i,
            call: true,
            time: op.invoke,
        });
        entries.push(Entry {
            op: i,
            call: false,
            time: ret,
        });
    }
    // Calls before returns at equal times, so touching intervals overlap.
    entries.sort_by_key(|e| (e.time, !e.call));
    // A doubly linked list over `entries`, with a head sentinel at index `len`.
    let len = entries.len();
    let mut next = vec![usize::MAX; len + 1];
    let mut prev = vec![len; len + 1];
    next[len] = 0;
    for i in 0..len {
        next[i] = if i + 1 < len { i + 1 } else { usize::MAX };
        prev[i] = if i == 0 { len } else { i - 1 };
    }
    let mut return_of = vec![0usize; n];
    for (i, e) in entries.iter().enumerate() {
        if !e.call {
            return_of[e.op] = i;
        }
    }
    let unlink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, i: usize| {
        let (p, q) = (prev[i], next[i]);
        next[p] = q;
        if q != usize::MAX {
            prev[q] = p;
        }
    };
    let relink = |next: &mut Vec<usize>, prev: &mut Vec<usize>, i: usize| {
        let (p, q) = (prev[i], next[i]);
        next[p] = i;
        if q != usize::MAX {
            prev[q] = i;
        }
    };
    let words = n.div_ceil(64);
    let mut linearized = vec![0u64; words];
    let mut seen: HashSet<(Vec<u64>, Option<String>)> = HashSet::new();
    let mut stack: Vec<(usize, Option<String>)> = Vec::new();
    let mut state = initial.clone();
    let mut cursor = next[len];
    // Bounded: a pathological history would otherwise search for very long.
    let mut budget: u64 = 50_000_000;
    while next[len] != usize::MAX {
        budget = budget.saturating_sub(1);
        if budget == 0 {
            return Verdict::GaveUp;
        }
        if cursor == usize::MAX {
            return Verdict::NotLinearizable;
        }
        let entry = entries[cursor];
        if entry.call {
            let op = &ops[entry.op];
            let accepted = step(&state, op).filter(|new_state| {
                let mut set = linearized.clone();
                set[entry.op / 64] |= 1 << (entry.op % 64);
                seen.insert((set, new_state.clone()))
            });
            if let Some(new_state) = accepted {
                stack.push((cursor, state));
                state = new_state;
                linearized[entry.op / 64] |= 1 << (entry.op % 64);
                unlink(&mut next, &mut prev, cursor);
                unlink(&mut next, &mut prev, return_of[entry.op]);
                cursor = next[len];
            } else {
                cursor = next[cursor];
            }
        } else {
            // A return with its call still pending: undo the last choice.
            let Some((call, old_state)) = stack.pop() else {
                return Verdict::NotLinearizable;
            };
            let op = entries[call].op;
            state = old_state;
            linearized[op / 64] &= !(1 << (op % 64));
            relink(&mut next, &mut prev, return_of[op]);
            relink(&mut next, &mut prev, call);
            cursor = next[call];
        }
    }
    Verdict::Linearizable
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(client: usize, kind: Kind, invoke: u64, ret: u64, outcome: Outcome) -> Op {
        Op {
            client,
            key: "k".into(),
            kind,
            invoke,
            ret,
            outcome,
        }
    }

    fn w(v: &str) -> Kind {
        Kind::Write(v.into())
    }

    fn read(v: Option<&str>) -> Outcome {
        Outcome::Ok(v.map(str::to_string))
    }

    fn history(ops: Vec<Op>) -> History {
        History { ops }
    }

    #[test]
    fn sequential_history_is_linearizable() {
        let h = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(1, Kind::Read, 20, 30, read(Some("a"))),
            op(0, w("b"), 40, 50, Outcome::Ok(None)),
            op(1, Kind::Read, 60, 70, read(Some("b"))),
        ]);
        assert_eq!(check(&h, &None), Ok(()));
    }

    #[test]
    fn a_stale_read_after_an_acknowledged_write_is_a_violation() {
        let h = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(0, w("b"), 20, 30, Outcome::Ok(None)),
            op(1, Kind::Read, 40, 50, read(Some("a"))),
        ]);
        assert!(check(&h, &None).is_err());
    }

    #[test]
    fn concurrent_operations_may_order_either_way() {
        let h = history(vec![
            op(0, w("a"), 0, 100, Outcome::Ok(None)),
            op(1, w("b"), 10, 90, Outcome::Ok(None)),
            op(2, Kind::Read, 20, 80, read(Some("a"))),
            op(3, Kind::Read, 110, 120, read(Some("b"))),
        ]);
        // b linearizes after the read of a and after a: a, read a, b, read b.
        assert_eq!(check(&h, &None), Ok(()));
    }

    #[test]
    fn unknown_writes_may_apply_late_or_never() {
        let took_effect = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(1, w("x"), 20, 30, Outcome::Unknown),
            op(2, Kind::Read, 100, 110, read(Some("x"))),
        ]);
        assert_eq!(check(&took_effect, &None), Ok(()));
        let never = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(1, w("x"), 20, 30, Outcome::Unknown),
            op(2, Kind::Read, 100, 110, read(Some("a"))),
        ]);
        assert_eq!(check(&never, &None), Ok(()));
        let failed_but_seen = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(1, w("x"), 20, 30, Outcome::Failed),
            op(2, Kind::Read, 100, 110, read(Some("x"))),
        ]);
        assert!(check(&failed_but_seen, &None).is_err());
    }

    #[test]
    fn a_lost_acknowledged_write_is_a_violation() {
        let h = history(vec![
            op(0, w("a"), 0, 10, Outcome::Ok(None)),
            op(0, w("b"), 20, 30, Outcome::Ok(None)),
            op(1, Kind::Read, 1_000, 1_010, read(Some("a"))),
        ]);
        let violation = check(&h, &None).expect_err("lost write");
        assert_eq!(violation.key, "k");
        assert_eq!(violation.ops.len(), 3);
    }
}
