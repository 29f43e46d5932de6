//! Scope strings: the identity scopes of OpenID Connect, and space-separated scope lists.

/// Scopes that describe an end user (OpenID Connect Core section 5.4 and `offline_access`):
/// what discovery advertises, what a metadata-document client may ask for without an
/// allow-list, and what a client acting for itself never gets by default.
pub const IDENTITY_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

/// Scopes of the platform's own APIs that user and client tokens carry (the authorization
/// engines); any client an administrator allows them may ask for them.
pub const PLATFORM_SCOPES: &[&str] = &[
    "authz:read",
    "authz:check",
    "abac:read",
    "abac:write",
    "jit:approve",
];

/// True for one of the [`IDENTITY_SCOPES`].
pub fn is_identity_scope(scope: &str) -> bool {
    IDENTITY_SCOPES.contains(&scope)
}

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
}
