//! Semantic validation of parsed definitions: names, duplicates and references.

use std::collections::{HashMap, HashSet};

use super::super::ZanzibarError;
use super::super::names::{is_valid_relation_name, is_valid_type_name};
use super::model::{AllowedSubject, Definition, Expr, Member};

fn err(message: String, line: usize) -> ZanzibarError {
    ZanzibarError::schema(message, Some(line))
}

/// Checks names, duplicate definitions, allowed subject types and expression references.
/// Returns the name → index map of the definitions.
pub(crate) fn validate(defs: &[Definition]) -> Result<HashMap<String, usize>, ZanzibarError> {
    let mut index = HashMap::new();
    for (i, d) in defs.iter().enumerate() {
        if !is_valid_type_name(d.name()) {
            return Err(err(
                format!(
                    "invalid type name `{}` (expected [a-z][a-z0-9_]{{0,63}}, optionally `ns/`-prefixed)",
                    d.name()
                ),
                d.line(),
            ));
        }
        if index.insert(d.name().to_string(), i).is_some() {
            return Err(err(
                format!("duplicate definition `{}`", d.name()),
                d.line(),
            ));
        }
    }
    for d in defs {
        check_member_names(d)?;
        for r in d.relations() {
            check_allowed(defs, &index, d, &r.allowed, &r.name, r.line)?;
        }
        for p in d.permissions() {
            check_expr(defs, &index, d, &p.expr, &p.name, p.line)?;
        }
    }
    Ok(index)
}

fn check_member_names(d: &Definition) -> Result<(), ZanzibarError> {
    let names = d
        .relations()
        .iter()
        .map(|r| (&r.name, r.line))
        .chain(d.permissions().iter().map(|p| (&p.name, p.line)));
    for (name, line) in names {
        if !is_valid_relation_name(name) {
            return Err(err(
                format!(
                    "invalid relation or permission name `{name}` in `{}` (expected [a-z][a-z0-9_]{{0,63}})",
                    d.name()
                ),
                line,
            ));
        }
    }
    Ok(())
}

fn lookup<'d>(
    defs: &'d [Definition],
    index: &HashMap<String, usize>,
    name: &str,
) -> Option<&'d Definition> {
    index.get(name).and_then(|&i| defs.get(i))
}

fn check_allowed(
    defs: &[Definition],
    index: &HashMap<String, usize>,
    d: &Definition,
    allowed: &[AllowedSubject],
    relation: &str,
    line: usize,
) -> Result<(), ZanzibarError> {
    let mut seen = HashSet::new();
    for a in allowed {
        let Some(target) = lookup(defs, index, a.subject_type()) else {
            return Err(err(
                format!(
                    "unknown type `{}` in allowed subjects of `{}#{relation}`",
                    a.subject_type(),
                    d.name()
                ),
                line,
            ));
        };
        let missing = match a {
            AllowedSubject::Userset { relation: r, .. } => target.member(r).is_none().then_some(r),
            _ => None,
        };
        if let Some(r) = missing {
            return Err(err(
                format!(
                    "unknown relation `{}#{r}` in allowed subjects of `{}#{relation}`",
                    target.name(),
                    d.name()
                ),
                line,
            ));
        }
        if !seen.insert(a) {
            return Err(err(
                format!(
                    "duplicate allowed subject type `{}` in `{}#{relation}`",
                    super::render::allowed_text(a),
                    d.name()
                ),
                line,
            ));
        }
    }
    Ok(())
}

fn check_expr(
    defs: &[Definition],
    index: &HashMap<String, usize>,
    d: &Definition,
    expr: &Expr,
    permission: &str,
    line: usize,
) -> Result<(), ZanzibarError> {
    match expr {
        Expr::Ref(name) => {
            if d.member(name).is_none() {
                return Err(err(
                    format!(
                        "unknown relation or permission `{name}` in `{}#{permission}`",
                        d.name()
                    ),
                    line,
                ));
            }
        }
        Expr::Arrow { tupleset, computed } => {
            check_arrow(defs, index, d, tupleset, computed, permission, line)?;
        }
        Expr::Union(items) | Expr::Intersection(items) => {
            for e in items {
                check_expr(defs, index, d, e, permission, line)?;
            }
        }
        Expr::Exclusion(l, r) => {
            check_expr(defs, index, d, l, permission, line)?;
            check_expr(defs, index, d, r, permission, line)?;
        }
    }
    Ok(())
}

fn check_arrow(
    defs: &[Definition],
    index: &HashMap<String, usize>,
    d: &Definition,
    tupleset: &str,
    computed: &str,
    permission: &str,
    line: usize,
) -> Result<(), ZanzibarError> {
    let here = format!("`{tupleset}->{computed}` in `{}#{permission}`", d.name());
    let rel = match d.member(tupleset) {
        None => {
            return Err(err(
                format!("unknown relation `{tupleset}` on the left of {here}"),
                line,
            ));
        }
        Some(Member::Permission(_)) => {
            return Err(err(
                format!("left side of {here} must be a relation, not a permission"),
                line,
            ));
        }
        Some(Member::Relation(_)) => d.relation(tupleset),
    };
    let Some(rel) = rel else {
        return Err(err(format!("unknown relation on the left of {here}"), line));
    };
    let mut found = false;
    for a in &rel.allowed {
        match a {
            AllowedSubject::Type(t) => {
                found |= lookup(defs, index, t).is_some_and(|t| t.member(computed).is_some());
            }
            AllowedSubject::Wildcard(_) | AllowedSubject::Userset { .. } => {
                return Err(err(
                    format!(
                        "relation `{tupleset}` used on the left of {here} may only allow plain object types (found `{}`)",
                        super::render::allowed_text(a)
                    ),
                    line,
                ));
            }
        }
    }
    if !found {
        return Err(err(
            format!(
                "`{computed}` does not exist on any allowed subject type of `{}#{tupleset}` ({here})",
                d.name()
            ),
            line,
        ));
    }
    Ok(())
}
