//! Tuple filters for [`super::TupleGraph::tuples_matching`].

use super::super::Tuple;

/// Optional constraints on each part of a tuple; `None` matches anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TupleFilter {
    /// Object type.
    pub object_type: Option<String>,
    /// Object id.
    pub object_id: Option<String>,
    /// Relation.
    pub relation: Option<String>,
    /// Subject type.
    pub subject_type: Option<String>,
    /// Subject id (`*` matches wildcard tuples).
    pub subject_id: Option<String>,
    /// Subject relation (matches only userset subjects with that relation).
    pub subject_relation: Option<String>,
}

fn eq(filter: Option<&String>, value: &str) -> bool {
    filter.is_none_or(|f| f == value)
}

impl TupleFilter {
    /// True when the tuple satisfies every set constraint.
    pub fn matches(&self, t: &Tuple) -> bool {
        eq(self.object_type.as_ref(), &t.object.object_type)
            && eq(self.object_id.as_ref(), &t.object.object_id)
            && eq(self.relation.as_ref(), &t.relation)
            && eq(self.subject_type.as_ref(), &t.subject.subject_type)
            && eq(self.subject_id.as_ref(), &t.subject.subject_id)
            && self
                .subject_relation
                .as_ref()
                .is_none_or(|r| t.subject.relation.as_ref() == Some(r))
    }
}
