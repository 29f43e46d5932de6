//! ABAC: attribute definitions and policies (admin), the runtime check with the user's, the
//! resource's and the request's attributes, deny-overrides with priorities, bulk checks,
//! attribute values, and refusals (API keys, scopes, bad conditions).

mod authz_support;

use authz_support::{seed, user_token};
use lumo_tests::TestNode;
use lumo_tests::http::Api;
use serde_json::{Value, json};

async fn create(api: &Api, path: &str, body: Value) -> anyhow::Result<Value> {
    let reply = api.post(path, body).await?.expect(201);
    Ok(reply.data().clone())
}

#[tokio::test]
async fn policies_decide_with_user_resource_and_environment_attributes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let users = seed(&api).await?;
    // Attribute definitions.
    let department = create(
        &api,
        "/abac/attributes",
        json!({"name": "Department", "slug": "department", "attributeType": "user", "dataType": "string"}),
    )
    .await?;
    assert!(department["id"].is_u64(), "{department}");
    assert_eq!(department["attributeType"], "user");
    create(
        &api,
        "/abac/attributes",
        json!({"name": "Classification", "slug": "classification", "attributeType": "resource", "dataType": "string", "defaultValue": "public"}),
    )
    .await?;
    api.post(
        "/abac/attributes",
        json!({"name": "Dup", "slug": "department", "attributeType": "user", "dataType": "string"}),
    )
    .await?
    .expect(409);

    // Policies: engineers read documents; nobody reads secret ones (higher priority deny);
    // admins of billing may read from the office network only.
    let allow = create(
        &api,
        "/abac/policies",
        json!({
            "name": "Engineers read documents", "slug": "eng-read", "resourceType": "document",
            "action": "read", "effect": "allow", "priority": 10,
            "conditions": {"all": [{"attribute": "user.department", "operator": "equals", "value": "engineering"}]},
        }),
    )
    .await?;
    assert!(allow["id"].is_u64());
    assert_eq!(allow["conditions"]["all"][0]["operator"], "equals");
    let deny = create(
        &api,
        "/abac/policies",
        json!({
            "name": "No secrets", "slug": "no-secrets", "resourceType": "document", "action": "*",
            "effect": "deny", "priority": 100,
            "conditions": {"all": [{"attribute": "resource.classification", "operator": "eq", "value": "secret"}]},
        }),
    )
    .await?;
    create(
        &api,
        "/abac/policies",
        json!({
            "name": "Office billing", "slug": "office-billing", "resourceType": "invoice", "action": "read",
            "effect": "allow", "priority": 5,
            "conditions": {"all": [
                {"attribute": "user.permissions", "operator": "contains", "value": "billing.read"},
                {"attribute": "environment.ip", "operator": "ip_in_cidr", "value": ["127.0.0.0/8", "::1/128"]},
            ]},
        }),
    )
    .await?;
    let listed = api.get("/abac/policies").await?.expect(200);
    assert_eq!(listed.body["pagination"]["total"], 3);
    // An attribute a policy names cannot be deleted under it.
    let refused = api
        .delete(&format!("/abac/attributes/{}", department["id"]))
        .await?
        .expect(409);
    assert!(refused.text.contains("eng-read"), "{}", refused.text);
    assert_eq!(
        listed.body["data"][0]["slug"], "no-secrets",
        "highest priority first"
    );

    // Values, set by a user holding abac.manage with abac:write.
    api.post(
        "/admin/permissions",
        json!({"name": "Manage ABAC", "slug": "abac.manage"}),
    )
    .await?
    .expect(201);
    api.post(
        &format!("/admin/users/{}/permissions", users.carol),
        json!({"permissions": ["abac.manage"]}),
    )
    .await?
    .expect(200);
    let manager = api
        .with_bearer(&user_token(&api, "carol@example.com", "openid abac:read abac:write").await?);
    let set = manager
        .put(
            &format!("/abac/users/{}/attributes/department", users.alice),
            json!({"value": "engineering"}),
        )
        .await?
        .expect(200);
    assert_eq!(set.body["data"]["attributeSlug"], "department");
    assert_eq!(set.body["data"]["value"], "engineering");
    let secret = manager
        .put(
            "/abac/resources/document/doc-9/attributes/classification",
            json!({"value": "secret"}),
        )
        .await?
        .expect(200);
    assert_eq!(secret.body["data"]["attributeName"], "Classification");
    assert!(secret.body["data"]["id"].is_u64());
    let resource = manager
        .get("/abac/resources/document/doc-9/attributes")
        .await?
        .expect(200);
    assert_eq!(resource.body["attributes"]["classification"], "secret");
    assert_eq!(resource.body["attributes"]["type"], "document");
    // Values are type-checked and need a defined attribute.
    manager
        .put(
            &format!("/abac/users/{}/attributes/department", users.alice),
            json!({"value": 7}),
        )
        .await?
        .expect_error(400, "INVALID_ATTRIBUTE_VALUE");
    manager
        .put(
            &format!("/abac/users/{}/attributes/nope", users.alice),
            json!({"value": "x"}),
        )
        .await?
        .expect_error(400, "UNKNOWN_ATTRIBUTE");

    // Alice (engineering) checks.
    let alice = api.with_bearer(&user_token(&api, "alice@example.com", "openid abac:read").await?);
    let check = |body: Value| {
        let alice = alice.clone();
        async move { alice.post("/abac/check", body).await }
    };
    let open = check(json!({"resourceType": "document", "action": "read", "resourceId": "doc-1"}))
        .await?
        .expect(200);
    assert_eq!(open.body["allowed"], true, "{}", open.text);
    assert_eq!(open.body["matchedPolicies"][0]["id"], allow["id"]);
    assert_eq!(open.body["user_id"], users.alice.as_str());
    assert_eq!(open.body["resourceId"], "doc-1");
    let closed =
        check(json!({"resourceType": "document", "action": "read", "resourceId": "doc-9"}))
            .await?
            .expect(200);
    assert_eq!(closed.body["allowed"], false, "{}", closed.text);
    assert_eq!(closed.body["matchedPolicies"][0]["id"], deny["id"]);
    let write = check(json!({"resourceType": "document", "action": "write"}))
        .await?
        .expect(200);
    assert_eq!(write.body["allowed"], false);
    assert!(
        write.body["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no policy"))
    );

    // Bob holds billing.read (group role) and calls from loopback; a spoofed ip is moved to pep.
    let bob = api.with_bearer(&user_token(&api, "bob@example.com", "openid abac:read").await?);
    let billing = bob
        .post(
            "/abac/check",
            json!({"resourceType": "invoice", "action": "read", "environment": {"ip": "203.0.113.9"}}),
        )
        .await?
        .expect(200);
    assert_eq!(billing.body["allowed"], true, "{}", billing.text);

    // Toggling the deny off lets alice read the secret document.
    let toggled = api
        .post_empty(&format!("/abac/policies/{}/toggle", deny["id"]))
        .await?
        .expect(200);
    assert_eq!(toggled.data()["isActive"], false);
    let now_open =
        check(json!({"resourceType": "document", "action": "read", "resourceId": "doc-9"}))
            .await?
            .expect(200);
    assert_eq!(now_open.body["allowed"], true);

    // Bulk: order kept, an incomplete item answers with an error.
    let bulk = alice
        .post(
            "/abac/check-bulk",
            json!({"checks": [
                {"resourceType": "document", "action": "read", "resourceId": "doc-1"},
                {"resourceType": "document", "action": "delete"},
                {"action": "read"},
            ]}),
        )
        .await?
        .expect(200);
    let results = bulk.body["results"].as_array().cloned().unwrap_or_default();
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["allowed"], true);
    assert_eq!(results[1]["allowed"], false);
    assert_eq!(results[2]["index"], 2);
    assert!(results[2]["error"].is_string());
    assert!(results[0].get("error").is_none());

    // My attributes: built-ins and custom ones.
    let mine = alice.get("/abac/my-attributes").await?.expect(200);
    let attributes = &mine.body["attributes"];
    assert_eq!(attributes["email"], "alice@example.com");
    assert_eq!(attributes["department"], "engineering");
    assert_eq!(attributes["roles"], json!(["editor"]));
    assert!(
        attributes["permissions"]
            .as_array()
            .is_some_and(|p| p.contains(&json!("document.edit")))
    );
    let defs = alice
        .get("/abac/attribute-definitions?type=resource")
        .await?
        .expect(200);
    assert_eq!(defs.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(defs.body["data"][0]["slug"], "classification");

    // Every change is audited.
    let audit = api
        .get("/admin/audit-logs?action=abac.policy.created")
        .await?
        .expect(200);
    assert_eq!(audit.body["pagination"]["total"], 3, "{}", audit.text);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_policies_and_wrong_credentials_are_refused() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    seed(&api).await?;
    let policy = |conditions: Value| json!({"name": "P", "slug": "p", "resourceType": "document", "action": "read", "conditions": conditions});
    for (conditions, code) in [
        (
            json!({"all": [{"attribute": "user.nope", "operator": "equals", "value": 1}]}),
            "UNKNOWN_ATTRIBUTE",
        ),
        (
            json!({"all": [{"attribute": "user.email", "operator": "resembles", "value": 1}]}),
            "INVALID_CONDITIONS",
        ),
        (
            json!({"all": [{"attribute": "user.email", "operator": "in", "value": "x"}]}),
            "INVALID_CONDITIONS",
        ),
        (json!({"all": "everything"}), "INVALID_CONDITIONS"),
        (
            json!({"all": [{"attribute": "environment.ip", "operator": "ip_in_cidr", "value": "10.0.0.0/99"}]}),
            "INVALID_CONDITIONS",
        ),
        (
            json!({"all": [{"attribute": 5, "operator": "equals", "value": 1}]}),
            "INVALID_CONDITIONS",
        ),
        (json!("not an object"), "INVALID_CONDITIONS"),
    ] {
        api.post("/abac/policies", policy(conditions))
            .await?
            .expect_error(400, code);
    }
    api.get("/abac/policies").await?.expect(200);
    assert_eq!(
        api.get("/abac/policies").await?.body["pagination"]["total"],
        0,
        "nothing half-written"
    );
    api.post(
        "/abac/policies",
        json!({"name": "P", "resourceType": "document", "action": "read", "effect": "maybe"}),
    )
    .await?
    .expect(422);
    api.post(
        "/abac/attributes",
        json!({"name": "A", "attributeType": "planet"}),
    )
    .await?
    .expect(422);
    api.get("/abac/policies/999").await?.expect(404);
    api.delete("/abac/attributes/999").await?.expect(404);

    // The runtime takes a user's bearer token only.
    api.post(
        "/abac/check",
        json!({"resourceType": "document", "action": "read"}),
    )
    .await?
    .expect(401);
    api.get("/abac/my-attributes").await?.expect(401);
    // Without abac:read the token is refused with the scope the SDK reads.
    let narrow = api.with_bearer(&user_token(&api, "alice@example.com", "openid").await?);
    let refused = narrow
        .post(
            "/abac/check",
            json!({"resourceType": "document", "action": "read"}),
        )
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        refused.body["details"]["required_scopes"],
        json!(["abac:read"])
    );
    // Setting values needs abac:write and the abac.manage permission.
    let reader = api
        .with_bearer(&user_token(&api, "alice@example.com", "openid abac:read abac:write").await?);
    api.post(
        "/abac/attributes",
        json!({"name": "Level", "slug": "level", "attributeType": "user", "dataType": "number"}),
    )
    .await?
    .expect(201);
    reader
        .put(
            "/abac/users/00000000-0000-0000-0000-000000000000/attributes/level",
            json!({"value": 1}),
        )
        .await?
        .expect_error(403, "INSUFFICIENT_PERMISSIONS");
    let reader_key = api
        .post(
            "/admin/api-keys",
            json!({"name": "r", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);
    let reader_api = api.with_key(reader_key.data()["key"].as_str().unwrap_or_default());
    reader_api.get("/abac/attributes").await?.expect(200);
    reader_api
        .post(
            "/abac/attributes",
            json!({"name": "X", "attributeType": "user"}),
        )
        .await?
        .expect_error(403, "forbidden");
    // Bulk limits.
    let alice = api.with_bearer(&user_token(&api, "alice@example.com", "openid abac:read").await?);
    let many: Vec<Value> = (0..101)
        .map(|_| json!({"resourceType": "d", "action": "r"}))
        .collect();
    alice
        .post("/abac/check-bulk", json!({"checks": many}))
        .await?
        .expect(400);
    alice
        .post(
            "/abac/check-bulk",
            json!({"requests": [{"resourceType": "d", "action": "r"}]}),
        )
        .await?
        .expect(400);
    alice
        .post("/abac/check", json!({"action": "read"}))
        .await?
        .expect_error(400, "MISSING_FIELDS");
    node.stop().await?;
    Ok(())
}
