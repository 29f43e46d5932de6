//! Zanzibar / SpiceDB-style relationship evaluator.
//!
//! Pure, synchronous building blocks:
//! - [`Schema`]: parsed and validated text schema (`definition`, `relation`, `permission`).
//! - [`Tuple`], [`ObjectRef`], [`SubjectRef`]: relationship tuples and their string forms.
//! - [`TupleGraph`]: an interned in-memory tuple index.
//! - [`check`], [`expand`], [`list_objects`], [`list_subjects`]: evaluation.
//!
//! Semantics worth knowing:
//! - `+`, `&` and `-` have equal precedence and associate left to right (as in SpiceDB),
//!   so `a + b - c` is `(a + b) - c` and `a - b + c` is `(a - b) + c`.
//! - A userset subject `team:eng#member` is itself a member of `team:eng#member`, and of
//!   everything that (transitively) includes that userset.
//! - A wildcard tuple `doc:1#viewer@user:*` grants every `user:X` (and the `user:*` subject).
//! - Cycles in the data contribute "false" when a frame is re-entered (least fixpoint).

mod error;
mod eval;
mod graph;
pub mod names;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod reference;
mod schema;
mod tuple;

pub use self::error::ZanzibarError;
pub use self::eval::{ExpandKind, ExpandTree, check, expand, list_objects, list_subjects};
pub use self::graph::{TupleFilter, TupleGraph};
pub use self::schema::{
    AllowedSubject, Definition, Expr, Member, PermissionDef, RelationDef, Schema,
};
pub use self::tuple::{ObjectRef, SubjectRef, Tuple};

/// Maximum number of nested (object, relation) frames a single evaluation may enter.
pub const MAX_DEPTH: usize = 50;
/// Maximum size of a schema text, in bytes.
pub const MAX_SCHEMA_BYTES: usize = 64 * 1024;
/// Maximum number of `definition` blocks in a schema.
pub const MAX_DEFINITIONS: usize = 200;
/// Maximum number of relations plus permissions in one definition.
pub const MAX_RELATIONS_PER_TYPE: usize = 64;
/// Maximum nesting depth of a permission expression (parentheses and operator changes).
pub const MAX_EXPR_DEPTH: usize = 32;
/// Maximum number of frame visits a single check (or one candidate of a list call) may make.
pub const MAX_CHECK_STEPS: usize = 1_000_000;
/// Maximum number of nodes an expand tree may contain.
pub const MAX_EXPAND_NODES: usize = 100_000;
