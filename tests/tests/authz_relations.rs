//! Zanzibar relations: the schema, tuple writes with preconditions, checks and expands at the
//! root and org routes, list-objects / list-subjects, the change feed, consistency tokens,
//! audit, and every kind of bad input.

mod authz_support;

use authz_support::user_token;
use lumo_tests::TestNode;
use lumo_tests::http::Api;
use serde_json::{Value, json};

pub const SCHEMA: &str = r#"
definition user {}

definition team {
  relation member: user | team#member
}

definition folder {
  relation parent: folder
  relation viewer: user | user:* | team#member
  permission view = viewer + parent->view
}

definition document {
  relation parent: folder
  relation owner: user
  relation editor: user | team#member
  relation viewer: user | team#member
  relation banned: user
  permission edit = editor + owner
  permission view = (viewer + edit + parent->view) - banned
  permission audit = viewer & editor
}
"#;

async fn put_schema(api: &Api) -> anyhow::Result<String> {
    let reply = api
        .put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    Ok(reply.body["consistency_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn write(api: &Api, tuples: &[&str]) -> anyhow::Result<Value> {
    Ok(api
        .post("/zanzibar/tuples", json!({"writes": tuples}))
        .await?
        .expect(200)
        .body)
}

async fn check(api: &Api, object: &str, relation: &str, subject: &str) -> anyhow::Result<bool> {
    let reply = api
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": object, "relation": relation, "subject": subject}),
        )
        .await?
        .expect(200);
    reply.body["allowed"]
        .as_bool()
        .ok_or_else(|| anyhow::anyhow!("no allowed: {}", reply.text))
}

const TUPLES: &[&str] = &[
    "team:eng#member@user:alice",
    "team:eng#member@team:platform#member",
    "team:platform#member@user:bob",
    "folder:root#viewer@user:carol",
    "folder:specs#parent@folder:root",
    "document:design#parent@folder:specs",
    "document:design#editor@team:eng#member",
    "document:design#owner@user:dave",
    "document:design#banned@user:carol",
    "document:plan#viewer@user:alice",
    "document:plan#editor@user:alice",
    "folder:public#viewer@user:*",
    "document:readme#parent@folder:public",
];

#[tokio::test]
async fn relations_are_written_checked_expanded_and_listed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    put_schema(&api).await?;
    let schema = api.get("/zanzibar/schema").await?.expect(200);
    assert!(
        schema.data()["schema"]
            .as_str()
            .is_some_and(|s| s.contains("definition document"))
    );
    let written = write(&api, TUPLES).await?;
    assert_eq!(written["written"], TUPLES.len());
    assert!(
        written["consistency_token"]
            .as_str()
            .is_some_and(|t| t.starts_with("lzt1."))
    );
    // Writing the same tuples again changes nothing.
    assert_eq!(write(&api, TUPLES).await?["written"], 0);

    // Usersets (nested teams), computed relations, arrows, exclusion, intersection, wildcards.
    assert!(check(&api, "document:design", "edit", "user:alice").await?);
    assert!(
        check(&api, "document:design", "edit", "user:bob").await?,
        "nested team"
    );
    assert!(
        check(&api, "document:design", "view", "user:dave").await?,
        "owner -> edit -> view"
    );
    assert!(
        !check(&api, "document:design", "view", "user:carol").await?,
        "banned"
    );
    assert!(
        check(&api, "folder:specs", "view", "user:carol").await?,
        "parent->view"
    );
    assert!(check(&api, "document:plan", "audit", "user:alice").await?);
    assert!(!check(&api, "document:design", "audit", "user:alice").await?);
    assert!(
        check(&api, "document:readme", "view", "user:anyone").await?,
        "wildcard"
    );
    assert!(!check(&api, "document:plan", "view", "user:bob").await?);
    assert!(
        check(&api, "document:design", "editor", "team:platform#member").await?,
        "userset subject"
    );

    // The org route echoes `user` and accepts `user` for the subject.
    let scoped = api
        .post(
            "/zanzibar/check",
            json!({"object": "document:design", "relation": "edit", "user": "user:bob"}),
        )
        .await?
        .expect(200);
    assert_eq!(scoped.body["allowed"], true);
    assert_eq!(scoped.body["user"], "user:bob");
    assert_eq!(scoped.body["object"], "document:design");
    let root = api
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": "document:design", "relation": "edit", "user": "user:bob"}),
        )
        .await?
        .expect(200);
    assert_eq!(root.body["subject"], "user:bob");

    // Expand: the tree of a permission, leaves listing usersets as they are.
    let tree = api
        .post_root(
            "/api/v1/authz/zanzibar/expand",
            json!({"object": "document:design", "relation": "edit"}),
        )
        .await?
        .expect(200);
    let tree = &tree.body["tree"];
    assert_eq!(tree["type"], "union", "{tree}");
    assert_eq!(tree["object"], "document:design");
    let leaves: Vec<&Value> = tree["children"].as_array().into_iter().flatten().collect();
    let subjects: Vec<&str> = leaves
        .iter()
        .flat_map(|leaf| leaf["subjects"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    assert!(subjects.contains(&"team:eng#member"), "{tree}");
    assert!(subjects.contains(&"user:dave"), "{tree}");
    let scoped = api
        .post(
            "/zanzibar/expand",
            json!({"object": "team:eng", "relation": "member"}),
        )
        .await?
        .expect(200);
    assert_eq!(scoped.body["tree"]["type"], "leaf");

    // Which documents may alice view? Who may view the design document?
    let objects = api
        .post_root(
            "/api/v1/authz/zanzibar/list-objects",
            json!({"type": "document", "relation": "view", "subject": "user:alice"}),
        )
        .await?
        .expect(200);
    // The readme is everyone's (a wildcard viewer of its folder).
    assert_eq!(
        objects.body["data"],
        json!(["document:design", "document:plan", "document:readme"])
    );
    let paged = api
        .post(
            "/zanzibar/list-objects",
            json!({"type": "document", "relation": "view", "subject": "user:alice", "limit": 1, "page": 2}),
        )
        .await?
        .expect(200);
    assert_eq!(paged.body["data"], json!(["document:plan"]));
    assert_eq!(paged.body["pagination"]["total"], 3);
    let subjects = api
        .post(
            "/zanzibar/list-subjects",
            json!({"object": "document:design", "relation": "view", "subject_type": "user"}),
        )
        .await?
        .expect(200);
    assert_eq!(
        subjects.body["data"],
        json!(["user:alice", "user:bob", "user:dave"])
    );

    // Deletes take effect at once; the feed records every change in order.
    let deleted = api
        .delete_with_body(
            "/zanzibar/tuples",
            json!({"tuples": ["team:platform#member@user:bob"]}),
        )
        .await?
        .expect(200);
    assert_eq!(deleted.body["deleted"], 1);
    assert!(!check(&api, "document:design", "edit", "user:bob").await?);
    let feed = api.get("/zanzibar/changes").await?.expect(200);
    let entries = feed.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), TUPLES.len() + 1);
    assert_eq!(entries[0]["tuple"], TUPLES[0]);
    assert_eq!(entries[TUPLES.len()]["operation"], "delete");
    let cursor = feed.body["cursor"].as_u64().unwrap_or_default();
    let after = api
        .get(&format!("/zanzibar/changes?after={}", cursor - 1))
        .await?
        .expect(200);
    assert_eq!(after.body["data"].as_array().map(Vec::len), Some(1));
    let listed = api
        .get("/zanzibar/tuples?object_type=document&object_id=design")
        .await?
        .expect(200);
    assert_eq!(listed.body["pagination"]["total"], 4);
    let by_subject = api
        .get("/zanzibar/tuples?subject=user:alice")
        .await?
        .expect(200);
    assert_eq!(by_subject.body["pagination"]["total"], 3);

    // Preconditions: nothing is written when one fails.
    let refused = api
        .post(
            "/zanzibar/tuples",
            json!({
                "writes": ["document:plan#viewer@user:erin"],
                "preconditions": [{"tuple": "team:platform#member@user:bob", "operation": "must_exist"}],
            }),
        )
        .await?
        .expect_error(409, "PRECONDITION_FAILED");
    assert!(refused.text.contains("team:platform#member@user:bob"));
    assert!(!check(&api, "document:plan", "view", "user:erin").await?);
    api.post(
        "/zanzibar/tuples",
        json!({
            "writes": [{"object": "document:plan", "relation": "viewer", "subject": "user:erin"}],
            "preconditions": [{"tuple": "team:platform#member@user:bob", "operation": "must_not_exist"}],
        }),
    )
    .await?
    .expect(200);
    assert!(check(&api, "document:plan", "view", "user:erin").await?);

    // Every change is audited.
    let audit = api
        .get("/admin/audit-logs?action=zanzibar.tuples.written")
        .await?
        .expect(200);
    assert!(
        audit.body["pagination"]["total"].as_u64().unwrap_or(0) >= 3,
        "{}",
        audit.text
    );
    let audit = api
        .get("/admin/audit-logs?action=zanzibar.schema.updated")
        .await?
        .expect(200);
    assert_eq!(audit.body["pagination"]["total"], 1, "{}", audit.text);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn tokens_give_read_your_writes_and_cycles_are_safe() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    put_schema(&api).await?;
    // A membership cycle: a check that finds nothing ends, false.
    write(
        &api,
        &[
            "team:a#member@team:b#member",
            "team:b#member@team:a#member",
            "team:a#member@user:x",
        ],
    )
    .await?;
    assert!(check(&api, "team:b", "member", "user:x").await?);
    assert!(!check(&api, "team:b", "member", "user:y").await?);
    // A deep chain is refused with an error, not a hang.
    let chain: Vec<String> = (0..120)
        .map(|i| format!("folder:f{}#parent@folder:f{i}", i + 1))
        .collect();
    let refs: Vec<&str> = chain.iter().map(String::as_str).collect();
    write(&api, &refs).await?;
    api.post_root(
        "/api/v1/authz/zanzibar/check",
        json!({"object": "folder:f120", "relation": "view", "subject": "user:nobody"}),
    )
    .await?
    .expect_error(400, "DEPTH_EXCEEDED");

    // Each write's token makes the next check at least that fresh.
    for i in 0..20 {
        let reply = write(&api, &[&format!("document:d{i}#viewer@user:u{i}")]).await?;
        let token = reply["consistency_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for consistency in [
            json!({"at_least_as_fresh": token}),
            json!("fully_consistent"),
        ] {
            let checked = api
                .post_root(
                    "/api/v1/authz/zanzibar/check",
                    json!({"object": format!("document:d{i}"), "relation": "view", "subject": format!("user:u{i}"), "consistency": consistency}),
                )
                .await?
                .expect(200);
            assert_eq!(checked.body["allowed"], true, "{}", checked.text);
        }
    }
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_schemas_tuples_and_questions_are_refused_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    // Tuples before any schema.
    api.post(
        "/zanzibar/tuples",
        json!({"writes": ["document:1#viewer@user:a"]}),
    )
    .await?
    .expect_error(400, "SCHEMA_REQUIRED");
    api.post_root(
        "/api/v1/authz/zanzibar/check",
        json!({"object": "document:1", "relation": "viewer", "subject": "user:a"}),
    )
    .await?
    .expect_error(400, "SCHEMA_REQUIRED");
    api.get("/zanzibar/schema").await?.expect(404);

    for (schema, why) in [
        (
            "definition document { relation viewer: nobody }",
            "unknown type",
        ),
        (
            "definition user {}\ndefinition doc { permission a = b\n permission b = a }",
            "cycle",
        ),
        (
            "definition user {}\ndefinition doc { permission view = viewer }",
            "unknown relation",
        ),
        ("definition user {", "syntax"),
        ("definition user {}\ndefinition user {}", "duplicate"),
    ] {
        let reply = api
            .put("/zanzibar/schema", json!({"schema": schema}))
            .await?
            .expect_error(400, "INVALID_SCHEMA");
        assert!(!reply.text.is_empty(), "{why}");
    }
    let huge = format!(
        "definition user {{}}\n{}",
        "// padding padding padding\n".repeat(4000)
    );
    api.put("/zanzibar/schema", json!({"schema": huge}))
        .await?
        .expect_error(400, "INVALID_SCHEMA");
    api.put("/zanzibar/schema", json!({"schema": 42}))
        .await?
        .expect_error(400, "INVALID_SCHEMA");
    api.put("/zanzibar/schema", json!({}))
        .await?
        .expect_error(400, "MISSING_FIELDS");
    api.get("/zanzibar/schema").await?.expect(404);

    put_schema(&api).await?;
    for bad in [
        "document:",
        ":1",
        "a:b#",
        "document:1#viewer@",
        "document:1viewer@user:a",
        "plain",
    ] {
        api.post("/zanzibar/tuples", json!({"writes": [bad]}))
            .await?
            .expect_error(400, "INVALID_TUPLE");
    }
    for (tuple, why) in [
        ("document:1#view@user:a", "a permission is not writable"),
        ("document:1#nope@user:a", "unknown relation"),
        ("spaceship:1#viewer@user:a", "unknown type"),
        (
            "document:1#owner@team:eng#member",
            "subject type not allowed",
        ),
    ] {
        let reply = api
            .post(
                "/zanzibar/tuples",
                json!({"writes": ["document:ok#viewer@user:a", tuple]}),
            )
            .await?;
        assert_eq!(reply.status, 400, "{why}: {}", reply.text);
    }
    // Nothing of the refused batches was written.
    let listed = api.get("/zanzibar/tuples").await?.expect(200);
    assert_eq!(listed.body["pagination"]["total"], 0, "{}", listed.text);
    let many: Vec<String> = (0..1001)
        .map(|i| format!("document:{i}#viewer@user:a"))
        .collect();
    api.post("/zanzibar/tuples", json!({"writes": many}))
        .await?
        .expect_error(400, "INVALID_TUPLE");
    api.post(
        "/zanzibar/tuples",
        json!({"writes": "document:1#viewer@user:a"}),
    )
    .await?
    .expect_error(400, "INVALID_TUPLE");
    api.post("/zanzibar/tuples", json!({}))
        .await?
        .expect_error(400, "MISSING_FIELDS");
    api.post(
        "/zanzibar/tuples",
        json!({"writes": ["document:1#viewer@user:a"], "deletes": ["document:1#viewer@user:a"]}),
    )
    .await?
    .expect_error(400, "INVALID_TUPLE");

    // Questions about unknown things.
    for (body, code) in [
        (
            json!({"object": "document:1", "relation": "nope", "subject": "user:a"}),
            "UNKNOWN_RELATION",
        ),
        (
            json!({"object": "spaceship:1", "relation": "view", "subject": "user:a"}),
            "UNKNOWN_TYPE",
        ),
        (
            json!({"object": "document:", "relation": "view", "subject": "user:a"}),
            "INVALID_TUPLE",
        ),
        (
            json!({"object": "document:1", "relation": "view", "subject": "user"}),
            "INVALID_TUPLE",
        ),
        (
            json!({"relation": "view", "subject": "user:a"}),
            "MISSING_FIELDS",
        ),
        (
            json!({"object": "document:1", "relation": "view"}),
            "MISSING_FIELDS",
        ),
        (
            json!({"object": 5, "relation": "view", "subject": "user:a"}),
            "INVALID_TUPLE",
        ),
    ] {
        api.post_root("/api/v1/authz/zanzibar/check", body)
            .await?
            .expect_error(400, code);
    }

    // A schema change that would orphan tuples is refused.
    write(&api, &["document:1#banned@user:a"]).await?;
    let without_banned = SCHEMA
        .replace("  relation banned: user\n", "")
        .replace(" - banned", "");
    api.put("/zanzibar/schema", json!({"schema": without_banned}))
        .await?
        .expect_error(409, "SCHEMA_CONFLICT");

    // Scopes: a read-only key reads but cannot write; nobody without a credential does either.
    let reader_key = api
        .post(
            "/admin/api-keys",
            json!({"name": "reader", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);
    let reader = api.with_key(reader_key.data()["key"].as_str().unwrap_or_default());
    reader.get("/zanzibar/tuples").await?.expect(200);
    reader
        .post(
            "/zanzibar/tuples",
            json!({"writes": ["document:2#viewer@user:a"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    api.with_key("").get("/zanzibar/schema").await?.expect(401);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_tokens_ask_about_themselves_only_without_authz_check() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    put_schema(&api).await?;
    let alice =
        lumo_tests::oauth::create_user(&api, "alice@example.com", authz_support::PASSWORD).await?;
    write(
        &api,
        &[
            &format!("document:1#viewer@user:{alice}"),
            "document:1#viewer@user:bob",
        ],
    )
    .await?;
    let token = user_token(&api, "alice@example.com", "openid").await?;
    let as_alice = api.with_bearer(&token);
    let own = as_alice
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": "document:1", "relation": "view", "subject": format!("user:{alice}")}),
        )
        .await?
        .expect(200);
    assert_eq!(own.body["allowed"], true);
    as_alice
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": "document:1", "relation": "view", "subject": "user:bob"}),
        )
        .await?
        .expect_error(403, "INSUFFICIENT_PERMISSIONS");
    as_alice
        .post_root(
            "/api/v1/authz/zanzibar/expand",
            json!({"object": "document:1", "relation": "view"}),
        )
        .await?
        .expect_error(403, "INSUFFICIENT_PERMISSIONS");
    let checker = user_token(&api, "alice@example.com", "openid authz:check").await?;
    api.with_bearer(&checker)
        .post_root(
            "/api/v1/authz/zanzibar/expand",
            json!({"object": "document:1", "relation": "view"}),
        )
        .await?
        .expect(200);
    // A user token cannot change the schema or tuples.
    as_alice
        .post(
            "/zanzibar/tuples",
            json!({"writes": ["document:2#viewer@user:bob"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    node.stop().await?;
    Ok(())
}
