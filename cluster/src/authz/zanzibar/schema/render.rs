//! Canonical text rendering and the JSON view of a schema.

use std::fmt::{self, Write as _};

use serde::Serialize;

use super::model::{AllowedSubject, Definition, Expr};

/// Text form of an allowed subject type: `user`, `user:*`, `team#member`.
pub fn allowed_text(a: &AllowedSubject) -> String {
    match a {
        AllowedSubject::Type(t) => t.clone(),
        AllowedSubject::Wildcard(t) => format!("{t}:*"),
        AllowedSubject::Userset {
            subject_type,
            relation,
        } => format!("{subject_type}#{relation}"),
    }
}

impl fmt::Display for AllowedSubject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&allowed_text(self))
    }
}

fn write_operand(f: &mut fmt::Formatter<'_>, e: &Expr) -> fmt::Result {
    match e {
        Expr::Ref(_) | Expr::Arrow { .. } => write!(f, "{e}"),
        _ => write!(f, "({e})"),
    }
}

/// Renders with explicit parentheses around every nested operator.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ref(n) => f.write_str(n),
            Self::Arrow { tupleset, computed } => write!(f, "{tupleset}->{computed}"),
            Self::Union(items) | Self::Intersection(items) => {
                let sep = if matches!(self, Self::Union(_)) {
                    " + "
                } else {
                    " & "
                };
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write_operand(f, e)?;
                }
                Ok(())
            }
            Self::Exclusion(l, r) => {
                write_operand(f, l)?;
                f.write_str(" - ")?;
                write_operand(f, r)
            }
        }
    }
}

/// Canonical schema text: definitions in declaration order, relations then permissions.
pub(crate) fn to_text(defs: &[Definition]) -> String {
    let mut out = String::new();
    for (i, d) in defs.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if d.relations().is_empty() && d.permissions().is_empty() {
            let _ = writeln!(out, "definition {} {{}}", d.name());
            continue;
        }
        let _ = writeln!(out, "definition {} {{", d.name());
        for r in d.relations() {
            let allowed: Vec<String> = r.allowed.iter().map(allowed_text).collect();
            let _ = writeln!(out, "    relation {}: {}", r.name, allowed.join(" | "));
        }
        for p in d.permissions() {
            let _ = writeln!(out, "    permission {} = {}", p.name, p.expr);
        }
        out.push_str("}\n");
    }
    out
}

/// JSON view of a schema.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SchemaView {
    definitions: Vec<DefinitionView>,
}

#[derive(Debug, Clone, Serialize)]
struct DefinitionView {
    name: String,
    relations: Vec<RelationView>,
    permissions: Vec<PermissionView>,
}

#[derive(Debug, Clone, Serialize)]
struct RelationView {
    name: String,
    allowed_types: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
struct PermissionView {
    name: String,
    expression: String,
}

pub(crate) fn view(defs: &[Definition]) -> SchemaView {
    SchemaView {
        definitions: defs
            .iter()
            .map(|d| DefinitionView {
                name: d.name().to_string(),
                relations: d
                    .relations()
                    .iter()
                    .map(|r| RelationView {
                        name: r.name.clone(),
                        allowed_types: r.allowed.iter().map(allowed_text).collect(),
                    })
                    .collect(),
                permissions: d
                    .permissions()
                    .iter()
                    .map(|p| PermissionView {
                        name: p.name.clone(),
                        expression: p.expr.to_string(),
                    })
                    .collect(),
            })
            .collect(),
    }
}
