//! Reading the `{name, slug, description}` body shared by groups and roles.

use lumo_cluster::command::{NamedPatch, NewNamed};

use crate::error::ApiResult;
use crate::extract::{Body, JsonBody};

fn valid_slug(slug: &str) -> bool {
    !slug.is_empty()
        && slug.len() <= 100
        && slug.chars().all(|c| {
            c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || c == '-'
                || c == '_'
                || c == ':'
                || c == '.'
        })
}

pub use lumo_cluster::model::slugify;

fn check_slug(body: &mut Body, slug: &str) {
    if !valid_slug(slug) {
        body.problem(
            "slug",
            "must be 1-100 characters of a-z, 0-9, '-', '_', ':' or '.'",
        );
    }
}

/// Fields of a new group or role (`slug` defaults to the slugified name).
pub fn new_named(json: JsonBody) -> ApiResult<NewNamed> {
    let mut body = Body::new(json);
    let name = body.required_str("name", 200);
    let slug = body.opt_str("slug", 100).unwrap_or_else(|| slugify(&name));
    if !name.is_empty() {
        check_slug(&mut body, &slug);
    }
    let description = body.opt_str("description", 2000);
    body.finish()?;
    Ok(NewNamed {
        name,
        slug,
        description,
    })
}

/// A partial update of a group or role.
pub fn named_patch(json: JsonBody) -> ApiResult<NamedPatch> {
    let mut body = Body::new(json);
    let name = body.opt_str("name", 200);
    if body
        .raw("name")
        .is_some_and(|v| v.is_null() || v.as_str().is_some_and(|s| s.trim().is_empty()))
    {
        body.problem("name", "may not be empty");
    }
    let slug = body.opt_str("slug", 100);
    if let Some(slug) = &slug {
        check_slug(&mut body, slug);
    }
    let description = body.nullable_str("description", 2000);
    body.finish()?;
    Ok(NamedPatch {
        name,
        slug,
        description,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_from_names() {
        assert_eq!(slugify("Billing Admins!"), "billing-admins");
        assert_eq!(slugify("  Ünïcode & co "), "n-code-co");
        assert!(valid_slug("users:read"));
        assert!(!valid_slug("Has Space"));
    }
}
