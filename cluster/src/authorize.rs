//! Who a credential is, and which scope each request needs.

use crate::actors::Credential;
use crate::api_key::hash_key;
use crate::command::{Op, RevokeTarget};
use crate::error::{ClusterError, Result};
use crate::ids::ApiKeyId;
use crate::model::{AdminScope, ApiKey, Family, Principal, PrincipalKind};
use crate::query::{Query, Request};
use crate::tables::{OrgReader, Table};

/// The family a request touches and whether it writes.
pub fn access_of(request: &Request) -> (Family, bool) {
    match request {
        Request::Read(query) => (query_family(query), false),
        Request::Write { op, .. } => (op_family(op), true),
        Request::Admit { family, write } => (*family, *write),
        Request::Protocol(_) => (Family::Protocol, true),
    }
}

fn query_family(query: &Query) -> Family {
    match query {
        Query::Me => Family::Identity,
        Query::GetUser(_)
        | Query::ListUsers(_)
        | Query::UserIdentities(_)
        | Query::UserEffectivePermissions(_)
        | Query::PasswordPolicy
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
        Query::GetClient(_)
        | Query::ListClients(_)
        | Query::ListTokens(_)
        | Query::ClientPolicy => Family::Clients,
        Query::ListSessions { .. } | Query::UserSessions(_) | Query::SessionStats => Family::Users,
        Query::SigningKeys => Family::Settings,
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
        Op::PurgeExpired { .. } => Family::Protocol,
        Op::FreezeOrg | Op::ImportOrg { .. } | Op::DropOrg | Op::ThawOrg => Family::ApiKeys,
        Op::SyncMetadataClient(_) => Family::Protocol,
        Op::CreateClient(_)
        | Op::UpdateClient { .. }
        | Op::DeleteClient(_)
        | Op::RotateClientSecret { .. } => Family::Clients,
        Op::AddSigningKey { .. } => Family::Settings,
        Op::Revoke(target) => match target {
            RevokeTarget::UserTokens(_)
            | RevokeTarget::Session(_)
            | RevokeTarget::UserSessions(_)
            | RevokeTarget::AllSessions => Family::Users,
            RevokeTarget::AccessId(_) | RevokeTarget::ClientTokens(_) => Family::Clients,
            RevokeTarget::AccessJti(_) | RevokeTarget::Refresh(_) => Family::Protocol,
        },
        Op::SignIn(_)
        | Op::RecordLoginFailure(_)
        | Op::GrantConsent { .. }
        | Op::IssueCode { .. }
        | Op::IssueTokens(_)
        | Op::StartDeviceGrant { .. }
        | Op::DecideDeviceGrant { .. }
        | Op::StartCiba { .. }
        | Op::DecideCiba { .. }
        | Op::PushRequest { .. } => Family::Protocol,
    }
}

/// The principal behind `credential` in the org `reader` reads.
pub(crate) fn authenticate(
    reader: &OrgReader,
    credential: &Credential,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    let key = match credential {
        Credential::ApiKey(key) => key,
        Credential::Bearer(token) => return bearer_principal(reader, token, now),
        Credential::None => {
            return Err(ClusterError::Unauthenticated {
                message:
                    "missing credential: send an API key in X-API-Key or Authorization: ApiKey"
                        .into(),
            });
        }
    };
    let invalid = || ClusterError::Unauthenticated {
        message: "invalid API key".into(),
    };
    let id: ApiKeyId = reader
        .get(Table::ApiKeyHash, hash_key(key).as_bytes())?
        .ok_or_else(invalid)?;
    let record: ApiKey = reader
        .get(Table::ApiKey, &id.0.to_be_bytes())?
        .ok_or_else(invalid)?;
    if !record.is_usable(now) {
        return Err(ClusterError::Unauthenticated {
            message: "API key is revoked or expired".into(),
        });
    }
    Ok(Principal {
        org: reader.org(),
        kind: PrincipalKind::ApiKey {
            id: record.id,
            name: record.name,
        },
        scopes: record.scopes,
    })
}

/// The principal behind one of the org's access tokens: its user or client, with the token's
/// scopes (admin scopes in them grant admin API access like an API key's).
fn bearer_principal(
    reader: &OrgReader,
    token: &str,
    now: crate::clock::Timestamp,
) -> Result<Principal> {
    let crate::oauth::VerifiedToken {
        claims,
        record,
        user,
    } = crate::oauth::verify_access_token(reader, token, now)?;
    // A token issued for a resource server (RFC 8707 `resource` -> `aud`, always a URL) is for
    // that server only; the admin API takes tokens whose audience is the client itself.
    if record.audience.iter().any(|a| a.contains("://")) {
        return Err(ClusterError::Unauthenticated {
            message: "the token was issued for another resource (aud)".into(),
        });
    }
    let kind = match user {
        Some(user) => PrincipalKind::User {
            id: user.id,
            email: user.email,
        },
        None => {
            let client_id = record.client_id.clone().unwrap_or_default();
            let name = crate::lookup::client(
                reader,
                &crate::command::ClientKey::ClientId(client_id.clone()),
            )
            .map(|c| c.name)
            .unwrap_or_else(|_| client_id.clone());
            PrincipalKind::Client { client_id, name }
        }
    };
    Ok(Principal {
        org: reader.org(),
        kind,
        scopes: claims.scopes(),
    })
}

/// Checks the org is served by this shard at `epoch` (not moved away, not frozen for a move).
pub(crate) fn check_org_here(reader: &OrgReader, epoch: u64) -> Result<()> {
    match reader.get::<crate::model::OrgRecord>(Table::Org, &[])? {
        Some(org) if org.epoch == epoch && org.status != "frozen" => Ok(()),
        _ => Err(ClusterError::WrongShard),
    }
}

/// Checks `principal` may make `request`.
pub(crate) fn authorize(principal: &Principal, request: &Request) -> Result<()> {
    let (family, write) = access_of(request);
    authorize_access(principal, family, write)
}

/// Checks `principal` may read (or write) `family`.
pub(crate) fn authorize_access(principal: &Principal, family: Family, write: bool) -> Result<()> {
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
