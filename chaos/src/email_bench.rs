//! Email in `lumo-load`: `email-outbox` asks for a verification email for new users (a user
//! create, then `verify-email`) with the org's SMTP settings pointing at an in-process SMTP
//! sink, and measures each email's arrival there (from the acknowledged request: the outbox,
//! the dispatcher on the shard leader, rendering, signing the link, SMTP); `invite` creates
//! invitations to one B2B organization (each also emailed).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::oauth_bench::{Bounds, Issuer};
use crate::smtp_sink::SmtpSink;
use crate::stats::ScenarioStats;

pub const SCENARIOS: [&str; 2] = ["email-outbox", "invite"];
/// How long the emails of a run may take to arrive after the last request.
const DRAIN: Duration = Duration::from_secs(60);

async fn configure(issuer: &Issuer, sink: &SmtpSink, enabled: bool) -> anyhow::Result<()> {
    issuer
        .admin_send(
            reqwest::Method::PUT,
            "/admin/settings/email",
            json!({"enabled": enabled, "provider": "smtp", "smtp_host": "127.0.0.1",
                   "smtp_port": sink.port, "smtp_secure": false,
                   "from_email": "bench@lumo.test"}),
        )
        .await?;
    Ok(())
}

/// Runs `name` against `issuer`'s org (whose node must allow private targets); returns the
/// requests and, for `email-outbox`, the emails.
pub async fn run(
    name: &str,
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
) -> anyhow::Result<Vec<ScenarioStats>> {
    let sink = SmtpSink::start().await?;
    configure(&issuer, &sink, true).await?;
    let results = if name == "invite" {
        vec![invite(issuer.clone(), bounds, run_id).await?]
    } else {
        outbox(issuer.clone(), bounds, run_id, &sink).await
    };
    // Later scenarios send no email.
    configure(&issuer, &sink, false).await?;
    Ok(results)
}

async fn outbox(
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
    sink: &SmtpSink,
) -> Vec<ScenarioStats> {
    let started = Instant::now();
    let acked: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let writer = acked.clone();
    let requests = crate::load::run(
        "email-request",
        bounds.concurrency,
        bounds.duration,
        bounds.max_ops,
        move |_, seq| {
            let (issuer, acked) = (issuer.clone(), writer.clone());
            let email = format!("mail-{run_id}-{seq}@bench.example");
            async move {
                let Ok(created) = issuer
                    .admin_post("/admin/users", json!({"email": email}))
                    .await
                else {
                    return false;
                };
                let id = created["data"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                let ok = issuer
                    .admin_post(&format!("/admin/users/{id}/verify-email"), json!({}))
                    .await
                    .is_ok();
                if ok && let Ok(mut acked) = acked.lock() {
                    acked.insert(email, Instant::now());
                }
                ok
            }
        },
    )
    .await;
    let deadline = Instant::now() + DRAIN;
    loop {
        let wanted = acked.lock().map(|a| a.len()).unwrap_or_default();
        if sink.count() >= wanted || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked = acked.lock().map(|a| a.clone()).unwrap_or_default();
    let (mut delivered, mut lags, mut last) = (0u64, Vec::new(), started);
    for mail in sink.received() {
        let (Some(to), Some(at)) = (mail.to.first(), mail.at) else {
            continue;
        };
        if let Some(asked) = acked.get(to) {
            delivered += 1;
            lags.push(at.saturating_duration_since(*asked).as_micros() as u64);
            last = last.max(at);
        }
    }
    let missing = acked.len() as u64 - delivered;
    if missing > 0 {
        eprintln!("emails: {missing} not delivered within {DRAIN:?}");
    }
    let emails = ScenarioStats::new(
        "emails",
        delivered,
        missing,
        last.duration_since(started),
        lags,
    );
    vec![requests, emails]
}

async fn invite(issuer: Arc<Issuer>, bounds: Bounds, run_id: u32) -> anyhow::Result<ScenarioStats> {
    let created = issuer
        .admin_post(
            "/admin/organizations",
            json!({"name": "Bench customer", "slug": format!("bench-customer-{run_id}")}),
        )
        .await?;
    let org = created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(crate::load::run(
        "invite",
        bounds.concurrency,
        bounds.duration,
        bounds.max_ops,
        move |_, seq| {
            let (issuer, org) = (issuer.clone(), org.clone());
            async move {
                issuer
                    .admin_post(
                        &format!("/admin/organizations/{org}/invitations"),
                        json!({"email": format!("invitee-{run_id}-{seq}@bench.example")}),
                    )
                    .await
                    .is_ok()
            }
        },
    )
    .await)
}
