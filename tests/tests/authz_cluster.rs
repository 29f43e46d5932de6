//! Authorization answers across a 3-node cluster: a replica that lags never answers older
//! than a presented consistency token, RBAC checks on any node see an admin change once the
//! admin call returned, and relation state survives a restart (rebuilt from storage).

mod authz_support;

use authz_support::seed;
use lumo_tests::cluster::TestCluster;
use reqwest::Method;
use serde_json::json;

const SCHEMA: &str = "definition user {}\ndefinition document {\n  relation viewer: user\n  permission view = viewer\n}\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lagging_replica_answers_a_token_only_once_it_caught_up() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    let status = cluster.status().await?;
    let leader_id = status["shards"][0]["leader"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no shard leader: {status}"))?;
    let leader = cluster
        .index_of(leader_id)
        .ok_or_else(|| anyhow::anyhow!("leader member"))?;
    let follower = (0..3).find(|i| *i != leader).unwrap_or(0);
    let admin = cluster.api(leader);
    let lagging = cluster.api(follower);
    let users = seed(&admin).await?;
    admin
        .put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);

    // Every node has served the org once (its directory cache is warm).
    for i in 0..3 {
        cluster
            .api(i)
            .post_root(
                "/api/v1/authz/zanzibar/check",
                json!({"object": "document:x", "relation": "view", "subject": "user:x", "consistency": "fully_consistent"}),
            )
            .await?
            .expect(200);
    }
    // The leader's messages arrive late: followers learn of each commit ~150 ms after it (below the election timeout).
    let slow = json!({"isolate_from": [], "delay_ms": 150});
    let reply = cluster
        .admin(leader, Method::PUT, "/cluster/v1/faults", Some(slow))
        .await?;
    anyhow::ensure!(reply.status == 200, "faults: {}", reply.text);

    let mut stale_local_answers = 0;
    for i in 0..6 {
        let written = admin
            .post(
                "/zanzibar/tuples",
                json!({"writes": [format!("document:d{i}#viewer@user:u{i}")]}),
            )
            .await?
            .expect(200);
        let token = written.body["consistency_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let question = |consistency: serde_json::Value| json!({"object": format!("document:d{i}"), "relation": "view", "subject": format!("user:u{i}"), "consistency": consistency});
        let local = lagging
            .post_root(
                "/api/v1/authz/zanzibar/check",
                question(json!("minimize_latency")),
            )
            .await?
            .expect(200);
        if local.body["allowed"] == false {
            stale_local_answers += 1;
        }
        let fresh = lagging
            .post_root(
                "/api/v1/authz/zanzibar/check",
                question(json!({"at_least_as_fresh": token})),
            )
            .await?
            .expect(200);
        assert_eq!(
            fresh.body["allowed"], true,
            "stale answer despite the token: {}",
            fresh.text
        );
        let full = lagging
            .post_root(
                "/api/v1/authz/zanzibar/check",
                question(json!("fully_consistent")),
            )
            .await?
            .expect(200);
        assert_eq!(full.body["allowed"], true, "{}", full.text);
    }
    // The replica really lagged: answering from it without a token saw the old state.
    assert!(
        stale_local_answers > 0,
        "the follower never lagged; the test proves nothing"
    );

    // RBAC: a role removed through the leader is seen by the next check on the follower.
    let check =
        json!({"permission": "document.edit", "subject": {"type": "user", "id": users.alice}});
    let before = lagging
        .post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect(200);
    assert_eq!(before.body["allowed"], true);
    admin
        .delete(&format!("/admin/users/{}/roles/editor", users.alice))
        .await?
        .expect(200);
    let after = lagging
        .post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect(200);
    assert_eq!(after.body["allowed"], false, "{}", after.text);

    // A frontend holds no replica: it forwards questions (with their token) to a replica.
    let key = admin
        .post(
            "/admin/api-keys",
            json!({"name": "checker", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);
    let frontend = cluster.frontend().await?;
    let through_frontend = lumo_tests::http::Api::new(
        &format!("http://{}", frontend.http_addr),
        lumo_tests::ORG,
        key.data()["key"].as_str().unwrap_or_default(),
    );
    let written = admin
        .post(
            "/zanzibar/tuples",
            json!({"writes": ["document:f#viewer@user:f"]}),
        )
        .await?
        .expect(200);
    let token = written.body["consistency_token"]
        .as_str()
        .unwrap_or_default();
    let answer = through_frontend
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": "document:f", "relation": "view", "subject": "user:f", "consistency": {"at_least_as_fresh": token}}),
        )
        .await?
        .expect(200);
    assert_eq!(answer.body["allowed"], true, "{}", answer.text);
    let rbac = through_frontend
        .post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect(200);
    assert_eq!(rbac.body["allowed"], false, "{}", rbac.text);
    // Heal, restart the follower: its graph is rebuilt from storage.
    let heal = json!({"isolate_from": [], "delay_ms": 0});
    cluster
        .admin(leader, Method::PUT, "/cluster/v1/faults", Some(heal))
        .await?;
    // A key of caller-chosen text names no org: the frontend asks the meta leader for its route.
    let bootstrap = lumo_tests::http::Api::new(
        &format!("http://{}", frontend.http_addr),
        lumo_tests::ORG,
        lumo_tests::ADMIN_KEY,
    );
    let routed = bootstrap
        .post_root(
            "/api/v1/authz/zanzibar/check",
            json!({"object": "document:f", "relation": "view", "subject": "user:f", "consistency": "fully_consistent"}),
        )
        .await?
        .expect(200);
    assert_eq!(routed.body["allowed"], true, "{}", routed.text);
    bootstrap
        .with_key("lmk_a_key_nobody_ever_registered_anywhere")
        .post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect(401);
    frontend.shutdown().await?;
    cluster.stop(follower).await?;
    cluster.restart(follower).await?;
    let restarted = cluster.api(follower);
    let mut answered = false;
    for _ in 0..50 {
        let reply = restarted
            .post_root(
                "/api/v1/authz/zanzibar/check",
                json!({"object": "document:d5", "relation": "view", "subject": "user:u5", "consistency": "minimize_latency"}),
            )
            .await?;
        if reply.status == 200 && reply.body["allowed"] == true {
            answered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        answered,
        "the restarted replica never answered from its rebuilt graph"
    );
    cluster.shutdown().await?;
    Ok(())
}
