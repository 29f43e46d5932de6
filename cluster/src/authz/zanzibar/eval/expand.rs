//! Expand: one level of userset rewrite as a tree.

use serde::Serialize;

use super::super::{
    Definition, Expr, MAX_DEPTH, MAX_EXPAND_NODES, Member, ObjectRef, Schema, TupleGraph,
    ZanzibarError,
};

/// Node kind of an [`ExpandTree`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExpandKind {
    /// Any child.
    Union,
    /// All children.
    Intersection,
    /// First child minus second child.
    Exclusion,
    /// Stored subjects of a relation.
    Leaf,
}

/// Expand result. Serialized as
/// `{"type", "object", "relation", "children": [...], "subjects": [...]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExpandTree {
    /// Node kind.
    #[serde(rename = "type")]
    pub kind: ExpandKind,
    /// Object, `type:id`.
    pub object: String,
    /// Relation or permission name; arrow nodes use `tupleset->computed`.
    pub relation: String,
    /// Child nodes (operators and arrows).
    pub children: Vec<ExpandTree>,
    /// Stored subjects of a leaf (`user:1`, `user:*`, `team:2#member`), sorted.
    pub subjects: Vec<String>,
}

impl ExpandTree {
    fn node(kind: ExpandKind, object: &ObjectRef, relation: &str, children: Vec<Self>) -> Self {
        Self {
            kind,
            object: object.to_string(),
            relation: relation.to_string(),
            children,
            subjects: Vec::new(),
        }
    }
}

/// Expands `object#relation`.
///
/// A relation becomes a leaf listing its stored subjects (usersets are listed, not expanded).
/// A permission becomes its expression tree: operators are `union` / `intersection` /
/// `exclusion` nodes named after the permission, a bare name is the referenced relation's or
/// permission's own tree, and an arrow is a `union` node named `tupleset->computed` with one
/// child per subject object. A frame re-entered through a data cycle becomes an empty leaf.
///
/// # Errors
///
/// [`ZanzibarError::UnknownType`] / [`ZanzibarError::UnknownRelation`] for unknown inputs,
/// [`ZanzibarError::DepthExceeded`] or [`ZanzibarError::WorkLimitExceeded`] when the bounds
/// are hit.
pub fn expand(
    schema: &Schema,
    graph: &TupleGraph,
    object: &ObjectRef,
    relation: &str,
) -> Result<ExpandTree, ZanzibarError> {
    let (def, _) = super::resolve(schema, &object.object_type, relation)?;
    let Some(def) = schema.definitions().get(def) else {
        return Err(ZanzibarError::UnknownType(object.object_type.clone()));
    };
    let mut e = Expander {
        schema,
        graph,
        path: Vec::new(),
        nodes: 0,
    };
    e.frame(object, def, relation)
}

struct Expander<'a> {
    schema: &'a Schema,
    graph: &'a TupleGraph,
    path: Vec<(ObjectRef, String)>,
    nodes: usize,
}

impl<'a> Expander<'a> {
    fn count(&mut self) -> Result<(), ZanzibarError> {
        self.nodes += 1;
        if self.nodes > MAX_EXPAND_NODES {
            return Err(ZanzibarError::WorkLimitExceeded {
                max: MAX_EXPAND_NODES,
            });
        }
        Ok(())
    }

    fn frame(
        &mut self,
        obj: &ObjectRef,
        def: &'a Definition,
        name: &str,
    ) -> Result<ExpandTree, ZanzibarError> {
        self.count()?;
        let leaf = ExpandTree::node(ExpandKind::Leaf, obj, name, Vec::new());
        if self.path.iter().any(|(o, n)| o == obj && n == name) {
            return Ok(leaf);
        }
        if self.path.len() >= MAX_DEPTH {
            return Err(ZanzibarError::DepthExceeded { max: MAX_DEPTH });
        }
        self.path.push((obj.clone(), name.to_string()));
        let result = match def.member(name) {
            None => Ok(leaf),
            Some(Member::Relation(_)) => Ok(ExpandTree {
                subjects: self
                    .graph
                    .subjects_of(obj, name)
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                ..leaf
            }),
            Some(Member::Permission(i)) => match def.permissions().get(i) {
                None => Ok(leaf),
                Some(p) => self.expr(&p.expr, obj, def, name).map(|t| match &p.expr {
                    Expr::Ref(_) | Expr::Arrow { .. } => {
                        ExpandTree::node(ExpandKind::Union, obj, name, vec![t])
                    }
                    _ => t,
                }),
            },
        };
        self.path.pop();
        result
    }

    fn expr(
        &mut self,
        e: &Expr,
        obj: &ObjectRef,
        def: &'a Definition,
        perm: &str,
    ) -> Result<ExpandTree, ZanzibarError> {
        match e {
            Expr::Ref(n) => self.frame(obj, def, n),
            Expr::Arrow { tupleset, computed } => {
                self.count()?;
                let mut children = Vec::new();
                for s in self.graph.subjects_of(obj, tupleset) {
                    if s.relation.is_some() || s.is_wildcard() {
                        continue;
                    }
                    let schema = self.schema;
                    let Some(d2) = schema.definition(&s.subject_type) else {
                        continue;
                    };
                    if d2.member(computed).is_some() {
                        children.push(self.frame(&s.object(), d2, computed)?);
                    }
                }
                Ok(ExpandTree::node(
                    ExpandKind::Union,
                    obj,
                    &format!("{tupleset}->{computed}"),
                    children,
                ))
            }
            Expr::Union(items) | Expr::Intersection(items) => {
                self.count()?;
                let kind = if matches!(e, Expr::Union(_)) {
                    ExpandKind::Union
                } else {
                    ExpandKind::Intersection
                };
                let children = items
                    .iter()
                    .map(|i| self.expr(i, obj, def, perm))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ExpandTree::node(kind, obj, perm, children))
            }
            Expr::Exclusion(l, r) => {
                self.count()?;
                let children = vec![self.expr(l, obj, def, perm)?, self.expr(r, obj, def, perm)?];
                Ok(ExpandTree::node(ExpandKind::Exclusion, obj, perm, children))
            }
        }
    }
}
