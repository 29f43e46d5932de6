//! Evaluation of a condition tree against a request context.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::apply::apply;
use super::attribute::{AttributeRef, Scope};
use super::condition::{Condition, Conditions, Leaf, Operand};
use super::context::AbacContext;
use super::operator::Operator;

impl Conditions {
    /// Whether the request satisfies this group: every `all` item matches,
    /// at least one `any` item matches (an empty `any` is no constraint) and
    /// no `none` item matches. The empty group matches everything.
    pub fn matches(&self, ctx: &AbacContext) -> bool {
        self.all.iter().all(|c| c.matches(ctx))
            && (self.any.is_empty() || self.any.iter().any(|c| c.matches(ctx)))
            && !self.none.iter().any(|c| c.matches(ctx))
    }
}

impl Condition {
    /// Whether the request satisfies this item.
    pub fn matches(&self, ctx: &AbacContext) -> bool {
        match self {
            Self::Leaf(leaf) => leaf.matches(ctx),
            Self::Group(group) => group.matches(ctx),
        }
    }
}

impl Leaf {
    /// Whether the request satisfies this comparison. A missing attribute
    /// (absent or `null`) on either side is false for every operator except
    /// `not_exists`; a runtime type mismatch is false.
    pub fn matches(&self, ctx: &AbacContext) -> bool {
        let actual = resolve(&self.attribute, ctx);
        match self.operator {
            Operator::Exists => return actual.is_some(),
            Operator::NotExists => return actual.is_none(),
            _ => {}
        }
        let Some(actual) = actual else {
            return false;
        };
        let expected = match &self.value {
            Operand::Absent => return false,
            Operand::Literal(value) => Cow::Borrowed(value),
            Operand::Attribute(reference) => match resolve(reference, ctx) {
                Some(value) => value,
                None => return false,
            },
        };
        apply(self.operator, &actual, &expected)
    }
}

/// Looks an attribute up in the context; `None` when absent or `null`.
pub(super) fn resolve<'a>(
    reference: &AttributeRef,
    ctx: &'a AbacContext,
) -> Option<Cow<'a, Value>> {
    let path = reference.path();
    let found = match reference.scope() {
        Scope::Action => return Some(Cow::Owned(Value::String(ctx.action.clone()))),
        Scope::ResourceType => return Some(Cow::Owned(Value::String(ctx.resource_type.clone()))),
        Scope::User => lookup(&ctx.user, path),
        Scope::Environment => lookup(&ctx.environment, path),
        Scope::Resource => {
            let found = lookup(&ctx.resource, path);
            if found.is_none() && path == ["type"] && !ctx.resource_type.is_empty() {
                return Some(Cow::Owned(Value::String(ctx.resource_type.clone())));
            }
            found
        }
    };
    found.filter(|value| !value.is_null()).map(Cow::Borrowed)
}

/// Walks nested objects along `path`. At each level the shortest dotted
/// prefix that names an existing key is tried first, so a flat key such as
/// `"pep.ip"` is also found when no nested `pep` object leads to a match.
fn lookup<'a>(map: &'a Map<String, Value>, path: &[String]) -> Option<&'a Value> {
    for split in 1..=path.len() {
        let (head, rest) = path.split_at(split);
        let Some(value) = map.get(&head.join(".")) else {
            continue;
        };
        if rest.is_empty() {
            return Some(value);
        }
        if let Some(found) = value.as_object().and_then(|inner| lookup(inner, rest)) {
            return Some(found);
        }
    }
    None
}
