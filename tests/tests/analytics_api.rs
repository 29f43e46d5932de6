//! Black-box tests of `~/admin/analytics`: numbers computed from the org's real users and
//! audit log.

use std::collections::BTreeMap;
use std::sync::Arc;

use lumo_cluster::clock::{ManualClock, Timestamp};
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

const DAY_MS: i64 = 86_400_000;

async fn dashboard(api: &Api) -> anyhow::Result<Value> {
    Ok(api
        .get("/admin/analytics/dashboard")
        .await?
        .expect(200)
        .data()
        .clone())
}

async fn audit_total(api: &Api) -> anyhow::Result<u64> {
    let reply = api.get("/admin/audit-logs?limit=1").await?.expect(200);
    Ok(reply.body["meta"]["total"].as_u64().unwrap_or(0))
}

fn date_of(text: &Value) -> String {
    Timestamp::parse(text.as_str().expect("timestamp"))
        .expect("RFC 3339")
        .to_date()
}

/// The dates `days` days back, oldest first, ending with the date of `now`.
fn expected_dates(now: Timestamp, days: i64) -> Vec<String> {
    (0..days)
        .rev()
        .map(|back| Timestamp(now.0 - back * DAY_MS).to_date())
        .collect()
}

#[tokio::test]
async fn dashboard_counts_real_users_and_audit_events() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let fresh = dashboard(&api).await?;
    assert_eq!(
        fresh["users"],
        json!({"total": 0, "active": 0, "blocked": 0, "newLast30Days": 0})
    );
    assert_eq!(fresh["clients"]["total"], 0);
    assert_eq!(
        fresh["authentication"],
        json!({"loginsLast7Days": 0, "failedLoginsLast7Days": 0})
    );
    assert_eq!(
        fresh["audit"]["eventsLast7Days"].as_u64(),
        Some(audit_total(&api).await?)
    );
    assert!(
        fresh["audit"]["eventsLast7Days"].as_u64().unwrap_or(0) > 0,
        "org creation is audited"
    );

    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(api.create_user(&format!("dash-{i}@example.com")).await?);
    }
    api.post(
        "/admin/users",
        json!({"email": "inactive@example.com", "isActive": false}),
    )
    .await?
    .expect(201);
    api.post_empty(&format!("/admin/users/{}/block", ids[0]))
        .await?
        .expect(200);
    api.post_empty(&format!("/admin/users/{}/block", ids[1]))
        .await?
        .expect(200);
    api.delete(&format!("/admin/users/{}", ids[4]))
        .await?
        .expect(200);

    let d = dashboard(&api).await?;
    assert_eq!(d["users"]["total"], 5, "{d}");
    assert_eq!(d["users"]["blocked"], 2, "{d}");
    assert_eq!(
        d["users"]["active"], 2,
        "neither blocked nor deactivated: {d}"
    );
    assert_eq!(d["users"]["newLast30Days"], 5, "{d}");
    assert_eq!(
        d["audit"]["eventsLast7Days"].as_u64(),
        Some(audit_total(&api).await?)
    );
    assert!(d["audit"]["eventsLast7Days"].as_u64().unwrap_or(0) >= 9 + 2);
    let generated = Timestamp::parse(d["generatedAt"].as_str().unwrap_or("")).expect("generatedAt");
    assert!((generated.0 - Timestamp::now().0).abs() < 60_000);

    // Unblocking moves a user back to active.
    api.post_empty(&format!("/admin/users/{}/unblock", ids[0]))
        .await?
        .expect(200);
    let d = dashboard(&api).await?;
    assert_eq!(d["users"]["blocked"], 1);
    assert_eq!(d["users"]["active"], 3);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn logins_has_one_entry_per_day_of_the_period() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.create_user("someone@example.com").await?;
    for days in [1, 7, 30, 90] {
        let reply = api
            .get(&format!("/admin/analytics/logins?days={days}"))
            .await?
            .expect(200);
        let data = reply.data();
        let daily = data["daily"].as_array().expect("daily array");
        assert_eq!(daily.len(), days as usize, "days={days}");
        let to = Timestamp::parse(data["period"]["to"].as_str().unwrap_or("")).expect("to");
        let from = Timestamp::parse(data["period"]["from"].as_str().unwrap_or("")).expect("from");
        assert_eq!(data["period"]["days"], days);
        assert_eq!(to.0 - from.0, days * DAY_MS);
        let dates: Vec<String> = daily
            .iter()
            .map(|d| d["date"].as_str().unwrap_or("").to_string())
            .collect();
        assert_eq!(dates, expected_dates(to, days), "ascending, ending today");
        for day in daily {
            assert_eq!(day["total"], 0, "no sign-ins happened: {day}");
            assert_eq!(day["successful"], 0);
            assert_eq!(day["failed"], 0);
        }
    }
    let default = api.get("/admin/analytics/logins").await?.expect(200);
    assert_eq!(default.data()["daily"].as_array().map(Vec::len), Some(30));
    assert_eq!(default.data()["period"]["days"], 30);

    for bad in ["0", "91", "abc", "-1", "7.5", ""] {
        api.get(&format!("/admin/analytics/logins?days={bad}"))
            .await?
            .expect_error(400, "invalid_request");
        api.get(&format!("/admin/analytics/users?days={bad}"))
            .await?
            .expect_error(400, "invalid_request");
    }
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_growth_counts_registrations_verification_and_mfa() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let empty = api.get("/admin/analytics/users?days=7").await?.expect(200);
    assert_eq!(
        empty.data()["byVerificationStatus"],
        json!([{"emailVerified": true, "count": 0}, {"emailVerified": false, "count": 0}])
    );

    let mut created_on: BTreeMap<String, u64> = BTreeMap::new();
    for (i, verified) in [true, true, false, false, false].iter().enumerate() {
        let reply = api
            .post(
                "/admin/users",
                json!({"email": format!("growth-{i}@example.com"), "emailVerified": verified}),
            )
            .await?
            .expect(201);
        *created_on
            .entry(date_of(&reply.data()["createdAt"]))
            .or_default() += 1;
    }
    let unverified = api.create_user("growth-late@example.com").await?;
    api.post_empty(&format!("/admin/users/{unverified}/mark-verified"))
        .await?
        .expect(200);
    *created_on.entry(Timestamp::now().to_date()).or_default() += 1;

    let reply = api.get("/admin/analytics/users?days=14").await?.expect(200);
    let data = reply.data();
    let daily = data["dailyRegistrations"].as_array().expect("array");
    assert_eq!(daily.len(), 14);
    let to = Timestamp::parse(data["period"]["to"].as_str().unwrap_or("")).expect("to");
    let dates: Vec<String> = daily
        .iter()
        .map(|d| d["date"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(dates, expected_dates(to, 14));
    let total: u64 = daily.iter().map(|d| d["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(total, 6, "every registration is counted once: {daily:?}");
    for day in daily {
        let date = day["date"].as_str().unwrap_or("");
        assert_eq!(
            day["count"].as_u64(),
            Some(created_on.get(date).copied().unwrap_or(0)),
            "{date}"
        );
    }
    let today = daily.last().expect("today");
    assert_eq!(today["date"], to.to_date().as_str());
    assert_eq!(
        today["count"].as_u64(),
        created_on.get(&to.to_date()).copied()
    );

    assert_eq!(
        data["byVerificationStatus"],
        json!([{"emailVerified": true, "count": 3}, {"emailVerified": false, "count": 3}])
    );
    assert_eq!(
        data["byMfaStatus"],
        json!([{"mfaEnabled": true, "count": 0}, {"mfaEnabled": false, "count": 6}])
    );
    assert_eq!(data["period"]["days"], 14);
    let default = api.get("/admin/analytics/users").await?.expect(200);
    assert_eq!(
        default.data()["dailyRegistrations"]
            .as_array()
            .map(Vec::len),
        Some(30)
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn windows_follow_the_node_clock() -> anyhow::Result<()> {
    let now = Timestamp::now();
    let clock = Arc::new(ManualClock::new(Timestamp(now.0 - 40 * DAY_MS)));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();
    api.create_user("old-1@example.com").await?;
    api.create_user("old-2@example.com").await?;
    let old_events = audit_total(&api).await?;
    clock.set(now);
    api.create_user("new-1@example.com").await?;

    let d = dashboard(&api).await?;
    assert_eq!(d["users"]["total"], 3);
    assert_eq!(
        d["users"]["newLast30Days"], 1,
        "users from 40 days ago are not new: {d}"
    );
    assert_eq!(audit_total(&api).await?, old_events + 1);
    assert_eq!(
        d["audit"]["eventsLast7Days"], 1,
        "only this week's records count: {d}"
    );
    assert_eq!(d["generatedAt"], now.to_rfc3339().as_str());

    let month = api.get("/admin/analytics/users?days=30").await?.expect(200);
    let daily = month.data()["dailyRegistrations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let total: u64 = daily.iter().map(|d| d["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(total, 1);
    assert_eq!(daily.last().map(|d| d["count"].clone()), Some(json!(1)));
    assert_eq!(
        daily.last().map(|d| d["date"].clone()),
        Some(json!(now.to_date()))
    );
    let quarter = api.get("/admin/analytics/users?days=90").await?.expect(200);
    let daily = quarter.data()["dailyRegistrations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let old_day = Timestamp(now.0 - 40 * DAY_MS).to_date();
    let old = daily
        .iter()
        .find(|d| d["date"] == old_day.as_str())
        .expect("day 40 back");
    assert_eq!(old["count"], 2);
    let total: u64 = daily.iter().map(|d| d["count"].as_u64().unwrap_or(0)).sum();
    assert_eq!(total, 3);
    // Verification and MFA breakdowns cover every user, whatever the window.
    assert_eq!(
        month.data()["byMfaStatus"][1],
        json!({"mfaEnabled": false, "count": 3})
    );
    node.stop().await?;
    Ok(())
}
