//! Checking requested scopes: against what a client or token may ask for, and the admin
//! scopes a user is entitled to carry in a token.

use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::AdminScope;
use crate::protocol::ErrorCode;
use crate::read::{effective_permissions, role_slugs};
use crate::tables::OrgReader;

/// Refuses scopes outside `allowed`.
pub fn require_subset(requested: &[String], allowed: &[String], of_what: &str) -> Result<()> {
    if let Some(extra) = requested.iter().find(|s| !allowed.contains(s)) {
        return Err(ClusterError::oauth(
            ErrorCode::InvalidScope,
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
    fn scopes_outside_the_allowed_set_are_invalid_scope() {
        let allowed = vec!["openid".to_string(), "email".to_string()];
        assert!(require_subset(&["openid".to_string()], &allowed, "x").is_ok());
        let err = require_subset(&["admin".to_string()], &allowed, "x");
        assert!(
            matches!(err, Err(ClusterError::OAuth { ref error, .. }) if error == "invalid_scope")
        );
    }
}
