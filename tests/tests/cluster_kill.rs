//! kill -9 of the shard leader under write load, with real `lumod` processes: a new leader
//! takes writes within a few election timeouts and no acknowledged write is lost.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use lumo_tests::Api;
use lumo_tests::process::lumod_bin;
use serde_json::json;
use tokio::sync::Mutex;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_shard_leader_under_load_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let mut cluster = ProcCluster::start(&lumod_bin(), 3).await?;
    let urls: Vec<String> = (0..3).map(|i| cluster.http(i)).collect();
    let acked = Arc::new(Mutex::new(Vec::<(String, Instant)>::new()));
    // Refused writes the server declared not applied; they must never appear.
    let refused = Arc::new(Mutex::new(Vec::<String>::new()));
    // Writes whose outcome is unknown (timeouts, the killed leader): they may or may not exist.
    let unknown = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..3usize {
        let (urls, acked, stop) = (urls.clone(), acked.clone(), stop.clone());
        let (refused, unknown) = (refused.clone(), unknown.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 100_000 {
                n += 1;
                let email = format!("load-{w}-{n}@example.com");
                let api = Api::new(&urls[(w + n) % urls.len()], ORG, ADMIN_KEY);
                match api.post("/admin/users", json!({"email": email})).await {
                    Ok(reply) if reply.status == 201 => {
                        acked.lock().await.push((email, Instant::now()))
                    }
                    Ok(reply)
                        if reply.body["details"]["outcome"] == "not_applied"
                            || reply.status < 500 =>
                    {
                        refused.lock().await.push(email)
                    }
                    _ => unknown.lock().await.push(email),
                }
                if acked
                    .lock()
                    .await
                    .last()
                    .is_none_or(|(e, _)| !e.ends_with(&format!("-{w}-{n}@example.com")))
                {
                    // Like a real client after a 503: back off a little before retrying.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let leader = cluster.shard_leader().await.expect("a shard leader");
    let killed_at = Instant::now();
    cluster.kill(leader)?;
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::SeqCst);
    for writer in writers {
        writer.await?;
    }
    let acked = acked.lock().await.clone();
    let first_after = acked
        .iter()
        .map(|(_, at)| *at)
        .filter(|at| *at > killed_at)
        .min()
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no write acknowledged in 6 s after the kill ({} before)",
                acked.len()
            )
        })?;
    let failover = first_after.duration_since(killed_at);
    eprintln!("failover after kill -9 of the leader: {failover:?}");
    assert!(
        failover < Duration::from_secs(4),
        "a new leader took writes within a few election timeouts: {failover:?}"
    );
    // Bring the killed node back and check every acknowledged write on every node.
    cluster.launch(leader)?;
    cluster.wait_replicated(3, Duration::from_secs(60)).await?;
    let unknown = unknown.lock().await.clone();
    let refused = refused.lock().await.clone();
    for (i, url) in urls.iter().enumerate() {
        let api = Api::new(url, ORG, ADMIN_KEY);
        let total = api.get("/admin/users?limit=1").await?.expect(200).body["meta"]["total"]
            .as_u64()
            .unwrap_or(0);
        assert!(
            total >= acked.len() as u64 && total <= (acked.len() + unknown.len()) as u64,
            "node {i}: {total} users; {} acknowledged, {} unknown",
            acked.len(),
            unknown.len()
        );
    }
    let api = Api::new(&urls[0], ORG, ADMIN_KEY);
    for email in &refused {
        // Clients retry 503s; the cluster may still be settling after the restart.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = api.get(&format!("/admin/users/{email}")).await?;
            if reply.status != 503 || Instant::now() > deadline {
                reply.expect(404);
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let api = Api::new(&urls[leader], ORG, ADMIN_KEY);
    for (email, _) in acked.iter().step_by(7) {
        api.get(&format!("/admin/users/{email}")).await?.expect(200);
    }
    let verify = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(verify.data()["valid"], true);
    cluster.stop_all();
    Ok(())
}
