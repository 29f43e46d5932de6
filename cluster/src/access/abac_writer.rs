//! Who may set ABAC attribute values: a user's bearer token with `abac:write` whose user holds
//! the `abac.manage` permission (the runtime API takes no API keys).

use crate::error::{ClusterError, Result};
use crate::model::{Principal, PrincipalKind};
use crate::tables::OrgReader;

/// Scopes that let a user token write through the ABAC runtime.
const WRITE_SCOPES: &[&str] = &["abac:write", "admin"];
/// The permission a user needs to set attribute values.
const MANAGE_PERMISSION: &str = "abac.manage";

/// Refuses `principal` unless it may set attribute values.
pub(crate) fn may_set_values(reader: &OrgReader, principal: &Principal) -> Result<()> {
    let PrincipalKind::User { id, .. } = &principal.kind else {
        return Err(ClusterError::Unauthenticated {
            message: "the ABAC runtime takes a user's bearer token; API keys and client tokens are refused"
                .into(),
        });
    };
    if !principal
        .scopes
        .iter()
        .any(|s| WRITE_SCOPES.contains(&s.as_str()))
    {
        return Err(ClusterError::Forbidden {
            message: "Insufficient scope: setting attributes needs abac:write".into(),
            required_scopes: vec!["abac:write".into()],
            granted_scopes: principal.scopes.clone(),
        });
    }
    let held = crate::authz::rbac::effective_permissions(reader, *id)?;
    if held.iter().any(|p| p.slug == MANAGE_PERMISSION) {
        return Ok(());
    }
    Err(ClusterError::authz(
        crate::error::AuthzCode::InsufficientPermissions,
        format!("setting attributes needs the {MANAGE_PERMISSION} permission"),
    ))
}
