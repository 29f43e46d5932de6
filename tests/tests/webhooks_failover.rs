//! Webhooks through a leader failure, with real `lumod` processes: a burst of user creations
//! through all three nodes while the shard leader is killed (-9). Every acknowledged change's
//! event reaches the receiver at least once, and every duplicate carries the same event id.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use lumo_chaos::procs::{ADMIN_KEY, ORG, ProcCluster};
use lumo_tests::Api;
use lumo_tests::process::lumod_bin;
use serde_json::{Value, json};

/// Creations asked for (the burst).
const BURST: usize = 10_000;
/// Concurrent writers.
const WRITERS: usize = 16;

/// Event ids seen per email, and the number of requests received.
#[derive(Clone, Default)]
struct Seen {
    by_email: Arc<Mutex<HashMap<String, HashSet<String>>>>,
    /// Emails per event id (one each, or an id was reused for two changes).
    by_event: Arc<Mutex<HashMap<String, HashSet<String>>>>,
    requests: Arc<Mutex<u64>>,
}

async fn receive(State(seen): State<Seen>, body: Bytes) -> StatusCode {
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        return StatusCode::BAD_REQUEST;
    };
    let email = payload["data"]["newValue"]["email"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = payload["id"].as_str().unwrap_or_default().to_string();
    if let Ok(mut n) = seen.requests.lock() {
        *n += 1;
    }
    if let Ok(mut by_email) = seen.by_email.lock() {
        by_email
            .entry(email.clone())
            .or_default()
            .insert(id.clone());
    }
    if let Ok(mut by_event) = seen.by_event.lock() {
        by_event.entry(id).or_default().insert(email);
    }
    StatusCode::OK
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_event_arrives_through_a_leader_kill() -> anyhow::Result<()> {
    let seen = Seen::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(seen.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });

    let mut cluster = ProcCluster::start(&lumod_bin(), 3).await?;
    let urls: Vec<String> = (0..3).map(|i| cluster.http(i)).collect();
    Api::new(&urls[0], ORG, ADMIN_KEY)
        .post(
            "/admin/webhooks",
            json!({"url": url, "events": ["user.created"],
                   "configuration": {"retryBaseMs": 100, "maxAttempts": 20, "concurrency": 8}}),
        )
        .await?
        .expect(201);

    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let acked = Arc::new(Mutex::new(Vec::<String>::new()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (urls, next, acked) = (urls.clone(), next.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            loop {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                if n >= BURST || Instant::now() > deadline {
                    break;
                }
                let email = format!("burst-{n}@example.com");
                // Like a client behind a load balancer: a failed request goes to the next
                // node (a few times); one whose outcome stays unknown is not counted.
                for attempt in 0..5 {
                    let api = Api::new(&urls[(w + n + attempt) % urls.len()], ORG, ADMIN_KEY);
                    match api.post("/admin/users", json!({"email": email})).await {
                        Ok(reply) if reply.status == 201 => {
                            if let Ok(mut acked) = acked.lock() {
                                acked.push(email);
                            }
                            break;
                        }
                        // Created by an earlier attempt whose answer was lost.
                        Ok(reply) if reply.status == 409 => break,
                        _ => tokio::time::sleep(Duration::from_millis(50)).await,
                    }
                }
            }
        }));
    }
    // Kill the shard leader mid-burst.
    while next.load(std::sync::atomic::Ordering::SeqCst) < BURST / 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let leader = cluster.shard_leader().await.expect("a shard leader");
    cluster.kill(leader)?;
    for writer in writers {
        writer.await?;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    assert!(
        acked.len() >= BURST * 9 / 10,
        "only {} of {BURST} creations were acknowledged",
        acked.len()
    );

    // Every acknowledged creation's event arrives (bounded wait).
    let wait_until = Instant::now() + Duration::from_secs(90);
    let missing = loop {
        let by_email = seen.by_email.lock().map(|m| m.clone()).unwrap_or_default();
        let missing: Vec<&String> = acked
            .iter()
            .filter(|e| !by_email.contains_key(*e))
            .collect();
        if missing.is_empty() || Instant::now() > wait_until {
            break missing.len();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let requests = seen.requests.lock().map(|n| *n).unwrap_or_default();
    eprintln!(
        "{} acknowledged creations, {requests} deliveries received, {missing} missing",
        acked.len()
    );
    assert_eq!(missing, 0, "acknowledged changes whose event never arrived");
    // Duplicates are the same event: one id per change, one change per id.
    let by_email = seen.by_email.lock().map(|m| m.clone()).unwrap_or_default();
    for email in &acked {
        assert_eq!(
            by_email.get(email).map(HashSet::len),
            Some(1),
            "{email} arrived under several event ids"
        );
    }
    let by_event = seen.by_event.lock().map(|m| m.clone()).unwrap_or_default();
    assert!(
        by_event.values().all(|emails| emails.len() == 1),
        "an event id was used for two changes"
    );
    cluster.stop_all();
    Ok(())
}
