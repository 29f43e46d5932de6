//! Attribute references such as `user.department` or `environment.pep.ip`.

use std::fmt;

use serde::{Serialize, Serializer};

/// Which part of the request an attribute reference reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// `user.<key>` (alias `subject.<key>`).
    User,
    /// `resource.<key>`.
    Resource,
    /// `environment.<key>` (alias `env.<key>`); keys are free-form.
    Environment,
    /// The bare name `action`.
    Action,
    /// The bare name `resourceType`.
    ResourceType,
}

impl Scope {
    /// Canonical prefix (or bare name) of the scope.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Resource => "resource",
            Self::Environment => "environment",
            Self::Action => "action",
            Self::ResourceType => "resourceType",
        }
    }
}

/// A parsed attribute reference: a scope plus a dotted key path.
///
/// Serializes to its canonical string (`subject.` becomes `user.`, `env.`
/// becomes `environment.`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AttributeRef {
    scope: Scope,
    path: Vec<String>,
}

impl AttributeRef {
    /// Parses a reference; `None` for an unknown prefix or an empty key
    /// segment. Does not check the attribute catalog.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "action" => return Some(Self::bare(Scope::Action)),
            "resourceType" => return Some(Self::bare(Scope::ResourceType)),
            _ => {}
        }
        let (prefix, rest) = text.split_once('.')?;
        let scope = match prefix {
            "user" | "subject" => Scope::User,
            "resource" => Scope::Resource,
            "environment" | "env" => Scope::Environment,
            _ => return None,
        };
        let path: Vec<String> = rest.split('.').map(str::to_owned).collect();
        if path.iter().any(String::is_empty) {
            return None;
        }
        Some(Self { scope, path })
    }

    fn bare(scope: Scope) -> Self {
        Self {
            scope,
            path: Vec::new(),
        }
    }

    /// The scope of the reference.
    pub fn scope(&self) -> Scope {
        self.scope
    }

    /// Key segments after the prefix (empty for `action`/`resourceType`).
    pub fn path(&self) -> &[String] {
        &self.path
    }

    /// First key segment, i.e. the attribute slug checked against the catalog.
    pub fn key(&self) -> Option<&str> {
        self.path.first().map(String::as_str)
    }
}

impl fmt::Display for AttributeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.scope.as_str())?;
        for segment in &self.path {
            write!(f, ".{segment}")?;
        }
        Ok(())
    }
}

impl Serialize for AttributeRef {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}
