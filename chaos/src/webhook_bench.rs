//! The webhook side of `lumo-load`: user creations with a webhook subscribed to
//! `user.created`, and the events' end-to-end delivery to a receiver in this process (from the
//! acknowledged write to the receiver's answer).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::oauth_bench::{Bounds, Issuer};
use crate::stats::ScenarioStats;

/// The scenario [`run`] knows; it reports two rows (the creations, then the events).
pub const SCENARIO: &str = "webhook-events";
/// Longest wait for the last events after the load stops.
const DRAIN: Duration = Duration::from_secs(60);

/// When each email's creation was acknowledged, and when it first arrived at the receiver.
#[derive(Clone, Default)]
pub(crate) struct Times {
    acked: Arc<Mutex<HashMap<String, Instant>>>,
    arrived: Arc<Mutex<HashMap<String, Instant>>>,
}

impl Times {
    /// Records that `email` arrived now (the first time counts).
    pub(crate) fn arrived(&self, email: String) {
        let now = Instant::now();
        if let Ok(mut arrived) = self.arrived.lock() {
            arrived.entry(email).or_insert(now);
        }
    }
}

async fn receive(State(times): State<Times>, body: Bytes) -> StatusCode {
    let email = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|p| p["data"]["newValue"]["email"].as_str().map(str::to_string));
    if let Some(email) = email {
        times.arrived(email);
    }
    StatusCode::OK
}

/// Starts the receiver; returns its URL.
async fn receiver(times: Times) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/events", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/events", axum::routing::post(receive))
        .with_state(times);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(url)
}

/// Runs the scenario against `issuer`'s org (whose node must allow private webhook targets);
/// returns the creations and the events.
pub async fn run(
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
) -> anyhow::Result<(ScenarioStats, ScenarioStats)> {
    let times = Times::default();
    let url = receiver(times.clone()).await?;
    let created = issuer
        .admin_post(
            "/admin/webhooks",
            json!({"url": url, "events": ["user.created"],
                   "configuration": {"concurrency": 16, "retryBaseMs": 100}}),
        )
        .await?;
    let webhook = created["data"]["id"].as_u64().unwrap_or_default();
    let (creates, events) = deliveries(
        issuer.clone(),
        bounds,
        ("create-user-webhook", "webhook-events"),
        &format!("webhook-{run_id}"),
        times,
    )
    .await;
    // The webhook stays out of later scenarios' way.
    issuer
        .http
        .delete(issuer.url(&format!("/admin/webhooks/{webhook}")))
        .header("X-API-Key", &issuer.admin_key)
        .send()
        .await
        .ok();
    Ok((creates, events))
}

/// Creates users (`{prefix}-{seq}@bench.example`) for the bounds, then waits (at most
/// [`DRAIN`]) for each to arrive at a receiver that records into `times`; answers the creations
/// (`names.0`) and the deliveries (`names.1`: ops/s is deliveries over the time to the last
/// one, latency the lag from acknowledged write to arrival).
pub(crate) async fn deliveries(
    issuer: Arc<Issuer>,
    bounds: Bounds,
    names: (&'static str, &'static str),
    prefix: &str,
    times: Times,
) -> (ScenarioStats, ScenarioStats) {
    let started = Instant::now();
    let writer_times = times.clone();
    let prefix = prefix.to_string();
    let creates = crate::load::run(
        names.0,
        bounds.concurrency,
        bounds.duration,
        bounds.max_ops,
        move |_, seq| {
            let (issuer, times) = (issuer.clone(), writer_times.clone());
            let email = format!("{prefix}-{seq}@bench.example");
            async move {
                let ok = issuer
                    .admin_post(
                        "/admin/users",
                        json!({"email": email, "name": "Bench User"}),
                    )
                    .await
                    .is_ok();
                if ok && let Ok(mut acked) = times.acked.lock() {
                    acked.insert(email, Instant::now());
                }
                ok
            }
        },
    )
    .await;
    let deadline = Instant::now() + DRAIN;
    let (mut delivered, mut lags) = (0u64, Vec::new());
    let mut last = started;
    loop {
        let acked = times.acked.lock().map(|a| a.clone()).unwrap_or_default();
        let arrived = times.arrived.lock().map(|a| a.clone()).unwrap_or_default();
        let done = acked.keys().all(|e| arrived.contains_key(e));
        if done || Instant::now() > deadline {
            for (email, at) in &acked {
                if let Some(came) = arrived.get(email) {
                    delivered += 1;
                    lags.push(came.saturating_duration_since(*at).as_micros() as u64);
                    last = last.max(*came);
                }
            }
            let missing = acked.len() as u64 - delivered;
            if missing > 0 {
                eprintln!("{}: {missing} not delivered within {DRAIN:?}", names.1);
            }
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let events = ScenarioStats::new(
        names.1,
        delivered,
        creates.ok.saturating_sub(delivered),
        last.duration_since(started),
        lags,
    );
    (creates, events)
}
