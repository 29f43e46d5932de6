//! Durability of the real `lumod` binary: every acknowledged write survives `kill -9` (right after
//! the last acknowledgement, and in the middle of a write load), the audit hash chain still
//! verifies after recovery, and SIGTERM shuts down cleanly.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lumo_tests::http::raw_request;
use lumo_tests::process::LumodProcess;
use lumo_tests::{Api, Reply};
use reqwest::Method;
use serde_json::{Value, json};

const KEY: &str = "lmk_durability_suite_admin_key_0123456789";
const TOKEN: &str = "durability-suite-cluster-token-0123";
const ORG: &str = "acme-corp";
/// Bound of one request (the server answers in milliseconds; this only stops a hung test).
const REQUEST_LIMIT: Duration = Duration::from_secs(60);

fn start(dir: &Path) -> anyhow::Result<LumodProcess> {
    LumodProcess::start(
        dir,
        &[
            ("LUMO_BOOTSTRAP_ORG", ORG),
            ("LUMO_BOOTSTRAP_API_KEY", KEY),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )
}

fn api(process: &LumodProcess) -> Api {
    Api::new(&process.http, ORG, KEY)
}

/// Runs `f` on every input with at most `limit` at once; results in input order.
async fn concurrently<I, T, F, Fut>(inputs: Vec<I>, limit: usize, f: F) -> anyhow::Result<Vec<T>>
where
    F: Fn(I) -> Fut,
    Fut: Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let permits = Arc::new(tokio::sync::Semaphore::new(limit));
    let mut handles = Vec::with_capacity(inputs.len());
    for input in inputs {
        let permit = permits.clone().acquire_owned().await?;
        let fut = f(input);
        handles.push(tokio::spawn(async move {
            let out = tokio::time::timeout(REQUEST_LIMIT, fut).await;
            drop(permit);
            out
        }));
    }
    let mut results = Vec::with_capacity(handles.len());
    for handle in handles {
        results.push(
            handle
                .await?
                .map_err(|_| anyhow::anyhow!("a request took over {REQUEST_LIMIT:?}"))??,
        );
    }
    Ok(results)
}

#[track_caller]
fn expect(reply: Reply, status: u16, what: &str) -> Reply {
    assert_eq!(reply.status, status, "{what}: {}", reply.text);
    reply
}

/// `GET .../audit-logs/verify`: asserts a valid chain of at least `min_checked` records.
async fn assert_audit_chain(api: &Api, min_checked: u64) -> anyhow::Result<u64> {
    let reply = expect(api.get("/admin/audit-logs/verify").await?, 200, "verify");
    let data = reply.data();
    assert_eq!(
        data["valid"], true,
        "audit chain valid after recovery: {}",
        reply.text
    );
    assert!(data["brokenAt"].is_null(), "no broken link: {}", reply.text);
    let checked = data["checked"]
        .as_u64()
        .unwrap_or_else(|| panic!("checked: {}", reply.text));
    assert!(
        checked >= min_checked,
        "chain covers every acknowledged write: checked {checked} < {min_checked}"
    );
    Ok(checked)
}

/// The model of everything phase one acknowledged.
#[derive(Default)]
struct Expected {
    /// Last user body the server acknowledged, per user id.
    users: BTreeMap<String, Value>,
    deleted: BTreeSet<String>,
    /// Group id -> (acknowledged body, member ids, role ids).
    groups: BTreeMap<String, (Value, BTreeSet<String>, BTreeSet<String>)>,
    roles: BTreeMap<String, Value>,
    writes: u64,
}

async fn create_users(api: &Api, prefix: &str, count: usize) -> anyhow::Result<Vec<Value>> {
    let inputs: Vec<usize> = (0..count).collect();
    let prefix = prefix.to_string();
    concurrently(inputs, 16, |i| {
        let api = api.clone();
        let prefix = prefix.clone();
        async move {
            let body = json!({
                "email": format!("{prefix}{i}@durable.example"),
                "givenName": format!("Given{i}"),
                "familyName": format!("Family{i}"),
                "phoneNumber": format!("+1555{i:07}"),
                "locale": "en-US",
            });
            let reply = api.post("/admin/users", body).await?;
            anyhow::ensure!(
                reply.status == 201,
                "create user {i}: {} {}",
                reply.status,
                reply.text
            );
            Ok(reply.data().clone())
        }
    })
    .await
}

/// Phase one: many records of several kinds; the process is killed right after the last ack.
async fn write_phase_one(api: &Api) -> anyhow::Result<Expected> {
    let mut expected = Expected::default();
    let users = create_users(api, "user", 200).await?;
    expected.writes += users.len() as u64;
    let ids: Vec<String> = users
        .iter()
        .map(|u| u["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for user in &users {
        assert_eq!(user["locale"], "en-US", "detail view: {user}");
        expected.users.insert(
            user["id"].as_str().unwrap_or_default().to_string(),
            user.clone(),
        );
    }
    assert_eq!(expected.users.len(), 200, "200 distinct user ids");

    // Groups and roles.
    let named = |kind: &'static str| {
        let api = api.clone();
        move |i: usize| {
            let api = api.clone();
            async move {
                let body = json!({"name": format!("Durable {kind} {i}"), "description": format!("{kind} number {i}")});
                let reply = api.post(&format!("/admin/{kind}s"), body).await?;
                anyhow::ensure!(
                    reply.status == 201,
                    "create {kind} {i}: {} {}",
                    reply.status,
                    reply.text
                );
                Ok(reply.data().clone())
            }
        }
    };
    let groups = concurrently((0..6).collect(), 6, named("group")).await?;
    let roles = concurrently((0..6).collect(), 6, named("role")).await?;
    expected.writes += 12;
    let group_ids: Vec<String> = groups
        .iter()
        .map(|g| g["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let role_ids: Vec<String> = roles
        .iter()
        .map(|r| r["id"].as_str().unwrap_or_default().to_string())
        .collect();
    for role in &roles {
        expected.roles.insert(
            role["id"].as_str().unwrap_or_default().to_string(),
            role.clone(),
        );
    }
    for group in &groups {
        let id = group["id"].as_str().unwrap_or_default().to_string();
        expected
            .groups
            .insert(id, (group.clone(), BTreeSet::new(), BTreeSet::new()));
    }

    // A role per group.
    for (g, group) in group_ids.iter().enumerate() {
        let role = &role_ids[g];
        expect(
            api.post(
                &format!("/admin/groups/{group}/roles"),
                json!({"roleId": role}),
            )
            .await?,
            200,
            "group role",
        );
        if let Some(entry) = expected.groups.get_mut(group) {
            entry.2.insert(role.clone());
        }
        expected.writes += 1;
    }

    // Role assignments: users 0..60 get one role, users 0..30 a second one.
    let assignments: Vec<(usize, Vec<String>)> = (0..60)
        .map(|i| {
            let mut rs = vec![role_ids[i % 6].clone()];
            if i < 30 {
                rs.push(role_ids[(i + 1) % 6].clone());
            }
            (i, rs)
        })
        .collect();
    expected.writes += assignments
        .iter()
        .map(|(_, rs)| rs.len() as u64)
        .sum::<u64>();
    let assigned = concurrently(assignments, 16, |(i, rs)| {
        let api = api.clone();
        let id = ids[i].clone();
        async move {
            let mut last = Value::Null;
            for role in rs {
                let reply = api
                    .post(&format!("/admin/users/{id}/roles"), json!({"roleId": role}))
                    .await?;
                anyhow::ensure!(
                    reply.status == 200,
                    "assign role: {} {}",
                    reply.status,
                    reply.text
                );
                last = reply.data().clone();
            }
            Ok((id, last))
        }
    })
    .await?;
    for (id, user) in assigned {
        expected.users.insert(id, user);
    }

    // Group memberships: users 50..110.
    let memberships: Vec<usize> = (50..110).collect();
    expected.writes += memberships.len() as u64;
    let joined = concurrently(memberships, 16, |i| {
        let api = api.clone();
        let id = ids[i].clone();
        let group = group_ids[i % 6].clone();
        async move {
            let reply = api
                .post(
                    &format!("/admin/users/{id}/groups"),
                    json!({"groupId": group}),
                )
                .await?;
            anyhow::ensure!(
                reply.status == 200,
                "join group: {} {}",
                reply.status,
                reply.text
            );
            Ok((id, group, reply.data().clone()))
        }
    })
    .await?;
    for (id, group, user) in joined {
        if let Some(entry) = expected.groups.get_mut(&group) {
            entry.1.insert(id.clone());
        }
        expected.users.insert(id, user);
    }

    // Profile updates (100..130), blocks (130..140), deletes (190..200).
    let updates: Vec<usize> = (100..130).collect();
    expected.writes += updates.len() as u64;
    let updated = concurrently(updates, 16, |i| {
        let api = api.clone();
        let id = ids[i].clone();
        async move {
            let reply = api
                .patch(
                    &format!("/admin/users/{id}"),
                    json!({"name": format!("Renamed {i}"), "locale": "fr-FR"}),
                )
                .await?;
            anyhow::ensure!(
                reply.status == 200,
                "update: {} {}",
                reply.status,
                reply.text
            );
            Ok((id, reply.data().clone()))
        }
    })
    .await?;
    for (id, user) in updated {
        assert_eq!(user["locale"], "fr-FR");
        expected.users.insert(id, user);
    }
    let blocks: Vec<usize> = (130..140).collect();
    expected.writes += blocks.len() as u64;
    let blocked = concurrently(blocks, 16, |i| {
        let api = api.clone();
        let id = ids[i].clone();
        async move {
            let reply = api.post_empty(&format!("/admin/users/{id}/block")).await?;
            anyhow::ensure!(
                reply.status == 200,
                "block: {} {}",
                reply.status,
                reply.text
            );
            Ok((id, reply.data().clone()))
        }
    })
    .await?;
    for (id, user) in blocked {
        assert_eq!(user["blocked"], true);
        expected.users.insert(id, user);
    }
    let deletes: Vec<usize> = (190..200).collect();
    expected.writes += deletes.len() as u64;
    let deleted = concurrently(deletes, 16, |i| {
        let api = api.clone();
        let id = ids[i].clone();
        async move {
            let reply = api.delete(&format!("/admin/users/{id}")).await?;
            anyhow::ensure!(
                reply.status == 200,
                "delete: {} {}",
                reply.status,
                reply.text
            );
            Ok(id)
        }
    })
    .await?;
    for id in deleted {
        expected.users.remove(&id);
        expected.deleted.insert(id);
    }

    // Settings and tenant profile.
    let branding = api
        .patch(
            "/admin/settings/branding",
            json!({"primary_color": "#123456", "button_text": "Enter"}),
        )
        .await?;
    expect(branding, 200, "branding");
    let auth = api
        .patch("/admin/settings/auth", json!({"session_timeout": 3600}))
        .await?;
    expect(auth, 200, "auth settings");
    let tenant = api
        .patch("/admin/tenant", json!({"name": "Acme Durable"}))
        .await?;
    expect(tenant, 200, "tenant");
    expected.writes += 3;

    // The very last acknowledged write: the caller kills the process right after it.
    let last = expect(
        api.post("/admin/users", json!({"email": "last@durable.example"}))
            .await?,
        201,
        "last",
    );
    expected.writes += 1;
    expected.users.insert(
        last.data()["id"].as_str().unwrap_or_default().to_string(),
        last.data().clone(),
    );
    Ok(expected)
}

/// Checks every record of phase one against the recovered node.
async fn verify_phase_one(api: &Api, expected: &Expected) -> anyhow::Result<()> {
    let users: Vec<(String, Value)> = expected
        .users
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mismatches = concurrently(users, 16, |(id, want)| {
        let api = api.clone();
        async move {
            let reply = api.get(&format!("/admin/users/{id}")).await?;
            if reply.status != 200 {
                return Ok(Some(format!("user {id}: {} {}", reply.status, reply.text)));
            }
            let got = reply.data().clone();
            Ok((got != want)
                .then(|| format!("user {id}\n  acknowledged: {want}\n  recovered:    {got}")))
        }
    })
    .await?;
    let mismatches: Vec<String> = mismatches.into_iter().flatten().collect();
    assert!(
        mismatches.is_empty(),
        "{} users differ after recovery:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );

    for id in &expected.deleted {
        let reply = api.get(&format!("/admin/users/{id}")).await?;
        assert_eq!(
            reply.status, 404,
            "deleted user {id} stays deleted: {}",
            reply.text
        );
    }
    let list = expect(api.get("/admin/users?limit=1").await?, 200, "list");
    assert_eq!(
        list.body["pagination"]["total"],
        expected.users.len(),
        "user count: {}",
        list.text
    );

    for (id, (want, members, roles)) in &expected.groups {
        let reply = expect(api.get(&format!("/admin/groups/{id}")).await?, 200, "group");
        let got = reply.data();
        for field in ["id", "name", "slug", "description", "createdAt"] {
            assert_eq!(
                got[field], want[field],
                "group {id} field {field}: {}",
                reply.text
            );
        }
        assert_eq!(
            got["memberCount"],
            members.len(),
            "group {id} members: {}",
            reply.text
        );
        assert_eq!(
            got["roleCount"],
            roles.len(),
            "group {id} roles: {}",
            reply.text
        );
        let listed = expect(
            api.get(&format!("/admin/groups/{id}/members?limit=100"))
                .await?,
            200,
            "members",
        );
        let member_ids: BTreeSet<String> = listed
            .data()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(&member_ids, members, "group {id} member ids");
        let listed = expect(
            api.get(&format!("/admin/groups/{id}/roles")).await?,
            200,
            "group roles",
        );
        let role_ids: BTreeSet<String> = listed
            .data()
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|m| m["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(&role_ids, roles, "group {id} role ids");
    }
    for (id, want) in &expected.roles {
        let reply = expect(api.get(&format!("/admin/roles/{id}")).await?, 200, "role");
        for field in ["id", "name", "slug", "description", "createdAt"] {
            assert_eq!(
                reply.data()[field],
                want[field],
                "role {id} field {field}: {}",
                reply.text
            );
        }
    }

    let branding = expect(api.get("/admin/settings/branding").await?, 200, "branding");
    assert_eq!(
        branding.data()["primary_color"],
        "#123456",
        "{}",
        branding.text
    );
    assert_eq!(branding.data()["button_text"], "Enter", "{}", branding.text);
    let auth = expect(api.get("/admin/settings/auth").await?, 200, "auth");
    assert_eq!(auth.data()["session_timeout"], 3600, "{}", auth.text);
    let tenant = expect(api.get("/admin/tenant").await?, 200, "tenant");
    assert!(
        tenant.text.contains("Acme Durable"),
        "tenant name: {}",
        tenant.text
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_record_survives_kill9_and_the_audit_chain_verifies()
-> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = start(dir.path())?;
    // A second org through the cluster admin API (meta group + shard writes), with one user.
    let created = raw_request(
        Method::POST,
        &format!("{}/cluster/v1/orgs", process.admin),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        Some(json!({"slug": "durable-two", "name": "Durable Two"})),
    )
    .await?;
    let created = expect(created, 201, "create org");
    let second_key = created.data()["apiKey"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let second = Api::new(&process.http, "durable-two", &second_key);
    let second_user = second.create_user("other-org@durable.example").await?;
    let expected = write_phase_one(&api(&process)).await?;
    // Right after the last acknowledged response.
    process.kill9()?;

    let process = start(dir.path())?;
    let api = api(&process);
    verify_phase_one(&api, &expected).await?;
    let orgs = raw_request(
        Method::GET,
        &format!("{}/cluster/v1/orgs", process.admin),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await?;
    let orgs = expect(orgs, 200, "list orgs");
    let slugs: BTreeSet<&str> = orgs
        .data()
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["slug"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(slugs, BTreeSet::from([ORG, "durable-two"]), "{}", orgs.text);
    let second = Api::new(&process.http, "durable-two", &second_key);
    let user = expect(
        second.get(&format!("/admin/users/{second_user}")).await?,
        200,
        "second org user",
    );
    assert_eq!(user.data()["email"], "other-org@durable.example");
    let other_list = expect(second.get("/admin/users").await?, 200, "second org users");
    assert_eq!(
        other_list.body["pagination"]["total"], 1,
        "{}",
        other_list.text
    );
    assert_audit_chain(&second, 2).await?;
    let checked = assert_audit_chain(&api, expected.writes).await?;

    // The chain keeps growing correctly after recovery.
    api.create_user("after-recovery@durable.example").await?;
    let again = assert_audit_chain(&api, checked + 1).await?;
    assert!(
        again > checked,
        "the new write extends the chain ({again} > {checked})"
    );
    process.terminate()?;
    Ok(())
}

/// What the background writers saw.
#[derive(Default)]
struct Load {
    /// Acknowledged creates: id -> email.
    created: BTreeMap<String, String>,
    /// Per user: names sent, in order, and the index of the last acknowledged one.
    names: BTreeMap<String, (Vec<String>, Option<usize>)>,
    acked_writes: u64,
    /// Statuses other than success seen while the node was up.
    unexpected: Vec<String>,
    /// Writers that stopped because the node went away (not because of their limits).
    cut_off: usize,
}

/// One writer: create a user, rename it, repeat; stops at the first transport error.
async fn writer(api: Api, w: usize, load: Arc<Mutex<Load>>, deadline: Instant) {
    let client_limit = Duration::from_secs(20);
    for n in 0..100_000usize {
        if Instant::now() >= deadline {
            return;
        }
        let email = format!("load{w}-{n}@durable.example");
        let created = tokio::time::timeout(
            client_limit,
            api.post("/admin/users", json!({"email": email, "name": "v0"})),
        )
        .await;
        let reply = match created {
            Ok(Ok(reply)) => reply,
            Ok(Err(_)) | Err(_) => {
                load.lock().expect("load").cut_off += 1;
                return;
            }
        };
        if reply.status != 201 {
            load.lock()
                .expect("load")
                .unexpected
                .push(format!("create: {} {}", reply.status, reply.text));
            return;
        }
        let id = reply.data()["id"].as_str().unwrap_or_default().to_string();
        {
            let mut l = load.lock().expect("load");
            l.created.insert(id.clone(), email);
            l.names.insert(id.clone(), (vec!["v0".into()], Some(0)));
            l.acked_writes += 1;
        }
        for v in 1..=2usize {
            let name = format!("v{v}");
            load.lock()
                .expect("load")
                .names
                .entry(id.clone())
                .or_default()
                .0
                .push(name.clone());
            let updated = tokio::time::timeout(
                client_limit,
                api.patch(&format!("/admin/users/{id}"), json!({"name": name})),
            )
            .await;
            match updated {
                Ok(Ok(reply)) if reply.status == 200 => {
                    let mut l = load.lock().expect("load");
                    l.acked_writes += 1;
                    if let Some(entry) = l.names.get_mut(&id) {
                        entry.1 = Some(v);
                    }
                }
                Ok(Ok(reply)) => {
                    load.lock()
                        .expect("load")
                        .unexpected
                        .push(format!("update: {} {}", reply.status, reply.text));
                    return;
                }
                Ok(Err(_)) | Err(_) => {
                    load.lock().expect("load").cut_off += 1;
                    return;
                }
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn kill9_during_a_write_load_loses_no_acknowledged_write() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // First life: some records, then kill -9 right after the last ack.
    let process = start(dir.path())?;
    let first = create_users(&api(&process), "early", 40).await?;
    process.kill9()?;

    // Second life: a continuous write load, killed in the middle.
    let process = start(dir.path())?;
    let load = Arc::new(Mutex::new(Load::default()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let writers: Vec<_> = (0..6)
        .map(|w| tokio::spawn(writer(api(&process), w, load.clone(), deadline)))
        .collect();
    // Let the load run until enough writes were acknowledged (bounded).
    let until = Instant::now() + Duration::from_secs(30);
    while Instant::now() < until && load.lock().expect("load").acked_writes < 300 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let acked_before_kill = load.lock().expect("load").acked_writes;
    process.kill9()?;
    for handle in writers {
        tokio::time::timeout(Duration::from_secs(60), handle).await??;
    }
    let load = Arc::try_unwrap(load)
        .map_err(|_| anyhow::anyhow!("writers still hold the load"))?
        .into_inner()
        .expect("load");
    assert!(
        load.unexpected.is_empty(),
        "writes failed while the node was up: {:?}",
        load.unexpected
    );
    assert!(
        acked_before_kill >= 50,
        "the load ran before the kill ({acked_before_kill} acknowledged writes)"
    );
    assert_eq!(
        load.cut_off, 6,
        "every writer was still writing when the node was killed"
    );

    // Third life: every acknowledged write of both lives is there.
    let process = start(dir.path())?;
    let api = api(&process);
    for user in &first {
        let id = user["id"].as_str().unwrap_or_default();
        let reply = expect(
            api.get(&format!("/admin/users/{id}")).await?,
            200,
            "early user",
        );
        assert_eq!(reply.data(), user, "early user {id} unchanged");
    }
    let users: Vec<(String, String, Vec<String>, usize)> = load
        .created
        .iter()
        .map(|(id, email)| {
            let (sent, acked) = load.names.get(id).cloned().unwrap_or_default();
            (id.clone(), email.clone(), sent, acked.unwrap_or(0))
        })
        .collect();
    let problems = concurrently(users, 16, |(id, email, sent, acked)| {
        let api = api.clone();
        async move {
            let reply = api.get(&format!("/admin/users/{id}")).await?;
            if reply.status != 200 {
                return Ok(Some(format!(
                    "acknowledged user {id} ({email}) lost: {} {}",
                    reply.status, reply.text
                )));
            }
            let data = reply.data();
            if data["email"] != email.as_str() {
                return Ok(Some(format!(
                    "user {id}: email {} != {email}",
                    data["email"]
                )));
            }
            // The name is the last acknowledged value, or one sent after it whose answer was lost.
            let name = data["name"].as_str().unwrap_or_default().to_string();
            let allowed = &sent[acked..];
            Ok((!allowed.contains(&name)).then(|| {
                format!(
                    "user {id}: name {name:?}, last acknowledged {:?}, allowed {allowed:?}",
                    sent[acked]
                )
            }))
        }
    })
    .await?;
    let problems: Vec<String> = problems.into_iter().flatten().collect();
    assert!(
        problems.is_empty(),
        "{} acknowledged writes lost:\n{}",
        problems.len(),
        problems.join("\n")
    );
    let list = expect(api.get("/admin/users?limit=1").await?, 200, "list");
    let total = list.body["pagination"]["total"]
        .as_u64()
        .unwrap_or_default();
    assert!(
        total >= (first.len() + load.created.len()) as u64,
        "total {total} covers every acknowledged create ({} + {})",
        first.len(),
        load.created.len()
    );
    // Attempted creates are at most one per writer beyond the acknowledged ones.
    assert!(
        total <= (first.len() + load.created.len() + 6) as u64,
        "total {total}: no phantom users"
    );
    assert_audit_chain(&api, first.len() as u64 + load.acked_writes).await?;
    process.terminate()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_exits_successfully_and_the_node_restarts_with_its_data() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Many lives on one data dir: each checks what the earlier ones wrote, writes one user, and
    // is stopped with SIGTERM, which must end the process with exit status 0 every time.
    const LIVES: usize = 25;
    let mut written: Vec<(String, String)> = Vec::new();
    let mut bad_exits = Vec::new();
    for life in 0..LIVES {
        let process = start(dir.path())?;
        let ready =
            raw_request(Method::GET, &format!("{}/readyz", process.http), &[], None).await?;
        assert_eq!(ready.status, 200, "life {life}: {}", ready.text);
        assert_eq!(ready.body["status"], "ready", "life {life}: {}", ready.text);
        let api = api(&process);
        for (id, email) in &written {
            let user = expect(
                api.get(&format!("/admin/users/{id}")).await?,
                200,
                "user of an earlier life",
            );
            assert_eq!(user.data()["email"], email.as_str(), "life {life}");
        }
        let list = expect(api.get("/admin/users?limit=1").await?, 200, "list");
        assert_eq!(
            list.body["pagination"]["total"],
            written.len(),
            "life {life}: {}",
            list.text
        );
        let email = format!("life{life}@durable.example");
        let id = api.create_user(&email).await?;
        written.push((id, email));
        // Bootstrap record + one user per life so far.
        assert_audit_chain(&api, 1 + written.len() as u64).await?;
        let status = process.terminate()?;
        if !status.success() {
            bad_exits.push(format!("life {life}: {status}"));
        }
    }
    // A last life sees every user.
    let process = start(dir.path())?;
    let list = expect(
        api(&process).get("/admin/users?limit=100").await?,
        200,
        "list",
    );
    let emails: BTreeSet<String> = list
        .data()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["email"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let want: BTreeSet<String> = written.iter().map(|(_, e)| e.clone()).collect();
    assert_eq!(emails, want);
    let _ = process.terminate()?;
    assert!(
        bad_exits.is_empty(),
        "SIGTERM must exit with status 0; {} of {LIVES} shutdowns did not: {bad_exits:?}",
        bad_exits.len()
    );
    Ok(())
}

#[tokio::test]
async fn shutdown_releases_the_data_dir_so_an_immediate_restart_succeeds() -> anyhow::Result<()> {
    // `RunningNode::shutdown` says it stops Raft and flushes storage; once it returned, the same
    // process must be able to open the data dir again (tests and embedders restart this way).
    let node = lumo_tests::TestNode::start().await?;
    let id = node.api().create_user("in-process@durable.example").await?;
    let dir = node.stop().await?;
    for round in 0..5 {
        let running = lumo_node::start(lumo_tests::test_config(&dir))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "round {round}: start right after shutdown() returned failed: {e:#}"
                )
            })?;
        let api = Api::new(
            &format!("http://{}", running.http_addr),
            ORG,
            lumo_tests::ADMIN_KEY,
        );
        let user = expect(
            api.get(&format!("/admin/users/{id}")).await?,
            200,
            "user after in-process restart",
        );
        assert_eq!(user.data()["email"], "in-process@durable.example");
        running.shutdown().await?;
    }
    Ok(())
}
