//! Which scope each request needs.

use crate::command::Op;
use crate::model::Family;
use crate::query::{Query, Request};

/// The family a request touches and whether it writes.
pub fn access_of(request: &Request) -> (Family, bool) {
    match request {
        Request::Read(query) => (query_family(query), false),
        Request::Write { op, .. } => (op_family(op), true),
    }
}

fn query_family(query: &Query) -> Family {
    match query {
        Query::Me => Family::Identity,
        Query::GetUser(_)
        | Query::ListUsers(_)
        | Query::UserIdentities(_)
        | Query::UserEffectivePermissions(_)
        | Query::LegacySamlReport { .. } => Family::Users,
        Query::Related { anchor, .. } => match anchor {
            crate::command::EntityKey::User(_) => Family::Users,
            crate::command::EntityKey::Group(_) => Family::Groups,
            crate::command::EntityKey::Role(_) | crate::command::EntityKey::Permission(_) => {
                Family::Roles
            }
        },
        Query::GetGroup(_) | Query::ListGroups(_) => Family::Groups,
        Query::GetRole(_)
        | Query::ListRoles(_)
        | Query::GetPermission(_)
        | Query::ListPermissions(_)
        | Query::PermissionUsage(_)
        | Query::ListScopes(_)
        | Query::GetScope(_) => Family::Roles,
        Query::ListAudit(_)
        | Query::GetAudit(_)
        | Query::AuditActions(_)
        | Query::AuditStats { .. }
        | Query::ExportAudit(_)
        | Query::AuditRetention
        | Query::VerifyAudit => Family::Audit,
        Query::Settings(_) | Query::AllSettings | Query::Tenant => Family::Settings,
        Query::AnalyticsDashboard
        | Query::AnalyticsLogins { .. }
        | Query::AnalyticsUsers { .. } => Family::Analytics,
        Query::ListApiKeys => Family::ApiKeys,
    }
}

fn op_family(op: &Op) -> Family {
    match op {
        Op::InitOrg { .. } | Op::CreateApiKey(_) | Op::RevokeApiKey(_) => Family::ApiKeys,
        Op::UpdateTenant { .. } | Op::UpdateSettings { .. } => Family::Settings,
        Op::CreateUser(_)
        | Op::UpdateUser { .. }
        | Op::DeleteUser(_)
        | Op::SetUserBlocked { .. }
        | Op::MarkUserVerified(_)
        | Op::SetUserPassword { .. }
        | Op::RequestEmail { .. }
        | Op::LinkIdentity { .. }
        | Op::UnlinkIdentity { .. } => Family::Users,
        Op::Relate { anchor, .. } => match anchor {
            crate::command::EntityKey::User(_) => Family::Users,
            crate::command::EntityKey::Group(_) => Family::Groups,
            crate::command::EntityKey::Role(_) | crate::command::EntityKey::Permission(_) => {
                Family::Roles
            }
        },
        Op::CreateGroup { .. } | Op::UpdateGroup { .. } | Op::DeleteGroup(_) => Family::Groups,
        Op::CreateRole { .. }
        | Op::UpdateRole { .. }
        | Op::DeleteRole(_)
        | Op::CreatePermission(_)
        | Op::UpdatePermission { .. }
        | Op::DeletePermission(_)
        | Op::CreateScope { .. }
        | Op::DeleteScope(_) => Family::Roles,
        Op::SetAuditRetention { .. } | Op::CompactAudit { .. } => Family::Audit,
    }
}
