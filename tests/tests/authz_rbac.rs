//! RBAC checks at the root `/api/v1/authz/*`: the org from the credential, the subject only
//! from `subject`, effective permissions exactly as the admin API reports them, changes seen
//! by the next check, and the engines' error codes.

mod authz_support;

use authz_support::{seed, user_token};
use lumo_tests::TestNode;
use serde_json::{Value, json};

fn user(id: &str) -> Value {
    json!({"type": "user", "id": id})
}

async fn allowed(
    api: &lumo_tests::http::Api,
    subject: &str,
    permission: &str,
) -> anyhow::Result<bool> {
    let reply = api
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": permission, "subject": user(subject)}),
        )
        .await?
        .expect(200);
    reply.body["allowed"]
        .as_bool()
        .ok_or_else(|| anyhow::anyhow!("no allowed in {}", reply.text))
}

#[tokio::test]
async fn checks_follow_roles_groups_and_direct_grants_and_see_changes_at_once() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = node.api();
    let users = seed(&api).await?;

    let reply = api
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": "document.edit", "subject": user(&users.alice), "context": {"ip": "10.0.0.1"}}),
        )
        .await?
        .expect(200);
    assert_eq!(reply.body["allowed"], true, "{}", reply.text);
    assert_eq!(reply.body["permission"], "document.edit");
    assert_eq!(reply.body["subject_type"], "user");
    assert_eq!(reply.body["subject_id"], users.alice.as_str());
    assert_eq!(reply.body["user_id"], users.alice.as_str());
    assert_eq!(reply.body["context"], json!({"ip": "10.0.0.1"}));
    assert!(
        reply.body["checked_at"]
            .as_str()
            .is_some_and(|t| t.starts_with("lzt1."))
    );

    assert!(
        allowed(&api, &users.bob, "billing.read").await?,
        "through the group's role"
    );
    assert!(
        allowed(&api, &users.carol, "reports.export").await?,
        "direct grant"
    );
    assert!(!allowed(&api, &users.dave, "document.view").await?);
    assert!(!allowed(&api, &users.alice, "billing.read").await?);
    assert!(!allowed(&api, &users.alice, "no.such.permission").await?);

    // Every check agrees with the admin API's effective permissions.
    for id in [&users.alice, &users.bob, &users.carol, &users.dave] {
        let effective = api
            .get(&format!("/admin/users/{id}/effective-permissions"))
            .await?
            .expect(200);
        let listed: Vec<String> =
            serde_json::from_value(effective.body["data"]["permissions"].clone())
                .or_else(|_| serde_json::from_value(effective.body["data"].clone()))
                .unwrap_or_default();
        let asked = [
            "document.edit",
            "document.view",
            "billing.read",
            "reports.export",
            "authz.check",
        ];
        let bulk = api
            .post_root(
                "/api/v1/authz/check-bulk",
                json!({"permissions": asked, "subject": user(id)}),
            )
            .await?
            .expect(200);
        for slug in asked {
            assert_eq!(
                bulk.body["results"][slug].as_bool(),
                Some(listed.iter().any(|l| l == slug)),
                "{slug} for {id}: {} vs {}",
                bulk.text,
                effective.text
            );
        }
    }

    let any = api
        .post_root(
            "/api/v1/authz/check-any",
            json!({"permissions": ["billing.read", "document.view"], "subject": user(&users.alice)}),
        )
        .await?
        .expect(200);
    assert_eq!(any.body["allowed"], true);
    assert_eq!(
        any.body["permissions"],
        json!(["billing.read", "document.view"])
    );
    let all = api
        .post_root(
            "/api/v1/authz/check-all",
            json!({"permissions": ["billing.read", "document.view"], "subject": user(&users.alice)}),
        )
        .await?
        .expect(200);
    assert_eq!(all.body["allowed"], false);

    // A role removed, a group left, a grant revoked: the next check sees it.
    api.delete(&format!("/admin/users/{}/roles/editor", users.alice))
        .await?
        .expect(200);
    assert!(!allowed(&api, &users.alice, "document.edit").await?);
    api.delete(&format!("/admin/groups/finance/members/{}", users.bob))
        .await?
        .expect(200);
    assert!(!allowed(&api, &users.bob, "billing.read").await?);
    api.delete(&format!(
        "/admin/users/{}/permissions/reports.export",
        users.carol
    ))
    .await?
    .expect(200);
    assert!(!allowed(&api, &users.carol, "reports.export").await?);
    // A permission added to a role reaches its holders' next check.
    api.post(
        "/admin/roles/accountant/permissions",
        json!({"permissions": ["document.view"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/groups/finance/members",
        json!({"userIds": [users.dave]}),
    )
    .await?
    .expect(200);
    assert!(allowed(&api, &users.dave, "document.view").await?);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_tokens_check_themselves_and_need_authz_check_for_others() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let users = seed(&api).await?;
    let alice_token = user_token(&api, "alice@example.com", "openid authz:read").await?;
    let as_alice = api.with_bearer(&alice_token);

    // No subject: the caller. A top-level user_id is ignored.
    let own = as_alice
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": "document.edit", "user_id": users.dave}),
        )
        .await?
        .expect(200);
    assert_eq!(own.body["allowed"], true, "{}", own.text);
    assert_eq!(own.body["subject_id"], users.alice.as_str());

    // Another subject needs authz:check (scope) or authz.check (permission).
    as_alice
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": "billing.read", "subject": user(&users.bob)}),
        )
        .await?
        .expect_error(403, "INSUFFICIENT_PERMISSIONS");
    let checker = user_token(&api, "alice@example.com", "openid authz:check").await?;
    let reply = api
        .with_bearer(&checker)
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": "billing.read", "subject": user(&users.bob)}),
        )
        .await?
        .expect(200);
    assert_eq!(reply.body["allowed"], true);
    api.post(
        &format!("/admin/users/{}/permissions", users.alice),
        json!({"permissions": ["authz.check"]}),
    )
    .await?
    .expect(200);
    as_alice
        .post_root(
            "/api/v1/authz/check",
            json!({"permission": "billing.read", "subject": user(&users.bob)}),
        )
        .await?
        .expect(200);

    // The caller's own permissions, with their sources, paginated.
    let listed = as_alice
        .get_root("/api/v1/authz/permissions")
        .await?
        .expect(200);
    assert_eq!(listed.body["user_id"], users.alice.as_str());
    let slugs: Vec<&str> = listed.body["permissions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["slug"].as_str())
        .collect();
    assert_eq!(slugs, ["authz.check", "document.edit", "document.view"]);
    assert_eq!(listed.body["permissions"][1]["source"], "role:Editor");
    assert_eq!(listed.body["permissions"][0]["source"], "direct");
    assert_eq!(
        listed.body["permissions"][1]["description"],
        "Edit documents."
    );
    assert_eq!(listed.body["data"], listed.body["permissions"]);
    assert_eq!(listed.body["count"], 3);
    assert_eq!(listed.body["pagination"]["total"], 3);
    let second = as_alice
        .get_root("/api/v1/authz/permissions?page=2&limit=2")
        .await?
        .expect(200);
    assert_eq!(second.body["permissions"].as_array().map(Vec::len), Some(1));
    assert_eq!(second.body["pagination"]["hasPreviousPage"], true);

    // Without authz:read the list is refused with the scope the SDK reads.
    let narrow = user_token(&api, "alice@example.com", "openid").await?;
    let refused = api
        .with_bearer(&narrow)
        .get_root("/api/v1/authz/permissions")
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        refused.body["details"]["required_scopes"],
        json!(["authz:read"])
    );
    // An API key has no permissions of its own.
    let refused = api
        .get_root("/api/v1/authz/permissions")
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        refused.body["details"]["required_scopes"],
        json!(["authz:read"])
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_questions_get_the_engines_error_codes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let users = seed(&api).await?;
    let check = "/api/v1/authz/check";

    api.post_root(check, json!({"subject": user(&users.alice)}))
        .await?
        .expect_error(400, "MISSING_PERMISSION");
    api.post_root(
        check,
        json!({"permission": 7, "subject": user(&users.alice)}),
    )
    .await?
    .expect_error(400, "MISSING_PERMISSION");
    // An API key is nobody: without a subject there is no one to check.
    api.post_root(
        check,
        json!({"permission": "document.edit", "user_id": users.alice}),
    )
    .await?
    .expect_error(400, "MISSING_FIELDS");
    api.post_root(
        check,
        json!({"permission": "x", "subject": {"type": "robot", "id": "r"}}),
    )
    .await?
    .expect_error(400, "INVALID_SUBJECT");
    api.post_root(check, json!({"permission": "x", "subject": "alice"}))
        .await?
        .expect_error(400, "INVALID_SUBJECT");
    api.post_root(
        check,
        json!({"permission": "x", "subject": {"type": "user"}}),
    )
    .await?
    .expect_error(400, "MISSING_FIELDS");
    for unknown in ["00000000-0000-0000-0000-000000000000", "not-a-uuid"] {
        api.post_root(check, json!({"permission": "x", "subject": user(unknown)}))
            .await?
            .expect_error(404, "SUBJECT_NOT_FOUND");
    }
    api.post_root(
        check,
        json!({"permission": "x", "subject": {"type": "agent", "id": "agt_missing"}}),
    )
    .await?
    .expect_error(404, "SUBJECT_NOT_FOUND");

    let many: Vec<String> = (0..101).map(|i| format!("p.{i}")).collect();
    for path in [
        "/api/v1/authz/check-bulk",
        "/api/v1/authz/check-any",
        "/api/v1/authz/check-all",
    ] {
        api.post_root(
            path,
            json!({"permissions": many, "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(400, "INVALID_PERMISSIONS");
        api.post_root(
            path,
            json!({"permissions": [], "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(400, "INVALID_PERMISSIONS");
        api.post_root(
            path,
            json!({"permissions": "document.edit", "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(400, "INVALID_PERMISSIONS");
        api.post_root(
            path,
            json!({"permissions": ["ok", ""], "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(400, "INVALID_PERMISSIONS");
        api.post_root(path, json!({"subject": user(&users.alice)}))
            .await?
            .expect_error(400, "MISSING_FIELDS");
    }
    // Exactly 100 is fine.
    let hundred: Vec<String> = (0..100).map(|i| format!("p.{i}")).collect();
    let reply = api
        .post_root(
            "/api/v1/authz/check-bulk",
            json!({"permissions": hundred, "subject": user(&users.alice)}),
        )
        .await?
        .expect(200);
    assert_eq!(
        reply.body["results"].as_object().map(|m| m.len()),
        Some(100)
    );

    // Credentials: none, unknown, another org's subject.
    api.with_key("")
        .post_root(
            check,
            json!({"permission": "x", "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(401, "invalid_token");
    api.with_key("lmk_nobody_knows_this_key")
        .post_root(
            check,
            json!({"permission": "x", "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(401, "invalid_token");
    api.with_bearer("not.a.jwt")
        .post_root(
            check,
            json!({"permission": "x", "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(401, "invalid_token");
    let other_key = node.create_org("globex").await?;
    let globex = node.api_for("globex", &other_key);
    globex
        .post_root(
            check,
            json!({"permission": "document.edit", "subject": user(&users.alice)}),
        )
        .await?
        .expect_error(404, "SUBJECT_NOT_FOUND");

    // Bodies: not JSON, wrong consistency, a token that is not ours.
    api.post_root(check, json!(["not", "an", "object"]))
        .await?
        .expect(400);
    api.post_root(
        check,
        json!({"permission": "x", "subject": user(&users.alice), "consistency": "whenever"}),
    )
    .await?
    .expect(400);
    api.post_root(
        check,
        json!({"permission": "x", "subject": user(&users.alice), "at_least_as_fresh": "zed_123"}),
    )
    .await?
    .expect(422);
    for consistency in [
        json!("fully_consistent"),
        json!("minimize_latency"),
        json!({"fully_consistent": true}),
    ] {
        api.post_root(check, json!({"permission": "document.edit", "subject": user(&users.alice), "consistency": consistency}))
            .await?
            .expect(200);
    }
    node.stop().await?;
    Ok(())
}
