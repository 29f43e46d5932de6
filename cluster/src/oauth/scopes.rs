//! Scope strings: parsing, checking against what a client may ask for, and the admin scopes a
//! user is entitled to carry in a token.

use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::AdminScope;
use crate::read::{effective_permissions, role_slugs};
use crate::tables::OrgReader;

/// The scopes of a space-separated list, without duplicates, in order.
pub fn parse(scope: Option<&str>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in scope.unwrap_or("").split_whitespace() {
        if !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
    }
    out
}

/// The scopes as one space-separated string.
pub fn join(scopes: &[String]) -> String {
    scopes.join(" ")
}

/// Refuses scopes outside `allowed`.
pub fn require_subset(requested: &[String], allowed: &[String], of_what: &str) -> Result<()> {
    if let Some(extra) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(ClusterError::oauth(
            "invalid_scope",
            format!("scope {extra} is not allowed for {of_what}"),
        ));
    }
    Ok(())
}

/// Drops the admin scopes `user` may not hold: the `admin` role holds them all, `viewer`
/// holds `admin:read`, and a permission whose slug is the scope grants that scope.
pub fn entitled(reader: &OrgReader, user: UserId, scopes: Vec<String>) -> Result<Vec<String>> {
    if !scopes.iter().any(|s| AdminScope::is_known(s)) {
        return Ok(scopes);
    }
    let roles = role_slugs(reader, user)?;
    let permissions = effective_permissions(reader, user)?;
    let allowed = |scope: &str| {
        roles.iter().any(|r| r == "admin")
            || (scope == "admin:read" && roles.iter().any(|r| r == "viewer"))
            || permissions.iter().any(|p| p == scope)
    };
    Ok(scopes
        .into_iter()
        .filter(|s| !AdminScope::is_known(s) || allowed(s))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_drops_duplicates_and_blanks() {
        assert_eq!(
            parse(Some(" openid  email openid ")),
            vec!["openid", "email"]
        );
        assert!(parse(None).is_empty());
    }

    #[test]
    fn scopes_outside_the_allowed_set_are_invalid_scope() {
        let allowed = vec!["openid".to_string(), "email".to_string()];
        assert!(require_subset(&["openid".to_string()], &allowed, "x").is_ok());
        let err = require_subset(&["admin".to_string()], &allowed, "x");
        assert!(
            matches!(err, Err(ClusterError::OAuth { ref error, .. }) if error == "invalid_scope")
        );
    }
}
