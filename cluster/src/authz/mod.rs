//! The authorization engines' shared ground: questions and answers, consistency tokens, the
//! RBAC computation, and the in-memory index each shard replica keeps of its applied state.
//! Decisions are computed on any replica from this index (the `decide` module), never through Raft.

pub mod abac;
pub mod abac_store;
mod index;
mod org_facts;
mod question;
pub mod rbac;
mod relation_error;
mod relations;
mod token;
pub mod zanzibar;

pub use index::{ApplyGuard, AuthzIndex, OrgAuthz, changes_decisions};
pub use org_facts::OrgFacts;
pub use question::{
    AbacCheckItem, AbacResult, Answer, CheckRequest, Decision, Evaluation, EvaluationResult,
    MAX_EVALUATIONS, Question, Subject,
};
pub use rbac::EffectivePermission;
pub use relation_error::relation_error;
pub use relations::{Relations, load_schema};
pub use token::{ConsistencyToken, Freshness};
