//! Black-box tests of `~/admin/api-keys` and of what API-key scopes allow.

use std::time::Duration;

use lumo_cluster::api_key::hash_key;
use lumo_cluster::clock::Timestamp;
use lumo_tests::{ADMIN_KEY, Api, TestNode};
use serde_json::{Value, json};

/// Creates a key and returns (key text, key object).
async fn create_key(api: &Api, name: &str, scopes: &[&str]) -> anyhow::Result<(String, Value)> {
    let reply = api
        .post("/admin/api-keys", json!({"name": name, "scopes": scopes}))
        .await?
        .expect(201);
    let data = reply.data().clone();
    let key = data["key"].as_str().unwrap_or_default().to_string();
    Ok((key, data))
}

async fn keys(api: &Api) -> anyhow::Result<Vec<Value>> {
    Ok(api
        .get("/admin/api-keys")
        .await?
        .expect(200)
        .data()
        .as_array()
        .cloned()
        .unwrap_or_default())
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn list_shows_keys_without_secrets_or_hashes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let initial = keys(&api).await?;
    assert_eq!(initial.len(), 1);
    let admin = &initial[0];
    assert!(admin["id"].is_u64());
    assert_eq!(admin["name"], "admin");
    assert_eq!(admin["scopes"], json!(["admin"]));
    assert_eq!(
        admin["prefix"], "lmk_…abcdef",
        "prefix shows only the last 6 characters"
    );
    assert_eq!(admin["isActive"], true);
    assert_eq!(admin["revokedAt"], Value::Null);
    assert_eq!(admin["expiresAt"], Value::Null);
    assert!(
        admin["createdAt"]
            .as_str()
            .is_some_and(|t| Timestamp::parse(t).is_some())
    );
    assert!(
        admin.get("key").is_none() && admin.get("hash").is_none(),
        "{admin}"
    );

    let (secret, _) = create_key(&api, "ci", &["admin:read"]).await?;
    let listed = api.get("/admin/api-keys").await?.expect(200);
    assert_eq!(listed.data().as_array().map(Vec::len), Some(2));
    for forbidden in [
        ADMIN_KEY.to_string(),
        hash_key(ADMIN_KEY),
        secret.clone(),
        hash_key(&secret),
    ] {
        assert!(
            !listed.text.contains(&forbidden),
            "list leaks {forbidden}: {}",
            listed.text
        );
    }
    for key in listed.data().as_array().expect("array") {
        let fields: Vec<&str> = key
            .as_object()
            .expect("object")
            .keys()
            .map(String::as_str)
            .collect();
        assert!(
            !fields.contains(&"key") && !fields.contains(&"hash") && !fields.contains(&"secret"),
            "{fields:?}"
        );
    }
    // Nor do the audit records of key creation.
    let export = api
        .get("/admin/audit-logs/export?format=json")
        .await?
        .expect(200);
    assert!(export.text.contains("api_key.created"));
    assert!(!export.text.contains(&secret) && !export.text.contains(&hash_key(&secret)));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_shows_the_key_once_with_its_prefix() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let reply = api
        .post(
            "/admin/api-keys",
            json!({"name": "deploy bot", "scopes": ["admin:users", "admin:groups"]}),
        )
        .await?
        .expect(201);
    assert!(reply.body["message"].is_string());
    let data = reply.data();
    let secret = data["key"]
        .as_str()
        .expect("key shown at creation")
        .to_string();
    assert!(secret.starts_with("lmk_"), "{secret}");
    assert!(secret.len() > 40, "{secret}");
    assert_eq!(
        data["prefix"],
        format!("lmk_…{}", &secret[secret.len() - 6..]).as_str()
    );
    assert_eq!(data["name"], "deploy bot");
    assert_eq!(data["scopes"], json!(["admin:users", "admin:groups"]));
    assert_eq!(data["isActive"], true);
    assert!(data["_note"].is_string());
    let id = data["id"].as_u64().expect("numeric id");
    assert_eq!(id, 2);

    let listed = keys(&api).await?;
    let entry = listed.iter().find(|k| k["id"] == id).expect("listed");
    assert_eq!(entry["name"], "deploy bot");
    assert_eq!(entry["prefix"], data["prefix"]);
    assert_eq!(entry["createdBy"], "1", "created by the bootstrap key");
    assert!(entry.get("key").is_none());

    // The new key works, and its actions are attributed to it.
    let bot = api.with_key(&secret);
    let user = bot.create_user("made-by-bot@example.com").await?;
    let record = api
        .get(&format!(
            "/admin/audit-logs?action=user.created&targetId={user}"
        ))
        .await?
        .expect(200);
    assert_eq!(record.data()[0]["actorId"], id.to_string().as_str());
    assert_eq!(record.data()[0]["actorName"], "deploy bot");
    let created = api
        .get("/admin/audit-logs?action=api_key.created")
        .await?
        .expect(200);
    assert_eq!(created.data()[0]["targetId"], id.to_string().as_str());
    assert_eq!(created.data()[0]["severity"], "critical");
    assert_eq!(
        created.data()[0]["newValue"]["scopes"],
        json!(["admin:users", "admin:groups"])
    );

    // Without scopes a key is read-only.
    let plain = api
        .post("/admin/api-keys", json!({"name": "plain"}))
        .await?
        .expect(201);
    assert_eq!(plain.data()["scopes"], json!(["admin:read"]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_validates_name_scopes_and_expiry() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let cases = [
        (json!({"scopes": ["admin"]}), "name"),
        (json!({"name": "", "scopes": ["admin"]}), "name"),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (json!({"name": "x", "scopes": ["root"]}), "scopes"),
        (json!({"name": "x", "scopes": "admin"}), "scopes"),
        (
            json!({"name": "x", "expiresAt": "2001-01-01T00:00:00Z"}),
            "expiresAt",
        ),
        (
            json!({"name": "x", "expiresAt": "next tuesday"}),
            "expiresAt",
        ),
    ];
    for (body, field) in cases {
        let reply = api
            .post("/admin/api-keys", body.clone())
            .await?
            .expect_error(422, "validation_error");
        assert!(
            reply.body["details"].get(field).is_some(),
            "{body}: {}",
            reply.text
        );
    }
    let past = Timestamp::now().plus_millis(-60_000).to_rfc3339();
    api.post("/admin/api-keys", json!({"name": "x", "expiresAt": past}))
        .await?
        .expect_error(422, "validation_error");
    assert_eq!(keys(&api).await?.len(), 1, "no key was created");
    let future = Timestamp::now().plus_millis(30 * 86_400_000).to_rfc3339();
    let ok = api
        .post(
            "/admin/api-keys",
            json!({"name": "month", "scopes": ["admin:read"], "expiresAt": future}),
        )
        .await?
        .expect(201);
    assert_eq!(ok.data()["expiresAt"], future.as_str());
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_key_expires_at_its_expiry_time() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let soon = Timestamp::now().plus_millis(1_500).to_rfc3339();
    let reply = api
        .post(
            "/admin/api-keys",
            json!({"name": "short", "scopes": ["admin:read"], "expiresAt": soon}),
        )
        .await?
        .expect(201);
    let short = api.with_key(reply.data()["key"].as_str().unwrap_or_default());
    short.get("/admin/users").await?.expect(200);
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let refused = short
        .get("/admin/users")
        .await?
        .expect_error(401, "invalid_token");
    assert!(refused.headers.get("www-authenticate").is_some());
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn read_scope_reads_everything_but_writes_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let user = api.create_user("existing@example.com").await?;
    let (secret, _) = create_key(&api, "reader", &["admin:read"]).await?;
    let reader = api.with_key(&secret);
    for path in [
        "/admin/users",
        "/admin/groups",
        "/admin/roles",
        "/admin/permissions",
        "/admin/scopes",
        "/admin/audit-logs",
        "/admin/settings",
        "/admin/tenant",
        "/admin/analytics/dashboard",
    ] {
        reader.get(path).await?.expect(200);
    }
    let fetched = reader
        .get(&format!("/admin/users/{user}"))
        .await?
        .expect(200);
    assert_eq!(fetched.data()["email"], "existing@example.com");

    let refused = reader
        .post("/admin/users", json!({"email": "nope@example.com"}))
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        strings(&refused.body["details"]["required_scopes"]),
        vec!["admin:users", "admin:write", "admin"]
    );
    assert_eq!(
        strings(&refused.body["details"]["granted_scopes"]),
        vec!["admin:read"]
    );
    assert!(
        refused.body["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Insufficient scope")
    );

    let writes = [
        reader
            .patch(&format!("/admin/users/{user}"), json!({"name": "x"}))
            .await?,
        reader
            .post_empty(&format!("/admin/users/{user}/block"))
            .await?,
        reader.delete(&format!("/admin/users/{user}")).await?,
        reader
            .post("/admin/groups", json!({"name": "G", "slug": "g"}))
            .await?,
        reader
            .post("/admin/roles", json!({"name": "R", "slug": "r"}))
            .await?,
        reader
            .patch("/admin/settings/branding", json!({"theme": "dark"}))
            .await?,
        reader
            .put("/admin/tenant", json!({"name": "Hijacked"}))
            .await?,
        reader
            .put("/admin/audit-logs/retention", json!({"retentionDays": 1}))
            .await?,
    ];
    for reply in writes {
        let reply = reply.expect_error(403, "forbidden");
        assert!(
            strings(&reply.body["details"]["required_scopes"]).contains(&"admin:write".to_string())
        );
        assert_eq!(
            strings(&reply.body["details"]["granted_scopes"]),
            vec!["admin:read"]
        );
    }
    // Nothing changed.
    let users = api.get("/admin/users").await?.expect(200);
    assert_eq!(users.body["meta"]["total"], 1);
    assert_eq!(users.data()[0]["blocked"], false);
    assert_eq!(users.data()[0]["name"], Value::Null);
    assert_eq!(
        api.get("/admin/groups").await?.expect(200).body["meta"]["total"],
        0
    );
    assert_eq!(
        api.get("/admin/tenant").await?.expect(200).data()["name"],
        "Acme Corp"
    );
    assert_eq!(
        api.get("/admin/settings/branding")
            .await?
            .expect(200)
            .data()["theme"],
        "auto"
    );
    assert_eq!(
        api.get("/admin/audit-logs/retention")
            .await?
            .expect(200)
            .data()["retentionDays"],
        90
    );
    // Key management needs full admin, even to read.
    let keys_refused = reader
        .get("/admin/api-keys")
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        strings(&keys_refused.body["details"]["required_scopes"]),
        vec!["admin"]
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_family_scope_covers_only_its_family() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.post(
        "/admin/groups",
        json!({"name": "Existing", "slug": "existing"}),
    )
    .await?
    .expect(201);
    let (secret, _) = create_key(&api, "user manager", &["admin:users"]).await?;
    let manager = api.with_key(&secret);

    let user = manager.create_user("managed@example.com").await?;
    manager.get("/admin/users").await?.expect(200);
    manager
        .patch(&format!("/admin/users/{user}"), json!({"name": "Managed"}))
        .await?
        .expect(200);
    let blocked = manager
        .post_empty(&format!("/admin/users/{user}/block"))
        .await?
        .expect(200);
    assert_eq!(blocked.data()["blocked"], true);
    manager
        .get(&format!("/admin/users/{user}/roles"))
        .await?
        .expect(200);

    let groups = manager
        .get("/admin/groups")
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        strings(&groups.body["details"]["required_scopes"]),
        vec!["admin:groups", "admin:read", "admin:write", "admin"]
    );
    assert_eq!(
        strings(&groups.body["details"]["granted_scopes"]),
        vec!["admin:users"]
    );
    let create_group = manager
        .post("/admin/groups", json!({"name": "Nope", "slug": "nope"}))
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        strings(&create_group.body["details"]["required_scopes"]),
        vec!["admin:groups", "admin:write", "admin"]
    );
    manager
        .get("/admin/roles")
        .await?
        .expect_error(403, "forbidden");
    manager
        .get("/admin/audit-logs")
        .await?
        .expect_error(403, "forbidden");
    manager
        .get("/admin/settings")
        .await?
        .expect_error(403, "forbidden");
    manager
        .get("/admin/analytics/dashboard")
        .await?
        .expect_error(403, "forbidden");
    manager
        .get("/admin/api-keys")
        .await?
        .expect_error(403, "forbidden");
    // Group membership is the groups family.
    manager
        .post("/admin/groups/existing/members", json!({"userIds": [user]}))
        .await?
        .expect_error(403, "forbidden");
    let group = api.get("/admin/groups/existing").await?.expect(200);
    assert_eq!(group.data()["memberCount"], 0);
    assert_eq!(
        api.get("/admin/groups").await?.expect(200).body["meta"]["total"],
        1
    );

    let (groups_secret, _) = create_key(&api, "group manager", &["admin:groups"]).await?;
    let group_manager = api.with_key(&groups_secret);
    group_manager
        .post("/admin/groups", json!({"name": "Ok", "slug": "ok"}))
        .await?
        .expect(201);
    group_manager
        .get("/admin/users")
        .await?
        .expect_error(403, "forbidden");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn key_management_requires_the_full_admin_scope() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (secret, writer_key) = create_key(&api, "writer", &["admin:write"]).await?;
    let writer = api.with_key(&secret);
    // admin:write manages everything else...
    writer.create_user("by-writer@example.com").await?;
    writer
        .post("/admin/groups", json!({"name": "W", "slug": "w"}))
        .await?
        .expect(201);
    writer
        .patch("/admin/settings/branding", json!({"theme": "light"}))
        .await?
        .expect(200);
    // ...but not keys.
    for reply in [
        writer.get("/admin/api-keys").await?,
        writer
            .post(
                "/admin/api-keys",
                json!({"name": "escalate", "scopes": ["admin"]}),
            )
            .await?,
        writer.delete("/admin/api-keys/1").await?,
        writer
            .delete(&format!("/admin/api-keys/{}", writer_key["id"]))
            .await?,
    ] {
        let reply = reply.expect_error(403, "forbidden");
        assert_eq!(
            strings(&reply.body["details"]["required_scopes"]),
            vec!["admin"]
        );
        assert_eq!(
            strings(&reply.body["details"]["granted_scopes"]),
            vec!["admin:write"]
        );
    }
    let listed = keys(&api).await?;
    assert_eq!(listed.len(), 2, "no key was created: {listed:?}");
    assert!(listed.iter().all(|k| k["isActive"] == true));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn revoked_keys_are_refused_and_the_last_admin_key_cannot_be_revoked() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let last = api
        .delete("/admin/api-keys/1")
        .await?
        .expect_error(409, "duplicate_resource");
    assert!(last.text.contains("last"), "{}", last.text);
    assert_eq!(keys(&api).await?[0]["isActive"], true);

    let (reader_secret, reader) = create_key(&api, "temp reader", &["admin:read"]).await?;
    let reader_api = api.with_key(&reader_secret);
    reader_api.get("/admin/users").await?.expect(200);
    let revoked = api
        .delete(&format!("/admin/api-keys/{}", reader["id"]))
        .await?
        .expect(200);
    assert!(revoked.body["message"].is_string());
    let refused = reader_api
        .get("/admin/users")
        .await?
        .expect_error(401, "invalid_token");
    assert_eq!(
        refused
            .headers
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok()),
        Some("ApiKey, Bearer")
    );
    let listed = keys(&api).await?;
    let entry = listed
        .iter()
        .find(|k| k["id"] == reader["id"])
        .expect("still listed");
    assert_eq!(entry["isActive"], false);
    assert!(
        entry["revokedAt"]
            .as_str()
            .is_some_and(|t| Timestamp::parse(t).is_some())
    );
    api.delete(&format!("/admin/api-keys/{}", reader["id"]))
        .await?
        .expect_error(409, "duplicate_resource");
    api.delete("/admin/api-keys/999")
        .await?
        .expect_error(404, "resource_not_found");
    api.delete("/admin/api-keys/abc")
        .await?
        .expect_error(400, "invalid_request");

    // With a second admin key the bootstrap key can go; then the new one is the last.
    let (second_secret, second) = create_key(&api, "second admin", &["admin"]).await?;
    api.delete("/admin/api-keys/1").await?.expect(200);
    api.get("/admin/users")
        .await?
        .expect_error(401, "invalid_token");
    let second_api = api.with_key(&second_secret);
    second_api.get("/admin/api-keys").await?.expect(200);
    second_api
        .delete(&format!("/admin/api-keys/{}", second["id"]))
        .await?
        .expect_error(409, "duplicate_resource");
    // A read-only key does not count as an admin.
    let (_, other_reader) = create_key(&second_api, "r2", &["admin:read"]).await?;
    assert_eq!(other_reader["scopes"], json!(["admin:read"]));
    second_api
        .delete(&format!("/admin/api-keys/{}", second["id"]))
        .await?
        .expect_error(409, "duplicate_resource");
    second_api.get("/admin/users").await?.expect(200);

    let records = second_api
        .get("/admin/audit-logs?action=api_key.revoked")
        .await?
        .expect(200);
    let reader_id = reader["id"].to_string();
    let targets: Vec<&str> = records
        .data()
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["targetId"].as_str())
        .collect();
    assert_eq!(targets, vec!["1", reader_id.as_str()]);

    // Missing or unknown keys are 401 too.
    api.with_key("lmk_not_a_real_key")
        .get("/admin/users")
        .await?
        .expect_error(401, "invalid_token");
    let no_key =
        lumo_tests::http::raw_request(reqwest::Method::GET, &api.url("/admin/users"), &[], None)
            .await?;
    no_key.expect_error(401, "invalid_token");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_users_scoped_key_can_give_users_passwords() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (secret, _) = create_key(&api, "user manager", &["admin:users"]).await?;
    let manager = api.with_key(&secret);
    let user = manager.create_user("no-password@example.com").await?;
    // Setting a password is user management; the org's password policy is applied, but reading
    // that policy must not need a settings scope the key was never meant to have.
    let set = manager
        .put(
            &format!("/admin/users/{user}/password"),
            json!({"password": "Correct-Horse-Battery-9"}),
        )
        .await?;
    let created = manager
        .post(
            "/admin/users",
            json!({"email": "with-password@example.com", "password": "Correct-Horse-Battery-9"}),
        )
        .await?;
    assert_eq!(
        (set.status, created.status),
        (200, 201),
        "admin:users key cannot set a password ({}) or create a user with one ({})",
        set.text,
        created.text
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn an_expiry_of_the_wrong_type_is_refused_not_ignored() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.post("/admin/api-keys", json!({"name": "x".repeat(101)}))
        .await?
        .expect_error(422, "validation_error");
    for expiry in [
        json!(1_700_000_000),
        json!(true),
        json!({"at": "2001-01-01"}),
    ] {
        let reply = api
            .post(
                "/admin/api-keys",
                json!({"name": "typed", "scopes": ["admin"], "expiresAt": expiry}),
            )
            .await?;
        let listed = keys(&api).await?;
        assert_eq!(
            (reply.status, listed.len()),
            (422, 1),
            "expiresAt {expiry} was ignored and a key without expiry was created: {}",
            reply.text
        );
    }
    node.stop().await?;
    Ok(())
}
