//! ABAC questions, for the calling user only (a bearer token; API keys are refused): checks
//! against the org's compiled policies with the user's, the resource's and the request's
//! attributes, and the attribute reads of the runtime API.

use serde_json::{Map, Value, json};

use crate::authz::abac::{AbacContext, decide};
use crate::authz::abac_store::{definitions, resource_attributes, user_values};
use crate::authz::{AbacCheckItem, AbacResult, Answer};
use crate::command::Relation;
use crate::error::{ClusterError, Result};
use crate::ids::UserId;
use crate::model::{AbacPolicyRecord, AttributeKind, Group, Principal, PrincipalKind, User};
use crate::query::{Page, PageParams};
use crate::raft::GroupHandle;
use crate::relations::{Direction, neighbours};
use crate::tables::{OrgReader, Table};

/// Scopes that let a user token read through the ABAC runtime.
const READ_SCOPES: &[&str] = &["abac:read", "abac:write", "admin"];

/// The calling user, or why the ABAC runtime refuses the credential.
pub(super) fn caller(principal: &Principal) -> Result<UserId> {
    match &principal.kind {
        PrincipalKind::User { id, .. } => {
            if principal
                .scopes
                .iter()
                .any(|s| READ_SCOPES.contains(&s.as_str()))
            {
                return Ok(*id);
            }
            Err(ClusterError::Forbidden {
                message: "Insufficient scope: the ABAC runtime needs abac:read".into(),
                required_scopes: vec!["abac:read".into()],
                granted_scopes: principal.scopes.clone(),
            })
        }
        _ => Err(ClusterError::Unauthenticated {
            message: "the ABAC runtime takes a user's bearer token; API keys and client tokens are refused"
                .into(),
        }),
    }
}

/// The subject attributes of `user`: the built-ins and the org's custom user attributes.
pub(super) fn user_attributes(
    shard: &GroupHandle,
    reader: &OrgReader,
    user: UserId,
) -> Result<Map<String, Value>> {
    let row: User = reader
        .get(Table::User, &user.to_bytes())?
        .ok_or_else(|| ClusterError::not_found("user", user))?;
    let roles = crate::read::role_slugs(reader, user)?;
    let group_ids = neighbours(
        reader,
        Relation::UserGroup,
        Direction::Forward,
        &user.to_bytes(),
    )?;
    let mut groups = Vec::new();
    for id in group_ids {
        if let Some(group) = reader.get::<Group>(Table::Group, &id)? {
            groups.push(group.slug);
        }
    }
    groups.sort();
    // The memo of the checks, not a second walk of roles and groups.
    let permissions: Vec<String> = shard
        .authz
        .with_org(reader, |org| org.permissions_of(reader, user))?
        .iter()
        .map(|p| p.slug.clone())
        .collect();
    let memberships = crate::lookup::memberships(reader, user)?;
    let organizations: Vec<&str> = memberships.iter().map(|m| m.org.slug.as_str()).collect();
    // `slug:role` for each membership, so a condition can ask for a role in one organization.
    let organization_roles: Vec<String> = memberships
        .iter()
        .flat_map(|m| {
            m.role_slugs()
                .into_iter()
                .map(|role| format!("{}:{role}", m.org.slug))
        })
        .collect();
    let org = crate::lookup::load_org(reader)?;
    let is_admin = roles.iter().any(|r| r == "admin");
    let mut attributes = match json!({
        "id": row.id.to_string(),
        "email": row.email,
        "username": row.username.clone().unwrap_or_else(|| row.email.clone()),
        "name": row.name,
        "isAdmin": is_admin,
        "isSuperAdmin": false,
        "emailVerified": row.email_verified,
        "mfaEnabled": row.mfa_enabled,
        "isActive": row.is_active,
        "blocked": row.blocked,
        "givenName": row.given_name,
        "familyName": row.family_name,
        "locale": row.locale,
        "zoneinfo": row.zoneinfo,
        "roles": roles,
        "groups": groups,
        "permissions": permissions,
        "organizations": organizations,
        "organizationRoles": organization_roles,
        "tenantId": org.number,
        "orgId": org.slug,
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    for (slug, value) in user_values(reader, user)? {
        attributes.entry(slug).or_insert(value);
    }
    Ok(attributes)
}

/// The permission that shows matched policies in full.
const VIEW_POLICIES: &str = "policies.view";

fn check_one(
    reader: &OrgReader,
    policies: &[crate::authz::abac::Policy],
    (user, environment, full): (&Map<String, Value>, &Map<String, Value>, bool),
    item: &AbacCheckItem,
) -> Result<AbacResult> {
    let (Some(resource_type), Some(action)) = (&item.resource_type, &item.action) else {
        return Ok(AbacResult {
            allowed: false,
            reason: "not checked".into(),
            matched: Vec::new(),
            policies: Vec::new(),
            error: Some("resourceType and action are required".into()),
        });
    };
    let mut resource = match &item.resource_id {
        Some(id) => resource_attributes(reader, resource_type, id)?,
        None => {
            let mut map = Map::new();
            map.insert("type".into(), json!(resource_type));
            map
        }
    };
    for (key, value) in &item.extra {
        resource.entry(key.clone()).or_insert_with(|| value.clone());
    }
    let context = AbacContext {
        user: user.clone(),
        resource,
        environment: environment.clone(),
        action: action.clone(),
        resource_type: resource_type.clone(),
    };
    let decision = decide(policies, &context);
    let mut shown = Vec::new();
    if full {
        for (id, _) in &decision.matched {
            if let Some(record) =
                reader.get::<AbacPolicyRecord>(Table::AbacPolicy, &id.to_be_bytes())?
            {
                shown.push(record);
            }
        }
    }
    Ok(AbacResult {
        allowed: decision.allowed,
        reason: decision.reason,
        matched: decision.matched,
        policies: shown,
        error: None,
    })
}

pub(super) fn check(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
    checks: &[AbacCheckItem],
    environment: &Map<String, Value>,
) -> Result<Answer> {
    let user = caller(principal)?;
    let attributes = user_attributes(shard, reader, user)?;
    let policies = shard.authz.with_org(reader, |org| org.policies(reader))?;
    let full = attributes
        .get("permissions")
        .and_then(Value::as_array)
        .is_some_and(|held| held.iter().any(|p| p == VIEW_POLICIES));
    let results = checks
        .iter()
        .map(|item| check_one(reader, &policies, (&attributes, environment, full), item))
        .collect::<Result<Vec<_>>>()?;
    Ok(Answer::AbacChecks {
        user_id: user.to_string(),
        results,
    })
}

pub(super) fn my_attributes(
    shard: &GroupHandle,
    reader: &OrgReader,
    principal: &Principal,
) -> Result<Answer> {
    let user = caller(principal)?;
    Ok(Answer::AbacAttributes {
        user_id: Some(user.to_string()),
        attributes: Value::Object(user_attributes(shard, reader, user)?),
    })
}

pub(super) fn resource(
    reader: &OrgReader,
    principal: &Principal,
    resource_type: &str,
    resource_id: &str,
) -> Result<Answer> {
    caller(principal)?;
    Ok(Answer::AbacAttributes {
        user_id: None,
        attributes: Value::Object(resource_attributes(reader, resource_type, resource_id)?),
    })
}

pub(super) fn definitions_page(
    reader: &OrgReader,
    principal: &Principal,
    kind: Option<AttributeKind>,
    page: PageParams,
) -> Result<Answer> {
    caller(principal)?;
    let all: Vec<_> = definitions(reader)?
        .into_iter()
        .filter(|d| kind.is_none_or(|k| d.kind == k))
        .collect();
    Ok(Answer::AbacDefinitions(Page::of(all, page)))
}
