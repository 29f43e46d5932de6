//! Backup of a running cluster (on a follower) and restore into a fresh single-node cluster.

use lumo_tests::cluster::TestCluster;
use lumo_tests::{ADMIN_KEY, Api, ORG};
use reqwest::Method;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_restores_into_a_single_node_cluster_with_every_acknowledged_write()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let mut ids = Vec::new();
    for i in 0..12 {
        let reply = cluster
            .api(i % 3)
            .post(
                "/admin/users",
                json!({"email": format!("backed-up-{i}@example.com")}),
            )
            .await?
            .expect(201);
        ids.push(reply.data()["id"].as_str().unwrap_or_default().to_string());
    }
    cluster
        .api(0)
        .post("/admin/groups", json!({"name": "Backed Up"}))
        .await?
        .expect(201);
    let root = tempfile::tempdir()?;
    let backup_dir = root.path().join("backup");
    // Taken on a node that is probably a follower: it waits until it applied what was committed.
    let reply = cluster
        .admin(
            2,
            Method::POST,
            "/cluster/v1/backup",
            Some(json!({"dir": backup_dir})),
        )
        .await?
        .expect(201);
    assert_eq!(
        reply.body["data"]["groups"].as_array().map(Vec::len),
        Some(2),
        "{}",
        reply.text
    );
    let again = cluster
        .admin(
            2,
            Method::POST,
            "/cluster/v1/backup",
            Some(json!({"dir": backup_dir})),
        )
        .await?;
    assert_eq!(
        again.status, 409,
        "an existing directory is never overwritten: {}",
        again.text
    );
    let relative = cluster
        .admin(
            2,
            Method::POST,
            "/cluster/v1/backup",
            Some(json!({"dir": "relative/dir"})),
        )
        .await?;
    assert_eq!(relative.status, 422, "{}", relative.text);
    cluster.shutdown().await?;

    let restored = root.path().join("restored");
    let report = lumo_cluster::restore::restore(&backup_dir, &restored)?;
    assert_eq!(report.groups, vec![0, 1]);
    assert!(
        lumo_cluster::restore::restore(&backup_dir, &restored).is_err(),
        "restore never overwrites a data dir"
    );
    let node = lumo_node::start(lumo_node::Config::for_tests(&restored)).await?;
    let api = Api::new(&format!("http://{}", node.http_addr), ORG, ADMIN_KEY);
    for id in &ids {
        api.get(&format!("/admin/users/{id}")).await?.expect(200);
    }
    api.get("/admin/groups/backed-up").await?.expect(200);
    api.post(
        "/admin/users",
        json!({"email": "after-restore@example.com"}),
    )
    .await?
    .expect(201);
    let verify = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(verify.data()["valid"], true, "{}", verify.text);
    let status = lumo_tests::http::raw_request(
        Method::GET,
        &format!("http://{}/cluster/v1/status", node.admin_addr),
        &[("Authorization", &format!("Bearer {}", node.cluster_token))],
        None,
    )
    .await?;
    assert_eq!(
        status.body["data"]["meta"]["voters"],
        json!([1]),
        "{}",
        status.text
    );
    let states: Vec<(u64, String)> = status.body["data"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| {
            (
                n["id"].as_u64().unwrap_or(0),
                n["state"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(states.contains(&(1, "active".into())), "{states:?}");
    assert!(
        states
            .iter()
            .filter(|(id, _)| *id != 1)
            .all(|(_, s)| s == "removed"),
        "{states:?}"
    );
    node.shutdown().await
}
