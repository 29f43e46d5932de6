//! Webhooks against a real node: events of the admin API arrive signed (HMAC-SHA256 over the
//! body, and the Standard Webhooks form with the id and time), failing receivers are retried
//! with backoff and dead-lettered, replays carry the same event id, rotations sign with both
//! secrets, `test` reports the receiver's answer, and bad input is refused with nothing
//! written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumo_tests::{Api, TestNode};
use ring::hmac;
use serde_json::{Value, json};

/// One request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    route: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<Received>>>,
    /// Failures left to answer per route (then 200).
    failures: Arc<Mutex<HashMap<String, u32>>>,
}

impl Receiver {
    fn on(&self, route: &str) -> Vec<Received> {
        self.got
            .lock()
            .map(|g| g.iter().filter(|r| r.route == route).cloned().collect())
            .unwrap_or_default()
    }

    fn fail(&self, route: &str, times: u32) {
        if let Ok(mut f) = self.failures.lock() {
            f.insert(route.to_string(), times);
        }
    }
}

async fn hook(
    State(rx): State<Receiver>,
    Path(route): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    if let Ok(mut got) = rx.got.lock() {
        got.push(Received {
            route: route.clone(),
            headers,
            body,
        });
    }
    let mut failures = rx.failures.lock().expect("lock");
    match failures.get_mut(&route) {
        Some(left) if *left > 0 => {
            *left -= 1;
            StatusCode::INTERNAL_SERVER_ERROR
        }
        _ => StatusCode::OK,
    }
}

async fn receiver() -> anyhow::Result<(Receiver, String)> {
    let rx = Receiver::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/hooks/{route}", axum::routing::post(hook))
        .with_state(rx.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((rx, base))
}

fn key(secret: &str) -> hmac::Key {
    let raw = STANDARD
        .decode(secret.trim_start_matches("whsec_"))
        .expect("a whsec_ secret is base64");
    hmac::Key::new(hmac::HMAC_SHA256, &raw)
}

/// Checks every signature header of `got` against `secret`; returns the payload.
fn verified(got: &Received, secret: &str) -> Value {
    let key = key(secret);
    let header = |name: &str| {
        got.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let body_mac = hex::encode(hmac::sign(&key, &got.body).as_ref());
    assert_eq!(header("x-lumo-signature"), body_mac);
    assert!(
        header("x-lumoauth-signature")
            .split(',')
            .any(|v| v == format!("sha256={body_mac}")),
        "{}",
        header("x-lumoauth-signature")
    );
    let id = header("webhook-id");
    let timestamp = header("webhook-timestamp");
    let mut signed = format!("{id}.{timestamp}.").into_bytes();
    signed.extend_from_slice(&got.body);
    let standard = format!("v1,{}", STANDARD.encode(hmac::sign(&key, &signed).as_ref()));
    assert!(
        header("webhook-signature")
            .split(' ')
            .any(|v| v == standard),
        "{}",
        header("webhook-signature")
    );
    let payload: Value = serde_json::from_slice(&got.body).expect("JSON payload");
    assert_eq!(payload["id"], id.as_str());
    payload
}

async fn wait_for(rx: &Receiver, route: &str, count: usize) -> Vec<Received> {
    for _ in 0..200 {
        let got = rx.on(route);
        if got.len() >= count {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{route}: expected {count} deliveries, got {}",
        rx.on(route).len()
    );
}

async fn create(api: &Api, url: &str, events: Value) -> anyhow::Result<(u64, String)> {
    let created = api
        .post(
            "/admin/webhooks",
            json!({"url": url, "events": events, "type": "webhook",
                   "configuration": {"retryBaseMs": 50, "maxAttempts": 3}}),
        )
        .await?
        .expect(201);
    let data = created.data();
    let secret = data["secret"].as_str().unwrap_or_default().to_string();
    assert!(secret.starts_with("whsec_"), "{data}");
    for field in [
        "id",
        "url",
        "events",
        "type",
        "isActive",
        "failureCount",
        "createdAt",
    ] {
        assert!(!data[field].is_null(), "{field}: {data}");
    }
    Ok((data["id"].as_u64().unwrap_or_default(), secret))
}

async fn deliveries(api: &Api, id: u64, filter: &str) -> anyhow::Result<Value> {
    Ok(api
        .get(&format!("/admin/webhooks/{id}/deliveries{filter}"))
        .await?
        .expect(200)
        .body)
}

/// The delivery log once `done` holds of it (or after 5 s, whatever it is then).
async fn settled(
    api: &Api,
    id: u64,
    filter: &str,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let mut log = deliveries(api, id, filter).await?;
    for _ in 0..100 {
        if done(&log) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        log = deliveries(api, id, filter).await?;
    }
    Ok(log)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_signed_once_per_change() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rx, base) = receiver().await?;
    let (id, secret) = create(
        &api,
        &format!("{base}/hooks/users"),
        json!(["user.created"]),
    )
    .await?;
    let user = api
        .post(
            "/admin/users",
            json!({"email": "hooked@example.com", "name": "Hooked"}),
        )
        .await?
        .expect(201);
    // A group is not subscribed to: nothing is sent for it.
    api.post("/admin/groups", json!({"name": "Quiet"}))
        .await?
        .expect(201);
    let got = wait_for(&rx, "users", 1).await;
    let payload = verified(&got[0], &secret);
    assert_eq!(payload["type"], "user.created");
    assert!(
        payload["id"]
            .as_str()
            .unwrap_or_default()
            .starts_with("evt_")
    );
    assert!(payload["timestamp"].is_string());
    assert_eq!(payload["data"]["object"]["id"], user.data()["id"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.on("users").len(), 1, "one event, one delivery");

    let log = deliveries(&api, id, "").await?;
    assert_eq!(log["meta"]["count"], 1, "{log}");
    assert_eq!(log["meta"]["dead_lettered_count"], 0);
    let delivery = &log["data"][0];
    assert_eq!(delivery["status"], "success", "{log}");
    assert_eq!(delivery["attempt_count"], 1);
    assert_eq!(delivery["last_status_code"], 200);
    assert_eq!(delivery["delivery_id"], payload["id"]);
    let detail = api
        .get(&format!(
            "/admin/webhooks/{id}/deliveries/{}",
            delivery["id"].as_str().unwrap_or_default()
        ))
        .await?
        .expect(200);
    assert_eq!(detail.data()["payload"], payload);
    assert_eq!(detail.data()["attempts"].as_array().map(Vec::len), Some(1));
    let hook = api.get(&format!("/admin/webhooks/{id}")).await?.expect(200);
    assert!(hook.data()["lastTriggeredAt"].is_string(), "{}", hook.text);
    assert!(
        hook.data().get("secret").is_none(),
        "the secret is shown once"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_retry_then_dead_letter_and_replay_keeps_the_event_id() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rx, base) = receiver().await?;
    rx.fail("flaky", 2);
    rx.fail("down", 1000);
    let (flaky, _) = create(
        &api,
        &format!("{base}/hooks/flaky"),
        json!(["group.created"]),
    )
    .await?;
    let (down, _) = create(&api, &format!("{base}/hooks/down"), json!(["*"])).await?;
    api.post("/admin/groups", json!({"name": "Retried"}))
        .await?
        .expect(201);
    // Two failures, then success: three attempts of the same event.
    let got = wait_for(&rx, "flaky", 3).await;
    let ids: Vec<String> = got
        .iter()
        .map(|r| {
            r.headers
                .get("webhook-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    let log = settled(&api, flaky, "?status=success", |l| l["meta"]["count"] == 1).await?;
    assert_eq!(log["data"][0]["attempt_count"], 3, "{log}");

    // Always failing: dead-lettered after maxAttempts (3).
    let dead = settled(&api, down, "?status=dead_lettered", |l| {
        l["meta"]["dead_lettered_count"].as_u64() >= Some(1)
    })
    .await?;
    let first = dead["data"][0].clone();
    assert_eq!(first["status"], "dead_lettered", "{dead}");
    assert_eq!(first["attempt_count"], 3);
    assert!(first["dead_lettered_at"].is_string());
    assert_eq!(first["last_status_code"], 500);

    // A replay is a new delivery of the same event.
    rx.fail("down", 0);
    let before = rx.on("down").len();
    let replayed = api
        .post_empty(&format!(
            "/admin/webhooks/{down}/deliveries/{}/replay",
            first["id"].as_str().unwrap_or_default()
        ))
        .await?
        .expect(200);
    assert_eq!(replayed.data()["delivery_id"], first["delivery_id"]);
    let got = wait_for(&rx, "down", before + 1).await;
    let last = got.last().expect("a replayed delivery");
    assert_eq!(
        last.headers.get("webhook-id").and_then(|v| v.to_str().ok()),
        first["delivery_id"].as_str()
    );
    api.post_empty(&format!(
        "/admin/webhooks/{down}/deliveries/dlv_999999/replay"
    ))
    .await?
    .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_signs_with_both_secrets_and_test_reports_the_receiver() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rx, base) = receiver().await?;
    let (id, old) = create(
        &api,
        &format!("{base}/hooks/rotated"),
        json!(["role.created"]),
    )
    .await?;
    let rotated = api
        .post(
            &format!("/admin/webhooks/{id}/rotate-secret"),
            json!({"gracePeriodSeconds": 600}),
        )
        .await?
        .expect(200);
    let new = rotated.data()["secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(new.starts_with("whsec_") && new != old);
    api.post("/admin/roles", json!({"name": "Rotated"}))
        .await?
        .expect(201);
    let got = wait_for(&rx, "rotated", 1).await;
    verified(&got[0], &new);
    let both = got[0]
        .headers
        .get("x-lumoauth-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let old_mac = hex::encode(hmac::sign(&key(&old), &got[0].body).as_ref());
    assert!(both.contains(&format!("sha256={old_mac}")), "{both}");

    // test: 200 and success on a 2xx, success false on a 500, 502 when nobody answers.
    let ok = api
        .post_empty(&format!("/admin/webhooks/{id}/test"))
        .await?
        .expect(200);
    assert_eq!(ok.body["success"], true, "{}", ok.text);
    assert_eq!(ok.body["statusCode"], 200);
    let test_got = wait_for(&rx, "rotated", 2).await;
    let test_payload = verified(&test_got[1], &new);
    assert_eq!(test_payload["type"], "test.webhook");
    rx.fail("rotated", 1);
    let failing = api
        .post_empty(&format!("/admin/webhooks/{id}/test"))
        .await?
        .expect(200);
    assert_eq!(failing.body["success"], false);
    assert_eq!(failing.body["statusCode"], 500);
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let closed_url = format!("http://{}/gone", closed.local_addr()?);
    drop(closed);
    api.patch(&format!("/admin/webhooks/{id}"), json!({"url": closed_url}))
        .await?
        .expect(200);
    api.post_empty(&format!("/admin/webhooks/{id}/test"))
        .await?
        .expect(502);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn admin_surface_filters_and_refuses_bad_input() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let catalog = api.get("/admin/webhooks/events").await?.expect(200);
    for name in [
        "webhook.enabled",
        "webhook.disabled",
        "user.created",
        "user.login.failed",
        "group.user.added",
        "settings.email.updated",
    ] {
        assert!(catalog.data()[name].is_string(), "{name}");
    }
    let (a, _) = create(&api, "https://hooks.example.com/a", json!(["user.created"])).await?;
    let (b, _) = create(&api, "https://hooks.example.com/b", json!(["*"])).await?;
    api.post_empty(&format!("/admin/webhooks/{a}/disable"))
        .await?
        .expect(200);
    let active = api.get("/admin/webhooks?isActive=true").await?.expect(200);
    let ids: Vec<u64> = active
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![b]);
    let by_event = api
        .get("/admin/webhooks?event=user.created&sortBy=createdAt&sortDir=asc")
        .await?
        .expect(200);
    let ids: Vec<u64> = by_event
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|w| w["id"].as_u64())
        .collect();
    assert_eq!(ids, vec![a, b]);
    let enabled = api
        .post_empty(&format!("/admin/webhooks/{a}/enable"))
        .await?
        .expect(200);
    assert_eq!(enabled.body["webhook"]["isActive"], true);
    let put = api
        .put(
            &format!("/admin/webhooks/{a}"),
            json!({"url": "https://hooks.example.com/a2", "events": ["user.deleted"]}),
        )
        .await?
        .expect(200);
    assert_eq!(put.data()["events"], json!(["user.deleted"]));

    // Bad input: nothing is written.
    let before = api.get("/admin/webhooks").await?.expect(200).body["pagination"]["total"].clone();
    for (body, field) in [
        (json!({"events": ["user.created"]}), "url"),
        (json!({"url": "https://hooks.example.com/x"}), "events"),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["user.exploded"]}),
            "events",
        ),
        (
            json!({"url": "ftp://hooks.example.com/x", "events": ["*"]}),
            "url",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": "user.created"}),
            "events",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["*"], "configuration": 5}),
            "configuration",
        ),
        (
            json!({"url": "https://hooks.example.com/x", "events": ["*"], "type": "carrier-pigeon"}),
            "type",
        ),
    ] {
        let refused = api.post("/admin/webhooks", body.clone()).await?.expect(422);
        assert!(refused.text.contains(field), "{body}: {}", refused.text);
    }
    let after = api.get("/admin/webhooks").await?.expect(200).body["pagination"]["total"].clone();
    assert_eq!(before, after);
    api.get("/admin/webhooks/999")
        .await?
        .expect_error(404, "resource_not_found");
    api.get("/admin/webhooks/abc").await?.expect(400);
    api.get(&format!("/admin/webhooks/{a}/deliveries?status=exploded"))
        .await?
        .expect(400);
    api.get(&format!("/admin/webhooks/{a}/deliveries?limit=500"))
        .await?
        .expect(400);
    api.get(&format!("/admin/webhooks/{a}/deliveries/xyz"))
        .await?
        .expect_error(404, "resource_not_found");
    api.post_empty(&format!("/admin/webhooks/tunnel/{b}/stop"))
        .await?
        .expect_error(400, "invalid_request");
    api.post(
        "/admin/webhooks/tunnel/start",
        json!({"events": ["no.such"]}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.delete(&format!("/admin/webhooks/{a}"))
        .await?
        .expect(200);
    api.get(&format!("/admin/webhooks/{a}"))
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn private_targets_need_the_operator_opt_in() -> anyhow::Result<()> {
    let node = TestNode::start_with(|config| config.webhooks_allow_private = false).await?;
    let api = node.api();
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/x",
        "https://169.254.169.254/latest",
    ] {
        api.post("/admin/webhooks", json!({"url": url, "events": ["*"]}))
            .await?
            .expect(422);
    }
    node.stop().await?;
    Ok(())
}

/// Changes of many families, each delivered under its audit action's name; every action the
/// audit log recorded is in the event catalog.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_family_emits_catalogued_events() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rx, base) = receiver().await?;
    let (_, secret) = create(&api, &format!("{base}/hooks/all"), json!(["*"])).await?;
    let user = api
        .post(
            "/admin/users",
            json!({"email": "family@example.com", "name": "Family", "password": "a-long-password-123"}),
        )
        .await?
        .expect(201);
    let user_id = user.data()["id"].as_str().unwrap_or_default().to_string();
    api.patch(
        &format!("/admin/users/{user_id}"),
        json!({"name": "Family Two"}),
    )
    .await?
    .expect(200);
    api.post("/admin/groups", json!({"name": "Fam", "slug": "fam"}))
        .await?
        .expect(201);
    api.post(
        "/admin/roles",
        json!({"name": "Famrole", "slug": "famrole"}),
    )
    .await?
    .expect(201);
    api.post(
        &format!("/admin/users/{user_id}/roles"),
        json!({"roleId": "famrole"}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/permissions",
        json!({"name": "Fam perm", "slug": "fam:perm"}),
    )
    .await?
    .expect(201);
    api.post("/admin/scopes", json!({"name": "famscope"}))
        .await?
        .expect(201);
    api.post(
        "/admin/clients",
        json!({"name": "Fam client", "redirectUris": ["https://app.example.com/cb"]}),
    )
    .await?
    .expect(201);
    api.patch("/admin/settings/branding", json!({"footer_text": "family"}))
        .await?
        .expect(200);
    api.post(
        "/admin/agents",
        json!({"name": "Fam agent", "capabilities": ["docs.read"]}),
    )
    .await?
    .expect(201);
    api.put(
        "/zanzibar/schema",
        json!({"schema": "definition user {}\ndefinition doc {\n  relation viewer: user\n}"}),
    )
    .await?
    .expect(200);
    // A sign-in that fails, then one that succeeds.
    let login = |password: &'static str| {
        let url = api.url("/oauth/login/json");
        async move {
            reqwest::Client::new()
                .post(url)
                .json(&json!({"email": "family@example.com", "password": password}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    };
    assert_eq!(login("wrong-password-000").await?, 401);
    assert_eq!(login("a-long-password-123").await?, 200);
    api.delete(&format!("/admin/users/{user_id}"))
        .await?
        .expect(200);

    let expected = [
        "user.created",
        "user.updated",
        "group.created",
        "role.created",
        "user.role.added",
        "permission.created",
        "scope.created",
        "oauth_client.created",
        "settings.branding.updated",
        "agent.created",
        "zanzibar.schema.updated",
        "user.login.failed",
        "user.login.succeeded",
        "user.deleted",
    ];
    let mut names = std::collections::BTreeSet::new();
    for _ in 0..200 {
        names = rx
            .on("all")
            .iter()
            .map(|r| {
                verified(r, &secret)["type"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        if expected.iter().all(|e| names.contains(*e)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for name in expected {
        assert!(names.contains(name), "{name} never arrived; got {names:?}");
    }
    let catalog = api.get("/admin/webhooks/events").await?.expect(200);
    for name in &names {
        assert!(
            catalog.data()[name].is_string(),
            "{name} is not in the catalog"
        );
    }
    let audit = api.get("/admin/audit-logs?limit=100").await?.expect(200);
    for entry in audit.data().as_array().into_iter().flatten() {
        let action = entry["action"].as_str().unwrap_or_default();
        assert!(
            catalog.data()[action].is_string(),
            "audit action {action} is not in the event catalog"
        );
    }
    node.stop().await?;
    Ok(())
}

/// A tunnel streams its events to the developer (SSE) and records them as delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_streams_events_over_sse() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let started = api
        .post(
            "/admin/webhooks/tunnel/start",
            json!({"events": ["group.created"]}),
        )
        .await?
        .expect(200);
    let id = started.data()["webhook_id"].as_u64().unwrap_or_default();
    let url = started.data()["tunnel_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        started.data()["session_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("tun_"))
    );
    assert!(
        url.ends_with(&format!("/admin/webhooks/tunnel/{id}/stream")),
        "{url}"
    );
    // The tunnel is no webhook of the list, and has nothing to send a test event to.
    let hooks = api.get("/admin/webhooks").await?.expect(200);
    assert_eq!(hooks.data().as_array().map(Vec::len), Some(0));
    api.post_empty(&format!("/admin/webhooks/{id}/test"))
        .await?
        .expect_error(409, "duplicate_resource");
    let mut stream = reqwest::Client::new()
        .get(&url)
        .header("X-API-Key", lumo_tests::ADMIN_KEY)
        .send()
        .await?;
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["content-type"], "text/event-stream");
    api.post("/admin/groups", json!({"name": "Tunnelled"}))
        .await?
        .expect(201);
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !text.contains("Tunnelled") {
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await??;
        let Some(chunk) = chunk else { break };
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(text.contains("event: group.created"), "{text}");
    assert!(text.contains("id: dlv_"), "{text}");
    let log = settled(&api, id, "?status=success", |l| l["meta"]["count"] == 1).await?;
    assert_eq!(log["meta"]["count"], 1, "{log}");
    api.post_empty(&format!("/admin/webhooks/tunnel/{id}/stop"))
        .await?
        .expect(200);
    api.get(&format!("/admin/webhooks/tunnel/{id}/stream"))
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

/// Hostile receivers cost bounded resources: a tarpit times out (and is retried), a redirect
/// is a failed attempt that is never followed, and an enormous answer is read only in part.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_redirecting_and_oversized_receivers_are_bounded() -> anyhow::Result<()> {
    let followed = Arc::new(Mutex::new(0u32));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let target = followed.clone();
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::post(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                StatusCode::OK
            }),
        )
        .route(
            "/redirect",
            axum::routing::post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(axum::http::header::LOCATION, "/followed")],
                )
            }),
        )
        .route(
            "/followed",
            axum::routing::post(move || {
                let target = target.clone();
                async move {
                    if let Ok(mut n) = target.lock() {
                        *n += 1;
                    }
                    StatusCode::OK
                }
            }),
        )
        .route(
            "/big",
            axum::routing::post(|| async { "x".repeat(8 << 20) }),
        );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let node = TestNode::start().await?;
    let api = node.api();
    let mut ids = HashMap::new();
    for route in ["slow", "redirect", "big"] {
        let created = api
            .post(
                "/admin/webhooks",
                json!({"url": format!("{base}/{route}"), "events": ["group.created"],
                       "configuration": {"timeoutMs": 300, "retryBaseMs": 50, "maxAttempts": 2}}),
            )
            .await?
            .expect(201);
        ids.insert(route, created.data()["id"].as_u64().unwrap_or_default());
    }
    api.post("/admin/groups", json!({"name": "Hostile"}))
        .await?
        .expect(201);
    let slow = settled(&api, ids["slow"], "", |l| {
        l["data"][0]["status"] == "dead_lettered"
    })
    .await?;
    let slow = &slow["data"][0];
    assert_eq!(slow["status"], "dead_lettered", "{slow}");
    assert!(
        slow["last_error"]
            .as_str()
            .unwrap_or_default()
            .contains("timed out"),
        "{slow}"
    );
    let redirect = settled(&api, ids["redirect"], "", |l| {
        l["data"][0]["status"] == "dead_lettered"
    })
    .await?;
    assert_eq!(redirect["data"][0]["last_status_code"], 307, "{redirect}");
    assert_eq!(
        followed.lock().map(|n| *n).unwrap_or(1),
        0,
        "a redirect was followed"
    );
    let big = settled(&api, ids["big"], "", |l| {
        l["data"][0]["status"] == "success"
    })
    .await?;
    let kept = big["data"][0]["last_response_body"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(big["data"][0]["status"], "success", "{big}");
    assert!(
        kept.len() <= 1024,
        "{} bytes of the answer kept",
        kept.len()
    );
    node.stop().await?;
    Ok(())
}

/// One webhook's events arrive in the order of the changes (one delivery at a time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhooks_events_arrive_in_order() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rx, base) = receiver().await?;
    let (_, secret) = create(
        &api,
        &format!("{base}/hooks/ordered"),
        json!(["group.created"]),
    )
    .await?;
    for i in 0..20 {
        api.post("/admin/groups", json!({"name": format!("Ordered {i}")}))
            .await?
            .expect(201);
    }
    let got = wait_for(&rx, "ordered", 20).await;
    let order: Vec<u64> = got
        .iter()
        .map(|r| {
            verified(r, &secret)["data"]["auditId"]
                .as_u64()
                .unwrap_or_default()
        })
        .collect();
    let mut sorted = order.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(order, sorted, "events arrived out of order");
    node.stop().await?;
    Ok(())
}

/// A tunnel nobody stopped is removed with its deliveries an hour after it started.
#[tokio::test]
async fn forgotten_tunnels_expire() -> anyhow::Result<()> {
    let start = lumo_cluster::clock::Timestamp::now();
    let clock = Arc::new(lumo_cluster::clock::ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();
    let started = api
        .post(
            "/admin/webhooks/tunnel/start",
            json!({"events": ["group.created"]}),
        )
        .await?
        .expect(200);
    let id = started.data()["webhook_id"].as_u64().unwrap_or_default();
    api.post("/admin/groups", json!({"name": "Never streamed"}))
        .await?
        .expect(201);
    assert_eq!(deliveries(&api, id, "").await?["meta"]["count"], 1);
    let service = &node.node.as_ref().expect("running").service;
    clock.set(start.plus_millis(30 * 60_000));
    service.purge_expired_protocol_state().await?;
    api.get(&format!("/admin/webhooks/{id}")).await?.expect(200);
    clock.set(start.plus_millis(61 * 60_000));
    service.purge_expired_protocol_state().await?;
    api.get(&format!("/admin/webhooks/{id}"))
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}
