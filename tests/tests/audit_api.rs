//! Black-box tests of `~/admin/audit-logs`: what mutations record, listing with filters and
//! pagination, single records, actions, stats, export, retention, chain verification,
//! retention compaction under a manual clock, and tamper detection on disk.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use lumo_cluster::clock::{ManualClock, Timestamp};
use lumo_tests::http::raw_request;
use lumo_tests::{ADMIN_KEY, Api, ORG, Reply, TestNode};
use reqwest::Method;
use serde_json::{Value, json};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Every audit record of the org, newest first (pages of 100).
async fn all_records(api: &Api) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let reply = api
            .get(&format!("/admin/audit-logs?limit=100&page={page}"))
            .await?
            .expect(200);
        let items = reply.data().as_array().cloned().unwrap_or_default();
        let total = reply.body["meta"]["total"].as_u64().unwrap_or(0);
        let empty = items.is_empty();
        out.extend(items);
        if empty || out.len() as u64 >= total {
            return Ok(out);
        }
        page += 1;
    }
}

/// The records of one list call.
async fn list(api: &Api, query: &str) -> anyhow::Result<Vec<Value>> {
    let reply = api
        .get(&format!("/admin/audit-logs?limit=100&{query}"))
        .await?
        .expect(200);
    let items = reply.data().as_array().cloned().unwrap_or_default();
    assert_eq!(
        reply.body["meta"]["total"].as_u64(),
        Some(items.len() as u64),
        "total of {query}: {}",
        reply.text
    );
    Ok(items)
}

fn ids(records: &[Value]) -> Vec<u64> {
    records
        .iter()
        .map(|r| r["id"].as_u64().expect("integer id"))
        .collect()
}

fn id_set(records: &[Value]) -> BTreeSet<u64> {
    ids(records).into_iter().collect()
}

fn header(reply: &Reply, name: &str) -> String {
    reply
        .headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// The id (as audit records show it) of the bootstrap admin key.
async fn admin_key_id(api: &Api) -> anyhow::Result<String> {
    let keys = api.get("/admin/api-keys").await?.expect(200);
    let admin = keys
        .data()
        .as_array()
        .and_then(|a| a.iter().find(|k| k["name"] == "admin"))
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("no admin key in {}", keys.text))?;
    Ok(admin["id"].as_u64().expect("numeric key id").to_string())
}

/// The only record with `action`.
async fn only(api: &Api, action: &str) -> anyhow::Result<Value> {
    let found = list(api, &format!("action={action}")).await?;
    assert_eq!(found.len(), 1, "records with action {action}: {found:?}");
    Ok(found[0].clone())
}

fn ms(text: &Value) -> i64 {
    Timestamp::parse(text.as_str().expect("timestamp string"))
        .expect("RFC 3339 timestamp")
        .0
}

#[tokio::test]
async fn each_mutation_records_action_actor_target_ip_and_request_id() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let admin_id = admin_key_id(&api).await?;

    let created = raw_request(
        Method::POST,
        &api.url("/admin/users"),
        &[
            ("X-API-Key", ADMIN_KEY),
            ("X-Request-Id", "audit-req-user-create-0001"),
        ],
        Some(json!({"email": "audited@example.com", "name": "Audited Person"})),
    )
    .await?
    .expect(201);
    assert_eq!(
        header(&created, "x-request-id"),
        "audit-req-user-create-0001"
    );
    let user_id = created.data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let group = api
        .post(
            "/admin/groups",
            json!({"name": "Auditors", "slug": "auditors"}),
        )
        .await?
        .expect(201);
    let group_id = group.data()["id"].as_str().unwrap_or_default().to_string();
    let role = api
        .post(
            "/admin/roles",
            json!({"name": "Reviewer", "slug": "reviewer"}),
        )
        .await?
        .expect(201);
    let role_id = role.data()["id"].as_str().unwrap_or_default().to_string();
    let branding = api
        .patch(
            "/admin/settings/branding",
            json!({"primary_color": "#112233"}),
        )
        .await?
        .expect(200);
    let blocked = api
        .post_empty(&format!("/admin/users/{user_id}/block"))
        .await?
        .expect(200);

    let cases = [
        (
            "user.created",
            "user",
            "info",
            "user",
            user_id.clone(),
            "audit-req-user-create-0001".to_string(),
        ),
        (
            "group.created",
            "group",
            "info",
            "group",
            group_id.clone(),
            header(&group, "x-request-id"),
        ),
        (
            "role.created",
            "role",
            "info",
            "role",
            role_id.clone(),
            header(&role, "x-request-id"),
        ),
        (
            "settings.branding.updated",
            "settings",
            "info",
            "settings",
            "branding".to_string(),
            header(&branding, "x-request-id"),
        ),
        (
            "user.blocked",
            "user",
            "warning",
            "user",
            user_id.clone(),
            header(&blocked, "x-request-id"),
        ),
    ];
    for (action, event_type, severity, target_type, target_id, request_id) in cases {
        assert!(
            !request_id.is_empty(),
            "{action}: response without X-Request-Id"
        );
        let record = only(&api, action).await?;
        assert!(
            record["id"].is_u64(),
            "{action}: id must be an integer: {record}"
        );
        assert_eq!(record["action"], action);
        assert_eq!(record["eventType"], event_type, "{action}: {record}");
        assert_eq!(record["severity"], severity, "{action}: {record}");
        assert_eq!(record["status"], "success", "{action}: {record}");
        assert_eq!(record["actorType"], "api_key", "{action}: {record}");
        assert_eq!(record["actorId"], admin_id.as_str(), "{action}: {record}");
        assert_eq!(record["actorName"], "admin", "{action}: {record}");
        assert_eq!(record["targetType"], target_type, "{action}: {record}");
        assert_eq!(record["targetId"], target_id.as_str(), "{action}: {record}");
        assert_eq!(record["ipAddress"], "127.0.0.1", "{action}: {record}");
        assert_eq!(
            record["requestId"],
            request_id.as_str(),
            "{action}: {record}"
        );
        assert!(ms(&record["createdAt"]) > 0);
    }

    let user_created = only(&api, "user.created").await?;
    assert_eq!(user_created["newValue"]["email"], "audited@example.com");
    assert_eq!(user_created["targetName"], "Audited Person");
    let group_created = only(&api, "group.created").await?;
    assert_eq!(group_created["targetName"], "Auditors");
    assert_eq!(group_created["newValue"]["slug"], "auditors");
    let branding_record = only(&api, "settings.branding.updated").await?;
    assert_eq!(branding_record["changes"]["primary_color"], "#112233");
    let blocked_record = only(&api, "user.blocked").await?;
    assert_eq!(
        blocked_record["changes"]["blocked"],
        json!({"from": false, "to": true})
    );

    // The org's own creation is recorded as done by the system.
    let org_created = only(&api, "organization.created").await?;
    assert_eq!(org_created["actorType"], "system");
    assert_eq!(org_created["actorId"], "system");

    // Records form a hash chain, oldest first.
    let mut records = all_records(&api).await?;
    records.reverse();
    assert_eq!(records[0]["prevHash"], GENESIS);
    for pair in records.windows(2) {
        assert_eq!(
            pair[1]["prevHash"], pair[0]["hash"],
            "chain link broken at {}",
            pair[1]
        );
        assert_eq!(
            pair[1]["id"].as_u64(),
            pair[0]["id"].as_u64().map(|i| i + 1)
        );
    }

    // Reads do not write audit records.
    let before = records.len();
    api.get("/admin/users").await?.expect(200);
    api.get("/admin/settings").await?.expect(200);
    api.get("/admin/audit-logs/stats").await?.expect(200);
    assert_eq!(all_records(&api).await?.len(), before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_is_newest_first_and_paginates_with_complete_meta() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let baseline = all_records(&api).await?;
    for i in 0..6 {
        api.create_user(&format!("page-{i}@example.com")).await?;
    }
    let total = baseline.len() + 6;

    let default = api.get("/admin/audit-logs").await?.expect(200);
    assert_eq!(default.body["resourceType"], "audit_logs");
    assert_eq!(default.body["meta"], default.body["pagination"]);
    assert_eq!(default.body["meta"]["total"].as_u64(), Some(total as u64));
    assert_eq!(default.body["meta"]["page"], 1);
    assert_eq!(default.body["meta"]["limit"], 25);
    assert_eq!(default.body["meta"]["totalPages"], 1);
    assert_eq!(default.body["meta"]["hasNextPage"], false);
    assert_eq!(default.body["meta"]["hasPreviousPage"], false);
    let newest = ids(default.data().as_array().expect("array"));
    assert_eq!(newest.len(), total);
    assert!(
        newest.windows(2).all(|w| w[0] > w[1]),
        "not newest first: {newest:?}"
    );
    assert_eq!(
        newest[0] as usize, total,
        "the newest record has the highest id"
    );
    assert_eq!(default.data()[0]["action"], "user.created");
    assert_eq!(default.data()[0]["targetName"], "page-5@example.com");

    let mut seen = Vec::new();
    let pages = total.div_ceil(3);
    for page in 1..=pages {
        let reply = api
            .get(&format!("/admin/audit-logs?limit=3&page={page}"))
            .await?
            .expect(200);
        let meta = &reply.body["meta"];
        assert_eq!(meta["total"].as_u64(), Some(total as u64));
        assert_eq!(meta["page"].as_u64(), Some(page as u64));
        assert_eq!(meta["limit"], 3);
        assert_eq!(meta["totalPages"].as_u64(), Some(pages as u64));
        assert_eq!(meta["hasNextPage"], page < pages);
        assert_eq!(meta["hasPreviousPage"], page > 1);
        let items = ids(reply.data().as_array().expect("array"));
        assert_eq!(
            items.len(),
            if page < pages {
                3
            } else {
                total - 3 * (pages - 1)
            }
        );
        seen.extend(items);
    }
    assert_eq!(seen, newest, "pages concatenate to the full list");

    let beyond = api
        .get(&format!("/admin/audit-logs?limit=3&page={}", pages + 1))
        .await?
        .expect(200);
    assert_eq!(beyond.data(), &json!([]));
    assert_eq!(beyond.body["meta"]["total"].as_u64(), Some(total as u64));
    assert_eq!(beyond.body["meta"]["hasNextPage"], false);
    assert_eq!(beyond.body["meta"]["hasPreviousPage"], true);

    let capped = api.get("/admin/audit-logs?limit=1000").await?.expect(200);
    assert_eq!(capped.body["meta"]["limit"], 100);
    api.get("/admin/audit-logs?limit=0")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs?page=0")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs?limit=abc")
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_filters_by_action_type_severity_actor_target_dates_and_search() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = node.api();
    let admin_id = admin_key_id(&api).await?;
    let u1 = api.create_user("filter-one@example.com").await?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let u2 = api.create_user("zebra-searchable@example.com").await?;
    tokio::time::sleep(Duration::from_millis(5)).await;
    api.post_empty(&format!("/admin/users/{u1}/block"))
        .await?
        .expect(200);
    tokio::time::sleep(Duration::from_millis(5)).await;
    api.post(
        "/admin/groups",
        json!({"name": "Filter Group", "slug": "filter-group"}),
    )
    .await?
    .expect(201);
    tokio::time::sleep(Duration::from_millis(5)).await;
    api.patch("/admin/settings/branding", json!({"theme": "dark"}))
        .await?
        .expect(200);
    let full = all_records(&api).await?;
    let expect = |pred: &dyn Fn(&Value) -> bool| -> BTreeSet<u64> {
        full.iter()
            .filter(|r| pred(r))
            .map(|r| r["id"].as_u64().unwrap_or(0))
            .collect()
    };

    let by_action = list(&api, "action=user.created").await?;
    assert_eq!(by_action.len(), 2);
    assert!(by_action.iter().all(|r| r["action"] == "user.created"));
    let targets: BTreeSet<String> = by_action
        .iter()
        .map(|r| r["targetId"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(targets, BTreeSet::from([u1.clone(), u2.clone()]));

    let by_type = list(&api, "eventType=user").await?;
    assert_eq!(id_set(&by_type), expect(&|r| r["eventType"] == "user"));
    assert_eq!(by_type.len(), 3, "two creations and a block: {by_type:?}");

    let warnings = list(&api, "severity=warning").await?;
    assert_eq!(id_set(&warnings), expect(&|r| r["severity"] == "warning"));
    assert!(warnings.iter().any(|r| r["action"] == "user.blocked"));
    assert!(warnings.iter().all(|r| r["severity"] == "warning"));

    let by_admin = list(&api, &format!("actorId={admin_id}")).await?;
    assert_eq!(
        id_set(&by_admin),
        expect(&|r| r["actorId"] == admin_id.as_str())
    );
    assert_eq!(by_admin.len(), 5);
    assert!(by_admin.iter().all(|r| r["actorType"] == "api_key"));
    let by_system = list(&api, "actorId=system").await?;
    let system_actions: BTreeSet<&str> = by_system
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert!(
        system_actions.contains("organization.created"),
        "{system_actions:?}"
    );
    assert_eq!(id_set(&by_system), expect(&|r| r["actorId"] == "system"));

    let about_u1 = list(&api, &format!("targetId={u1}")).await?;
    let actions: Vec<&str> = about_u1
        .iter()
        .filter_map(|r| r["action"].as_str())
        .collect();
    assert_eq!(actions, vec!["user.blocked", "user.created"]);
    let combined = list(&api, &format!("action=user.created&targetId={u2}")).await?;
    assert_eq!(combined.len(), 1);
    assert_eq!(combined[0]["targetId"], u2.as_str());
    assert!(list(&api, "action=no.such.action").await?.is_empty());

    // Dates: compare against the full list (timestamps are RFC 3339 with milliseconds, UTC).
    let pivot = full
        .iter()
        .find(|r| r["action"] == "user.blocked")
        .cloned()
        .expect("block record");
    let pivot_at = pivot["createdAt"].as_str().unwrap_or_default().to_string();
    let pivot_ms = ms(&pivot["createdAt"]);
    let since = list(&api, &format!("startDate={pivot_at}")).await?;
    assert_eq!(id_set(&since), expect(&|r| ms(&r["createdAt"]) >= pivot_ms));
    assert!(since.iter().any(|r| r["action"] == "group.created"));
    assert!(
        !since
            .iter()
            .any(|r| r["targetId"] == u1.as_str() && r["action"] == "user.created")
    );
    let until = list(&api, &format!("endDate={pivot_at}")).await?;
    assert_eq!(id_set(&until), expect(&|r| ms(&r["createdAt"]) <= pivot_ms));
    assert!(
        !until
            .iter()
            .any(|r| r["action"] == "settings.branding.updated")
    );
    let exactly = list(&api, &format!("startDate={pivot_at}&endDate={pivot_at}")).await?;
    assert!(id_set(&exactly).contains(&pivot["id"].as_u64().unwrap_or(0)));
    assert_eq!(
        id_set(&exactly),
        expect(&|r| ms(&r["createdAt"]) == pivot_ms)
    );
    let tomorrow = Timestamp::now().plus_millis(86_400_000).to_date();
    assert!(
        list(&api, &format!("startDate={tomorrow}"))
            .await?
            .is_empty()
    );
    assert!(list(&api, "endDate=2000-01-01").await?.is_empty());
    assert_eq!(list(&api, "startDate=2000-01-01").await?.len(), full.len());
    api.get("/admin/audit-logs?startDate=yesterday")
        .await?
        .expect_error(400, "invalid_request");

    let found = list(&api, "search=ZEBRA-searchable").await?;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["action"], "user.created");
    assert_eq!(found[0]["targetId"], u2.as_str());
    let by_word = list(&api, "search=branding").await?;
    assert_eq!(
        id_set(&by_word),
        expect(&|r| ["message", "action", "targetName", "actorName"]
            .iter()
            .any(|f| r[*f]
                .as_str()
                .is_some_and(|s| s.to_lowercase().contains("branding"))))
    );
    assert!(!by_word.is_empty());

    let ascending = list(&api, "sortDir=asc").await?;
    let asc_ids = ids(&ascending);
    assert!(asc_ids.windows(2).all(|w| w[0] < w[1]), "{asc_ids:?}");
    assert_eq!(asc_ids[0], 1);
    let mut reversed = ids(&full);
    reversed.reverse();
    assert_eq!(asc_ids, reversed);
    assert_eq!(ids(&list(&api, "sortDir=DESC").await?), ids(&full));
    let asc_page = api
        .get("/admin/audit-logs?sortDir=ASC&limit=2&page=2")
        .await?
        .expect(200);
    assert_eq!(ids(asc_page.data().as_array().expect("array")), vec![3, 4]);
    api.get("/admin/audit-logs?sortDir=sideways")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs?sortBy=colour")
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_record_is_fetched_by_its_integer_id_and_unknown_ids_are_404() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let user = api.create_user("one-record@example.com").await?;
    let full = all_records(&api).await?;
    for record in &full {
        let id = record["id"].as_u64().expect("integer id");
        let fetched = api
            .get(&format!("/admin/audit-logs/{id}"))
            .await?
            .expect(200);
        assert_eq!(
            fetched.data(),
            record,
            "detail of {id} differs from the list entry"
        );
    }
    let created = full
        .iter()
        .find(|r| r["action"] == "user.created")
        .expect("record");
    let fetched = api
        .get(&format!("/admin/audit-logs/{}", created["id"]))
        .await?
        .expect(200);
    assert_eq!(fetched.data()["targetId"], user.as_str());
    assert_eq!(fetched.data()["eventTime"], fetched.data()["createdAt"]);

    let missing = api
        .get("/admin/audit-logs/999999")
        .await?
        .expect_error(404, "resource_not_found");
    assert!(missing.text.contains("999999"), "{}", missing.text);
    api.get("/admin/audit-logs/0")
        .await?
        .expect_error(404, "resource_not_found");
    api.get("/admin/audit-logs/abc")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs/-1")
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn actions_are_the_distinct_sorted_recorded_actions() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let a = api.create_user("act-a@example.com").await?;
    api.create_user("act-b@example.com").await?;
    api.post_empty(&format!("/admin/users/{a}/block"))
        .await?
        .expect(200);
    api.post_empty(&format!("/admin/users/{a}/unblock"))
        .await?
        .expect(200);
    api.post("/admin/groups", json!({"name": "Act", "slug": "act"}))
        .await?
        .expect(201);
    api.patch("/admin/settings/auth", json!({"session_timeout": 7200}))
        .await?
        .expect(200);

    let reply = api.get("/admin/audit-logs/actions").await?.expect(200);
    let actions: Vec<String> = reply
        .data()
        .as_array()
        .expect("array")
        .iter()
        .map(|v| v.as_str().expect("string action").to_string())
        .collect();
    let expected: BTreeSet<String> = all_records(&api)
        .await?
        .iter()
        .filter_map(|r| r["action"].as_str().map(str::to_string))
        .collect();
    assert_eq!(
        actions,
        expected.iter().cloned().collect::<Vec<_>>(),
        "distinct and sorted"
    );
    for needed in [
        "api_key.created",
        "group.created",
        "organization.created",
        "settings.auth.updated",
        "user.blocked",
        "user.created",
        "user.unblocked",
    ] {
        assert!(
            actions.iter().any(|a| a == needed),
            "{needed} missing from {actions:?}"
        );
    }
    assert_eq!(actions.iter().filter(|a| *a == "user.created").count(), 1);
    assert_eq!(
        reply.body["pagination"]["total"].as_u64(),
        Some(actions.len() as u64)
    );
    assert!(
        reply.body.get("meta").is_none(),
        "actions use the {{data, pagination}} shape"
    );

    let paged = api
        .get("/admin/audit-logs/actions?limit=2&page=2")
        .await?
        .expect(200);
    assert_eq!(paged.data(), &json!(actions[2..4]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn stats_count_records_by_action_event_type_and_severity() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    for i in 0..3 {
        api.create_user(&format!("stats-{i}@example.com")).await?;
    }
    let victim = api.create_user("stats-blocked@example.com").await?;
    api.post_empty(&format!("/admin/users/{victim}/block"))
        .await?
        .expect(200);
    api.post("/admin/roles", json!({"name": "Stats", "slug": "stats"}))
        .await?
        .expect(201);
    let full = all_records(&api).await?;
    let count = |field: &str| -> BTreeMap<String, u64> {
        let mut map = BTreeMap::new();
        for r in &full {
            *map.entry(r[field].as_str().unwrap_or_default().to_string())
                .or_insert(0) += 1;
        }
        map
    };

    let stats = api.get("/admin/audit-logs/stats").await?.expect(200);
    let data = stats.data();
    assert_eq!(data["total"].as_u64(), Some(full.len() as u64));
    assert_eq!(data["byAction"], json!(count("action")));
    assert_eq!(data["byEventType"], json!(count("eventType")));
    assert_eq!(data["bySeverity"], json!(count("severity")));
    assert_eq!(data["byAction"]["user.created"], 4);
    assert_eq!(data["byAction"]["user.blocked"], 1);
    assert_eq!(data["byAction"]["role.created"], 1);
    let span = ms(&data["period"]["to"]) - ms(&data["period"]["from"]);
    assert_eq!(span, 30 * 86_400_000, "default window is 30 days");
    assert!((ms(&data["period"]["to"]) - Timestamp::now().0).abs() < 60_000);

    let week = api.get("/admin/audit-logs/stats?days=7").await?.expect(200);
    assert_eq!(week.data()["total"].as_u64(), Some(full.len() as u64));
    assert_eq!(
        ms(&week.data()["period"]["to"]) - ms(&week.data()["period"]["from"]),
        7 * 86_400_000
    );

    let tomorrow = Timestamp::now().plus_millis(86_400_000).to_date();
    let later = Timestamp::now().plus_millis(3 * 86_400_000).to_date();
    let future = api
        .get(&format!(
            "/admin/audit-logs/stats?startDate={tomorrow}&endDate={later}"
        ))
        .await?
        .expect(200);
    assert_eq!(future.data()["total"], 0);
    assert_eq!(future.data()["byAction"], json!({}));
    let past = api
        .get("/admin/audit-logs/stats?startDate=2000-01-01&endDate=2000-12-31")
        .await?
        .expect(200);
    assert_eq!(past.data()["total"], 0);
    api.get("/admin/audit-logs/stats?startDate=2030-01-01&endDate=2020-01-01")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs/stats?days=0")
        .await?
        .expect_error(400, "invalid_request");
    api.get("/admin/audit-logs/stats?days=abc")
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

const CSV_HEADER: &str = "id,createdAt,eventType,action,severity,status,message,actorType,actorId,actorName,targetType,targetId,targetName,ipAddress,userAgent,requestId,hash";

#[tokio::test]
async fn export_gives_csv_by_default_and_json_on_request() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.create_user("export-a@example.com").await?;
    api.create_user("export-b@example.com").await?;
    api.post("/admin/groups", json!({"name": "Export", "slug": "export"}))
        .await?
        .expect(201);
    let full = all_records(&api).await?;

    let csv = api.get("/admin/audit-logs/export").await?.expect(200);
    let content_type = header(&csv, "content-type");
    assert!(
        content_type.starts_with("text/csv"),
        "content type {content_type}"
    );
    let disposition = header(&csv, "content-disposition");
    assert!(
        disposition.starts_with("attachment") && disposition.contains(".csv"),
        "{disposition}"
    );
    let lines: Vec<&str> = csv.text.lines().collect();
    assert_eq!(lines[0], CSV_HEADER);
    assert_eq!(
        lines.len(),
        1 + full.len(),
        "one row per record:\n{}",
        csv.text
    );
    let row_ids: Vec<u64> = lines[1..]
        .iter()
        .map(|l| {
            l.split(',')
                .next()
                .unwrap_or("")
                .parse()
                .expect("id column")
        })
        .collect();
    assert_eq!(row_ids, ids(&full), "rows newest first, like the list");
    let group_row = lines
        .iter()
        .find(|l| l.contains(",group.created,"))
        .expect("group row");
    let group_record = full
        .iter()
        .find(|r| r["action"] == "group.created")
        .expect("record");
    assert!(group_row.starts_with(&format!("{},", group_record["id"])));
    assert!(group_row.ends_with(group_record["hash"].as_str().unwrap_or("?")));
    assert!(group_row.contains("127.0.0.1"));

    let accept_csv = raw_request(
        Method::GET,
        &api.url("/admin/audit-logs/export"),
        &[("X-API-Key", ADMIN_KEY), ("Accept", "text/csv")],
        None,
    )
    .await?
    .expect(200);
    assert!(header(&accept_csv, "content-type").starts_with("text/csv"));
    assert_eq!(accept_csv.text.lines().count(), 1 + full.len());

    let filtered = api
        .get("/admin/audit-logs/export?action=user.created")
        .await?
        .expect(200);
    let rows: Vec<&str> = filtered.text.lines().skip(1).collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r.contains(",user.created,")));

    let by_accept = raw_request(
        Method::GET,
        &api.url("/admin/audit-logs/export"),
        &[("X-API-Key", ADMIN_KEY), ("Accept", "application/json")],
        None,
    )
    .await?
    .expect(200);
    assert!(header(&by_accept, "content-type").starts_with("application/json"));
    assert_eq!(by_accept.body["data"], json!(full));
    assert_eq!(
        by_accept.body["meta"]["total"].as_u64(),
        Some(full.len() as u64)
    );
    let exported_at = ms(&by_accept.body["meta"]["exportedAt"]);
    assert!((exported_at - Timestamp::now().0).abs() < 60_000);

    let by_param = api
        .get("/admin/audit-logs/export?format=json")
        .await?
        .expect(200);
    assert_eq!(by_param.body["data"], json!(full));
    assert_eq!(
        by_param.body["meta"]["total"].as_u64(),
        Some(full.len() as u64)
    );
    let json_filtered = api
        .get("/admin/audit-logs/export?format=json&action=group.created")
        .await?
        .expect(200);
    assert_eq!(json_filtered.body["meta"]["total"], 1);
    assert_eq!(json_filtered.body["data"][0]["action"], "group.created");
    let csv_param = raw_request(
        Method::GET,
        &api.url("/admin/audit-logs/export?format=csv"),
        &[("X-API-Key", ADMIN_KEY), ("Accept", "application/json")],
        None,
    )
    .await?
    .expect(200);
    assert!(
        header(&csv_param, "content-type").starts_with("text/csv"),
        "format wins over Accept"
    );
    api.get("/admin/audit-logs/export?format=xml")
        .await?
        .expect_error(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn retention_defaults_updates_validates_and_is_audited() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let initial = api.get("/admin/audit-logs/retention").await?.expect(200);
    assert_eq!(initial.data()["retentionDays"], 90);
    assert_eq!(initial.data()["autoDelete"], true);

    let put = api
        .put("/admin/audit-logs/retention", json!({"retentionDays": 30}))
        .await?
        .expect(200);
    assert_eq!(put.data()["retentionDays"], 30);
    assert_eq!(
        put.data()["autoDelete"],
        true,
        "PUT of one field keeps the other"
    );
    assert!(put.body["message"].is_string());
    let patch = api
        .patch("/admin/audit-logs/retention", json!({"autoDelete": false}))
        .await?
        .expect(200);
    assert_eq!(patch.data()["retentionDays"], 30);
    assert_eq!(patch.data()["autoDelete"], false);
    let both = api
        .patch(
            "/admin/audit-logs/retention",
            json!({"retentionDays": 365, "autoDelete": true}),
        )
        .await?
        .expect(200);
    assert_eq!(both.data()["retentionDays"], 365);
    assert_eq!(both.data()["autoDelete"], true);
    let got = api.get("/admin/audit-logs/retention").await?.expect(200);
    assert_eq!(got.data()["retentionDays"], 365);
    assert_eq!(got.data()["autoDelete"], true);

    let records_before = all_records(&api).await?.len();
    for bad in [
        json!({"retentionDays": 0}),
        json!({"retentionDays": 99999}),
        json!({"retentionDays": -5}),
        json!({"retentionDays": "thirty"}),
        json!({"autoDelete": "yes"}),
        json!({}),
    ] {
        let refused = api.put("/admin/audit-logs/retention", bad.clone()).await?;
        let refused = refused.expect_error(422, "validation_error");
        assert!(
            refused.body["details"]
                .as_object()
                .is_some_and(|d| !d.is_empty()),
            "{bad}: {}",
            refused.text
        );
        api.patch("/admin/audit-logs/retention", bad.clone())
            .await?
            .expect_error(422, "validation_error");
    }
    let zero = api
        .patch("/admin/audit-logs/retention", json!({"retentionDays": 0}))
        .await?
        .expect_error(422, "validation_error");
    assert!(
        zero.body["details"].get("retentionDays").is_some(),
        "{}",
        zero.text
    );
    let after = api.get("/admin/audit-logs/retention").await?.expect(200);
    assert_eq!(
        after.data()["retentionDays"],
        365,
        "refused writes change nothing"
    );
    assert_eq!(after.data()["autoDelete"], true);
    assert_eq!(
        all_records(&api).await?.len(),
        records_before,
        "refused writes are not audited"
    );

    let changes = list(&api, "action=audit.retention.updated").await?;
    assert_eq!(changes.len(), 3);
    let newest = &changes[0];
    assert_eq!(
        newest["oldValue"],
        json!({"retentionDays": 30, "autoDelete": false})
    );
    assert_eq!(
        newest["newValue"],
        json!({"retentionDays": 365, "autoDelete": true})
    );
    assert_eq!(newest["actorType"], "api_key");
    assert_eq!(
        changes[2]["oldValue"],
        json!({"retentionDays": 90, "autoDelete": true})
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn verify_reports_an_intact_chain_covering_every_record() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    for i in 0..4 {
        let id = api.create_user(&format!("verify-{i}@example.com")).await?;
        api.post_empty(&format!("/admin/users/{id}/block"))
            .await?
            .expect(200);
    }
    api.patch(
        "/admin/settings/general",
        json!({"timezone": "Europe/Paris"}),
    )
    .await?
    .expect(200);
    let full = all_records(&api).await?;
    let report = api.get("/admin/audit-logs/verify").await?.expect(200);
    let data = report.data();
    assert_eq!(data["valid"], true, "{}", report.text);
    assert_eq!(data["checked"].as_u64(), Some(full.len() as u64));
    assert_eq!(data["firstId"], 1);
    assert_eq!(data["lastId"], full[0]["id"]);
    assert_eq!(data["headHash"], full[0]["hash"]);
    assert_eq!(data["brokenAt"], Value::Null);
    assert_eq!(data["reason"], Value::Null);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn retention_compaction_removes_old_records_and_keeps_the_chain_verifiable()
-> anyhow::Result<()> {
    let start = Timestamp::now();
    let clock = Arc::new(ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();
    for i in 0..3 {
        api.create_user(&format!("old-{i}@example.com")).await?;
    }
    api.put("/admin/audit-logs/retention", json!({"retentionDays": 1}))
        .await?
        .expect(200);
    let old = all_records(&api).await?;
    let old_last = old[0]["id"].as_u64().expect("id");
    assert_eq!(old_last as usize, old.len());
    assert!(
        old.iter().all(|r| ms(&r["createdAt"]) == start.0),
        "records are stamped by the clock"
    );

    // Nothing is old enough yet.
    let service = &node.node.as_ref().expect("running").service;
    assert_eq!(service.compact_audit_logs().await?, 0);
    assert_eq!(all_records(&api).await?.len(), old.len());

    clock.set(start.plus_millis(2 * 86_400_000));
    let removed = service.compact_audit_logs().await?;
    assert_eq!(removed, old.len() as u64);

    let now = all_records(&api).await?;
    assert_eq!(now.len(), 1, "only the compaction record remains: {now:?}");
    let compacted = &now[0];
    assert_eq!(compacted["action"], "audit.compacted");
    assert_eq!(compacted["id"].as_u64(), Some(old_last + 1));
    assert_eq!(compacted["actorType"], "system");
    assert_eq!(
        compacted["context"]["removed"].as_u64(),
        Some(old.len() as u64)
    );
    assert_eq!(compacted["context"]["throughId"].as_u64(), Some(old_last));
    assert_eq!(
        compacted["prevHash"], old[0]["hash"],
        "the kept chain anchors on the last removed record"
    );
    assert_eq!(ms(&compacted["createdAt"]), start.0 + 2 * 86_400_000);
    for gone in &old {
        api.get(&format!("/admin/audit-logs/{}", gone["id"]))
            .await?
            .expect_error(404, "resource_not_found");
    }
    assert!(list(&api, "action=user.created").await?.is_empty());
    let actions = api.get("/admin/audit-logs/actions").await?.expect(200);
    assert_eq!(actions.data(), &json!(["audit.compacted"]));

    let report = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(report.data()["valid"], true, "{}", report.text);
    assert_eq!(report.data()["checked"], 1);
    assert_eq!(report.data()["firstId"].as_u64(), Some(old_last + 1));

    // The chain keeps growing from there.
    api.create_user("new@example.com").await?;
    let report = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(report.data()["valid"], true, "{}", report.text);
    assert_eq!(report.data()["checked"], 2);
    assert_eq!(report.data()["lastId"].as_u64(), Some(old_last + 2));

    // A second run removes nothing new (everything left is recent).
    assert_eq!(service.compact_audit_logs().await?, 0);
    assert_eq!(all_records(&api).await?.len(), 2);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn compaction_does_nothing_when_auto_delete_is_off() -> anyhow::Result<()> {
    let start = Timestamp::now();
    let clock = Arc::new(ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();
    api.create_user("kept@example.com").await?;
    api.put(
        "/admin/audit-logs/retention",
        json!({"retentionDays": 1, "autoDelete": false}),
    )
    .await?
    .expect(200);
    let before = all_records(&api).await?;
    clock.set(start.plus_millis(5 * 86_400_000));
    let service = &node.node.as_ref().expect("running").service;
    assert_eq!(service.compact_audit_logs().await?, 0);
    let after = all_records(&api).await?;
    assert_eq!(ids(&after), ids(&before));
    assert!(!after.iter().any(|r| r["action"] == "audit.compacted"));
    let report = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(report.data()["valid"], true);
    assert_eq!(report.data()["checked"].as_u64(), Some(before.len() as u64));
    node.stop().await?;
    Ok(())
}

/// Opens the stopped node's RocksDB (retrying while the node's handle closes).
async fn open_db(path: &std::path::Path) -> anyhow::Result<lumo_storage::Db> {
    let mut last = None;
    for _ in 0..100 {
        match lumo_storage::Db::open(path) {
            Ok(db) => return Ok(db),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Err(anyhow::anyhow!(
        "RocksDB still locked 10 s after node.stop(): {last:?}"
    ))
}

/// Starts a node on an existing data dir (retrying while the previous RocksDB handle closes).
async fn restart(dir: &std::path::Path) -> anyhow::Result<lumo_node::RunningNode> {
    let mut last = None;
    for _ in 0..50 {
        let mut config = lumo_node::Config::for_tests(dir);
        config.bootstrap_org = Some(ORG.to_string());
        config.bootstrap_org_name = Some("Acme Corp".to_string());
        config.bootstrap_api_key = Some(ADMIN_KEY.to_string());
        match lumo_node::start(config).await {
            Ok(node) => return Ok(node),
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("restart failed")))
}

#[tokio::test]
async fn verify_detects_a_record_changed_on_disk() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let victim = api.create_user("tamper-target@example.com").await?;
    api.create_user("after-target@example.com").await?;
    api.post("/admin/groups", json!({"name": "Later", "slug": "later"}))
        .await?
        .expect(201);
    let before = all_records(&api).await?;
    let target = list(&api, &format!("action=user.created&targetId={victim}")).await?;
    let target_id = target[0]["id"].as_u64().expect("id");
    let original_message = target[0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(original_message.starts_with('u'), "{original_message}");
    let intact = api.get("/admin/audit-logs/verify").await?.expect(200);
    assert_eq!(intact.data()["valid"], true);
    let dir = node.stop().await?;

    // Change one character of the record's message, straight in RocksDB.
    {
        let db = open_db(&dir.path().join("db")).await?;
        let store = lumo_storage::SmStore::new(db, 1);
        let mut found: Option<(Vec<u8>, Value)> = None;
        store.scan(&[], None, false, |key, value| {
            if let Ok(json) = serde_json::from_slice::<Value>(value)
                && json.get("prev_hash").is_some()
                && json["id"].as_u64() == Some(target_id)
                && json["message"] == original_message.as_str()
            {
                found = Some((key.to_vec(), json));
                return false;
            }
            true
        })?;
        let (key, mut record) =
            found.ok_or_else(|| anyhow::anyhow!("audit record {target_id} not on disk"))?;
        let tampered = format!("U{}", &original_message[1..]);
        record["message"] = json!(tampered);
        let mut batch = store.batch();
        batch.put(&key, serde_json::to_vec(&record)?);
        store.write(batch)?;
        let mut check = None;
        store.scan(&key, None, false, |_, value| {
            check = serde_json::from_slice::<Value>(value).ok();
            false
        })?;
        assert_eq!(check.map(|v| v["message"].clone()), Some(json!(tampered)));
    }
    tokio::time::sleep(Duration::from_millis(200)).await;

    let running = restart(dir.path()).await?;
    let api = Api::new(&format!("http://{}", running.http_addr), ORG, ADMIN_KEY);
    let shown = api
        .get(&format!("/admin/audit-logs/{target_id}"))
        .await?
        .expect(200);
    assert_eq!(
        shown.data()["message"],
        format!("U{}", &original_message[1..]).as_str()
    );
    let report = api.get("/admin/audit-logs/verify").await?.expect(200);
    let data = report.data();
    assert_eq!(
        data["valid"], false,
        "tampering not detected: {}",
        report.text
    );
    assert_eq!(
        data["brokenAt"].as_u64(),
        Some(target_id),
        "{}",
        report.text
    );
    assert!(
        data["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{}",
        report.text
    );
    assert_eq!(
        data["checked"].as_u64(),
        Some(target_id),
        "verification stops at the broken record"
    );
    // The other records are untouched.
    let after = all_records(&api).await?;
    assert_eq!(ids(&after), ids(&before));
    running.shutdown().await?;
    drop(dir);
    Ok(())
}

#[tokio::test]
async fn request_metadata_comes_from_the_connection_and_sane_headers() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = raw_request(
        Method::POST,
        &api.url("/admin/users"),
        &[
            ("X-API-Key", ADMIN_KEY),
            ("X-Request-Id", "not a sane id"),
            ("X-Forwarded-For", "203.0.113.9"),
            ("User-Agent", "lumo-audit-test/1.0"),
        ],
        Some(json!({"email": "meta@example.com"})),
    )
    .await?
    .expect(201);
    let replaced = header(&created, "x-request-id");
    assert!(
        !replaced.is_empty() && replaced != "not a sane id",
        "{replaced}"
    );
    let record = only(&api, "user.created").await?;
    assert_eq!(
        record["requestId"],
        replaced.as_str(),
        "the id the response carried"
    );
    assert_eq!(
        record["ipAddress"], "127.0.0.1",
        "X-Forwarded-For is not trusted by default"
    );
    assert_eq!(record["userAgent"], "lumo-audit-test/1.0");

    // Filters on the other recorded fields.
    let by_actor_type = list(&api, "actorType=system").await?;
    assert!(!by_actor_type.is_empty());
    assert!(by_actor_type.iter().all(|r| r["actorType"] == "system"));
    let by_target_type = list(&api, "targetType=user").await?;
    assert_eq!(by_target_type.len(), 1);
    assert_eq!(by_target_type[0]["action"], "user.created");
    let by_status = list(&api, "status=success").await?;
    assert_eq!(by_status.len(), all_records(&api).await?.len());
    assert!(list(&api, "status=failure").await?.is_empty());
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn retention_accepts_the_whole_range_and_snake_case_fields() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let limit = api
        .get("/admin/audit-logs/retention")
        .await?
        .expect(200)
        .data()["planLimitDays"]
        .as_u64()
        .expect("plan limit");
    assert_eq!(limit, 3650);
    let top = api
        .put(
            "/admin/audit-logs/retention",
            json!({"retentionDays": limit}),
        )
        .await?
        .expect(200);
    assert_eq!(top.data()["retentionDays"].as_u64(), Some(limit));
    api.put(
        "/admin/audit-logs/retention",
        json!({"retentionDays": limit + 1}),
    )
    .await?
    .expect_error(422, "validation_error");
    let bottom = api
        .patch(
            "/admin/audit-logs/retention",
            json!({"retention_days": 1, "auto_delete": false}),
        )
        .await?
        .expect(200);
    assert_eq!(bottom.data()["retentionDays"], 1);
    assert_eq!(bottom.data()["autoDelete"], false);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn record_time_never_goes_back_so_date_filters_match_the_id_order() -> anyhow::Result<()> {
    // Record times come from the proposing node's clock; after a clock step back (NTP
    // correction, or a new leader whose clock is behind) the log's time still moves forward:
    // a newer record never carries an older createdAt, while eventTime keeps the proposer's
    // clock. So id order is time order and date filters agree with the list.
    let t0 = Timestamp::now();
    let clock = Arc::new(ManualClock::new(t0));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = node.api();
    clock.set(t0.plus_millis(10 * 86_400_000));
    api.create_user("late@example.com").await?;
    clock.set(t0.plus_millis(86_400_000));
    api.create_user("early@example.com").await?;
    let full = all_records(&api).await?;
    let mut by_id = full.clone();
    by_id.sort_by_key(|r| r["id"].as_u64().unwrap_or(0));
    for pair in by_id.windows(2) {
        assert!(
            ms(&pair[1]["createdAt"]) >= ms(&pair[0]["createdAt"]),
            "createdAt went back in time: {} then {}",
            pair[0],
            pair[1]
        );
    }
    let early = by_id
        .iter()
        .find(|r| r["targetName"] == "early@example.com" && r["action"] == "user.created")
        .expect("early user record");
    assert_eq!(
        ms(&early["eventTime"]),
        t0.plus_millis(86_400_000).0,
        "eventTime is the proposer's clock"
    );
    assert_eq!(
        ms(&early["createdAt"]),
        t0.plus_millis(10 * 86_400_000).0,
        "createdAt is clamped forward"
    );
    let from = t0.plus_millis(5 * 86_400_000);
    let expected: Vec<u64> = full
        .iter()
        .filter(|r| ms(&r["createdAt"]) >= from.0)
        .map(|r| r["id"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(expected.len(), 2, "both user records are after the cutoff");
    let since = list(&api, &format!("startDate={}", from.to_rfc3339())).await?;
    let to = t0.plus_millis(20 * 86_400_000);
    let stats = api
        .get(&format!(
            "/admin/audit-logs/stats?startDate={}&endDate={}",
            from.to_rfc3339(),
            to.to_rfc3339()
        ))
        .await?
        .expect(200);
    assert_eq!(
        (ids(&since), stats.data()["total"].as_u64()),
        (expected, Some(2))
    );
    node.stop().await?;
    Ok(())
}
