//! Operator actions on a running cluster: draining and removing nodes, moving leadership,
//! regions and residency, and the refusals that change nothing.

use std::time::Duration;

use lumo_tests::cluster::{CLUSTER_TOKEN, TestCluster};
use reqwest::Method;
use serde_json::{Value, json};

fn voters(status: &Value, shard: u64) -> Vec<u64> {
    let mut v: Vec<u64> = status["shards"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["id"] == shard)
        .and_then(|s| s["voters"].as_array())
        .map(|v| v.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    v.sort_unstable();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_loses_its_replicas_and_can_then_be_removed() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    let email = "survives-drain@example.com";
    cluster
        .api(0)
        .post("/admin/users", json!({"email": email}))
        .await?
        .expect(201);
    cluster.add(Some("us"), Some("zone-d")).await?;
    let target = 2u64;
    // Removing a node that still holds replicas is refused and changes nothing.
    let early = cluster
        .admin(
            0,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/remove"),
            None,
        )
        .await?;
    assert_eq!(early.status, 409, "{}", early.text);
    cluster
        .admin(
            0,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/drain"),
            None,
        )
        .await?
        .expect(200);
    let status = cluster
        .wait_for(Duration::from_secs(60), |s| {
            let shard = voters(s, 1);
            let meta: Vec<u64> = s["meta"]["voters"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            shard.len() == 3
                && !shard.contains(&target)
                && meta.len() == 3
                && !meta.contains(&target)
        })
        .await?;
    assert_eq!(voters(&status, 1), vec![1, 3, 4], "{status}");
    cluster
        .admin(
            0,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/remove"),
            None,
        )
        .await?
        .expect(200);
    let after = cluster.status().await?;
    let node = after["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .find(|n| n["id"] == target)
        .cloned()
        .unwrap_or_default();
    assert_eq!(node["state"], "removed", "{after}");
    // Nothing was lost: every remaining node serves the user.
    for i in [0usize, 2, 3] {
        let list = cluster.api(i).get(&format!("/admin/users/{email}")).await?;
        assert_eq!(list.status, 200, "via member {i}: {}", list.text);
    }
    // Removed is final.
    let again = cluster
        .admin(
            0,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/drain"),
            None,
        )
        .await?;
    assert_eq!(again.status, 409, "{}", again.text);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leadership_moves_to_the_node_asked_for_and_only_to_a_replica() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let status = cluster.status().await?;
    let leader = status["shards"][0]["leader"].as_u64().expect("leader");
    let to = [1u64, 2, 3]
        .into_iter()
        .find(|n| *n != leader)
        .expect("another node");
    cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/shards/1/transfer-leader",
            Some(json!({"to": to})),
        )
        .await?
        .expect(200);
    cluster
        .wait_for(Duration::from_secs(20), |s| s["shards"][0]["leader"] == to)
        .await?;
    cluster
        .api(0)
        .post(
            "/admin/users",
            json!({"email": "after-transfer@example.com"}),
        )
        .await?
        .expect(201);
    let bad = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/shards/1/transfer-leader",
            Some(json!({"to": 99})),
        )
        .await?;
    assert_eq!(bad.status, 422, "{}", bad.text);
    let unknown = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/shards/42/transfer-leader",
            Some(json!({"to": 1})),
        )
        .await?;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let missing = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/shards/1/transfer-leader",
            Some(json!({})),
        )
        .await?;
    assert_eq!(missing.status, 422, "{}", missing.text);
    let unknown_node = cluster
        .admin(0, Method::POST, "/cluster/v1/nodes/77/drain", None)
        .await?;
    assert_eq!(unknown_node.status, 404, "{}", unknown_node.text);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_eu_org_lives_only_on_eu_nodes() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    let refused = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/orgs",
            Some(json!({"slug": "euro-gmbh", "region": "eu"})),
        )
        .await?;
    assert_eq!(refused.status, 422, "no EU nodes yet: {}", refused.text);
    assert!(refused.text.contains("eu"), "{}", refused.text);
    let eu = cluster.add(Some("eu"), Some("eu-a")).await?;
    let eu_id = cluster.members[eu].id;
    let status = cluster
        .wait_for(Duration::from_secs(30), |s| {
            s["shards"].as_array().is_some_and(|shards| {
                shards
                    .iter()
                    .any(|sh| sh["region"] == "eu" && sh["leader"].is_u64())
            })
        })
        .await?;
    let eu_shard = status["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .find(|s| s["region"] == "eu")
        .cloned()
        .expect("eu shard");
    assert_eq!(eu_shard["voters"], json!([eu_id]), "{status}");
    let created = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/orgs",
            Some(json!({"slug": "euro-gmbh", "region": "eu"})),
        )
        .await?
        .expect(201);
    assert_eq!(
        created.body["data"]["shard"], eu_shard["id"],
        "{}",
        created.text
    );
    let key = created.body["data"]["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Served through a US node, stored only on the EU node.
    let api = lumo_tests::Api::new(&cluster.members[0].http, "euro-gmbh", &key);
    api.post("/admin/users", json!({"email": "anna@example.eu"}))
        .await?
        .expect(201);
    let after = cluster.status().await?;
    for node in after["nodes"].as_array().expect("nodes") {
        let holds = node["shards"]
            .as_array()
            .is_some_and(|s| s.contains(&eu_shard["id"]));
        assert_eq!(
            holds,
            node["region"] == "eu",
            "EU shard only on EU nodes: {node}"
        );
    }
    // The US org stayed in the US shard.
    let orgs = cluster
        .admin(0, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    let acme = orgs.body["data"]
        .as_array()
        .expect("orgs")
        .iter()
        .find(|o| o["slug"] == "acme-corp")
        .cloned()
        .unwrap_or_default();
    assert_eq!(acme["shard"], 1);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_node_receives_replicas_until_counts_are_balanced() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(1).await?;
    cluster
        .api(0)
        .post(
            "/admin/users",
            json!({"email": "before-growth@example.com"}),
        )
        .await?
        .expect(201);
    cluster.add(Some("us"), Some("zone-b")).await?;
    cluster.add(Some("us"), Some("zone-c")).await?;
    let status = cluster.wait_replicated(3, Duration::from_secs(60)).await?;
    assert_eq!(voters(&status, 1), vec![1, 2, 3], "{status}");
    // The newest node has the data that existed before it joined.
    let got = cluster
        .api(2)
        .get("/admin/users/before-growth@example.com")
        .await?;
    assert_eq!(got.status, 200, "{}", got.text);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_rebalance_is_refused_while_one_runs_and_any_node_accepts_them()
-> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    cluster.add(Some("us"), Some("zone-d")).await?;
    let status = cluster.status().await?;
    let meta_leader = status["meta"]["leader"].as_u64().unwrap_or_default();
    let target = cluster
        .members
        .iter()
        .map(|m| m.id)
        .find(|id| *id != meta_leader)
        .unwrap_or_default();
    // Requests go through a member that leads nothing of the meta group: it forwards them.
    let via = cluster
        .members
        .iter()
        .position(|m| m.id != meta_leader && m.id != target)
        .unwrap_or_default();
    cluster
        .admin(
            via,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/drain"),
            None,
        )
        .await?
        .expect(200);
    // Slow every message down (below the election timeout) so that moving the drained node's
    // replicas takes seconds.
    cluster.delay_all(60).await?;
    let first = {
        let url = format!("{}/cluster/v1/rebalance", cluster.members[via].admin);
        tokio::spawn(async move {
            lumo_tests::http::raw_request(
                Method::POST,
                &url,
                &[("Authorization", &format!("Bearer {CLUSTER_TOKEN}"))],
                None,
            )
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = cluster
        .admin(via, Method::POST, "/cluster/v1/rebalance", None)
        .await?;
    assert_eq!(second.status, 409, "{}", second.text);
    assert!(
        second.body["message"]
            .as_str()
            .is_some_and(|m| m.contains("another rebalance is running")),
        "{}",
        second.text
    );
    let first = first.await??;
    assert_eq!(first.status, 200, "{}", first.text);
    assert!(first.body["data"]["actions"].is_array(), "{}", first.text);
    cluster.delay_all(0).await?;
    cluster
        .wait_for(Duration::from_secs(90), |s| {
            let shard = voters(s, 1);
            let meta: Vec<u64> = s["meta"]["voters"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            shard.len() == 3 && !shard.contains(&target) && !meta.contains(&target)
        })
        .await?;
    // The removal is forwarded to the meta leader too.
    cluster
        .admin(
            via,
            Method::POST,
            &format!("/cluster/v1/nodes/{target}/remove"),
            None,
        )
        .await?
        .expect(200);
    // And the refused rebalance changed nothing: a rebalance now has nothing left to do.
    let idle = cluster
        .admin(via, Method::POST, "/cluster/v1/rebalance", None)
        .await?;
    assert_eq!(idle.status, 200, "{}", idle.text);
    // Unknown and malformed node ids are refused wherever the request lands.
    for (path, status) in [
        ("/cluster/v1/nodes/999/drain", 404),
        ("/cluster/v1/nodes/999/remove", 404),
        ("/cluster/v1/nodes/not-a-number/remove", 400),
    ] {
        let reply = cluster.admin(via, Method::POST, path, None).await?;
        assert_eq!(reply.status, status, "{path}: {}", reply.text);
    }
    cluster.shutdown().await
}

/// Creates a user through member `i`, retrying 503s (an election) for a bounded time.
async fn create_retrying(cluster: &TestCluster, i: usize, email: &str) -> anyhow::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    loop {
        let reply = cluster
            .api(i)
            .post("/admin/users", json!({"email": email}))
            .await?;
        match reply.status {
            201 => return Ok(()),
            503 if std::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            _ => anyhow::bail!("creating {email}: {} {}", reply.status, reply.text),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_restarted_on_another_rpc_address_is_replicated_to_there() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    create_retrying(&cluster, 0, "before@example.com").await?;
    let old = cluster.members[1].rpc.clone();
    cluster.stop(1).await?;
    cluster.restart_elsewhere(1).await?;
    assert_ne!(
        cluster.members[1].rpc, old,
        "the restart took a new RPC port"
    );
    create_retrying(&cluster, 0, "while-back@example.com").await?;

    // With the third node gone, every write needs the restarted one: it must be reached at
    // its new address (its Raft memberships still carry the old one).
    cluster.stop(2).await?;
    create_retrying(&cluster, 0, "needs-the-moved-node@example.com").await?;
    for email in [
        "before@example.com",
        "while-back@example.com",
        "needs-the-moved-node@example.com",
    ] {
        cluster
            .api(1)
            .get(&format!("/admin/users/{email}"))
            .await?
            .expect(200);
    }
    let nodes = cluster
        .admin(0, Method::GET, "/cluster/v1/nodes", None)
        .await?;
    let id = cluster.members[1].id;
    let recorded = nodes.body["data"]
        .as_array()
        .or_else(|| nodes.body.as_array())
        .into_iter()
        .flatten()
        .find(|n| n["id"] == id)
        .and_then(|n| n["rpc_addr"].as_str().or(n["rpcAddr"].as_str()))
        .map(str::to_string);
    assert_eq!(
        recorded.as_deref(),
        Some(cluster.members[1].rpc.as_str()),
        "{}",
        nodes.text
    );
    cluster.shutdown().await
}
