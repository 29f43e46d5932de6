//! The SCIM side of `lumo-load`: users created through `POST ~/scim/v2/Users` one by one
//! (`scim-create`), and through `POST ~/scim/v2/Bulk` with 1000 operations per request
//! (`scim-bulk`, counted per user created; the latency is per request). The scenarios turn
//! inbound SCIM on with a token of their own.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};

use crate::oauth_bench::{Bounds, Issuer};
use crate::stats::ScenarioStats;

pub const SCENARIOS: &[&str] = &["scim-create", "scim-bulk"];
/// Operations per Bulk request (the server's limit).
const PER_BULK: u64 = 1000;
const TOKEN: &str = "lumo-load-scim-token-0123456789abcdef";

async fn enable(issuer: &Issuer) -> anyhow::Result<()> {
    issuer
        .admin_send(
            reqwest::Method::PUT,
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": TOKEN}}),
        )
        .await?;
    Ok(())
}

async fn scim_post(issuer: &Issuer, path: &str, body: &Value) -> Option<Value> {
    let response = issuer
        .http
        .post(issuer.url(&format!("/scim/v2{path}")))
        .bearer_auth(TOKEN)
        .header("content-type", "application/scim+json")
        .json(body)
        .send()
        .await
        .ok()?;
    let ok = response.status().is_success();
    let body = response.json::<Value>().await.ok()?;
    ok.then_some(body)
}

fn user(name: String) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "emails": [{"value": format!("{name}@bench.example"), "primary": true}],
        "name": {"givenName": "Bench", "familyName": "User"},
    })
}

/// Runs `scenario` against `issuer`'s org.
pub async fn run(
    scenario: &str,
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
) -> anyhow::Result<ScenarioStats> {
    enable(&issuer).await?;
    if scenario == "scim-create" {
        return Ok(crate::load::run(
            scenario,
            bounds.concurrency,
            bounds.duration,
            bounds.max_ops,
            move |_, seq| {
                let issuer = issuer.clone();
                async move {
                    scim_post(&issuer, "/Users", &user(format!("scim-{run_id}-{seq}")))
                        .await
                        .is_some()
                }
            },
        )
        .await);
    }
    // Bulk: a few requests at a time (each is 1000 writes); users created are what counts.
    let concurrency = bounds.concurrency.clamp(1, 4);
    let started = Instant::now();
    let requests = crate::load::run(
        "scim-bulk-requests",
        concurrency,
        bounds.duration,
        (bounds.max_ops / PER_BULK).max(1),
        move |_, seq| {
            let issuer = issuer.clone();
            async move {
                let operations: Vec<Value> = (0..PER_BULK)
                    .map(|i| {
                        json!({"method": "POST", "path": "/Users", "bulkId": format!("u{i}"),
                               "data": user(format!("bulk-{run_id}-{seq}-{i}"))})
                    })
                    .collect();
                let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
                                  "Operations": operations});
                scim_post(&issuer, "/Bulk", &body)
                    .await
                    .is_some_and(|answer| {
                        answer["Operations"]
                            .as_array()
                            .is_some_and(|ops| ops.iter().all(|op| op["status"] == "201"))
                    })
            }
        },
    )
    .await;
    Ok(ScenarioStats::new(
        scenario,
        requests.ok * PER_BULK,
        requests.errors * PER_BULK,
        started.elapsed(),
        requests.latencies_us,
    ))
}
