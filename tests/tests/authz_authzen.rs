//! AuthZEN 1.0 evaluations mapped onto the engines: relation-schema resources through
//! Zanzibar, everything else through RBAC; batches keep their order and defaults.

mod authz_support;

use authz_support::{seed, user_token};
use lumo_tests::TestNode;
use serde_json::{Value, json};

const SCHEMA: &str = "definition user {}\ndefinition document {\n  relation viewer: user\n  permission view = viewer\n}\n";

fn decisions(body: &Value) -> Vec<bool> {
    body["evaluations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["decision"].as_bool())
        .collect()
}

#[tokio::test]
async fn evaluations_use_relations_or_permissions_and_keep_order() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let users = seed(&api).await?;
    api.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    api.post(
        "/zanzibar/tuples",
        json!({"writes": [format!("document:1#viewer@user:{}", users.alice)]}),
    )
    .await?
    .expect(200);

    let one = api
        .post_root(
            "/api/v1/authz/v1/evaluation",
            json!({
                "subject": {"type": "user", "id": users.alice},
                "action": {"name": "view"},
                "resource": {"type": "document", "id": "1"},
                "context": {"time": "now"},
            }),
        )
        .await?
        .expect(200);
    assert_eq!(one.body["decision"], true, "{}", one.text);
    assert!(
        one.body["context"]["reason_admin"]["en"]
            .as_str()
            .is_some_and(|r| r.contains("document:1#view"))
    );

    // RBAC: billing.read through bob's group; a full permission slug as the action.
    let batch = api
        .post_root(
            "/api/v1/authz/v1/evaluations",
            json!({
                "subject": {"type": "user", "id": users.bob},
                "action": {"name": "read"},
                "evaluations": [
                    {"resource": {"type": "billing", "id": "invoice-7"}},
                    {"resource": {"type": "document", "id": "1"}, "action": {"name": "view"}},
                    {"subject": {"type": "user", "id": users.alice}, "resource": {"type": "document", "id": "1"}, "action": {"name": "view"}},
                    {"subject": {"type": "user", "id": users.alice}, "resource": {"type": "any", "id": "x"}, "action": {"name": "document.edit"}},
                    {"subject": {"type": "user", "id": "00000000-0000-0000-0000-000000000000"}, "resource": {"type": "billing", "id": "x"}},
                    {"subject": {"type": "agent", "id": "agt_x"}, "resource": {"type": "billing", "id": "x"}},
                ],
            }),
        )
        .await?
        .expect(200);
    assert_eq!(
        decisions(&batch.body),
        [true, false, true, true, false, false],
        "{}",
        batch.text
    );
    assert_eq!(batch.body["evaluations"][2]["context"]["id"], "2");

    // A user may evaluate for itself only, unless it may check for others.
    let token = user_token(&api, "alice@example.com", "openid").await?;
    let as_alice = api.with_bearer(&token);
    as_alice
        .post_root(
            "/api/v1/authz/v1/evaluation",
            json!({"subject": {"type": "user", "id": users.alice}, "action": {"name": "view"}, "resource": {"type": "document", "id": "1"}}),
        )
        .await?
        .expect(200);
    as_alice
        .post_root(
            "/api/v1/authz/v1/evaluation",
            json!({"subject": {"type": "user", "id": users.bob}, "action": {"name": "view"}, "resource": {"type": "document", "id": "1"}}),
        )
        .await?
        .expect_error(403, "INSUFFICIENT_PERMISSIONS");

    // Bad requests.
    for body in [
        json!({"subject": {"type": "user", "id": users.bob}, "resource": {"type": "document", "id": "1"}}),
        json!({"subject": {"type": "user"}, "action": {"name": "view"}, "resource": {"type": "document", "id": "1"}}),
        json!({"subject": "bob", "action": {"name": "view"}, "resource": {"type": "document", "id": "1"}}),
        json!({"subject": {"type": "user", "id": users.bob}, "action": {"name": 7}, "resource": {"type": "document", "id": "1"}}),
    ] {
        api.post_root("/api/v1/authz/v1/evaluation", body)
            .await?
            .expect_error(400, "invalid_request");
    }
    let many: Vec<Value> = (0..101)
        .map(|i| json!({"subject": {"type": "user", "id": users.bob}, "action": {"name": "read"}, "resource": {"type": "billing", "id": i.to_string()}}))
        .collect();
    api.post_root("/api/v1/authz/v1/evaluations", json!({"evaluations": many}))
        .await?
        .expect_error(400, "invalid_request");
    api.post_root("/api/v1/authz/v1/evaluations", json!({"evaluations": [1]}))
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}
