//! Tenant isolation: two orgs on one node. A credential of one org must not read or change
//! anything of the other, on any route family, and data of one org never appears in the other.

mod authz_support;

use authz_support::{PASSWORD, user_token};
use lumo_tests::oauth::create_user;
use lumo_tests::{Api, Reply, TEST_CERTIFICATE, TestNode};
use reqwest::Method;
use serde_json::{Map, Value, json};

const B: &str = "globex";

/// The relation schema both orgs use in these tests.
const SCHEMA: &str = "definition user {}
definition document {
  relation owner: user
  relation viewer: user
  permission view = viewer + owner
}";

/// Org B's secret document, and its viewer.
const B_DOC: &str = "document:globex-secret-doc";
const B_VIEWER: &str = "user:globex-secret-viewer";

/// What org B holds, for the attacks and the leak checks.
struct Seeded {
    user: String,
    user_email: String,
    group: String,
    role: String,
    permission: u64,
    scope: u64,
    key: u64,
    abac_attribute: u64,
    abac_policy: u64,
    agent: String,
    mcp_server: String,
    connection: String,
    aauth_resource: String,
    webhook: u64,
    social_provider: u64,
    saml_app: u64,
    saml_idp: u64,
    markers: Vec<String>,
}

async fn seed_b(b: &Api) -> anyhow::Result<Seeded> {
    b.put(
        "/admin/email-templates/verification",
        json!({"subject": "Globex Secret Subject {{ user_email }}",
               "body_html": "<p>{{ verification_url }}</p>"}),
    )
    .await?
    .expect(200);
    b.post(
        "/admin/organizations",
        json!({"name": "Globex Secret Customer", "slug": "globex-secret-customer"}),
    )
    .await?
    .expect(201);
    b.post("/admin/sandbox/spawn", json!({"name": "secret"}))
        .await?
        .expect(201);
    let user_email = "secret-b-user@globex.test".to_string();
    let user = b
        .post(
            "/admin/users",
            json!({"email": user_email, "name": "Globex Secret Person"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let group = b
        .post(
            "/admin/groups",
            json!({"name": "Globex Secret Group", "slug": "globex-secret-group"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let role = b
        .post(
            "/admin/roles",
            json!({"name": "Globex Secret Role", "slug": "globex-secret-role"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let permission = b
        .post(
            "/admin/permissions",
            json!({"name": "Globex Secret Permission", "slug": "globex:secret"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let scope = b
        .post("/admin/scopes", json!({"name": "globex_secret_scope"}))
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    b.post(
        &format!("/admin/groups/{group}/members"),
        json!({"userIds": [user]}),
    )
    .await?
    .expect(200);
    b.post(
        &format!("/admin/users/{user}/roles"),
        json!({"roleId": role}),
    )
    .await?
    .expect(200);
    b.post(
        &format!("/admin/roles/{role}/permissions"),
        json!({"permissions": ["globex:secret"]}),
    )
    .await?
    .expect(200);
    b.patch(
        "/admin/settings/branding",
        json!({"footer_text": "globex-secret-footer"}),
    )
    .await?
    .expect(200);
    b.patch(
        "/admin/tenant",
        json!({"settings": {"marker": "globex-secret-tenant-setting"}}),
    )
    .await?
    .expect(200);
    b.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    b.post(
        "/zanzibar/tuples",
        json!({"writes": [format!("{B_DOC}#viewer@{B_VIEWER}"), format!("{B_DOC}#owner@user:{user}")]}),
    )
    .await?
    .expect(200);
    let key = b
        .post(
            "/admin/api-keys",
            json!({"name": "globex-secret-bot", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let abac_attribute = b
        .post(
            "/abac/attributes",
            json!({"name": "Globex Secret Attribute", "slug": "globex_secret_attr", "attributeType": "user"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    b.post(
        "/abac/attributes",
        json!({"name": "Globex Secret Class", "slug": "globex_secret_class", "attributeType": "resource", "defaultValue": "globex-secret-default"}),
    )
    .await?
    .expect(201);
    let abac_policy = b
        .post(
            "/abac/policies",
            json!({
                "name": "Globex Secret Policy", "slug": "globex-secret-policy",
                "resourceType": "document", "action": "read", "priority": 7,
                "conditions": {"all": [{"attribute": "user.globex_secret_attr", "operator": "equals", "value": "globex-secret-value"}]},
            }),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let agent = b
        .post(
            "/admin/agents",
            json!({"name": "Globex Secret Agent", "capabilities": ["globex.secret-capability"]}),
        )
        .await?
        .expect(201)
        .data()["agentId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mcp_server = b
        .post(
            "/admin/mcp/servers",
            json!({"name": "Globex Secret MCP", "resource_uri": "https://mcp.globex.test/secret"}),
        )
        .await?
        .expect(201)
        .data()["server_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let connection = b
        .post(
            &format!("/admin/agents/{agent}/connections"),
            json!({"name": "Globex Secret Connection", "provider": "github", "access_token": "globex-secret-upstream-token"}),
        )
        .await?
        .expect(201)
        .data()["connection_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    const GLOBEX_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    b.put(
        &format!("/admin/agents/{agent}/aauth"),
        json!({"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": GLOBEX_KEY, "kid": "k1"}]}}),
    )
    .await?
    .expect(200);
    let aauth_resource = b
        .post(
            "/admin/aauth/resources",
            json!({"name": "Globex Secret Resource", "identifier": "https://aauth.globex.test/api",
                   "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": GLOBEX_KEY}]}, "scopes": ["globex.read"]}),
        )
        .await?
        .expect(201)
        .data()["resource_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let webhook = b
        .post(
            "/admin/webhooks",
            json!({"url": "https://hooks.globex.test/secret", "events": ["user.created"]}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let social_provider = b
        .post(
            "/admin/social-providers",
            json!({"provider": "globex-secret-sso", "type": "oidc", "issuer": "https://sso.globex.test",
                   "clientId": "globex-secret-sso-client", "clientSecret": "globex-secret-sso-secret"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let saml_app = b
        .post(
            "/admin/saml/apps",
            json!({"name": "Globex Secret Payroll", "entityId": "https://payroll.globex.test/sp",
                   "acsUrls": ["https://payroll.globex.test/acs"]}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let saml_idp = b
        .post(
            "/admin/saml/idps",
            json!({"name": "Globex Secret ADFS", "entityId": "https://adfs.globex.test/idp",
                   "ssoUrl": "https://adfs.globex.test/sso", "certificate": TEST_CERTIFICATE}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    let markers = vec![
        "adfs.globex.test".to_string(),
        "Globex Secret Subject".to_string(),
        "Globex Secret Customer".to_string(),
        "payroll.globex.test".to_string(),
        "sso.globex.test".to_string(),
        "globex-secret-sso".to_string(),
        "hooks.globex.test".to_string(),
        "aauth.globex.test".to_string(),
        agent.clone(),
        "globex.secret-capability".to_string(),
        "mcp.globex.test".to_string(),
        "globex-secret-upstream-token".to_string(),
        user.clone(),
        user_email.clone(),
        "Globex Secret".to_string(),
        group.clone(),
        "globex-secret-group".to_string(),
        role.clone(),
        "globex-secret-role".to_string(),
        "globex:secret".to_string(),
        "globex_secret_scope".to_string(),
        "globex-secret-footer".to_string(),
        "globex-secret-tenant-setting".to_string(),
        "globex-secret-bot".to_string(),
        "globex-secret-doc".to_string(),
        "globex-secret-viewer".to_string(),
        "globex_secret_attr".to_string(),
        "globex_secret_class".to_string(),
        "globex-secret-default".to_string(),
        "globex-secret-policy".to_string(),
        "globex-secret-value".to_string(),
        b.key.clone(),
    ];
    Ok(Seeded {
        user,
        user_email,
        group,
        role,
        permission,
        scope,
        key,
        abac_attribute,
        abac_policy,
        agent,
        mcp_server,
        connection,
        aauth_resource,
        webhook,
        social_provider,
        saml_app,
        saml_idp,
        markers,
    })
}

/// Everything an org holds, as its own admin sees it (volatile fields removed).
async fn state(api: &Api, s: Option<&Seeded>) -> anyhow::Result<Value> {
    let mut paths: Vec<String> = [
        "/admin/users?limit=100",
        "/admin/groups?limit=100",
        "/admin/roles?limit=100",
        "/admin/permissions?limit=100",
        "/admin/scopes?limit=100",
        "/admin/audit-logs?limit=100",
        "/admin/audit-logs/actions?limit=100",
        "/admin/audit-logs/retention",
        "/admin/audit-logs/verify",
        "/admin/settings",
        "/admin/settings/auth",
        "/admin/settings/branding",
        "/admin/settings/email",
        "/admin/settings/general",
        "/admin/settings/scim",
        "/admin/settings/security",
        "/admin/email-templates",
        "/admin/email-templates/verification",
        "/admin/organizations",
        "/admin/sandbox",
        "/admin/tenant",
        "/admin/api-keys",
        "/admin/analytics/dashboard",
        "/zanzibar/tuples?limit=100",
        "/zanzibar/changes?limit=1000",
        "/abac/attributes?limit=100",
        "/abac/policies?limit=100",
        "/admin/agents?limit=100",
        "/admin/mcp/servers?limit=100",
        "/admin/aauth/resources?limit=100",
        "/admin/webhooks?limit=100",
        "/admin/social-providers?limit=100",
        "/admin/social-providers/callback-urls",
        "/admin/saml/apps?limit=100",
        "/admin/saml/idps?limit=100",
        "/admin/policies/mfa",
        "/admin/reports/mfa-coverage",
    ]
    .iter()
    .map(|p| p.to_string())
    .collect();
    if let Some(s) = s {
        let (u, g, r) = (&s.user, &s.group, &s.role);
        paths.extend([
            format!("/admin/users/{u}"),
            format!("/admin/users/{u}/roles"),
            format!("/admin/users/{u}/groups"),
            format!("/admin/users/{u}/permissions"),
            format!("/admin/users/{u}/identities"),
            format!("/admin/users/{u}/effective-permissions"),
            format!("/admin/groups/{g}"),
            format!("/admin/groups/{g}/members"),
            format!("/admin/groups/{g}/roles"),
            format!("/admin/roles/{r}"),
            format!("/admin/roles/{r}/permissions"),
            format!("/admin/roles/{r}/users"),
            format!("/admin/permissions/{}", s.permission),
            format!("/admin/permissions/{}/usage", s.permission),
            "/zanzibar/schema".to_string(),
            format!("/abac/attributes/{}", s.abac_attribute),
            format!("/abac/policies/{}", s.abac_policy),
            format!("/admin/agents/{}", s.agent),
            format!("/admin/agents/{}/scopes", s.agent),
            format!("/admin/agents/{}/connections", s.agent),
            format!("/admin/mcp/servers/{}", s.mcp_server),
            format!("/admin/agents/{}/aauth", s.agent),
            format!("/admin/aauth/resources/{}", s.aauth_resource),
            format!("/admin/webhooks/{}", s.webhook),
            format!("/admin/webhooks/{}/deliveries", s.webhook),
            format!("/admin/social-providers/{}", s.social_provider),
            format!("/admin/saml/apps/{}", s.saml_app),
            format!("/admin/saml/idps/{}", s.saml_idp),
            format!("/admin/users/{u}/authenticators"),
            "/admin/organizations/globex-secret-customer/members".into(),
            "/admin/organizations/globex-secret-customer/roles".into(),
            "/admin/organizations/globex-secret-customer/invitations".into(),
        ]);
    }
    let mut out = Map::new();
    for path in paths {
        let reply = api.get(&path).await?.expect(200);
        let mut body = reply.body.clone();
        if let Some(data) = body.get_mut("data").and_then(Value::as_object_mut) {
            data.remove("generatedAt");
            data.remove("generated_at");
        }
        out.insert(path, body);
    }
    Ok(Value::Object(out))
}

/// Every route of the admin API, aimed at org B's entities.
fn attacks(s: &Seeded) -> Vec<(Method, String, Option<Value>)> {
    let (u, g, r, p) = (&s.user, &s.group, &s.role, s.permission);
    let name = json!({"name": "Pwned"});
    let get = |path: String| (Method::GET, path, None);
    let post = |path: String, body: Value| (Method::POST, path, Some(body));
    let post_empty = |path: String| (Method::POST, path, None);
    let put = |path: String, body: Value| (Method::PUT, path, Some(body));
    let patch = |path: String, body: Value| (Method::PATCH, path, Some(body));
    let delete = |path: String| (Method::DELETE, path, None);
    let mut list = vec![
        // users
        get("/admin/users".into()),
        get("/admin/users?search=secret".into()),
        post(
            "/admin/users".into(),
            json!({"email": "intruder@acme.test"}),
        ),
        get(format!("/admin/users/{u}")),
        get(format!("/admin/users/{}", s.user_email)),
        put(format!("/admin/users/{u}"), name.clone()),
        patch(format!("/admin/users/{u}"), name.clone()),
        patch(format!("/admin/users/{}", s.user_email), name.clone()),
        post_empty(format!("/admin/users/{u}/block")),
        post_empty(format!("/admin/users/{u}/unblock")),
        post_empty(format!("/admin/users/{u}/mark-verified")),
        post_empty(format!("/admin/users/{u}/verify-email")),
        post_empty(format!("/admin/users/{u}/password-reset")),
        post(
            format!("/admin/users/{u}/password"),
            json!({"password": "Correct-Horse-Battery-9"}),
        ),
        put(
            format!("/admin/users/{u}/password"),
            json!({"password": "Correct-Horse-Battery-9"}),
        ),
        post_empty(format!("/admin/users/{u}/mfa/reset")),
        // user sub-resources
        get(format!("/admin/users/{u}/roles")),
        post(format!("/admin/users/{u}/roles"), json!({"roleId": r})),
        put(format!("/admin/users/{u}/roles"), json!({"roles": []})),
        delete(format!("/admin/users/{u}/roles/{r}")),
        get(format!("/admin/users/{u}/groups")),
        post(format!("/admin/users/{u}/groups"), json!({"groupId": g})),
        put(format!("/admin/users/{u}/groups"), json!({"groups": []})),
        delete(format!("/admin/users/{u}/groups/{g}")),
        get(format!("/admin/users/{u}/permissions")),
        post(
            format!("/admin/users/{u}/permissions"),
            json!({"permissionId": "globex:secret"}),
        ),
        delete(format!("/admin/users/{u}/permissions/{p}")),
        get(format!("/admin/users/{u}/identities")),
        post(
            format!("/admin/users/{u}/identities"),
            json!({"type": "saml", "idp_id": 1, "name_id": "x@globex.test"}),
        ),
        delete(format!("/admin/users/{u}/identities/saml")),
        get(format!("/admin/users/{u}/effective-permissions")),
        get("/admin/identities/legacy-saml".into()),
        post("/admin/identities/legacy-saml".into(), json!({"idp_id": 1})),
        // groups
        get("/admin/groups".into()),
        post(
            "/admin/groups".into(),
            json!({"name": "Intruders", "slug": "intruders"}),
        ),
        get(format!("/admin/groups/{g}")),
        get("/admin/groups/globex-secret-group".into()),
        put(format!("/admin/groups/{g}"), name.clone()),
        patch(format!("/admin/groups/{g}"), name.clone()),
        delete(format!("/admin/groups/{g}")),
        get(format!("/admin/groups/{g}/members")),
        post(
            format!("/admin/groups/{g}/members"),
            json!({"userIds": [u]}),
        ),
        delete(format!("/admin/groups/{g}/members/{u}")),
        get(format!("/admin/groups/{g}/roles")),
        post(format!("/admin/groups/{g}/roles"), json!({"roleId": r})),
        put(format!("/admin/groups/{g}/roles"), json!({"roles": []})),
        delete(format!("/admin/groups/{g}/roles/{r}")),
        // roles
        get("/admin/roles".into()),
        post(
            "/admin/roles".into(),
            json!({"name": "Intruder", "slug": "intruder"}),
        ),
        get(format!("/admin/roles/{r}")),
        get("/admin/roles/globex-secret-role".into()),
        put(format!("/admin/roles/{r}"), name.clone()),
        patch(format!("/admin/roles/{r}"), name.clone()),
        delete(format!("/admin/roles/{r}")),
        get(format!("/admin/roles/{r}/permissions")),
        post(
            format!("/admin/roles/{r}/permissions"),
            json!({"permissions": ["users:read"]}),
        ),
        put(
            format!("/admin/roles/{r}/permissions"),
            json!({"permissions": []}),
        ),
        delete(format!("/admin/roles/{r}/permissions/{p}")),
        get(format!("/admin/roles/{r}/users")),
        post(format!("/admin/roles/{r}/users"), json!({"userId": u})),
        delete(format!("/admin/roles/{r}/users/{u}")),
        // permissions and scopes
        get("/admin/permissions".into()),
        post(
            "/admin/permissions".into(),
            json!({"name": "Intrude", "slug": "intrude:all"}),
        ),
        get(format!("/admin/permissions/{p}")),
        get("/admin/permissions/globex:secret".into()),
        patch(
            format!("/admin/permissions/{p}"),
            json!({"description": "pwned"}),
        ),
        delete(format!("/admin/permissions/{p}")),
        get(format!("/admin/permissions/{p}/usage")),
        get("/admin/scopes".into()),
        post("/admin/scopes".into(), json!({"name": "intruder_scope"})),
        delete(format!("/admin/scopes/{}", s.scope)),
        // audit logs
        get("/admin/audit-logs".into()),
        get("/admin/audit-logs?search=secret".into()),
        get("/admin/audit-logs/1".into()),
        get("/admin/audit-logs/3".into()),
        get("/admin/audit-logs/actions".into()),
        get("/admin/audit-logs/stats".into()),
        get("/admin/audit-logs/export".into()),
        get("/admin/audit-logs/export?format=json".into()),
        get("/admin/audit-logs/verify".into()),
        get("/admin/audit-logs/retention".into()),
        put(
            "/admin/audit-logs/retention".into(),
            json!({"retentionDays": 1}),
        ),
        patch(
            "/admin/audit-logs/retention".into(),
            json!({"autoDelete": false}),
        ),
        // settings
        get("/admin/settings".into()),
        // tenant
        get("/admin/tenant".into()),
        put("/admin/tenant".into(), name.clone()),
        patch(
            "/admin/tenant".into(),
            json!({"settings": {"marker": null}}),
        ),
        get("/admin/organization".into()),
        put("/admin/organization".into(), name.clone()),
        patch("/admin/organization".into(), name.clone()),
        // analytics
        get("/admin/analytics/dashboard".into()),
        get("/admin/analytics/logins?days=7".into()),
        get("/admin/analytics/users?days=7".into()),
        // api keys
        get("/admin/api-keys".into()),
        post(
            "/admin/api-keys".into(),
            json!({"name": "backdoor", "scopes": ["admin"]}),
        ),
        delete(format!("/admin/api-keys/{}", s.key)),
        delete("/admin/api-keys/1".into()),
        // identity
        get("/me".into()),
        // relations: configuration and questions
        get("/zanzibar/schema".into()),
        put(
            "/zanzibar/schema".into(),
            json!({"schema": "definition user {}"}),
        ),
        get("/zanzibar/tuples".into()),
        get(format!("/zanzibar/tuples?subject={B_VIEWER}")),
        post(
            "/zanzibar/tuples".into(),
            json!({"writes": [format!("{B_DOC}#viewer@user:intruder")]}),
        ),
        post(
            "/zanzibar/tuples".into(),
            json!({"deletes": [format!("{B_DOC}#viewer@{B_VIEWER}")]}),
        ),
        (
            Method::DELETE,
            "/zanzibar/tuples".into(),
            Some(json!({"tuples": [format!("{B_DOC}#viewer@{B_VIEWER}")]})),
        ),
        get("/zanzibar/changes".into()),
        post(
            "/zanzibar/check".into(),
            json!({"object": B_DOC, "relation": "view", "user": B_VIEWER}),
        ),
        post(
            "/zanzibar/expand".into(),
            json!({"object": B_DOC, "relation": "view"}),
        ),
        post(
            "/zanzibar/list-objects".into(),
            json!({"type": "document", "relation": "view", "subject": B_VIEWER}),
        ),
        post(
            "/zanzibar/list-subjects".into(),
            json!({"object": B_DOC, "relation": "view"}),
        ),
    ];
    // ABAC configuration.
    let (aa, ap) = (s.abac_attribute, s.abac_policy);
    list.extend([
        get("/abac/attributes".into()),
        get("/abac/attributes?type=user".into()),
        post(
            "/abac/attributes".into(),
            json!({"name": "Intruder", "slug": "intruder", "attributeType": "user"}),
        ),
        get(format!("/abac/attributes/{aa}")),
        put(format!("/abac/attributes/{aa}"), name.clone()),
        patch(format!("/abac/attributes/{aa}"), name.clone()),
        delete(format!("/abac/attributes/{aa}")),
        get("/abac/policies".into()),
        post(
            "/abac/policies".into(),
            json!({"name": "Open", "slug": "open", "resourceType": "*", "action": "*", "priority": 1000000}),
        ),
        get(format!("/abac/policies/{ap}")),
        put(format!("/abac/policies/{ap}"), json!({"effect": "deny"})),
        patch(
            format!("/abac/policies/{ap}"),
            json!({"conditions": {}, "isActive": false}),
        ),
        delete(format!("/abac/policies/{ap}")),
        post_empty(format!("/abac/policies/{ap}/toggle")),
    ]);
    // AI agents, MCP servers and the token vault.
    let (ag, mcp, conn) = (&s.agent, &s.mcp_server, &s.connection);
    list.extend([
        get("/admin/agents".into()),
        post(
            "/admin/agents".into(),
            json!({"name": "Intruder agent", "capabilities": ["x.y"]}),
        ),
        get(format!("/admin/agents/{ag}")),
        put(format!("/admin/agents/{ag}"), name.clone()),
        patch(format!("/admin/agents/{ag}"), name.clone()),
        delete(format!("/admin/agents/{ag}")),
        post_empty(format!("/admin/agents/{ag}/activate")),
        post_empty(format!("/admin/agents/{ag}/deactivate")),
        post_empty(format!("/admin/agents/{ag}/enable")),
        post_empty(format!("/admin/agents/{ag}/disable")),
        get(format!("/admin/agents/{ag}/scopes")),
        put(
            format!("/admin/agents/{ag}/scopes"),
            json!({"scopes": ["*"]}),
        ),
        post_empty(format!("/admin/agents/{ag}/rotate-key")),
        post_empty(format!("/admin/agents/{ag}/revoke-key")),
        post_empty(format!("/admin/agents/{ag}/rotate-credentials")),
        post(
            format!("/admin/agents/{ag}/token"),
            json!({"expiresIn": 60}),
        ),
        get(format!("/admin/agents/{ag}/connections")),
        post(
            format!("/admin/agents/{ag}/connections"),
            json!({"name": "n", "provider": "p", "access_token": "t"}),
        ),
        delete(format!("/admin/agents/{ag}/connections/{conn}")),
        get("/admin/mcp/servers".into()),
        post(
            "/admin/mcp/servers".into(),
            json!({"name": "Intruder MCP", "resource_uri": "https://intruder.test/mcp"}),
        ),
        get(format!("/admin/mcp/servers/{mcp}")),
        delete(format!("/admin/mcp/servers/{mcp}")),
        get("/mcp/servers".into()),
        get(format!("/mcp/servers/{mcp}")),
        get(format!("/admin/agents/{ag}/aauth")),
        put(
            format!("/admin/agents/{ag}/aauth"),
            json!({"jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"}]}}),
        ),
        delete(format!("/admin/agents/{ag}/aauth")),
        get("/admin/aauth/resources".into()),
        get(format!("/admin/aauth/resources/{}", s.aauth_resource)),
        put(
            format!("/admin/aauth/resources/{}", s.aauth_resource),
            json!({"name": "Intruder", "identifier": "https://intruder.test/api", "jwks": {"keys": []}}),
        ),
        delete(format!("/admin/aauth/resources/{}", s.aauth_resource)),
        get(format!("/admin/webhooks/{}", s.webhook)),
        put(
            format!("/admin/webhooks/{}", s.webhook),
            json!({"url": "https://intruder.test/hook", "events": ["*"]}),
        ),
        patch(
            format!("/admin/webhooks/{}", s.webhook),
            json!({"url": "https://intruder.test/hook"}),
        ),
        delete(format!("/admin/webhooks/{}", s.webhook)),
        post_empty(format!("/admin/webhooks/{}/enable", s.webhook)),
        post_empty(format!("/admin/webhooks/{}/disable", s.webhook)),
        post_empty(format!("/admin/webhooks/{}/rotate-secret", s.webhook)),
        post_empty(format!("/admin/webhooks/{}/test", s.webhook)),
        get(format!("/admin/webhooks/{}/deliveries", s.webhook)),
        get(format!("/admin/webhooks/{}/deliveries/dlv_1", s.webhook)),
        post_empty(format!("/admin/webhooks/{}/deliveries/dlv_1/replay", s.webhook)),
        get(format!("/admin/social-providers/{}", s.social_provider)),
        get("/admin/social-providers/globex-secret-sso".into()),
        put(
            format!("/admin/social-providers/{}", s.social_provider),
            json!({"clientId": "intruder", "type": "oidc", "issuer": "https://intruder.test"}),
        ),
        patch(
            "/admin/social-providers/globex-secret-sso".into(),
            json!({"displayName": "Intruder"}),
        ),
        delete(format!("/admin/social-providers/{}", s.social_provider)),
        get(format!("/admin/saml/apps/{}", s.saml_app)),
        patch(
            format!("/admin/saml/apps/{}", s.saml_app),
            json!({"name": "Intruder"}),
        ),
        put(
            format!("/admin/saml/apps/{}", s.saml_app),
            json!({"acsUrls": ["https://intruder.test/acs"]}),
        ),
        delete(format!("/admin/saml/apps/{}", s.saml_app)),
        get(format!("/admin/saml/idps/{}", s.saml_idp)),
        patch(
            format!("/admin/saml/idps/{}", s.saml_idp),
            json!({"name": "Intruder"}),
        ),
        delete(format!("/admin/saml/idps/{}", s.saml_idp)),
        post_empty("/admin/settings/scim/sync".into()),
        get("/admin/organizations".into()),
        post(
            "/admin/organizations".into(),
            json!({"name": "Intruder", "slug": "intruder"}),
        ),
        get("/admin/organizations/globex-secret-customer".into()),
        patch(
            "/admin/organizations/globex-secret-customer".into(),
            json!({"name": "Pwned"}),
        ),
        put(
            "/admin/organizations/globex-secret-customer".into(),
            json!({"name": "Pwned"}),
        ),
        delete("/admin/organizations/globex-secret-customer".into()),
        get("/admin/organizations/globex-secret-customer/members".into()),
        post(
            "/admin/organizations/globex-secret-customer/members".into(),
            json!({"userId": u}),
        ),
        patch(
            format!("/admin/organizations/globex-secret-customer/members/{u}"),
            json!({"status": "suspended"}),
        ),
        delete(format!("/admin/organizations/globex-secret-customer/members/{u}")),
        get("/admin/organizations/globex-secret-customer/roles".into()),
        post(
            "/admin/organizations/globex-secret-customer/roles".into(),
            json!({"name": "Pwned", "slug": "pwned"}),
        ),
        patch(
            "/admin/organizations/globex-secret-customer/roles/1".into(),
            json!({"name": "Pwned"}),
        ),
        delete("/admin/organizations/globex-secret-customer/roles/1".into()),
        get("/admin/organizations/globex-secret-customer/invitations".into()),
        post(
            "/admin/organizations/globex-secret-customer/invitations".into(),
            json!({"email": "intruder@acme.test"}),
        ),
        post_empty("/admin/organizations/globex-secret-customer/invitations/1/resend".into()),
        delete("/admin/organizations/globex-secret-customer/invitations/1".into()),
        get("/admin/sandbox".into()),
        post("/admin/sandbox/spawn".into(), json!({"name": "intruder"})),
        post_empty(format!("/admin/sandbox/{B}-sbx-secret/destroy")),
        get("/admin/email-templates".into()),
        get("/admin/email-templates/verification".into()),
        get("/admin/email-templates/verification/variables".into()),
        post(
            "/admin/email-templates/verification/preview".into(),
            json!({}),
        ),
        put(
            "/admin/email-templates/verification".into(),
            json!({"subject": "Pwned", "body_html": "<p>{{ verification_url }}</p>"}),
        ),
        delete("/admin/email-templates/verification".into()),
        put(
            "/admin/settings/email".into(),
            json!({"enabled": true, "provider": "smtp", "smtp_host": "intruder.test",
                   "from_email": "x@intruder.test"}),
        ),
        put(
            "/admin/settings/scim".into(),
            json!({"outbound": {"enabled": true, "endpoint_url": "https://intruder.test/scim",
                   "bearer_token": "intruder-token"}}),
        ),
        post_empty(format!("/admin/social-providers/{}/enable", s.social_provider)),
        post_empty("/admin/social-providers/globex-secret-sso/disable".into()),
        get("/admin/policies/mfa".into()),
        put("/admin/policies/mfa".into(), json!({"requirement": "off"})),
        get("/admin/reports/mfa-coverage".into()),
        get(format!("/admin/users/{}/authenticators", s.user)),
        delete(format!("/admin/users/{}/authenticators/mfa_x", s.user)),
        post(
            format!("/admin/users/{}/temporary-access-code", s.user),
            json!({"reason": "intruder"}),
        ),
        get("/me/authenticators".into()),
        post("/me/authenticators/totp/enroll".into(), json!({})),
        post("/me/authenticators/passkey/enroll".into(), json!({})),
        post(
            "/me/authenticators/passkey:pending/verify".into(),
            json!({"credential": {"id": "x"}}),
        ),
        post(
            "/mfa/challenges/mfc_x/verify".into(),
            json!({"credential": {"id": "x"}}),
        ),
        post("/me/recovery-codes".into(), json!({})),
        get("/me/trusted-devices".into()),
        post("/mfa/challenges".into(), json!({})),
        get("/mfa/challenges/mfc_x".into()),
        get("/ssf/stream".into()),
        get(format!("/ssf/stream?stream_id={}", s.webhook)),
        post(
            "/ssf/stream".into(),
            json!({"delivery": {"method": "urn:ietf:rfc:8935", "endpoint_url": "https://intruder.test/ssf"}}),
        ),
        delete(format!("/ssf/stream?stream_id={}", s.webhook)),
        post("/ssf/verify".into(), json!({"stream_id": s.webhook.to_string()})),
        post(
            "/agents/register".into(),
            json!({"client_id": "intruder", "name": "Intruder"}),
        ),
    ]);
    let section_bodies = [
        ("auth", json!({"session_timeout": 999})),
        ("authentication", json!({"mfa_required": true})),
        ("branding", json!({"footer_text": "pwned"})),
        ("email", json!({"from_name": "Pwned"})),
        ("general", json!({"name": "Pwned Org"})),
        (
            "scim",
            json!({"inbound": {"enabled": true, "bearer_token": "attacker-token"}}),
        ),
        ("security", json!({"dpop_require_nonce": true})),
    ];
    for (section, body) in section_bodies {
        list.push(get(format!("/admin/settings/{section}")));
        list.push(put(format!("/admin/settings/{section}"), body.clone()));
        list.push(patch(format!("/admin/settings/{section}"), body));
    }
    list
}

/// Asserts a refusal whose body shows none of `markers` (except what the request itself named).
fn assert_refused(reply: &Reply, what: &str, markers: &[String]) {
    assert!(
        reply.status == 403 || reply.status == 404,
        "{what}: expected 403 or 404, got {}: {}",
        reply.status,
        reply.text
    );
    assert!(
        reply.body["error"].is_string(),
        "{what}: error body {}",
        reply.text
    );
    for marker in markers.iter().filter(|m| !what.contains(m.as_str())) {
        assert!(
            !reply.text.contains(marker.as_str()),
            "{what}: body leaks {marker}: {}",
            reply.text
        );
    }
}

#[tokio::test]
async fn another_orgs_key_is_refused_on_every_route_and_changes_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    let seeded = seed_b(&b).await?;
    // A also has a generated key (with A's org id inside) and a scoped key.
    let a_generated = a
        .post(
            "/admin/api-keys",
            json!({"name": "a-generated", "scopes": ["admin"]}),
        )
        .await?
        .expect(201)
        .data()["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let a_reader = a
        .post(
            "/admin/api-keys",
            json!({"name": "a-reader", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201)
        .data()["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let before_b = state(&b, Some(&seeded)).await?;

    let attackers = [
        ("bootstrap admin key of A", a.with_org(B)),
        (
            "generated admin key of A",
            a.with_key(&a_generated).with_org(B),
        ),
        ("read-only key of A", a.with_key(&a_reader).with_org(B)),
    ];
    let routes = attacks(&seeded);
    assert!(routes.len() > 100, "{} routes", routes.len());
    for (who, attacker) in &attackers {
        assert_eq!(attacker.org, B);
        for (method, path, body) in &routes {
            let reply = attacker.send(method.clone(), path, body.clone()).await?;
            let what = format!(
                "{who}: {method} {path} {}",
                body.clone().unwrap_or(Value::Null)
            );
            assert_refused(&reply, &what, &seeded.markers);
            assert_eq!(reply.status, 403, "{what}: {}", reply.text);
            assert_eq!(reply.body["error"], "forbidden", "{what}: {}", reply.text);
        }
    }
    let after_b = state(&b, Some(&seeded)).await?;
    assert_eq!(after_b, before_b, "org B changed under org A's keys");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn org_b_keys_are_refused_on_org_a_too() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    let user_a = a.create_user("only-in-a@acme.test").await?;
    let a_doc = "document:only-in-a-doc";
    for api in [&a, &b] {
        api.put("/zanzibar/schema", json!({"schema": SCHEMA}))
            .await?
            .expect(200);
    }
    a.post(
        "/zanzibar/tuples",
        json!({"writes": [format!("{a_doc}#viewer@user:{user_a}")]}),
    )
    .await?
    .expect(200);
    a.post(
        "/abac/attributes",
        json!({"name": "Only In A", "slug": "only_in_a", "attributeType": "user"}),
    )
    .await?
    .expect(201);
    a.post(
        "/abac/policies",
        json!({"name": "Only In A", "slug": "only-in-a", "resourceType": "document", "action": "read"}),
    )
    .await?
    .expect(201);
    let before_a = state(&a, None).await?;
    let intruder = b.with_org(lumo_tests::ORG);
    let a_viewer = format!("user:{user_a}");
    for (method, path, body) in [
        (Method::GET, "/admin/users".to_string(), None),
        (Method::GET, format!("/admin/users/{user_a}"), None),
        (Method::DELETE, format!("/admin/users/{user_a}"), None),
        (
            Method::POST,
            "/admin/users".to_string(),
            Some(json!({"email": "from-b@globex.test"})),
        ),
        (Method::GET, "/admin/audit-logs".to_string(), None),
        (
            Method::PATCH,
            "/admin/settings/branding".to_string(),
            Some(json!({"theme": "dark"})),
        ),
        (Method::GET, "/admin/api-keys".to_string(), None),
        (
            Method::POST,
            "/admin/api-keys".to_string(),
            Some(json!({"name": "x", "scopes": ["admin"]})),
        ),
        (Method::GET, "/admin/analytics/dashboard".to_string(), None),
        (Method::GET, "/zanzibar/schema".to_string(), None),
        (
            Method::PUT,
            "/zanzibar/schema".to_string(),
            Some(json!({"schema": "definition user {}"})),
        ),
        (Method::GET, "/zanzibar/tuples".to_string(), None),
        (
            Method::POST,
            "/zanzibar/tuples".to_string(),
            Some(json!({"writes": [format!("{a_doc}#viewer@user:from-b")]})),
        ),
        (
            Method::DELETE,
            "/zanzibar/tuples".to_string(),
            Some(json!({"tuples": [format!("{a_doc}#viewer@{a_viewer}")]})),
        ),
        (Method::GET, "/zanzibar/changes".to_string(), None),
        (
            Method::POST,
            "/zanzibar/check".to_string(),
            Some(json!({"object": a_doc, "relation": "view", "user": a_viewer})),
        ),
        (
            Method::POST,
            "/zanzibar/expand".to_string(),
            Some(json!({"object": a_doc, "relation": "view"})),
        ),
        (
            Method::POST,
            "/zanzibar/list-objects".to_string(),
            Some(json!({"type": "document", "relation": "view", "subject": a_viewer})),
        ),
        (
            Method::POST,
            "/zanzibar/list-subjects".to_string(),
            Some(json!({"object": a_doc, "relation": "view"})),
        ),
        (Method::GET, "/abac/attributes".to_string(), None),
        (
            Method::POST,
            "/abac/attributes".to_string(),
            Some(json!({"name": "From B", "slug": "from_b", "attributeType": "user"})),
        ),
        (Method::GET, "/abac/attributes/1".to_string(), None),
        (Method::DELETE, "/abac/attributes/1".to_string(), None),
        (Method::GET, "/abac/policies".to_string(), None),
        (
            Method::POST,
            "/abac/policies".to_string(),
            Some(json!({"name": "From B", "slug": "from-b", "resourceType": "*", "action": "*"})),
        ),
        (Method::GET, "/abac/policies/1".to_string(), None),
        (
            Method::PATCH,
            "/abac/policies/1".to_string(),
            Some(json!({"effect": "allow"})),
        ),
        (Method::DELETE, "/abac/policies/1".to_string(), None),
        (Method::POST, "/abac/policies/1/toggle".to_string(), None),
    ] {
        let reply = intruder.send(method.clone(), &path, body).await?;
        assert_refused(
            &reply,
            &format!("B's key: {method} {path}"),
            &[user_a.clone(), "only-in-a".into()],
        );
        assert_eq!(
            reply.status, 403,
            "B's key: {method} {path}: {}",
            reply.text
        );
        assert_eq!(reply.body["error"], "forbidden", "{method} {path}");
    }
    // At the root the org is B's own: A's user is no subject there, A's relations are not B's.
    for path in [
        "/api/v1/authz/check",
        "/api/v1/authz/check-bulk",
        "/api/v1/authz/check-any",
        "/api/v1/authz/check-all",
    ] {
        let reply = b
            .post_root(
                path,
                json!({"permission": "users:read", "permissions": ["users:read"], "subject": {"type": "user", "id": user_a}}),
            )
            .await?
            .expect_error(404, "SUBJECT_NOT_FOUND");
        assert!(!reply.text.contains("only-in-a"), "{path}: {}", reply.text);
    }
    let checked = b
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": a_doc, "relation": "view", "subject": a_viewer}),
        )
        .await?
        .expect(200);
    assert_eq!(checked.body["allowed"], false, "{}", checked.text);
    let listed = b
        .post_root(
            "/api/v1/authz/zanzibar/list-subjects",
            json!({"object": a_doc, "relation": "view"}),
        )
        .await?
        .expect(200);
    assert_eq!(listed.body["data"], json!([]), "{}", listed.text);
    let expanded = b
        .post_root(
            "/api/v1/authz/zanzibar/expand",
            json!({"object": a_doc, "relation": "viewer"}),
        )
        .await?
        .expect(200);
    assert_eq!(
        expanded.body["tree"]["subjects"],
        json!([]),
        "{}",
        expanded.text
    );
    // A's own key sees them.
    let own = a
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": a_doc, "relation": "view", "subject": a_viewer}),
        )
        .await?
        .expect(200);
    assert_eq!(own.body["allowed"], true, "{}", own.text);
    assert_eq!(state(&a, None).await?, before_a);
    // An unknown org is a 404, whoever asks.
    a.with_org("no-such-org")
        .get("/admin/users")
        .await?
        .expect_error(404, "tenant_not_found");
    b.with_org("no-such-org")
        .get("/admin/users")
        .await?
        .expect_error(404, "tenant_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn org_b_ids_are_not_found_through_org_a() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    let seeded = seed_b(&b).await?;
    // Give B more audit records than A so B's newest audit id does not exist in A.
    for i in 0..5 {
        b.create_user(&format!("extra-{i}@globex.test")).await?;
    }
    let b_audit = b.get("/admin/audit-logs?limit=1").await?.expect(200);
    let b_last_audit = b_audit.data()[0]["id"].as_u64().expect("id");
    let a_group = a
        .post(
            "/admin/groups",
            json!({"name": "A Group", "slug": "a-group"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let a_role = a
        .post("/admin/roles", json!({"name": "A Role", "slug": "a-role"}))
        .await?
        .expect(201)
        .data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let a_user = a.create_user("a-user@acme.test").await?;
    let a_last_audit = a.get("/admin/audit-logs?limit=1").await?.expect(200).data()[0]["id"]
        .as_u64()
        .expect("id");
    assert!(
        b_last_audit > a_last_audit,
        "{b_last_audit} > {a_last_audit}"
    );
    let before_b = state(&b, Some(&seeded)).await?;

    let (u, g, r) = (&seeded.user, &seeded.group, &seeded.role);
    for (method, path, body) in [
        (Method::GET, format!("/admin/users/{u}"), None),
        (
            Method::GET,
            format!("/admin/users/{}", seeded.user_email),
            None,
        ),
        (
            Method::PATCH,
            format!("/admin/users/{u}"),
            Some(json!({"name": "Pwned"})),
        ),
        (Method::DELETE, format!("/admin/users/{u}"), None),
        (Method::POST, format!("/admin/users/{u}/block"), None),
        (Method::GET, format!("/admin/users/{u}/roles"), None),
        (Method::GET, format!("/admin/users/{u}/groups"), None),
        (Method::GET, format!("/admin/users/{u}/identities"), None),
        (
            Method::GET,
            format!("/admin/users/{u}/effective-permissions"),
            None,
        ),
        (Method::GET, format!("/admin/groups/{g}"), None),
        (
            Method::GET,
            "/admin/groups/globex-secret-group".to_string(),
            None,
        ),
        (Method::DELETE, format!("/admin/groups/{g}"), None),
        (Method::GET, format!("/admin/groups/{g}/members"), None),
        (Method::GET, format!("/admin/roles/{r}"), None),
        (
            Method::GET,
            "/admin/roles/globex-secret-role".to_string(),
            None,
        ),
        (Method::DELETE, format!("/admin/roles/{r}"), None),
        (
            Method::GET,
            "/admin/permissions/globex:secret".to_string(),
            None,
        ),
        (
            Method::GET,
            format!("/admin/audit-logs/{b_last_audit}"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/api-keys/{}", seeded.key),
            None,
        ),
        // Relating A's entities to B's ids.
        (
            Method::POST,
            format!("/admin/groups/{a_group}/members"),
            Some(json!({"userIds": [u]})),
        ),
        (
            Method::POST,
            format!("/admin/users/{a_user}/roles"),
            Some(json!({"roleId": r})),
        ),
        (
            Method::POST,
            format!("/admin/users/{a_user}/groups"),
            Some(json!({"groupId": g})),
        ),
        (
            Method::POST,
            format!("/admin/roles/{a_role}/users"),
            Some(json!({"userId": u})),
        ),
        (
            Method::POST,
            format!("/admin/groups/{a_group}/roles"),
            Some(json!({"roleId": r})),
        ),
        (
            Method::POST,
            format!("/admin/roles/{a_role}/permissions"),
            Some(json!({"permissions": ["globex:secret"]})),
        ),
        // B's ABAC ids (A has no ABAC data of its own).
        (
            Method::GET,
            format!("/abac/attributes/{}", seeded.abac_attribute),
            None,
        ),
        (
            Method::PATCH,
            format!("/abac/attributes/{}", seeded.abac_attribute),
            Some(json!({"name": "Pwned"})),
        ),
        (
            Method::DELETE,
            format!("/abac/attributes/{}", seeded.abac_attribute),
            None,
        ),
        (
            Method::GET,
            format!("/abac/policies/{}", seeded.abac_policy),
            None,
        ),
        (
            Method::PUT,
            format!("/abac/policies/{}", seeded.abac_policy),
            Some(json!({"name": "Pwned"})),
        ),
        (
            Method::POST,
            format!("/abac/policies/{}/toggle", seeded.abac_policy),
            None,
        ),
        (
            Method::DELETE,
            format!("/abac/policies/{}", seeded.abac_policy),
            None,
        ),
    ] {
        let what = format!(
            "A asking for B's id: {method} {path} {}",
            body.clone().unwrap_or(Value::Null)
        );
        let reply = a.send(method.clone(), &path, body).await?;
        assert_refused(&reply, &what, &seeded.markers);
        assert_eq!(reply.status, 404, "{what}: {}", reply.text);
    }
    // At the root A's key asks A: B's user is no subject there, B's relations are not A's.
    a.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    let subject = json!({"type": "user", "id": u});
    for (path, body, status, pointer, expected) in [
        (
            "/api/v1/authz/check",
            json!({"permission": "globex:secret", "subject": subject}),
            404,
            "/error",
            json!("SUBJECT_NOT_FOUND"),
        ),
        (
            "/api/v1/authz/check-bulk",
            json!({"permissions": ["globex:secret"], "subject": subject}),
            404,
            "/error",
            json!("SUBJECT_NOT_FOUND"),
        ),
        (
            "/api/v1/authz/check-any",
            json!({"permissions": ["globex:secret"], "subject": subject}),
            404,
            "/error",
            json!("SUBJECT_NOT_FOUND"),
        ),
        (
            "/api/v1/authz/check-all",
            json!({"permissions": ["globex:secret"], "subject": subject}),
            404,
            "/error",
            json!("SUBJECT_NOT_FOUND"),
        ),
        (
            "/api/v1/authz/zanzibar/check",
            json!({"object": B_DOC, "relation": "view", "subject": B_VIEWER}),
            200,
            "/allowed",
            json!(false),
        ),
        (
            "/api/v1/authz/zanzibar/expand",
            json!({"object": B_DOC, "relation": "viewer"}),
            200,
            "/tree/subjects",
            json!([]),
        ),
        (
            "/api/v1/authz/zanzibar/list-subjects",
            json!({"object": B_DOC, "relation": "view"}),
            200,
            "/data",
            json!([]),
        ),
        (
            "/api/v1/authz/zanzibar/list-objects",
            json!({"type": "document", "relation": "view", "subject": B_VIEWER}),
            200,
            "/data",
            json!([]),
        ),
    ] {
        let what = format!("A asking at the root about B's: {path} {body}");
        let reply = a.post_root(path, body).await?;
        assert_eq!(reply.status, status, "{what}: {}", reply.text);
        assert_eq!(
            reply.body.pointer(pointer),
            Some(&expected),
            "{what}: {}",
            reply.text
        );
        for marker in seeded.markers.iter().filter(|m| !what.contains(m.as_str())) {
            assert!(
                !reply.text.contains(marker.as_str()),
                "{what}: body leaks {marker}: {}",
                reply.text
            );
        }
    }
    // B's attribute slugs are unknown to A's policies.
    for attribute in ["user.globex_secret_attr", "resource.globex_secret_class"] {
        let reply = a
            .post(
                "/abac/policies",
                json!({"name": "Borrow", "slug": "borrow", "resourceType": "document", "action": "read",
                       "conditions": {"all": [{"attribute": attribute, "operator": "exists"}]}}),
            )
            .await?
            .expect_error(400, "UNKNOWN_ATTRIBUTE");
        assert!(!reply.text.contains("globex-secret"), "{}", reply.text);
    }
    assert_eq!(
        a.get("/abac/policies").await?.expect(200).body["pagination"]["total"],
        0
    );
    // A's entities were not linked to anything.
    let group = a
        .get(&format!("/admin/groups/{a_group}"))
        .await?
        .expect(200);
    assert_eq!(group.data()["memberCount"], 0);
    assert_eq!(group.data()["roleCount"], 0);
    assert_eq!(
        a.get(&format!("/admin/users/{a_user}/roles"))
            .await?
            .expect(200)
            .data(),
        &json!([])
    );
    assert_eq!(
        a.get(&format!("/admin/roles/{a_role}/users"))
            .await?
            .expect(200)
            .data(),
        &json!([])
    );
    assert_eq!(
        a.get(&format!("/admin/roles/{a_role}/permissions"))
            .await?
            .expect(200)
            .data(),
        &json!([])
    );
    // B is untouched, and the same ids still work there.
    assert_eq!(state(&b, Some(&seeded)).await?, before_b);
    b.get(&format!("/admin/users/{u}")).await?.expect(200);
    // The org-local permission 1 of each org is its own.
    let pa = a.get("/admin/permissions/1").await?.expect(200);
    let pb = b.get("/admin/permissions/1").await?.expect(200);
    assert_eq!(
        pa.data()["slug"],
        pb.data()["slug"],
        "system permissions exist per org"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn data_written_in_one_org_never_shows_in_the_other() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    let b_before = state(&b, None).await?;
    let b_dashboard = b
        .get("/admin/analytics/dashboard")
        .await?
        .expect(200)
        .data()
        .clone();

    let a_markers = [
        "acme-only-user@acme.test",
        "acme-only-group",
        "acme-only-role",
        "acme:only",
        "acme_only_scope",
        "acme-only-footer",
        "acme-only-key",
        "acme-only-doc",
    ];
    let mut a_users = Vec::new();
    for i in 0..3 {
        a_users.push(a.create_user(&format!("{i}-{}", a_markers[0])).await?);
    }
    a.post_empty(&format!("/admin/users/{}/block", a_users[0]))
        .await?
        .expect(200);
    a.post(
        "/admin/groups",
        json!({"name": "Acme Only Group", "slug": "acme-only-group"}),
    )
    .await?
    .expect(201);
    a.post(
        "/admin/roles",
        json!({"name": "Acme Only Role", "slug": "acme-only-role"}),
    )
    .await?
    .expect(201);
    a.post(
        "/admin/permissions",
        json!({"name": "Acme Only", "slug": "acme:only"}),
    )
    .await?
    .expect(201);
    a.post("/admin/scopes", json!({"name": "acme_only_scope"}))
        .await?
        .expect(201);
    a.patch(
        "/admin/settings/branding",
        json!({"footer_text": "acme-only-footer"}),
    )
    .await?
    .expect(200);
    a.patch(
        "/admin/settings/general",
        json!({"timezone": "America/New_York"}),
    )
    .await?
    .expect(200);
    a.put("/admin/audit-logs/retention", json!({"retentionDays": 7}))
        .await?
        .expect(200);
    a.patch("/admin/tenant", json!({"name": "Acme Changed"}))
        .await?
        .expect(200);
    a.post(
        "/admin/api-keys",
        json!({"name": "acme-only-key", "scopes": ["admin:read"]}),
    )
    .await?
    .expect(201);
    a.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    a.post(
        "/zanzibar/tuples",
        json!({"writes": [format!("document:acme-only-doc#viewer@user:{}", a_users[1])]}),
    )
    .await?
    .expect(200);

    // B's whole state is exactly what it was.
    assert_eq!(state(&b, None).await?, b_before);
    for path in [
        "/admin/users?limit=100",
        "/admin/users?search=acme",
        "/admin/groups?limit=100",
        "/admin/roles?limit=100",
        "/admin/permissions?limit=100",
        "/admin/scopes?limit=100",
        "/admin/audit-logs?limit=100",
        "/admin/audit-logs?search=acme-only",
        "/admin/audit-logs/actions?limit=100",
        "/admin/audit-logs/export",
        "/admin/audit-logs/export?format=json",
        "/admin/settings",
        "/admin/settings/branding",
        "/admin/tenant",
        "/admin/api-keys",
        "/zanzibar/tuples",
        "/zanzibar/changes",
    ] {
        let reply = b.get(path).await?.expect(200);
        for marker in a_markers
            .iter()
            .copied()
            .chain(a_users.iter().map(String::as_str))
        {
            assert!(
                !reply.text.contains(marker),
                "B's {path} shows A's {marker}"
            );
        }
        assert!(
            !reply.text.contains("Acme Changed"),
            "B's {path} shows A's name"
        );
    }
    let search = b.get("/admin/users?search=acme").await?.expect(200);
    assert_eq!(search.body["meta"]["total"], 0);
    let b_audit = b
        .get("/admin/audit-logs?action=user.created")
        .await?
        .expect(200);
    assert_eq!(b_audit.body["meta"]["total"], 0);
    let b_blocked = b
        .get("/admin/audit-logs?action=user.blocked")
        .await?
        .expect(200);
    assert_eq!(b_blocked.body["meta"]["total"], 0);
    assert_eq!(
        b.get("/admin/audit-logs/retention")
            .await?
            .expect(200)
            .data()["retentionDays"],
        90
    );
    assert_eq!(
        b.get("/admin/settings/general").await?.expect(200).data()["timezone"],
        "UTC"
    );
    assert_eq!(b.get("/admin/tenant").await?.expect(200).data()["name"], B);
    let b_keys = b.get("/admin/api-keys").await?.expect(200);
    assert_eq!(b_keys.data().as_array().map(Vec::len), Some(1));
    // B has no relation schema; its questions never reach A's relations.
    b.get("/zanzibar/schema").await?.expect(404);
    b.post_root(
        "/api/v1/authz/zanzibar/check",
        json!({"object": "document:acme-only-doc", "relation": "view", "subject": format!("user:{}", a_users[1])}),
    )
    .await?
    .expect_error(400, "SCHEMA_REQUIRED");

    // Analytics of B ignore A; A's count A's own data.
    let b_after = b
        .get("/admin/analytics/dashboard")
        .await?
        .expect(200)
        .data()
        .clone();
    assert_eq!(b_after["users"], b_dashboard["users"]);
    assert_eq!(b_after["users"]["total"], 0);
    assert_eq!(b_after["audit"], b_dashboard["audit"]);
    let b_growth = b.get("/admin/analytics/users?days=7").await?.expect(200);
    let registrations: u64 = b_growth.data()["dailyRegistrations"]
        .as_array()
        .map(|d| d.iter().map(|x| x["count"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert_eq!(registrations, 0);
    let a_dash = a.get("/admin/analytics/dashboard").await?.expect(200);
    assert_eq!(a_dash.data()["users"]["total"], 3);
    assert_eq!(a_dash.data()["users"]["blocked"], 1);

    // Each org's audit chain is its own and intact.
    for api in [&a, &b] {
        let report = api.get("/admin/audit-logs/verify").await?.expect(200);
        assert_eq!(report.data()["valid"], true);
        let total =
            api.get("/admin/audit-logs?limit=1").await?.expect(200).body["meta"]["total"].clone();
        assert_eq!(report.data()["checked"], total);
        assert_eq!(report.data()["firstId"], 1);
    }

    // The same in the other direction.
    let b_user = b.create_user("globex-only@globex.test").await?;
    let a_users_list = a.get("/admin/users?limit=100").await?.expect(200);
    assert!(!a_users_list.text.contains(&b_user) && !a_users_list.text.contains("globex-only"));
    assert_eq!(a_users_list.body["meta"]["total"], 3);
    let a_export = a.get("/admin/audit-logs/export").await?.expect(200);
    assert!(!a_export.text.contains("globex-only"));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn credentials_are_checked_before_the_body() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    let before_b = state(&b, None).await?;
    let cross = a.with_org(B);
    let anonymous = b.with_key("");
    let mut seen = Vec::new();
    for (method, path, body) in [
        (
            Method::POST,
            "/admin/users",
            json!({"email": "not-an-email"}),
        ),
        (Method::POST, "/admin/groups", json!({"name": ""})),
        (Method::POST, "/admin/api-keys", json!({"scopes": ["root"]})),
        (Method::PUT, "/admin/tenant", json!({"name": ""})),
        (Method::PUT, "/admin/audit-logs/retention", json!({})),
        (Method::PUT, "/zanzibar/schema", json!({"schema": 42})),
        (
            Method::POST,
            "/zanzibar/tuples",
            json!({"writes": "not-a-list"}),
        ),
        (Method::POST, "/abac/attributes", json!({"name": 5})),
        (
            Method::POST,
            "/abac/policies",
            json!({"name": "P", "conditions": "not-an-object"}),
        ),
        (
            Method::POST,
            "/abac/policies",
            json!({"name": "P", "resourceType": "d", "action": "r", "conditions": {"all": [{"attribute": "user.nope", "operator": "equals", "value": 1}]}}),
        ),
        (Method::PUT, "/abac/policies/1", json!({"conditions": 5})),
        (Method::PATCH, "/abac/attributes/1", json!({"name": []})),
    ] {
        let refused = cross.send(method.clone(), path, Some(body.clone())).await?;
        let unauthenticated = anonymous.send(method.clone(), path, Some(body)).await?;
        seen.push((
            format!("{method} {path}"),
            refused.status,
            unauthenticated.status,
        ));
    }
    assert_eq!(state(&b, None).await?, before_b);
    let wrong: Vec<_> = seen
        .iter()
        .filter(|(_, cross, anon)| *cross != 403 || *anon != 401)
        .collect();
    assert!(
        wrong.is_empty(),
        "expected 403 for another org's key and 401 without a key, whatever the body; got (route, cross-org, anonymous): {wrong:?}"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn zanzibar_questions_and_tuple_deletes_check_credentials_before_the_body()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    b.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    let before_b = state(&b, None).await?;
    let cross = a.with_org(B);
    let anonymous = b.with_key("");
    let mut seen = Vec::new();
    for (method, path, body) in [
        (Method::DELETE, "/zanzibar/tuples", json!({})),
        (
            Method::DELETE,
            "/zanzibar/tuples",
            json!({"tuples": "nope"}),
        ),
        (Method::POST, "/zanzibar/check", json!({})),
        (Method::POST, "/zanzibar/check", json!({"object": 1})),
        (
            Method::POST,
            "/zanzibar/expand",
            json!({"relation": "view"}),
        ),
        (Method::POST, "/zanzibar/list-objects", json!({"limit": 0})),
        (Method::POST, "/zanzibar/list-subjects", json!({})),
    ] {
        let refused = cross.send(method.clone(), path, Some(body.clone())).await?;
        let unauthenticated = anonymous
            .send(method.clone(), path, Some(body.clone()))
            .await?;
        seen.push((
            format!("{method} {path} {body}"),
            refused.status,
            refused.body["error"].clone(),
            unauthenticated.status,
        ));
    }
    assert_eq!(state(&b, None).await?, before_b);
    let wrong: Vec<_> = seen
        .iter()
        .filter(|(_, cross, _, anon)| *cross != 403 || *anon != 401)
        .collect();
    assert!(
        wrong.is_empty(),
        "expected 403 for another org's key and 401 without a key, whatever the body; got (route, cross-org, its error, anonymous): {wrong:#?}"
    );
    node.stop().await?;
    Ok(())
}

/// Both orgs define the same ABAC attribute slugs and a policy, and set values through a
/// manager's token; B's user token is refused on every route of A's ABAC runtime, and each org's
/// checks, definitions and values are its own.
#[tokio::test]
async fn abac_runtime_refuses_another_orgs_user_and_values_stay_in_their_org() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    // The same vocabulary in both orgs, and a manager and a reader in each.
    let mut people = Vec::new();
    for (api, tag) in [(&a, "acme"), (&b, "globex")] {
        api.post(
            "/abac/attributes",
            json!({"name": format!("{tag} department"), "slug": "dept", "attributeType": "user"}),
        )
        .await?
        .expect(201);
        api.post(
            "/abac/attributes",
            json!({"name": format!("{tag} class"), "slug": "class", "attributeType": "resource",
                   "defaultValue": format!("{tag}-only-default")}),
        )
        .await?
        .expect(201);
        api.post(
            "/abac/policies",
            json!({"name": format!("{tag} readers"), "slug": format!("{tag}-only-policy"),
                   "resourceType": "document", "action": "read",
                   "conditions": {"all": [
                       {"attribute": "user.dept", "operator": "equals", "value": format!("{tag}-only-dept")},
                       {"attribute": "resource.class", "operator": "equals", "value": format!("{tag}-only-class")},
                   ]}}),
        )
        .await?
        .expect(201);
        api.post(
            "/admin/permissions",
            json!({"name": "Manage ABAC", "slug": "abac.manage"}),
        )
        .await?
        .expect(201);
        let manager_email = format!("manager@{tag}.test");
        let reader_email = format!("reader@{tag}.test");
        let manager = create_user(api, &manager_email, PASSWORD).await?;
        let reader = create_user(api, &reader_email, PASSWORD).await?;
        api.post(
            &format!("/admin/users/{manager}/permissions"),
            json!({"permissions": ["abac.manage"]}),
        )
        .await?
        .expect(200);
        let manager_token = user_token(api, &manager_email, "openid abac:read abac:write").await?;
        let reader_token = user_token(api, &reader_email, "openid abac:read").await?;
        let managing = api.with_bearer(&manager_token);
        managing
            .put(
                &format!("/abac/users/{reader}/attributes/dept"),
                json!({"value": format!("{tag}-only-dept")}),
            )
            .await?
            .expect(200);
        managing
            .put(
                &format!("/abac/resources/document/{tag}-only-doc/attributes/class"),
                json!({"value": format!("{tag}-only-class")}),
            )
            .await?
            .expect(200);
        people.push((reader, manager_token, reader_token));
    }
    let (a_reader, a_manager_token, a_reader_token) = people.remove(0);
    let (b_reader, b_manager_token, b_reader_token) = people.remove(0);
    let a_before = state(&a, None).await?;
    let a_reader_api = a.with_bearer(&a_reader_token);
    let a_view = |path: &'static str| {
        let api = a_reader_api.clone();
        async move { api.get(path).await }
    };
    let a_mine = a_view("/abac/my-attributes").await?.expect(200).body;
    let a_doc = a_view("/abac/resources/document/acme-only-doc/attributes")
        .await?
        .expect(200)
        .body;
    assert_eq!(a_mine["attributes"]["dept"], "acme-only-dept");
    assert_eq!(a_doc["attributes"]["class"], "acme-only-class");

    // B's tokens (the manager holds abac.manage and abac:write in B) on A's runtime.
    let runtime = |reader: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (
                Method::POST,
                "/abac/check".into(),
                Some(
                    json!({"resourceType": "document", "action": "read", "resourceId": "acme-only-doc"}),
                ),
            ),
            (
                Method::POST,
                "/abac/check-bulk".into(),
                Some(
                    json!({"checks": [{"resourceType": "document", "action": "read", "resourceId": "acme-only-doc"}]}),
                ),
            ),
            (Method::GET, "/abac/my-attributes".into(), None),
            (Method::GET, "/abac/attribute-definitions".into(), None),
            (
                Method::GET,
                "/abac/attribute-definitions?type=resource".into(),
                None,
            ),
            (
                Method::GET,
                "/abac/resources/document/acme-only-doc/attributes".into(),
                None,
            ),
            (
                Method::PUT,
                "/abac/resources/document/acme-only-doc/attributes/class".into(),
                Some(json!({"value": "pwned"})),
            ),
            (
                Method::PUT,
                format!("/abac/users/{reader}/attributes/dept"),
                Some(json!({"value": "pwned"})),
            ),
        ]
    };
    let markers = ["acme-only", "acme department", "acme class", "acme readers"];
    let mut wrong = Vec::new();
    for token in [&b_manager_token, &b_reader_token] {
        let intruder = a.with_bearer(token);
        for (method, path, body) in runtime(&a_reader) {
            let reply = intruder.send(method.clone(), &path, body).await?;
            let what = format!("{method} {path}");
            let refused = (reply.status == 401 || reply.status == 403)
                && reply.body["error"].is_string()
                && !markers.iter().any(|m| reply.text.contains(m));
            if !refused {
                wrong.push(format!("{what} -> {} {}", reply.status, reply.text));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "B's user tokens on A's ABAC runtime:\n{}",
        wrong.join("\n")
    );
    // A's own tokens cannot reach B's runtime either (the other way round).
    for token in [&a_manager_token, &a_reader_token] {
        let intruder = b.with_bearer(token);
        for (method, path, body) in runtime(&b_reader) {
            let reply = intruder.send(method.clone(), &path, body).await?;
            assert!(
                reply.status == 401 || reply.status == 403,
                "A's token on B: {method} {path} -> {} {}",
                reply.status,
                reply.text
            );
            assert!(!reply.text.contains("globex-only"), "{}", reply.text);
        }
    }
    // Nothing of A changed.
    assert_eq!(state(&a, None).await?, a_before);
    assert_eq!(
        a_view("/abac/my-attributes").await?.expect(200).body,
        a_mine
    );
    assert_eq!(
        a_view("/abac/resources/document/acme-only-doc/attributes")
            .await?
            .expect(200)
            .body,
        a_doc
    );

    // Each org's reader is allowed by its own policy on its own document only.
    let b_reader_api = b.with_bearer(&b_reader_token);
    for (api, own, other) in [
        (&a_reader_api, "acme-only-doc", "globex-only-doc"),
        (&b_reader_api, "globex-only-doc", "acme-only-doc"),
    ] {
        for (doc, allowed) in [(own, true), (other, false)] {
            let reply = api
                .post(
                    "/abac/check",
                    json!({"resourceType": "document", "action": "read", "resourceId": doc}),
                )
                .await?
                .expect(200);
            assert_eq!(
                reply.body["allowed"], allowed,
                "{}: {}",
                api.org, reply.text
            );
        }
        // The other org's resource shows only this org's default.
        let seen = api
            .get(&format!("/abac/resources/document/{other}/attributes"))
            .await?
            .expect(200);
        let default = if api.org == B {
            "globex-only-default"
        } else {
            "acme-only-default"
        };
        assert_eq!(seen.body["attributes"]["class"], default, "{}", seen.text);
    }
    let b_mine = b_reader_api.get("/abac/my-attributes").await?.expect(200);
    assert_eq!(b_mine.body["attributes"]["dept"], "globex-only-dept");
    assert_eq!(b_mine.body["attributes"]["orgId"], B);
    for (api, foreign) in [(&a_reader_api, "globex"), (&b_reader_api, "acme")] {
        for path in [
            "/abac/my-attributes",
            "/abac/attribute-definitions",
            "/abac/attribute-definitions?type=user",
        ] {
            let reply = api.get(path).await?.expect(200);
            assert!(
                !reply.text.contains(foreign),
                "{}'s {path} shows {foreign}: {}",
                api.org,
                reply.text
            );
        }
        let defs = api.get("/abac/attribute-definitions").await?.expect(200);
        assert_eq!(defs.body["pagination"]["total"], 2, "{}", defs.text);
    }
    for (api, foreign) in [(&a, "globex"), (&b, "acme")] {
        for path in [
            "/abac/attributes?limit=100",
            "/abac/policies?limit=100",
            "/admin/audit-logs?limit=100",
        ] {
            let reply = api.get(path).await?.expect(200);
            assert!(
                !reply.text.contains(foreign),
                "{}'s {path} shows {foreign}",
                api.org
            );
        }
        let values = api
            .get("/admin/audit-logs?action=abac.value.set")
            .await?
            .expect(200);
        assert_eq!(values.body["pagination"]["total"], 2, "{}", values.text);
    }
    node.stop().await?;
    Ok(())
}

/// SCIM: each org's token reaches its own org only; another org's token, its API keys and a
/// SCIM token of this org used on the admin API are refused, and nothing changes.
#[tokio::test]
async fn scim_tokens_reach_their_own_org_only() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let a = node.api();
    let key_b = node.create_org(B).await?;
    let b = node.api_for(B, &key_b);
    for (api, token) in [
        (&a, "acme-scim-token-0123456789abcdef"),
        (&b, "globex-scim-token-0123456789abcd"),
    ] {
        api.put(
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": token}}),
        )
        .await?
        .expect(200);
    }
    let b_scim = b.with_bearer("globex-scim-token-0123456789abcd");
    let secret = b_scim
        .post(
            "/scim/v2/Users",
            json!({"userName": "globex-secret@globex.test", "externalId": "globex-secret-ext"}),
        )
        .await?;
    assert_eq!(secret.status, 201, "{}", secret.text);
    let id = secret.body["id"].as_str().unwrap_or_default().to_string();
    let before = b_scim.get("/scim/v2/Users").await?.body;
    let a_token_on_b = b.with_bearer("acme-scim-token-0123456789abcdef");
    let a_key_on_b = a.with_org(B);
    let routes = [
        (Method::GET, "/scim/v2/Users".to_string(), None),
        (Method::GET, format!("/scim/v2/Users/{id}"), None),
        (
            Method::POST,
            "/scim/v2/Users".to_string(),
            Some(json!({"userName": "intruder@x.test"})),
        ),
        (
            Method::PUT,
            format!("/scim/v2/Users/{id}"),
            Some(json!({"userName": "pwned@x.test"})),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "active", "value": false}]})),
        ),
        (Method::DELETE, format!("/scim/v2/Users/{id}"), None),
        (Method::GET, "/scim/v2/Groups".to_string(), None),
        (
            Method::POST,
            "/scim/v2/.search".to_string(),
            Some(json!({"filter": "userName pr"})),
        ),
        (
            Method::POST,
            "/scim/v2/Bulk".to_string(),
            Some(
                json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}),
            ),
        ),
    ];
    for (who, caller, expected) in [
        ("A's SCIM token", &a_token_on_b, 401),
        ("A's API key", &a_key_on_b, 403),
        ("B's own API key", &b, 403),
    ] {
        for (method, path, body) in &routes {
            let reply = caller.send(method.clone(), path, body.clone()).await?;
            assert_eq!(
                reply.status, expected,
                "{who}: {method} {path}: {}",
                reply.text
            );
            assert_eq!(
                reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
                "{who}: {method} {path}"
            );
            assert!(
                !reply.text.contains("globex-secret"),
                "{who}: {method} {path} leaks: {}",
                reply.text
            );
        }
    }
    // A SCIM token is no admin API credential, and names no user for /Me.
    b_scim.get("/admin/users").await?.expect(403);
    let me = b_scim.get("/scim/v2/Me").await?;
    assert_eq!(me.status, 501, "{}", me.text);
    // Nor does an API key: not a SCIM credential at all.
    let by_key = b.get("/scim/v2/Me").await?;
    assert_eq!(by_key.status, 403, "{}", by_key.text);
    assert_eq!(
        by_key.body["status"], "403",
        "SCIM error shape: {}",
        by_key.text
    );
    // A user's own token reads itself through /Me, and nothing else of SCIM.
    create_user(&a, "me-reader@acme.test", PASSWORD).await?;
    let token = user_token(&a, "me-reader@acme.test", "openid profile").await?;
    let reader = a.with_bearer(&token);
    let own = reader.get("/scim/v2/Me").await?;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.body["emails"][0]["value"], "me-reader@acme.test");
    assert_eq!(reader.get("/scim/v2/Users").await?.status, 403);
    assert_eq!(b.with_bearer(&token).get("/scim/v2/Me").await?.status, 401);
    assert_eq!(
        b_scim.get("/scim/v2/Users").await?.body,
        before,
        "refused requests changed B"
    );
    node.stop().await?;
    Ok(())
}
