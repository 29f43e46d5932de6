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
    /// ABAC: may the calling user do each action on each resource, in this environment?
    AbacCheck {
        checks: Vec<AbacCheckItem>,
        environment: serde_json::Map<String, serde_json::Value>,
    },
    /// ABAC: the calling user's attributes.
    AbacMyAttributes,
    /// ABAC: the org's attribute definitions (of one kind, if given).
    AbacDefinitions {
        kind: Option<crate::model::AttributeKind>,
        page: PageParams,
    },
    /// ABAC: a resource's attributes.
    AbacResource {
        resource_type: String,
        resource_id: String,
    },
}

/// One ABAC check of a bulk request (an item without type or action answers with an error).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbacCheckItem {
    pub resource_type: Option<String>,
    pub action: Option<String>,
    pub resource_id: Option<String>,
    /// Other keys of the item, added to the resource's attributes.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// The decision on one [`AbacCheckItem`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AbacResult {
    pub allowed: bool,
    pub reason: String,
    /// `(id, name)` of the policies that decided.
    pub matched: Vec<(u64, String)>,
    /// The same policies in full, for callers holding `policies.view` (else empty).
    pub policies: Vec<crate::model::AbacPolicyRecord>,
    /// Why the item could not be checked.
    pub error: Option<String>,
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
            Question::Permissions { .. }
            | Question::MyPermissions
            | Question::Evaluations(_)
            | Question::AbacCheck { .. }
            | Question::AbacMyAttributes
            | Question::AbacDefinitions { .. }
            | Question::AbacResource { .. } => Freshness::Full,
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
    AbacChecks {
        user_id: String,
        results: Vec<AbacResult>,
    },
    /// A user's or a resource's attributes (a JSON object).
    AbacAttributes {
        user_id: Option<String>,
        attributes: serde_json::Value,
    },
    AbacDefinitions(Page<crate::model::AttributeDefinition>),
}
