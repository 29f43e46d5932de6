//! Prometheus metrics of a real node: `GET /metrics` on the admin listener (no cluster token)
//! answers the text exposition with the HTTP families by route family, method and status, Raft
//! write latencies and per-group gauges, and the org actors; label values come from route
//! templates, never from what a client sends.

use lumo_tests::TestNode;

/// The value of the sample line that starts with `series` (a name with its labels).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
}

#[tokio::test]
async fn the_admin_listener_serves_request_raft_and_actor_metrics() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    for i in 0..3 {
        api.create_user(&format!("m{i}@example.com")).await?;
    }
    api.get("/admin/users").await?.expect(200);
    api.get("/admin/users/01234567-89ab-cdef-0123-456789abcdef")
        .await?
        .expect(404);
    let junk = reqwest::get(format!(
        "{}/orgs/acme-corp/api/v1/no-such-thing-7f3a",
        node.http
    ))
    .await?;
    assert_eq!(junk.status(), 404);

    let reply = reqwest::get(format!("{}/metrics", node.admin)).await?;
    assert_eq!(reply.status(), 200);
    assert!(
        reply
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/plain")),
        "{:?}",
        reply.headers()
    );
    let text = reply.text().await?;
    assert_eq!(
        sample(
            &text,
            r#"lumo_http_request_duration_seconds_count{family="admin_users",method="POST",status="201"}"#
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            r#"lumo_http_request_duration_seconds_count{family="admin_users",method="GET",status="404"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"lumo_http_request_duration_seconds_bucket{le="+Inf",family="admin_users",method="POST",status="201"}"#
        )
        .or_else(|| sample(
            &text,
            r#"lumo_http_request_duration_seconds_bucket{family="admin_users",method="POST",status="201",le="+Inf"}"#
        )),
        Some(3.0),
        "{text}"
    );
    assert!(
        !text.contains("no-such-thing") && !text.contains("0123-456789abcdef"),
        "label values come from route templates only"
    );
    assert!(
        sample(
            &text,
            r#"lumo_raft_write_duration_seconds_count{kind="shard"}"#
        )
        .is_some_and(|n| n >= 3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"lumo_raft_is_leader{group="1",kind="shard"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"lumo_raft_apply_lag_entries{group="1",kind="shard"}"#
        ),
        Some(0.0)
    );
    assert!(
        sample(&text, r#"lumo_raft_applied_index{group="0",kind="meta"}"#)
            .is_some_and(|n| n >= 1.0)
    );
    assert!(sample(&text, "lumo_org_actors_running").is_some_and(|n| n >= 1.0));
    assert!(sample(&text, "lumo_org_actor_requests_in_flight").is_some());
    assert_eq!(sample(&text, "lumo_admission_rejections_total"), Some(0.0));
    assert!(sample(&text, "lumo_password_hash_slots_free").is_some_and(|n| n >= 1.0));

    // An operator builds a snapshot of the shard now: its time and size are recorded.
    let client = reqwest::Client::new();
    let built = client
        .post(format!("{}/cluster/v1/groups/1/snapshot", node.admin))
        .bearer_auth(node.cluster_token())
        .send()
        .await?;
    assert_eq!(built.status(), 200);
    let built: serde_json::Value = built.json().await?;
    assert!(
        built["data"]["snapshotLastIndex"]
            .as_u64()
            .is_some_and(|i| i >= 4),
        "{built}"
    );
    let missing = client
        .post(format!("{}/cluster/v1/groups/77/snapshot", node.admin))
        .bearer_auth(node.cluster_token())
        .send()
        .await?;
    assert_eq!(missing.status(), 404);
    let text = reqwest::get(format!("{}/metrics", node.admin))
        .await?
        .text()
        .await?;
    assert_eq!(
        sample(
            &text,
            r#"lumo_raft_snapshot_duration_seconds_count{kind="shard",op="build"}"#
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        sample(&text, r#"lumo_raft_snapshot_bytes{group="1",kind="shard"}"#)
            .is_some_and(|b| b > 0.0)
    );
    assert!(
        sample(
            &text,
            r#"lumo_raft_snapshot_last_index{group="1",kind="shard"}"#
        )
        .is_some_and(|i| i >= 4.0)
    );

    // A webhook whose receiver is down keeps its delivery in the outbox: the backlog shows it.
    api.post(
        "/admin/webhooks",
        serde_json::json!({"url": "http://127.0.0.1:9/down", "events": ["user.created"],
            "type": "webhook", "configuration": {"retryBaseMs": 60000, "maxAttempts": 5}}),
    )
    .await?
    .expect(201);
    api.create_user("hooked@example.com").await?;
    let admin = node.admin.clone();
    lumo_tests::wait::eventually("the outbox backlog", || {
        let admin = admin.clone();
        async move {
            let text = reqwest::get(format!("{admin}/metrics"))
                .await?
                .text()
                .await?;
            Ok(sample(&text, "lumo_outbox_deliveries_pending").filter(|n| *n >= 1.0))
        }
    })
    .await?;

    // The cluster API next to it still wants its token.
    let status = reqwest::get(format!("{}/cluster/v1/status", node.admin)).await?;
    assert_eq!(status.status(), 401);
    Ok(())
}
