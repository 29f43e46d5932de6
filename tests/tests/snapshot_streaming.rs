//! A replica added to a shard whose log was compacted catches up from a snapshot streamed in
//! many chunks while the shard keeps taking writes, and ends with the leader's exact data.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use lumo_node::Config;
use lumo_tests::cluster::TestCluster;
use reqwest::Method;
use serde_json::json;

/// Small chunks, so a shard of a few MB takes hundreds of them.
const CHUNK_KIB: usize = 8;
/// Users written before the snapshot: more entries than openraft keeps behind a snapshot
/// (1 000), so the new replica cannot be caught up from the log.
const USERS_BEFORE: usize = 1_400;

fn small_chunks(config: &mut Config) {
    config.snapshot_chunk_bytes = CHUNK_KIB << 10;
}

/// The value of the first metric line that starts with `name` and has every label in `labels`.
fn metric(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|label| l.contains(label)))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_replica_catches_up_from_a_snapshot_streamed_in_chunks_while_writes_go_on()
-> anyhow::Result<()> {
    let mut cluster = TestCluster {
        members: Vec::new(),
    };
    cluster
        .add_with(Some("us"), Some("zone-a"), small_chunks)
        .await?;
    cluster.wait_replicated(1, Duration::from_secs(60)).await?;

    let next = Arc::new(AtomicUsize::new(0));
    let mut fillers = Vec::new();
    for _ in 0..8 {
        let (api, next) = (cluster.api(0), next.clone());
        fillers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= USERS_BEFORE {
                    return anyhow::Ok(());
                }
                api.post(
                    "/admin/users",
                    json!({"email": format!("before-{i}@example.com"), "name": "x".repeat(200)}),
                )
                .await?
                .expect(201);
            }
        }));
    }
    for filler in fillers {
        filler.await??;
    }
    let built = cluster
        .admin(0, Method::POST, "/cluster/v1/groups/1/snapshot", None)
        .await?
        .expect(200);
    let snapshot_index = built.body["data"]["snapshotLastIndex"]
        .as_u64()
        .unwrap_or(0);
    assert!(snapshot_index > 1_000, "snapshot at {snapshot_index}");

    // Writes go on through the whole catch-up.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (api, stop) = (cluster.api(0), stop.clone());
        tokio::spawn(async move {
            let mut acknowledged = 0usize;
            while !stop.load(Ordering::SeqCst) {
                let reply = api
                    .post(
                        "/admin/users",
                        json!({"email": format!("during-{acknowledged}@example.com")}),
                    )
                    .await?;
                if reply.status == 201 {
                    acknowledged += 1;
                }
            }
            anyhow::Ok(acknowledged)
        })
    };
    let added = cluster
        .add_with(Some("us"), Some("zone-b"), small_chunks)
        .await?;
    let new_id = cluster.members[added].id;
    cluster
        .wait_for(Duration::from_secs(90), |s| {
            s["shards"].as_array().is_some_and(|shards| {
                shards.iter().any(|sh| {
                    sh["id"] == 1
                        && sh["voters"]
                            .as_array()
                            .is_some_and(|v| v.len() == 2 && v.iter().any(|n| *n == new_id))
                })
            })
        })
        .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.store(true, Ordering::SeqCst);
    let acknowledged = writer.await??;
    assert!(acknowledged > 0, "writes went on during the catch-up");

    let service = |i: usize| {
        cluster.members[i]
            .node
            .as_ref()
            .map(|n| n.service.clone())
            .ok_or_else(|| anyhow::anyhow!("member {i} is stopped"))
    };
    let (leader, replica) = (service(0)?, service(added)?);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (a, b) = (
            leader.replica_digest(1).await?,
            replica.replica_digest(1).await?,
        );
        if a.applied_index == b.applied_index {
            assert_eq!(a, b, "the new replica holds exactly the leader's data");
            assert!(
                a.pairs as usize > USERS_BEFORE + acknowledged,
                "{} pairs",
                a.pairs
            );
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "replica stuck at {} (leader {})",
            b.applied_index,
            a.applied_index
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let text = replica.metrics_text();
    let installs = metric(
        &text,
        "lumo_raft_snapshot_duration_seconds_count",
        &["op=\"install\"", "kind=\"shard\""],
    );
    assert!(installs.unwrap_or(0.0) >= 1.0, "no snapshot installed");
    let bytes = metric(
        &text,
        "lumo_raft_snapshot_bytes",
        &["group=\"1\"", "kind=\"shard\""],
    )
    .unwrap_or(0.0);
    assert!(
        bytes > (50 * (CHUNK_KIB << 10)) as f64,
        "a snapshot of many chunks, got {bytes} bytes"
    );
    drop((leader, replica));
    cluster.shutdown().await
}

/// A node that stopped in the middle of installing a snapshot (range cleared, part of the data
/// written, no `last_applied`) installs the snapshot again when it starts, then replays the
/// log after it: it ends with exactly what it held before.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_stopped_in_the_middle_of_an_install_installs_again_at_start() -> anyhow::Result<()>
{
    let mut cluster = TestCluster::start(1).await?;
    for i in 0..300 {
        cluster
            .api(0)
            .post(
                "/admin/users",
                json!({"email": format!("u{i}@example.com"), "name": "y".repeat(200)}),
            )
            .await?
            .expect(201);
    }
    cluster
        .admin(0, Method::POST, "/cluster/v1/groups/1/snapshot", None)
        .await?
        .expect(200);
    // Entries after the snapshot: replayed from the log at start.
    let last = cluster
        .api(0)
        .create_user("after-snapshot@example.com")
        .await?;
    let service = |c: &TestCluster| {
        c.members[0]
            .node
            .as_ref()
            .map(|n| n.service.clone())
            .ok_or_else(|| anyhow::anyhow!("stopped"))
    };
    let before = service(&cluster)?.replica_digest(1).await?;
    cluster.stop(0).await?;

    // The crash: an install that read half of the file.
    let dir = cluster.members[0].dir.path().to_path_buf();
    let snap = dir.join("snapshots/group-1/current.snap");
    let bytes = std::fs::read(&snap)?;
    let half = dir.join("half.snap");
    std::fs::write(&half, &bytes[..bytes.len() / 2])?;
    {
        let db = lumo_storage::Db::open(&dir.join("db"))?;
        let store = lumo_storage::SmStore::new(db, 1);
        assert!(
            store
                .install_from_file(
                    std::fs::File::open(&half)?,
                    &["last_applied", "last_membership"]
                )
                .is_err()
        );
        let torn = store.digest("last_applied")?;
        assert_eq!(torn.meta, None, "a torn install leaves no last_applied");
        assert!(torn.pairs > 0 && (torn.pairs as u64) < before.pairs);
    }

    cluster.restart(0).await?;
    cluster.wait_replicated(1, Duration::from_secs(60)).await?;
    let after = service(&cluster)?.replica_digest(1).await?;
    assert_eq!(after, before);
    cluster
        .api(0)
        .get(&format!("/admin/users/{last}"))
        .await?
        .expect(200);
    cluster.shutdown().await
}
