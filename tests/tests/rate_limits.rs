//! Rate limits: counted where the org's requests are served, so two frontends share one count;
//! `X-RateLimit-*` on every counted response, 429 with `Retry-After` once a window is used up;
//! per-org limits in the `security` settings.

use std::time::Duration;

use lumo_cluster::Role;
use lumo_node::{Config, RunningNode};
use lumo_tests::http::{Api, Reply};
use lumo_tests::oauth::{Oauth, create_client};
use lumo_tests::{ORG, TestNode};
use serde_json::{Value, json};

/// A frontend that joins `node` (it counts nothing itself).
async fn frontend(node: &TestNode) -> anyhow::Result<RunningNode> {
    let rpc = node
        .node
        .as_ref()
        .and_then(|n| n.rpc_addr)
        .ok_or_else(|| anyhow::anyhow!("the data node has no rpc address"))?;
    let mut config = Config::for_tests(std::path::Path::new("/nonexistent-frontend"));
    config.cluster_token = Some(node.cluster_token());
    config.role = Role::Frontend;
    config.join = vec![rpc.to_string()];
    lumo_node::start(config).await
}

fn header(reply: &Reply, name: &str) -> Option<i64> {
    reply.headers.get(name)?.to_str().ok()?.parse().ok()
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Sets the org's limits, then waits until a counted read reports `read_limit` (limits are
/// cached for a few seconds) and until the current minute has time left for the test.
async fn set_limits(api: &Api, limits: Value, read_limit: i64) -> anyhow::Result<()> {
    api.put("/admin/settings/security", json!({"rate_limits": limits}))
        .await?
        .expect(200);
    let deadline = std::time::Instant::now() + Duration::from_secs(70);
    loop {
        let reply = api.get("/admin/settings/security").await?.expect(200);
        let reset = header(&reply, "x-ratelimit-reset").unwrap_or(0);
        if header(&reply, "x-ratelimit-limit") == Some(read_limit) {
            let left = reset - now_secs();
            if left < 25 {
                // Start in a fresh window rather than run out of this one mid-test.
                tokio::time::sleep(Duration::from_secs(left.max(0) as u64 + 1)).await;
            }
            return Ok(());
        }
        anyhow::ensure!(
            std::time::Instant::now() < deadline,
            "the limits did not take effect: {:?}",
            reply.headers
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn two_frontends_share_one_count_and_a_used_up_window_answers_429() -> anyhow::Result<()> {
    let node = TestNode::start_with(|config| config.rate_limits = true).await?;
    let first = frontend(&node).await?;
    let second = frontend(&node).await?;
    let direct = node.api();
    // The writes below count on a key of their own (the admin key's window already holds
    // the settings change).
    let writer = direct
        .post(
            "/admin/api-keys",
            json!({"name": "writer", "scopes": ["admin:write", "admin:read"]}),
        )
        .await?
        .expect(201);
    let writer = writer.data()["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let through = [
        Api::new(&format!("http://{}", first.http_addr), ORG, &writer),
        Api::new(&format!("http://{}", second.http_addr), ORG, &writer),
    ];
    set_limits(
        &direct,
        json!({"admin_writes_per_minute": 4, "admin_reads_per_minute": 50}),
        50,
    )
    .await?;

    // Four writes, alternating frontends, use up the window: the remaining count is one.
    let mut remaining = Vec::new();
    for i in 0..4 {
        let reply = through[i % 2]
            .post(
                "/admin/users",
                json!({"email": format!("rl{i}@example.com")}),
            )
            .await?
            .expect(201);
        assert_eq!(
            header(&reply, "x-ratelimit-limit"),
            Some(4),
            "{:?}",
            reply.headers
        );
        remaining.push(header(&reply, "x-ratelimit-remaining").unwrap_or(-1));
    }
    assert_eq!(
        remaining,
        vec![3, 2, 1, 0],
        "one count across both frontends"
    );

    let refused = through[1]
        .post("/admin/users", json!({"email": "rl-over@example.com"}))
        .await?
        .expect_error(429, "rate_limit_exceeded");
    let retry_after = header(&refused, "retry-after").unwrap_or(0);
    assert!((1..=60).contains(&retry_after), "{:?}", refused.headers);
    assert_eq!(refused.body["retry_after"], json!(retry_after));
    assert_eq!(header(&refused, "x-ratelimit-remaining"), Some(0));
    assert!(header(&refused, "x-ratelimit-reset").unwrap_or(0) > now_secs());
    through[0]
        .post("/admin/users", json!({"email": "rl-over2@example.com"}))
        .await?
        .expect_error(429, "rate_limit_exceeded");

    // Nothing refused was written; reads have their own count; another key its own.
    let users = direct.get("/admin/users?limit=100").await?.expect(200);
    let emails: Vec<&str> = users
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert!(
        !emails.iter().any(|e| e.starts_with("rl-over")),
        "{emails:?}"
    );
    assert_eq!(emails.iter().filter(|e| e.starts_with("rl")).count(), 4);

    let metrics = reqwest::get(format!("{}/metrics", node.admin))
        .await?
        .text()
        .await?;
    assert!(
        metrics.contains("lumo_rate_limited_total{class=\"admin_write\"} 2"),
        "{}",
        metrics
            .lines()
            .filter(|l| l.contains("rate_limited"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    Ok(())
}

#[tokio::test]
async fn token_requests_count_per_client_and_zero_turns_a_limit_off() -> anyhow::Result<()> {
    let node = TestNode::start_with(|config| config.rate_limits = true).await?;
    let api = node.api();
    set_limits(
        &api,
        json!({"token_requests_per_minute": 2, "admin_reads_per_minute": 40, "checks_per_minute": 1}),
        40,
    )
    .await?;
    let oauth = Oauth::new(&node.http);
    let busy = create_client(
        &api,
        json!({"grantTypes": ["client_credentials"], "redirectUris": []}),
    )
    .await?;
    let other = create_client(
        &api,
        json!({"grantTypes": ["client_credentials"], "redirectUris": []}),
    )
    .await?;
    for _ in 0..2 {
        let reply = oauth.client_credentials(&busy, None).await?.expect(200);
        assert!(reply.body["access_token"].is_string(), "{}", reply.text);
    }
    let refused = oauth.client_credentials(&busy, None).await?;
    assert_eq!(refused.status, 429, "{}", refused.text);
    assert_eq!(refused.body["error"], "rate_limit_exceeded");
    assert!(refused.body["error_description"].is_string());
    assert!(refused.body["retry_after"].as_u64().is_some_and(|s| s >= 1));
    assert!(refused.headers.contains_key("retry-after"));
    oauth.client_credentials(&other, None).await?.expect(200);

    // Authorization questions have their own class.
    let user = api.create_user("checked@example.com").await?;
    let check = json!({"permission": "document.read", "subject": {"type": "user", "id": user}});
    api.post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect(200);
    api.post_root("/api/v1/authz/check", check.clone())
        .await?
        .expect_error(429, "rate_limit_exceeded");

    // 0: no limit, and no headers.
    api.put(
        "/admin/settings/security",
        json!({"rate_limits": {"checks_per_minute": 0, "admin_reads_per_minute": 0}}),
    )
    .await?
    .expect(200);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let reply = api.get("/admin/settings/security").await?.expect(200);
        if !reply.headers.contains_key("x-ratelimit-limit") {
            assert_eq!(
                reply.data()["rate_limits"]["checks_per_minute"],
                0,
                "{}",
                reply.text
            );
            break;
        }
        anyhow::ensure!(std::time::Instant::now() < deadline, "reads still limited");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    for _ in 0..3 {
        api.post_root("/api/v1/authz/check", check.clone())
            .await?
            .expect(200);
    }
    Ok(())
}

#[tokio::test]
async fn limits_are_validated_and_off_by_the_node_switch() -> anyhow::Result<()> {
    let node = TestNode::start().await?; // harness default: --rate-limits false
    let api = node.api();
    api.put(
        "/admin/settings/security",
        json!({"rate_limits": {"admin_writes_per_minute": -1}}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.put(
        "/admin/settings/security",
        json!({"rate_limits": {"admin_writes_per_minute": "many"}}),
    )
    .await?
    .expect_error(422, "validation_error");
    let shown = api.get("/admin/settings/security").await?.expect(200);
    assert_eq!(
        shown.data()["rate_limits"]["admin_writes_per_minute"],
        100,
        "{}",
        shown.text
    );
    assert_eq!(shown.data()["rate_limits"]["audit_exports_per_hour"], 10);
    assert!(
        !shown.headers.contains_key("x-ratelimit-limit"),
        "the node counts nothing"
    );
    Ok(())
}
