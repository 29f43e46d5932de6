//! Three data nodes form one cluster: the meta group and the first shard are replicated on all
//! of them, any node (or a stateless frontend) serves any org, and a node without the cluster
//! token cannot join.

use std::time::Duration;

use lumo_tests::cluster::{CLUSTER_TOKEN, TestCluster};
use lumo_tests::{ADMIN_KEY, Api, ORG};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_replicate_the_meta_group_and_the_first_shard_on_every_node()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let status = cluster.status().await?;
    let mut voters: Vec<u64> = status["meta"]["voters"]
        .as_array()
        .expect("voters")
        .iter()
        .filter_map(|v| v.as_u64())
        .collect();
    voters.sort_unstable();
    assert_eq!(voters, vec![1, 2, 3], "{status}");
    let shard = &status["shards"][0];
    assert_eq!(shard["id"], 1);
    assert_eq!(shard["region"], "us");
    assert_eq!(
        shard["voters"].as_array().map(Vec::len),
        Some(3),
        "{status}"
    );
    for node in status["nodes"].as_array().expect("nodes") {
        assert_eq!(
            node["shards"],
            json!([1]),
            "every node holds shard 1: {node}"
        );
        assert_eq!(node["reachable"], true);
        assert_eq!(node["region"], "us");
    }
    let zones: std::collections::BTreeSet<String> = status["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["zone"].as_str().map(str::to_string))
        .collect();
    assert_eq!(zones.len(), 3, "one replica per zone: {status}");
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_through_any_node_is_read_back_through_every_other_node() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    for writer in 0..3 {
        let email = format!("written-via-{writer}@example.com");
        let created = cluster
            .api(writer)
            .post("/admin/users", json!({"email": email}))
            .await?
            .expect(201);
        let id = created.data()["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for reader in 0..3 {
            let got = cluster
                .api(reader)
                .get(&format!("/admin/users/{id}"))
                .await?
                .expect(200);
            assert_eq!(
                got.data()["email"],
                email,
                "written via {writer}, read via {reader}"
            );
        }
    }
    let list = cluster.api(2).get("/admin/users").await?.expect(200);
    assert_eq!(list.body["meta"]["total"], 3);
    // Every replica verifies the same audit chain.
    for reader in 0..3 {
        let verify = cluster
            .api(reader)
            .get("/admin/audit-logs/verify")
            .await?
            .expect(200);
        assert_eq!(verify.data()["valid"], true, "{}", verify.text);
    }
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frontend_without_data_serves_every_org_route() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let frontend = cluster.frontend().await?;
    let api = Api::new(&format!("http://{}", frontend.http_addr), ORG, ADMIN_KEY);
    let created = api
        .post("/admin/users", json!({"email": "fe@example.com"}))
        .await?
        .expect(201);
    let id = created.data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.get(&format!("/admin/users/{id}")).await?.expect(200);
    api.post("/admin/groups", json!({"name": "Through Frontend"}))
        .await?
        .expect(201);
    api.get("/admin/audit-logs?limit=5").await?.expect(200);
    api.patch(
        "/admin/settings/branding",
        json!({"primary_color": "#112233"}),
    )
    .await?
    .expect(200);
    // The frontend refuses bad credentials like any node, before reading a body.
    api.with_key("lmk_not_a_real_key_0123456789")
        .post("/admin/users", json!({"email": 5}))
        .await?
        .expect_error(401, "invalid_token");
    api.with_org("no-such-org")
        .get("/admin/users")
        .await?
        .expect_error(404, "tenant_not_found");
    let ready = lumo_tests::http::raw_request(
        reqwest::Method::GET,
        &format!("http://{}/readyz", frontend.http_addr),
        &[],
        None,
    )
    .await?;
    assert_eq!(ready.status, 200, "{}", ready.text);
    // Its writes are on the data nodes.
    cluster
        .api(1)
        .get(&format!("/admin/users/{id}"))
        .await?
        .expect(200);
    frontend.shutdown().await?;
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_the_wrong_cluster_token_is_refused() -> anyhow::Result<()> {
    let cluster = TestCluster::start(1).await?;
    let dir = tempfile::tempdir()?;
    let mut config = lumo_node::Config::for_tests(dir.path());
    config.cluster_token = Some("not-the-cluster-token-000".into());
    config.join = vec![cluster.members[0].rpc.clone()];
    let started = tokio::time::timeout(Duration::from_secs(30), lumo_node::start(config)).await?;
    let error = match started {
        Ok(node) => {
            node.shutdown().await?;
            anyhow::bail!("a node with the wrong token joined")
        }
        Err(e) => format!("{e:#}"),
    };
    assert!(error.contains("refused"), "{error}");
    let status = cluster.status().await?;
    assert_eq!(
        status["nodes"].as_array().map(Vec::len),
        Some(1),
        "nothing was admitted: {status}"
    );
    assert!(!CLUSTER_TOKEN.is_empty());
    cluster.shutdown().await
}
