//! Sandbox orgs against a real node: a spawn copies the parent's configuration (roles,
//! permissions, groups, OAuth clients, settings without their secrets, ABAC definitions) but
//! none of its users into a new org reachable with the key the spawn answers; list, destroy,
//! the limit of live sandboxes, the refusals, and expiry on the compaction tick.

use std::sync::Arc;

use lumo_cluster::clock::{ManualClock, Timestamp};
use lumo_tests::oauth::{Oauth, create_client};
use lumo_tests::{Api, TestNode};
use serde_json::json;

#[tokio::test]
async fn a_sandbox_copies_the_configuration_but_not_the_users() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    // The parent's configuration.
    api.post(
        "/admin/permissions",
        json!({"name": "Read docs", "slug": "docs:read"}),
    )
    .await?
    .expect(201);
    let role = api
        .post("/admin/roles", json!({"name": "Editor", "slug": "editor"}))
        .await?
        .expect(201);
    let role_id = role.data()["id"].as_str().unwrap_or_default().to_string();
    api.post(
        &format!("/admin/roles/{role_id}/permissions"),
        json!({"permissions": ["docs:read"]}),
    )
    .await?
    .expect(200);
    let group = api
        .post(
            "/admin/groups",
            json!({"name": "Writers", "slug": "writers"}),
        )
        .await?
        .expect(201);
    let group_id = group.data()["id"].as_str().unwrap_or_default().to_string();
    api.post(
        &format!("/admin/groups/{group_id}/roles"),
        json!({"roles": ["editor"]}),
    )
    .await?
    .expect(200);
    let client = create_client(&api, json!({"name": "Billing app"})).await?;
    api.put(
        "/admin/settings/email",
        json!({"enabled": true, "provider": "smtp", "smtp_host": "smtp.example.com",
            "smtp_username": "mailer", "smtp_password": "production-secret-123",
            "from_email": "no-reply@acme.test"}),
    )
    .await?
    .expect(200);
    api.create_user("ada@example.com").await?;

    let spawned = api
        .post(
            "/admin/sandbox/spawn",
            json!({"name": "QA run", "ttl_hours": 2}),
        )
        .await?
        .expect(201);
    let data = spawned.data().clone();
    let slug = data["slug"].as_str().unwrap_or_default().to_string();
    assert_eq!(slug, "acme-corp-sbx-qa-run", "{data}");
    assert_eq!(data["name"], "QA run");
    assert_eq!(data["spawned_from"], "acme-corp");
    let created = Timestamp::parse(data["created_at"].as_str().unwrap_or_default());
    let expires = Timestamp::parse(data["expires_at"].as_str().unwrap_or_default());
    let (Some(created), Some(expires)) = (created, expires) else {
        anyhow::bail!("times: {data}");
    };
    assert!(
        (expires.0 - created.0 - 2 * 3_600_000).abs() < 60_000,
        "{data}"
    );
    let key = data["api_key"].as_str().unwrap_or_default().to_string();
    assert!(key.starts_with("lmk_"), "{data}");

    // The sandbox answers with its own key and holds the copy.
    let sandbox = node.api_for(&slug, &key);
    let roles = sandbox.get("/admin/roles").await?.expect(200);
    assert!(roles.text.contains("\"editor\""), "{}", roles.text);
    let perms = sandbox
        .get(&format!("/admin/roles/{role_id}/permissions"))
        .await?
        .expect(200);
    assert!(perms.text.contains("docs:read"), "{}", perms.text);
    let group_roles = sandbox
        .get(&format!("/admin/groups/{group_id}/roles"))
        .await?
        .expect(200);
    assert!(group_roles.text.contains("editor"), "{}", group_roles.text);
    let users = sandbox.get("/admin/users").await?.expect(200);
    assert_eq!(users.body["pagination"]["total"], 0, "{}", users.text);
    let email = sandbox.get("/admin/settings/email").await?.expect(200);
    assert_eq!(
        email.data()["smtp_host"],
        "smtp.example.com",
        "{}",
        email.text
    );
    assert!(
        !email.text.contains("production-secret"),
        "secrets stay home: {}",
        email.text
    );
    assert!(
        email.data()["smtp_password"].is_null(),
        "no password is copied: {}",
        email.text
    );
    // The copied client works against the sandbox's issuer with the parent's credentials.
    let oauth = Oauth::for_org(&node.http, &slug);
    let token = oauth.client_credentials(&client, None).await?;
    assert_eq!(token.status, 200, "{}", token.text);
    // New ids in the sandbox never reuse copied ones.
    let fresh = sandbox
        .post("/admin/roles", json!({"name": "Fresh", "slug": "fresh"}))
        .await?
        .expect(201);
    assert_ne!(fresh.data()["id"], role_id.as_str());
    // The parent's key is not the sandbox's, and the parent is unchanged.
    node.api_for(&slug, lumo_tests::ADMIN_KEY)
        .get("/admin/roles")
        .await?
        .expect_error(403, "forbidden");
    assert!(
        !api.get("/admin/roles")
            .await?
            .expect(200)
            .text
            .contains("\"fresh\"")
    );

    // Listed in the parent; a sandbox spawns no sandboxes.
    let listed = api.get("/admin/sandbox").await?.expect(200);
    assert_eq!(
        listed.body["data"][0]["slug"],
        slug.as_str(),
        "{}",
        listed.text
    );
    assert_eq!(listed.body["pagination"]["total"], 1);
    sandbox
        .post("/admin/sandbox/spawn", json!({}))
        .await?
        .expect_error(422, "validation_error");

    // Destroyed: gone from the directory and the list.
    let destroyed = api
        .post_empty(&format!("/admin/sandbox/{slug}/destroy"))
        .await?
        .expect(200);
    assert!(destroyed.text.contains("destroyed"), "{}", destroyed.text);
    sandbox
        .get("/admin/roles")
        .await?
        .expect_error(404, "tenant_not_found");
    let listed = api.get("/admin/sandbox").await?.expect(200);
    assert_eq!(listed.body["pagination"]["total"], 0, "{}", listed.text);
    api.post_empty(&format!("/admin/sandbox/{slug}/destroy"))
        .await?
        .expect_error(404, "resource_not_found");
    Ok(())
}

async fn spawn(api: &Api, body: serde_json::Value) -> anyhow::Result<lumo_tests::Reply> {
    api.post("/admin/sandbox/spawn", body).await
}

#[tokio::test]
async fn sandbox_refusals_the_limit_and_expiry() -> anyhow::Result<()> {
    let start = Timestamp::now();
    let clock = Arc::new(ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();

    spawn(&api, json!({"ttl_hours": 0}))
        .await?
        .expect_error(422, "validation_error");
    spawn(&api, json!({"ttl_hours": 721}))
        .await?
        .expect_error(422, "validation_error");
    spawn(&api, json!({"ttl_hours": "soon"}))
        .await?
        .expect_error(422, "validation_error");
    spawn(&api, json!({"name": "x".repeat(101)}))
        .await?
        .expect_error(422, "validation_error");
    spawn(&api, json!({"name": 7}))
        .await?
        .expect_error(422, "validation_error");
    assert_eq!(
        api.get("/admin/sandbox").await?.expect(200).body["pagination"]["total"],
        0,
        "nothing half-made"
    );

    // A clash of names, and an org that already holds the slug.
    spawn(&api, json!({"name": "dev", "ttl_hours": 1}))
        .await?
        .expect(201);
    spawn(&api, json!({"name": "dev"}))
        .await?
        .expect_error(409, "duplicate_resource");
    node.create_org("acme-corp-sbx-taken").await?;
    spawn(&api, json!({"name": "taken"}))
        .await?
        .expect_error(409, "duplicate_resource");
    let orgs = node.node.as_ref().expect("running").service.orgs().await?;
    assert!(orgs.iter().any(|o| o.slug == "acme-corp-sbx-taken"));

    // At most five live sandboxes.
    for i in 0..4 {
        spawn(&api, json!({"name": format!("run {i}"), "ttl_hours": 3}))
            .await?
            .expect(201);
    }
    spawn(&api, json!({"name": "one too many"}))
        .await?
        .expect_error(429, "quota_exceeded");

    // The tick removes the expired one (one hour), then the rest (three hours).
    let service = &node.node.as_ref().expect("running").service;
    assert_eq!(service.expire_sandboxes().await?, 0);
    clock.set(start.plus_millis(3_600_000 + 1_000));
    assert_eq!(service.expire_sandboxes().await?, 1);
    let listed = api.get("/admin/sandbox").await?.expect(200);
    assert_eq!(listed.body["pagination"]["total"], 4, "{}", listed.text);
    assert!(
        !listed.text.contains("acme-corp-sbx-dev"),
        "{}",
        listed.text
    );
    let orgs = service.orgs().await?;
    assert!(!orgs.iter().any(|o| o.slug == "acme-corp-sbx-dev"));
    spawn(&api, json!({"name": "after expiry"}))
        .await?
        .expect(201);
    clock.set(start.plus_millis(30 * 3_600_000));
    assert_eq!(service.expire_sandboxes().await?, 5);
    let orgs = service.orgs().await?;
    assert!(
        !orgs.iter().any(|o| o.slug.starts_with("acme-corp-sbx-run")),
        "{orgs:?}"
    );
    assert!(orgs.iter().any(|o| o.slug == "acme-corp-sbx-taken"));
    Ok(())
}
