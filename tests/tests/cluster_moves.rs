//! Moving an organization between shards while it takes writes: every acknowledged write is
//! on the new shard exactly once, refused writes were never applied, residency is kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lumo_tests::cluster::TestCluster;
use reqwest::Method;
use serde_json::{Value, json};

async fn add_shard(cluster: &TestCluster, region: &str) -> anyhow::Result<u64> {
    let reply = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/shards",
            Some(json!({"region": region})),
        )
        .await?
        .expect(201);
    let id = reply.body["data"]["id"].as_u64().expect("shard id");
    cluster
        .wait_for(Duration::from_secs(60), |s| {
            s["shards"].as_array().is_some_and(|shards| {
                shards.iter().any(|sh| {
                    sh["id"] == id
                        && sh["leader"].is_u64()
                        && sh["voters"].as_array().map(Vec::len) == Some(3)
                })
            })
        })
        .await?;
    Ok(id)
}

fn shard_of(orgs: &Value, slug: &str) -> Option<u64> {
    orgs["data"]
        .as_array()?
        .iter()
        .find(|o| o["slug"] == slug)?["shard"]
        .as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_moves_to_another_shard_under_write_load_without_losing_or_repeating_a_write()
-> anyhow::Result<()> {
    let cluster = Arc::new(TestCluster::start(3).await?);
    let target = add_shard(&cluster, "us").await?;
    assert_eq!(target, 2);
    for i in 0..20 {
        cluster
            .api(i % 3)
            .post(
                "/admin/users",
                json!({"email": format!("before-{i}@example.com")}),
            )
            .await?
            .expect(201);
    }
    // Writers keep creating users through different nodes during the move.
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3usize {
        let cluster = cluster.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            let mut refused = Vec::new();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 400 {
                let email = format!("during-{w}-{n}@example.com");
                n += 1;
                match cluster
                    .api(w)
                    .post("/admin/users", json!({"email": email}))
                    .await
                {
                    Ok(reply) if reply.status == 201 => acked.push(email),
                    Ok(reply) => refused.push((email, reply.status, reply.text)),
                    Err(e) => refused.push((email, 0, e.to_string())),
                }
            }
            (acked, refused)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let moved = cluster
        .admin(
            1,
            Method::POST,
            "/cluster/v1/orgs/acme-corp/move",
            Some(json!({"to": target})),
        )
        .await?
        .expect(200);
    assert_eq!(moved.body["data"]["shard"], target, "{}", moved.text);
    assert_eq!(moved.body["data"]["epoch"], 2, "{}", moved.text);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop.store(true, Ordering::SeqCst);
    let mut acked = Vec::new();
    let mut refused = Vec::new();
    for writer in writers {
        let (a, r) = writer.await?;
        acked.extend(a);
        refused.extend(r);
    }
    assert!(
        acked.len() > 20,
        "writes continued during the move: {} acked",
        acked.len()
    );
    for (email, status, text) in &refused {
        assert_eq!(*status, 503, "only retryable refusals: {email} {text}");
    }
    let orgs = cluster
        .admin(0, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    assert_eq!(shard_of(&orgs.body, "acme-corp"), Some(target));
    // Every acknowledged write is there exactly once; refused ones are absent.
    let api = cluster.api(2);
    for email in acked.iter().chain(
        (0..20)
            .map(|i| format!("before-{i}@example.com"))
            .collect::<Vec<_>>()
            .iter(),
    ) {
        let found = api
            .get(&format!("/admin/users?search={email}&limit=5"))
            .await?
            .expect(200);
        let matches = found
            .data()
            .as_array()
            .map(|a| a.iter().filter(|u| u["email"] == *email).count());
        assert_eq!(matches, Some(1), "{email}: {}", found.text);
    }
    for (email, _, _) in &refused {
        api.get(&format!("/admin/users/{email}")).await?.expect(404);
    }
    let total = api.get("/admin/users?limit=1").await?.expect(200).body["meta"]["total"].as_u64();
    assert_eq!(total, Some((acked.len() + 20) as u64));
    // The history moved along and still verifies; the move itself is audited.
    let verify = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(verify.data()["valid"], true, "{}", verify.text);
    api.get("/admin/audit-logs?action=organization.moved")
        .await?
        .expect(200);
    let moves = api
        .get("/admin/audit-logs?action=organization.moved")
        .await?
        .expect(200);
    assert_eq!(moves.body["meta"]["total"], 1);
    // The old shard no longer carries the org.
    let status = cluster.status().await?;
    let old = status["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .find(|s| s["id"] == 1)
        .cloned()
        .unwrap_or_default();
    assert_eq!(old["orgs"], 0, "{status}");
    match Arc::try_unwrap(cluster) {
        Ok(cluster) => cluster.shutdown().await,
        Err(_) => anyhow::bail!("cluster still shared"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_that_would_break_residency_or_name_nothing_are_refused_and_change_nothing()
-> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    cluster.add(Some("eu"), Some("eu-a")).await?;
    cluster
        .wait_for(Duration::from_secs(30), |s| {
            s["shards"].as_array().is_some_and(|shards| {
                shards
                    .iter()
                    .any(|sh| sh["region"] == "eu" && sh["leader"].is_u64())
            })
        })
        .await?;
    let eu_shard = cluster.status().await?["shards"]
        .as_array()
        .expect("shards")
        .iter()
        .find(|s| s["region"] == "eu")
        .and_then(|s| s["id"].as_u64())
        .expect("eu shard");
    let cases = [
        (json!({"to": eu_shard}), 422),
        (json!({"to": 1}), 422),
        (json!({"to": 99}), 404),
        (json!({}), 422),
    ];
    for (body, status) in cases {
        let reply = cluster
            .admin(
                0,
                Method::POST,
                "/cluster/v1/orgs/acme-corp/move",
                Some(body.clone()),
            )
            .await?;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
    }
    let unknown = cluster
        .admin(
            0,
            Method::POST,
            "/cluster/v1/orgs/nobody/move",
            Some(json!({"to": 1})),
        )
        .await?;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let orgs = cluster
        .admin(0, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    assert_eq!(shard_of(&orgs.body, "acme-corp"), Some(1));
    let org = orgs.body["data"]
        .as_array()
        .expect("orgs")
        .iter()
        .find(|o| o["slug"] == "acme-corp")
        .cloned()
        .unwrap_or_default();
    assert_eq!(org["state"], "active");
    cluster
        .api(0)
        .post("/admin/users", json!({"email": "still-served@example.com"}))
        .await?
        .expect(201);
    cluster.shutdown().await
}
