//! Schema data model: definitions, relations, permissions and expressions.

use std::collections::HashMap;

/// One allowed subject type of a relation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AllowedSubject {
    /// `user`: concrete subjects of the type.
    Type(String),
    /// `user:*`: the wildcard of the type.
    Wildcard(String),
    /// `team#member`: usersets of the type.
    Userset {
        /// Subject type (`team`).
        subject_type: String,
        /// Relation or permission on the subject type (`member`).
        relation: String,
    },
}

impl AllowedSubject {
    /// The subject type this entry refers to.
    pub fn subject_type(&self) -> &str {
        match self {
            Self::Type(t) | Self::Wildcard(t) => t,
            Self::Userset { subject_type, .. } => subject_type,
        }
    }
}

/// A permission expression. `+`, `&`, `-` have equal precedence, left-associative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A relation or permission on the same object (computed userset).
    Ref(String),
    /// `tupleset->computed`: for each subject object of relation `tupleset`, `computed` on it.
    Arrow {
        /// Relation on this object whose subjects are followed.
        tupleset: String,
        /// Relation or permission evaluated on each subject object.
        computed: String,
    },
    /// `a + b + ...`
    Union(Vec<Expr>),
    /// `a & b & ...`
    Intersection(Vec<Expr>),
    /// `a - b`
    Exclusion(Box<Expr>, Box<Expr>),
}

impl Expr {
    /// Nesting depth: 0 for names and arrows, 1 + the deepest child for operators.
    pub fn depth(&self) -> usize {
        match self {
            Self::Ref(_) | Self::Arrow { .. } => 0,
            Self::Union(c) | Self::Intersection(c) => {
                1 + c.iter().map(Self::depth).max().unwrap_or(0)
            }
            Self::Exclusion(l, r) => 1 + l.depth().max(r.depth()),
        }
    }
}

/// `relation name: allowed | ...`: stored as tuples.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationDef {
    /// Relation name.
    pub name: String,
    /// Allowed subject types, in declaration order.
    pub allowed: Vec<AllowedSubject>,
    /// 1-based source line.
    pub line: usize,
}

/// `permission name = expr`: computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionDef {
    /// Permission name.
    pub name: String,
    /// Expression.
    pub expr: Expr,
    /// 1-based source line.
    pub line: usize,
}

/// A relation or permission of a definition, by index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Member {
    /// Index into [`Definition::relations`].
    Relation(usize),
    /// Index into [`Definition::permissions`].
    Permission(usize),
}

/// `definition name { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    name: String,
    line: usize,
    relations: Vec<RelationDef>,
    permissions: Vec<PermissionDef>,
    members: HashMap<String, Member>,
}

impl Definition {
    pub(crate) fn new(name: String, line: usize) -> Self {
        Self {
            name,
            line,
            relations: Vec::new(),
            permissions: Vec::new(),
            members: HashMap::new(),
        }
    }

    /// Adds a relation; returns false when the name is already used.
    pub(crate) fn add_relation(&mut self, r: RelationDef) -> bool {
        if self.members.contains_key(&r.name) {
            return false;
        }
        self.members
            .insert(r.name.clone(), Member::Relation(self.relations.len()));
        self.relations.push(r);
        true
    }

    /// Adds a permission; returns false when the name is already used.
    pub(crate) fn add_permission(&mut self, p: PermissionDef) -> bool {
        if self.members.contains_key(&p.name) {
            return false;
        }
        self.members
            .insert(p.name.clone(), Member::Permission(self.permissions.len()));
        self.permissions.push(p);
        true
    }

    /// Number of relations plus permissions.
    pub fn member_count(&self) -> usize {
        self.members.len()
    }

    /// Type name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// 1-based source line of the `definition` keyword.
    pub fn line(&self) -> usize {
        self.line
    }

    /// Relations in declaration order.
    pub fn relations(&self) -> &[RelationDef] {
        &self.relations
    }

    /// Permissions in declaration order.
    pub fn permissions(&self) -> &[PermissionDef] {
        &self.permissions
    }

    /// Looks up a relation or permission by name.
    pub fn member(&self, name: &str) -> Option<Member> {
        self.members.get(name).copied()
    }

    /// Looks up a relation (not a permission) by name.
    pub fn relation(&self, name: &str) -> Option<&RelationDef> {
        match self.member(name)? {
            Member::Relation(i) => self.relations.get(i),
            Member::Permission(_) => None,
        }
    }

    /// Looks up a permission by name.
    pub fn permission(&self, name: &str) -> Option<&PermissionDef> {
        match self.member(name)? {
            Member::Permission(i) => self.permissions.get(i),
            Member::Relation(_) => None,
        }
    }

    /// Name of a member.
    pub fn member_name(&self, m: Member) -> Option<&str> {
        match m {
            Member::Relation(i) => self.relations.get(i).map(|r| r.name.as_str()),
            Member::Permission(i) => self.permissions.get(i).map(|p| p.name.as_str()),
        }
    }
}
