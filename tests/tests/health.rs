//! Health, readiness and the OpenAPI document: every documented org-scoped operation is routed.

use std::collections::BTreeSet;
use std::time::Duration;

use lumo_tests::TestNode;
use lumo_tests::http::{Reply, raw_request};
use reqwest::Method;
use serde_json::{Value, json};

/// A random version-4 UUID (no uuid crate in this package: random bits from std's hasher keys).
fn random_uuid() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut bytes = [0u8; 16];
    for (i, chunk) in bytes.chunks_mut(8).enumerate() {
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_usize(i);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0),
        );
        chunk.copy_from_slice(&h.finish().to_be_bytes());
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[track_caller]
fn assert_error_shape(reply: &Reply, status: u16) {
    assert_eq!(reply.status, status, "status; body: {}", reply.text);
    assert!(
        reply.body["error"].as_str().is_some_and(|e| !e.is_empty()),
        "error code; body: {}",
        reply.text
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message; body: {}",
        reply.text
    );
    assert_eq!(
        reply.body["status"], status,
        "status field; body: {}",
        reply.text
    );
}

#[tokio::test]
async fn healthz_answers_200_ok() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let reply = raw_request(Method::GET, &format!("{}/healthz", node.http), &[], None).await?;
    assert_eq!(reply.status, 200, "body: {}", reply.text);
    assert_eq!(reply.body["status"], "ok", "body: {}", reply.text);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn readyz_is_ready_and_every_group_has_a_leader() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let reply = raw_request(Method::GET, &format!("{}/readyz", node.http), &[], None).await?;
    assert_eq!(reply.status, 200, "body: {}", reply.text);
    assert_eq!(reply.body["status"], "ready", "body: {}", reply.text);
    let node_id = reply.body["node"]
        .as_u64()
        .unwrap_or_else(|| panic!("node id is a number; body: {}", reply.text));
    let groups = reply.body["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("groups is an array; body: {}", reply.text));
    // The meta group and at least one shard.
    assert!(
        groups.len() >= 2,
        "meta + shard groups; body: {}",
        reply.text
    );
    let mut ids = BTreeSet::new();
    for group in groups {
        let id = group["group"]
            .as_u64()
            .unwrap_or_else(|| panic!("group id in {group}"));
        assert!(
            ids.insert(id),
            "group {id} listed twice; body: {}",
            reply.text
        );
        // One-node cluster: this node leads every group.
        assert_eq!(
            group["leader"].as_u64(),
            Some(node_id),
            "leader of group {group}"
        );
        let applied = group["last_applied"]
            .as_u64()
            .unwrap_or_else(|| panic!("last_applied in {group}"));
        let committed = group["committed"].as_u64().unwrap_or(0);
        assert!(
            committed <= applied,
            "group applied what it committed: {group}"
        );
    }
    node.stop().await?;
    Ok(())
}

/// The value substituted for a path parameter.
fn param_value(name: &str, user_id: &str) -> String {
    match name {
        "orgId" => "acme-corp".into(),
        "userId" => user_id.into(),
        "logId" | "keyId" | "scopeId" | "permissionId" => "1".into(),
        "type" => "saml".into(),
        _ => "x".into(),
    }
}

/// A body that passes the frontend's field checks for `(method, path)`, so an unauthenticated
/// call reaches the credential check; `None` for operations without a body.
fn probe_body(method: &str, path: &str, user_id: &str) -> Option<Value> {
    let rest = path.strip_prefix("/orgs/{orgId}/api/v1").unwrap_or(path);
    let body = match (method, rest) {
        ("GET" | "DELETE", _) => return None,
        (
            "POST",
            "/admin/users/{userId}/block"
            | "/admin/users/{userId}/unblock"
            | "/admin/users/{userId}/mark-verified"
            | "/admin/users/{userId}/verify-email"
            | "/admin/users/{userId}/password-reset"
            | "/admin/users/{userId}/mfa/reset",
        ) => return None,
        ("POST", "/admin/users") => json!({"email": "probe@example.com"}),
        (_, "/admin/users/{userId}") => json!({"name": "Probe"}),
        ("POST", "/admin/users/{userId}/roles") => json!({"roleId": "x"}),
        ("PUT", "/admin/users/{userId}/roles") => json!({"roles": ["x"]}),
        ("POST", "/admin/users/{userId}/groups") => json!({"groupId": "x"}),
        ("PUT", "/admin/users/{userId}/groups") => json!({"groups": ["x"]}),
        ("POST", "/admin/users/{userId}/permissions") => json!({"permissionId": "x"}),
        ("POST", "/admin/users/{userId}/identities") => {
            json!({"type": "saml", "idp_id": 1, "name_id": "probe"})
        }
        (_, "/admin/users/{userId}/password") => json!({"password": "Probe-Passw0rd!"}),
        ("POST", "/admin/groups" | "/admin/roles" | "/admin/permissions" | "/admin/scopes") => {
            json!({"name": "probe"})
        }
        (
            _,
            "/admin/groups/{groupId}"
            | "/admin/roles/{roleId}"
            | "/admin/permissions/{permissionId}",
        ) => {
            json!({"name": "Probe"})
        }
        ("POST", "/admin/groups/{groupId}/members") => json!({"userIds": [user_id]}),
        ("POST", "/admin/groups/{groupId}/roles") => json!({"roleId": "x"}),
        ("PUT", "/admin/groups/{groupId}/roles") => json!({"roles": ["x"]}),
        (_, "/admin/roles/{roleId}/permissions") => json!({"permissions": ["x"]}),
        ("POST", "/admin/roles/{roleId}/users") => json!({"userId": user_id}),
        (_, "/admin/audit-logs/retention") => json!({"retentionDays": 30}),
        ("POST", "/admin/identities/legacy-saml") => json!({"idp_id": 1}),
        ("POST", "/admin/api-keys") => json!({"name": "probe", "scopes": ["admin"]}),
        (_, "/admin/tenant" | "/admin/organization") => json!({"name": "Acme Corp"}),
        (_, p) if p.starts_with("/admin/settings/") => json!({}),
        _ => json!({}),
    };
    Some(body)
}

#[tokio::test]
async fn every_openapi_operation_under_the_org_api_is_routed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let doc = raw_request(
        Method::GET,
        &format!("{}/openapi.json", node.http),
        &[],
        None,
    )
    .await?;
    assert_eq!(doc.status, 200, "body: {}", doc.text);
    let version = doc.body["openapi"].as_str().unwrap_or_default();
    assert!(
        version.starts_with("3."),
        "OpenAPI 3 document, got version {version:?}"
    );
    assert!(
        doc.body["info"]["title"]
            .as_str()
            .is_some_and(|t| !t.is_empty()),
        "info.title"
    );
    let paths = doc.body["paths"]
        .as_object()
        .unwrap_or_else(|| panic!("paths object; body: {}", doc.text));

    let user_id = random_uuid();
    let mut checked = 0usize;
    let mut failures = Vec::new();
    for (path, item) in paths {
        if !path.starts_with("/orgs/{orgId}/api/v1") {
            continue;
        }
        let ops = item
            .as_object()
            .unwrap_or_else(|| panic!("path item of {path}"));
        for method in ops.keys() {
            // Public documents (discovery) take no credential.
            if ops[method]["security"]
                .as_array()
                .is_some_and(Vec::is_empty)
            {
                continue;
            }
            let method = method.to_ascii_uppercase();
            if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method.as_str()) {
                continue;
            }
            // Substitute every {param}.
            let mut concrete = String::new();
            let mut rest = path.as_str();
            while let Some(open) = rest.find('{') {
                let close = rest[open..]
                    .find('}')
                    .map(|c| open + c)
                    .unwrap_or_else(|| panic!("unclosed {{ in {path}"));
                concrete.push_str(&rest[..open]);
                concrete.push_str(&param_value(&rest[open + 1..close], &user_id));
                rest = &rest[close + 1..];
            }
            concrete.push_str(rest);
            let body = probe_body(&method, path, &user_id);
            let reply = raw_request(
                Method::from_bytes(method.as_bytes())?,
                &format!("{}{concrete}", node.http),
                &[],
                body,
            )
            .await?;
            checked += 1;
            let code = reply.body["error"].as_str().unwrap_or_default();
            let malformed_id = reply.status == 400 && code == "invalid_request";
            // AAuth endpoints take an HTTP message signature instead of a credential.
            let signed = ops[&method.to_ascii_lowercase()]["security"][0]
                .get("AAuthSigned")
                .is_some();
            let expected = if signed {
                "invalid_signature"
            } else {
                "invalid_token"
            };
            // SCIM answers in the SCIM error shape (RFC 7644 section 3.12).
            let scim_refusal = path.contains("/scim/")
                && reply.status == 401
                && reply.body["status"] == "401"
                && reply.body["schemas"][0] == "urn:ietf:params:scim:api:messages:2.0:Error";
            let ok = (reply.status == 401 && code == expected && reply.body["status"] == 401)
                || malformed_id
                || scim_refusal;
            if !ok {
                failures.push(format!(
                    "{method} {concrete} -> {} {}",
                    reply.status, reply.text
                ));
            }
            assert!(
                !(reply.status == 404 && code == "not_found"),
                "{method} {path} is documented but not routed: {}",
                reply.text
            );
            assert_ne!(
                reply.status, 405,
                "{method} {path} is documented but the method is not routed"
            );
        }
    }
    assert!(
        checked >= 50,
        "the document lists the org API (checked {checked} operations)"
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} documented operations did not answer 401 without a credential:\n{}",
        failures.len(),
        failures.join("\n")
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_routes_answer_404_and_wrong_methods_405_in_the_error_shape() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let key = ("X-API-Key", lumo_tests::ADMIN_KEY);

    let unknown = raw_request(
        Method::GET,
        &format!("{}/no/such/route", node.http),
        &[],
        None,
    )
    .await?;
    assert_error_shape(&unknown, 404);
    assert_eq!(unknown.body["error"], "not_found", "body: {}", unknown.text);

    let unknown_org_route = raw_request(
        Method::GET,
        &format!("{}/orgs/acme-corp/api/v1/admin/nothing-here", node.http),
        &[key],
        None,
    )
    .await?;
    assert_error_shape(&unknown_org_route, 404);
    assert_eq!(
        unknown_org_route.body["error"], "not_found",
        "body: {}",
        unknown_org_route.text
    );

    // /healthz is GET only; /admin/users has no DELETE.
    let wrong = raw_request(Method::DELETE, &format!("{}/healthz", node.http), &[], None).await?;
    assert_error_shape(&wrong, 405);
    assert_eq!(
        wrong.body["error"], "method_not_allowed",
        "body: {}",
        wrong.text
    );
    let wrong_org = raw_request(
        Method::DELETE,
        &format!("{}/orgs/acme-corp/api/v1/admin/users", node.http),
        &[key],
        None,
    )
    .await?;
    assert_error_shape(&wrong_org, 405);
    assert_eq!(
        wrong_org.body["error"], "method_not_allowed",
        "body: {}",
        wrong_org.text
    );

    // The node still serves after the errors.
    tokio::time::timeout(Duration::from_secs(10), node.api().get("/admin/users"))
        .await??
        .expect(200);
    node.stop().await?;
    Ok(())
}
