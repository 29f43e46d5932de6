//! Attribute-based access control (ABAC) policy evaluation.
//!
//! Pure logic: no IO, no async. The module is self-contained and only uses
//! `self::`/`super::` paths so it can be moved into another crate verbatim.
//!
//! * [`parse_conditions`] validates stored condition JSON against an
//!   [`AttributeCatalog`] and produces [`Conditions`], which serialize back to
//!   the same JSON shape with canonical operator names and attribute prefixes.
//! * [`Conditions::matches`] evaluates conditions against an [`AbacContext`].
//! * [`decide`] combines [`Policy`] effects: the highest matching priority
//!   tier decides and, within it, deny beats allow. No matching policy denies.
//!
//! Evaluation never panics: a missing attribute (absent or JSON `null`) or a
//! runtime type mismatch makes a leaf false. Negated operators (`not_equals`,
//! `not_in`, `not_contains`) are also false on a missing attribute or a type
//! mismatch, because "missing" is not "different"; only `not_exists` is true
//! for a missing attribute.

mod apply;
mod attribute;
mod catalog;
mod cidr;
mod condition;
mod context;
mod decision;
mod error;
mod evaluate;
mod literal;
mod operator;
mod order;
mod parse;
mod policy;
mod timestamp;

#[cfg(test)]
mod tests;

pub use self::attribute::{AttributeRef, Scope};
pub use self::catalog::{AttributeCatalog, BUILTIN_RESOURCE_ATTRIBUTES, BUILTIN_USER_ATTRIBUTES};
pub use self::condition::{Condition, Conditions, Leaf, Operand};
pub use self::context::AbacContext;
pub use self::decision::{Decision, decide};
pub use self::error::AbacError;
pub use self::operator::Operator;
pub use self::parse::{MAX_DEPTH, MAX_LEAVES, parse_conditions};
pub use self::policy::{Effect, Policy, WILDCARD};
