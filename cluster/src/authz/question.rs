//! What a caller may ask the authorization engines, and what they answer.

use serde::{Deserialize, Serialize};

use super::rbac::EffectivePermission;
use super::token::{ConsistencyToken, Freshness};
use crate::query::{Page, PageParams};

/// Whom a question is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Subject {
    /// A user of the org, by id.
    User(String),
    /// An AI agent of the org (`agt_...`).
    Agent(String),
}

/// An authorization question, answered on any replica of the org's shard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckRequest {
    /// `None`: the engine's default (RBAC: [`Freshness::Full`], relations: [`Freshness::Local`]).
    pub freshness: Option<Freshness>,
    pub question: Question,
}

/// The questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Question {
    /// RBAC: does the subject (the caller when absent) hold each permission?
    Permissions {
        subject: Option<Subject>,
        permissions: Vec<String>,
    },
    /// RBAC: the caller's own effective permissions.
    MyPermissions,
    /// Zanzibar: is `subject` (`user:bob`, `team:eng#member`) in `object#relation`?
    Relation {
        object: String,
        relation: String,
        subject: String,
    },
    /// Zanzibar: the userset tree of `object#relation`.
    Expand { object: String, relation: String },
    /// Zanzibar: the objects of `object_type` on which `subject` has `relation`.
    ListObjects {
        object_type: String,
        relation: String,
        subject: String,
        page: PageParams,
    },
    /// Zanzibar: the concrete subjects (of `subject_type`, if given) in `object#relation`.
    ListSubjects {
        object: String,
        relation: String,
        subject_type: Option<String>,
        page: PageParams,
    },
    /// AuthZEN: may each subject perform each action on each resource (order kept)?
    Evaluations(Vec<Evaluation>),
}

/// Most AuthZEN evaluations one request may carry.
pub const MAX_EVALUATIONS: usize = 100;

/// One AuthZEN access evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub subject_type: String,
    pub subject_id: String,
    pub action: String,
    pub resource_type: String,
    pub resource_id: String,
}

/// The decision on one [`Evaluation`], with the reason an administrator can read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluationResult {
    pub decision: bool,
    pub reason: String,
}

impl Question {
    /// The freshness used when the caller asks for none.
    pub fn default_freshness(&self) -> Freshness {
        match self {
            Question::Permissions { .. } | Question::MyPermissions | Question::Evaluations(_) => {
                Freshness::Full
            }
            Question::Relation { .. }
            | Question::Expand { .. }
            | Question::ListObjects { .. }
            | Question::ListSubjects { .. } => Freshness::Local,
        }
    }
}

/// An answer, with the position of the state it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub answer: Answer,
    pub checked_at: ConsistencyToken,
}

/// The answers, one per [`Question`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Answer {
    Permissions {
        subject_type: String,
        subject_id: String,
        /// Set for user subjects.
        user_id: Option<String>,
        /// Each asked permission, in the order asked, and whether the subject holds it.
        results: Vec<(String, bool)>,
    },
    MyPermissions {
        user_id: String,
        permissions: Vec<EffectivePermission>,
    },
    Relation {
        allowed: bool,
    },
    /// The tree as the API shows it (`{type, object, relation, children, subjects}`).
    Expand {
        tree: serde_json::Value,
    },
    /// Objects (`document:1`) or subjects (`user:bob`), one page.
    Refs(Page<String>),
    Evaluations(Vec<EvaluationResult>),
}
