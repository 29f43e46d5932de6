//! A first end-to-end check that an in-process node serves the admin API.

use lumo_tests::TestNode;
use serde_json::json;

#[tokio::test]
async fn a_fresh_node_serves_its_bootstrap_org() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post("/admin/users", json!({"email": "smoke@example.com"}))
        .await?
        .expect(201);
    let id = created.data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["email"], "smoke@example.com");
    node.stop().await?;
    Ok(())
}
