//! Org actors: passivation after the idle period (and restart on the next request), and
//! admission control (429 + Retry-After when an org has too many requests in flight).

use std::time::{Duration, Instant};

use lumo_tests::TestNode;
use serde_json::json;

async fn running_actors(node: &TestNode) -> usize {
    node.node
        .as_ref()
        .expect("running node")
        .service
        .running_actors()
        .await
}

/// Polls `running_actors` until it equals `want` or `limit` passes; returns the last value.
async fn wait_for_actors(node: &TestNode, want: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let n = running_actors(node).await;
        if n == want || Instant::now() >= deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_org_actors_passivate_and_restart_on_the_next_request() -> anyhow::Result<()> {
    let node = TestNode::start_with(|c| c.actor_idle = Duration::from_secs(1)).await?;
    let api = node.api();
    // Creating the org made its first signing key through its actor; idle, it stops.
    assert_eq!(
        wait_for_actors(&node, 0, Duration::from_secs(5)).await,
        0,
        "no actor left running after the org was created"
    );

    let id = api.create_user("idle@acme.example").await?;
    assert_eq!(
        running_actors(&node).await,
        1,
        "the request started the org's actor"
    );

    // Idle for ~3 s (idle period 1 s): the actor stops.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let after_idle = wait_for_actors(&node, 0, Duration::from_secs(5)).await;
    assert_eq!(after_idle, 0, "the idle actor passivated");

    // The next request restarts it and sees the state written before passivation.
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["email"], "idle@acme.example");
    assert_eq!(running_actors(&node).await, 1, "restarted on demand");
    let second = api.create_user("after-idle@acme.example").await?;
    let list = api.get("/admin/users").await?.expect(200);
    let emails: Vec<&str> = list
        .data()
        .as_array()
        .map(|a| a.iter().filter_map(|u| u["email"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        emails.contains(&"idle@acme.example") && emails.contains(&"after-idle@acme.example"),
        "list: {}",
        list.text
    );
    assert_ne!(second, id);

    // A busy actor does not passivate: requests every 300 ms for 3 s keep it alive.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        api.get("/admin/users").await?.expect(200);
        assert_eq!(
            running_actors(&node).await,
            1,
            "an active actor keeps running"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A second org gets its own actor; both passivate.
    let other = node.create_org("idle-two").await?;
    node.api_for("idle-two", &other)
        .get("/admin/users")
        .await?
        .expect(200);
    assert_eq!(running_actors(&node).await, 2);
    let after = wait_for_actors(&node, 0, Duration::from_secs(8)).await;
    assert_eq!(after, 0, "both actors passivated");
    node.api_for("idle-two", &other)
        .get("/admin/users")
        .await?
        .expect(200);
    assert_eq!(running_actors(&node).await, 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overload_answers_429_with_retry_after_and_nothing_else_fails() -> anyhow::Result<()> {
    let node = TestNode::start_with(|c| c.max_in_flight = 1).await?;
    let api = node.api();
    api.get("/admin/users").await?.expect(200);

    let mut limited = 0usize;
    let mut succeeded = 0usize;
    let mut created_emails = Vec::new();
    // Bursts of concurrent writes and reads; at most 5 bursts until both outcomes were seen.
    for burst in 0..5 {
        let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(48));
        let mut tasks = Vec::new();
        for i in 0..48 {
            let api = api.clone();
            let barrier = barrier.clone();
            tasks.push(tokio::spawn(async move {
                barrier.wait().await;
                let email = format!("burst{burst}-{i}@acme.example");
                let reply = if i % 2 == 0 {
                    api.post("/admin/users", json!({"email": email})).await
                } else {
                    api.get("/admin/users?limit=5").await
                };
                (i % 2 == 0, email, reply)
            }));
        }
        for task in tasks {
            let (write, email, reply) =
                tokio::time::timeout(Duration::from_secs(60), task).await??;
            let reply = reply?;
            match reply.status {
                200 | 201 => {
                    assert_eq!(
                        reply.status,
                        if write { 201 } else { 200 },
                        "body: {}",
                        reply.text
                    );
                    succeeded += 1;
                    if write {
                        created_emails.push(email);
                    }
                }
                429 => {
                    limited += 1;
                    assert_eq!(
                        reply.body["error"], "rate_limit_exceeded",
                        "body: {}",
                        reply.text
                    );
                    assert_eq!(reply.body["status"], 429, "body: {}", reply.text);
                    assert!(
                        reply.body["message"]
                            .as_str()
                            .is_some_and(|m| !m.is_empty())
                    );
                    let retry = reply
                        .headers
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.parse::<u64>().ok());
                    assert!(
                        retry.is_some_and(|s| s >= 1),
                        "Retry-After in seconds: {:?}",
                        reply.headers
                    );
                }
                other => panic!(
                    "a request failed with {other} (neither success nor 429): {}",
                    reply.text
                ),
            }
        }
        if limited > 0 && succeeded > 0 {
            break;
        }
    }
    assert!(
        limited > 0,
        "some concurrent requests were refused with 429 (succeeded {succeeded})"
    );
    assert!(
        succeeded > 0,
        "some concurrent requests succeeded (limited {limited})"
    );

    // Admission slots are released: sequential requests all succeed afterwards, and every
    // acknowledged create is there.
    for i in 0..20 {
        let reply = api.get("/admin/users?limit=1").await?;
        assert_eq!(
            reply.status, 200,
            "sequential request {i} after the burst: {}",
            reply.text
        );
    }
    for email in &created_emails {
        let found = api
            .get(&format!("/admin/users?search={email}"))
            .await?
            .expect(200);
        assert!(
            found.text.contains(email.as_str()),
            "{email} acknowledged but missing: {}",
            found.text
        );
    }
    node.stop().await?;
    Ok(())
}
