//! The one place that decides access: who a credential is ([`authenticate`]), which scope
//! family a request touches ([`access_of`], from its query or its op and content), and whether
//! the principal's scopes allow it, including the rules that escalate a request to the full
//! `admin` scope ([`client_powers`]). The API only says which family a route belongs to for
//! the early check it makes before reading a body.

mod abac_writer;
mod authenticate;
mod client_powers;
mod family;

pub(crate) use authenticate::{authenticate, authenticate_memoized};
pub use family::access_of;

use crate::error::{ClusterError, Result};
use crate::model::{AdminScope, Family, Principal};
use crate::query::Request;
use crate::tables::OrgReader;

/// Checks `principal` may make `request` in the org `reader` reads.
pub(crate) fn authorize(
    reader: &OrgReader,
    principal: &Principal,
    request: &Request,
) -> Result<()> {
    let (family, write) = access_of(request);
    if principal.grant_only && write {
        return Err(ClusterError::Forbidden {
            message: "a JIT grant token proves its grant to resource servers; it cannot write through this API (use the agent's own token)".into(),
            required_scopes: Vec::new(),
            granted_scopes: principal.scopes.clone(),
        });
    }
    authorize_access(principal, family, write)?;
    if family == Family::AgentRuntime {
        runtime_caller(principal)?;
    }
    if let Request::Write { op, .. } = request
        && client_powers::needs_full_admin(reader, op)?
    {
        authorize_access(principal, Family::ApiKeys, true)?;
    }
    if let Request::Write {
        op: crate::command::Op::SetAbacValue { .. },
        ..
    } = request
    {
        abac_writer::may_set_values(reader, principal)?;
    }
    Ok(())
}

/// The agent runtime (`agents/me`, Ask, JIT, approvals) serves tokens and agent keys; org API
/// keys are refused as credentials of the wrong kind (each operation then judges the token's
/// holder: agents, users, clients).
pub(crate) fn runtime_caller(principal: &Principal) -> Result<()> {
    use crate::model::PrincipalKind;
    match principal.kind {
        PrincipalKind::ApiKey { .. } | PrincipalKind::Anonymous => {
            Err(ClusterError::Unauthenticated {
                message: format!(
                    "this endpoint takes an agent's or a user's token, not a credential of type {}",
                    principal.actor_type()
                ),
            })
        }
        _ => Ok(()),
    }
}

/// Checks `principal` may read (or write) `family`.
pub(crate) fn authorize_access(principal: &Principal, family: Family, write: bool) -> Result<()> {
    // SCIM is the SCIM token's alone, whatever scopes another credential was given.
    if family == Family::Scim && principal.kind != crate::model::PrincipalKind::Scim {
        return Err(ClusterError::Forbidden {
            message: "SCIM takes the organization's SCIM token (settings scim.inbound)".into(),
            required_scopes: vec![crate::model::SCIM_SCOPE.to_string()],
            granted_scopes: principal.scopes.clone(),
        });
    }
    if AdminScope::allows(&principal.scopes, family, write) {
        return Ok(());
    }
    let required = AdminScope::required(family, write);
    Err(ClusterError::Forbidden {
        message: format!(
            "Insufficient scope: this request needs one of {}",
            required.join(", ")
        ),
        required_scopes: required,
        granted_scopes: principal.scopes.clone(),
    })
}
