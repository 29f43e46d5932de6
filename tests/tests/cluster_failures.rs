//! Failures a cluster must survive: a partitioned leader, a whole-cluster restart, a node that
//! lost its disk. (kill -9 of real processes is in `cluster_kill.rs`.)

use std::time::{Duration, Instant};

use lumo_tests::cluster::TestCluster;
use serde_json::{Value, json};

/// Retries `op` until it answers `status` or `timeout` passes; returns the tries and the time.
async fn until_status<F, Fut>(
    timeout: Duration,
    status: u16,
    mut op: F,
) -> anyhow::Result<(usize, Duration)>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<lumo_tests::Reply>>,
{
    let started = Instant::now();
    let mut tries = 0;
    let mut last = String::new();
    while started.elapsed() < timeout {
        tries += 1;
        let reply = op().await?;
        if reply.status == status {
            return Ok((tries, started.elapsed()));
        }
        last = reply.text;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("no {status} within {timeout:?}; last: {last}")
}

fn shard_leader(status: &Value) -> Option<u64> {
    status["shards"][0]["leader"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partitioned_leader_refuses_writes_while_the_majority_serves_and_it_catches_up_after_healing()
-> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let status = cluster.status().await?;
    let leader = shard_leader(&status).expect("leader");
    let cut = cluster.index_of(leader).expect("leader member");
    let majority: Vec<usize> = (0..3).filter(|i| *i != cut).collect();
    cluster
        .api(majority[0])
        .post("/admin/users", json!({"email": "before@example.com"}))
        .await?
        .expect(201);
    cluster.partition(cut, true).await?;

    // The minority side refuses writes and linearizable reads with a retryable error.
    let write = cluster
        .api(cut)
        .post("/admin/users", json!({"email": "minority@example.com"}))
        .await?;
    assert_eq!(write.status, 503, "{}", write.text);
    assert_eq!(
        write.body["error"], "temporarily_unavailable",
        "{}",
        write.text
    );
    assert!(write.headers.contains_key("retry-after"));
    let read = cluster
        .api(cut)
        .get("/admin/users/before@example.com")
        .await?;
    assert_eq!(read.status, 503, "{}", read.text);

    // The majority elects a leader and keeps serving.
    let writer = cluster.api(majority[0]);
    let (_, failover) = until_status(Duration::from_secs(20), 201, || {
        let api = writer.clone();
        async move {
            api.post("/admin/users", json!({"email": "majority@example.com"}))
                .await
        }
    })
    .await?;
    let got = cluster
        .api(majority[1])
        .get("/admin/users/majority@example.com")
        .await?;
    assert_eq!(
        got.status, 200,
        "written during the partition (failover {failover:?}): {}",
        got.text
    );

    // After healing, the old leader catches up and serves what was written meanwhile.
    cluster.partition(cut, false).await?;
    let healed = cluster.api(cut);
    until_status(Duration::from_secs(20), 200, || {
        let api = healed.clone();
        async move { api.get("/admin/users/majority@example.com").await }
    })
    .await?;
    // The write refused on the minority was never applied.
    let ghost = cluster
        .api(cut)
        .get("/admin/users/minority@example.com")
        .await?;
    assert_eq!(ghost.status, 404, "{}", ghost.text);
    let verify = cluster
        .api(cut)
        .get("/admin/audit-logs/verify")
        .await?
        .expect(200);
    assert_eq!(verify.data()["valid"], true);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarting_every_node_at_once_keeps_every_acknowledged_write() -> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    let mut ids = Vec::new();
    for i in 0..30 {
        let reply = cluster
            .api(i % 3)
            .post(
                "/admin/users",
                json!({"email": format!("kept-{i}@example.com")}),
            )
            .await?
            .expect(201);
        ids.push(reply.data()["id"].as_str().unwrap_or_default().to_string());
    }
    for i in 0..3 {
        cluster.stop(i).await?;
    }
    // Start them concurrently: none can elect alone, all come back together.
    let restarts = (0..3).map(|i| {
        let member = &cluster.members[i];
        let dir = member.dir.path().to_path_buf();
        let rpc = member.rpc.clone();
        async move {
            let mut config = lumo_node::Config::for_tests(&dir);
            config.cluster_token = Some(lumo_tests::cluster::CLUSTER_TOKEN.into());
            config.region = Some("us".into());
            config.rpc_addr = rpc.parse()?;
            lumo_node::start(config).await
        }
    });
    let nodes = futures::future::join_all(restarts).await;
    for (i, node) in nodes.into_iter().enumerate() {
        let node = node?;
        cluster.members[i].http = format!("http://{}", node.http_addr);
        cluster.members[i].admin = format!("http://{}", node.admin_addr);
        cluster.members[i].node = Some(node);
    }
    cluster.wait_replicated(3, Duration::from_secs(60)).await?;
    for (n, id) in ids.iter().enumerate() {
        let reply = cluster
            .api(n % 3)
            .get(&format!("/admin/users/{id}"))
            .await?;
        assert_eq!(reply.status, 200, "user {n}: {}", reply.text);
    }
    let list = cluster.api(0).get("/admin/users").await?.expect(200);
    assert_eq!(list.body["meta"]["total"], 30);
    cluster.shutdown().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_lost_its_data_dir_rejoins_as_a_new_node_and_replaces_its_old_self()
-> anyhow::Result<()> {
    let mut cluster = TestCluster::start(3).await?;
    cluster
        .api(0)
        .post("/admin/users", json!({"email": "lives-on@example.com"}))
        .await?
        .expect(201);
    let lost = 2usize;
    let old_id = cluster.members[lost].id;
    cluster.stop(lost).await?;
    // The disk is gone: a fresh data dir joins again.
    let fresh = cluster.add(Some("us"), Some("zone-c")).await?;
    let new_id = cluster.members[fresh].id;
    assert_ne!(new_id, old_id, "node ids are never reused");
    assert!(new_id > old_id);
    let status = cluster
        .wait_for(Duration::from_secs(60), |s| {
            let voters: Vec<u64> = s["shards"][0]["voters"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_u64).collect())
                .unwrap_or_default();
            voters.len() == 3 && voters.contains(&new_id) && !voters.contains(&old_id)
        })
        .await?;
    assert!(status["shards"][0]["leader"].is_u64());
    let got = cluster
        .api(fresh)
        .get("/admin/users/lives-on@example.com")
        .await?;
    assert_eq!(got.status, 200, "{}", got.text);
    cluster.shutdown().await
}
