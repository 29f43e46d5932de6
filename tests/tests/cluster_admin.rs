//! The cluster admin API (`/cluster/v1/...` on its own listener, cluster token) and the `lumod`
//! CLI: `org create`, `validate-config`, `serve --help`.

use std::process::{Command, Output};
use std::time::Duration;

use lumo_tests::http::{Reply, raw_request};
use lumo_tests::process::{LumodProcess, lumod_bin};
use lumo_tests::{Api, TestNode};
use reqwest::Method;
use serde_json::{Value, json};

const TOKEN: &str = "cluster-admin-token-for-tests-0123";
const BOOT_KEY: &str = "lmk_cluster_admin_suite_key_0123456789";

#[track_caller]
fn assert_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status, status, "status; body: {}", reply.text);
    assert_eq!(
        reply.body["error"], code,
        "error code; body: {}",
        reply.text
    );
    assert_eq!(
        reply.body["status"], status,
        "status field; body: {}",
        reply.text
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message; body: {}",
        reply.text
    );
}

async fn admin(
    node: &TestNode,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let bearer = format!("Bearer {}", node.cluster_token());
    raw_request(
        method,
        &format!("{}{path}", node.admin),
        &[("Authorization", bearer.as_str())],
        body,
    )
    .await
}

async fn org_slugs(node: &TestNode) -> anyhow::Result<Vec<String>> {
    let list = admin(node, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    let orgs = list
        .data()
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("data is a list: {}", list.text));
    Ok(orgs
        .iter()
        .map(|o| o["slug"].as_str().unwrap_or_default().to_string())
        .collect())
}

/// Runs `lumod` with `args`, without inheriting any `LUMO_*` setting from the environment.
fn lumod(args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Output> {
    let bin = lumod_bin();
    anyhow::ensure!(
        bin.exists(),
        "{} not built; run `cargo build --bins` first",
        bin.display()
    );
    let mut command = Command::new(bin);
    command.args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("LUMO_") {
            command.env_remove(name);
        }
    }
    command.env("RUST_BACKTRACE", "0");
    for (k, v) in env {
        command.env(k, v);
    }
    Ok(command.output()?)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn cluster_api_requires_the_bearer_cluster_token() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let url = format!("{}/cluster/v1/orgs", node.admin);
    let body = json!({"slug": "no-token-org", "name": "No Token"});
    let token = node.cluster_token();
    let wrong = format!("Bearer {token}x");
    let bare = token.clone();
    let basic = format!("Basic {token}");
    let lower = format!("bearer-{token}");
    let short = format!("Bearer {}", &token[..token.len() - 1]);
    let cases: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("missing", vec![]),
        ("wrong", vec![("Authorization", wrong.as_str())]),
        (
            "prefix of the token",
            vec![("Authorization", short.as_str())],
        ),
        ("no scheme", vec![("Authorization", bare.as_str())]),
        ("basic scheme", vec![("Authorization", basic.as_str())]),
        ("mangled scheme", vec![("Authorization", lower.as_str())]),
        ("empty bearer", vec![("Authorization", "Bearer ")]),
        ("org api key", vec![("X-API-Key", lumo_tests::ADMIN_KEY)]),
    ];
    for (what, headers) in &cases {
        let post = raw_request(Method::POST, &url, headers, Some(body.clone())).await?;
        assert_error(&post, 401, "invalid_token");
        let list = raw_request(Method::GET, &url, headers, None).await?;
        assert_error(&list, 401, "invalid_token");
        let status = raw_request(
            Method::GET,
            &format!("{}/cluster/v1/status", node.admin),
            headers,
            None,
        )
        .await?;
        assert_error(&status, 401, "invalid_token");
        assert!(
            post.headers.contains_key("www-authenticate"),
            "{what}: 401 names the scheme"
        );
    }
    // None of the refused calls created anything.
    assert_eq!(org_slugs(&node).await?, vec!["acme-corp".to_string()]);
    // The cluster API is not on the public listener.
    let public = raw_request(
        Method::GET,
        &format!("{}/cluster/v1/orgs", node.http),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .await?;
    assert_error(&public, 404, "not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn creating_an_org_returns_201_and_an_admin_key_that_works() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let created = admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "globex", "name": "Globex Corporation"})),
    )
    .await?
    .expect(201);
    let data = created.data();
    assert_eq!(data["slug"], "globex", "body: {}", created.text);
    assert_eq!(data["name"], "Globex Corporation", "body: {}", created.text);
    assert_eq!(data["state"], "active", "body: {}", created.text);
    assert!(
        data["region"].is_null(),
        "no region asked: {}",
        created.text
    );
    assert!(
        data["id"].as_str().is_some_and(|s| !s.is_empty()),
        "id: {}",
        created.text
    );
    let key = data["apiKey"]
        .as_str()
        .unwrap_or_else(|| panic!("apiKey: {}", created.text))
        .to_string();
    assert!(
        key.starts_with("lmk_") && key.len() >= 24,
        "key shape: {key}"
    );

    let globex = Api::new(&node.http, "globex", &key);
    let users = globex.get("/admin/users").await?.expect(200);
    assert_eq!(
        users.data().as_array().map(Vec::len),
        Some(0),
        "a new org has no users: {}",
        users.text
    );
    let id = globex.create_user("first@globex.example").await?;
    let fetched = globex.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["email"], "first@globex.example");
    let listed = globex.get("/admin/users").await?.expect(200);
    assert_eq!(
        listed.data().as_array().map(Vec::len),
        Some(1),
        "body: {}",
        listed.text
    );
    // The admin key has the full admin scope: it can mint API keys.
    globex
        .post(
            "/admin/api-keys",
            json!({"name": "ci", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);

    // The key is scoped to its org: the bootstrap org refuses it, and its user is not there.
    let cross = globex.with_org("acme-corp").get("/admin/users").await?;
    assert!(
        matches!(cross.status, 401 | 403),
        "cross-org key refused: {} {}",
        cross.status,
        cross.text
    );
    let acme_users = node.api().get("/admin/users").await?.expect(200);
    assert!(
        !acme_users.text.contains("first@globex.example"),
        "org isolation: {}",
        acme_users.text
    );

    // The listing shows both orgs, with the created org's fields.
    let list = admin(&node, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    let orgs = list.data().as_array().cloned().unwrap_or_default();
    assert_eq!(orgs.len(), 2, "body: {}", list.text);
    let globex_entry = orgs
        .iter()
        .find(|o| o["slug"] == "globex")
        .unwrap_or_else(|| panic!("globex listed: {}", list.text));
    assert_eq!(globex_entry["id"], data["id"]);
    assert_eq!(globex_entry["name"], "Globex Corporation");
    assert_eq!(globex_entry["state"], "active");
    assert!(
        globex_entry.get("apiKey").is_none(),
        "the list never shows keys: {}",
        list.text
    );
    assert!(!list.text.contains(&key), "the list never shows keys");
    let acme = orgs
        .iter()
        .find(|o| o["slug"] == "acme-corp")
        .unwrap_or_else(|| panic!("acme listed: {}", list.text));
    assert_eq!(acme["name"], "Acme Corp");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn duplicate_slugs_are_refused_with_409() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "initech", "name": "Initech"})),
    )
    .await?
    .expect(201);
    let again = admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "initech", "name": "Other"})),
    )
    .await?;
    assert_error(&again, 409, "duplicate_resource");
    let bootstrap = admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "acme-corp"})),
    )
    .await?;
    assert_error(&bootstrap, 409, "duplicate_resource");
    let mut slugs = org_slugs(&node).await?;
    slugs.sort();
    assert_eq!(slugs, vec!["acme-corp".to_string(), "initech".to_string()]);
    let list = admin(&node, Method::GET, "/cluster/v1/orgs", None)
        .await?
        .expect(200);
    let initech = list
        .data()
        .as_array()
        .and_then(|o| o.iter().find(|o| o["slug"] == "initech").cloned());
    assert_eq!(
        initech.map(|o| o["name"].clone()),
        Some(json!("Initech")),
        "the first create wins"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn invalid_slugs_are_refused_with_422() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let long = "a".repeat(64);
    let bad: Vec<Value> = vec![
        json!({"slug": "Uppercase"}),
        json!({"slug": "ACME"}),
        json!({"slug": "a"}),
        json!({"slug": ""}),
        json!({"slug": "has space"}),
        json!({"slug": "in ner"}),
        json!({"slug": "-leading-dash"}),
        json!({"slug": "trailing-dash-"}),
        json!({"slug": "under_score"}),
        json!({"slug": "dot.ted"}),
        json!({"slug": long}),
        json!({"slug": 42}),
        json!({"name": "No Slug"}),
    ];
    for body in bad {
        let reply = admin(&node, Method::POST, "/cluster/v1/orgs", Some(body.clone())).await?;
        assert_error(&reply, 422, "validation_error");
        assert!(
            reply.body["details"]["slug"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "details name the slug for {body}: {}",
            reply.text
        );
    }
    // Two characters and 63 characters are the bounds that are accepted.
    admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "ab"})),
    )
    .await?
    .expect(201);
    let max = "b".repeat(63);
    admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": max})),
    )
    .await?
    .expect(201);
    let mut slugs = org_slugs(&node).await?;
    slugs.sort();
    assert_eq!(slugs, vec!["ab".to_string(), "acme-corp".to_string(), max]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn malformed_json_is_refused_with_400() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let client = reqwest::Client::new();
    let url = format!("{}/cluster/v1/orgs", node.admin);
    for raw in [
        "{\"slug\": ",
        "not json",
        "{\"slug\": \"x\",}",
        "[\"slug\"]",
        "\"globex\"",
    ] {
        let response = client
            .post(&url)
            .bearer_auth(node.cluster_token())
            .header("Content-Type", "application/json")
            .body(raw.to_string())
            .send()
            .await?;
        let status = response.status().as_u16();
        let body: Value = serde_json::from_str(&response.text().await?)?;
        assert_eq!(status, 400, "{raw:?} -> {body}");
        assert_eq!(body["error"], "invalid_request", "{raw:?} -> {body}");
        assert_eq!(body["status"], 400, "{raw:?} -> {body}");
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{raw:?} -> {body}"
        );
    }
    assert_eq!(org_slugs(&node).await?, vec!["acme-corp".to_string()]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_region_no_shard_serves_is_refused_with_422() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let reply = admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "euro-org", "name": "Euro", "region": "eu"})),
    )
    .await?;
    assert_error(&reply, 422, "validation_error");
    assert!(
        reply.body["details"]["region"]
            .as_str()
            .is_some_and(|m| m.contains("eu")),
        "details name the region: {}",
        reply.text
    );
    // Nothing half-created: the slug is not listed and can still be used without a region.
    assert_eq!(org_slugs(&node).await?, vec!["acme-corp".to_string()]);
    admin(
        &node,
        Method::POST,
        "/cluster/v1/orgs",
        Some(json!({"slug": "euro-org", "name": "Euro"})),
    )
    .await?
    .expect(201);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn cluster_status_shows_every_group_with_a_leader() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    // One request so the bootstrap org has a running actor.
    node.api().get("/admin/users").await?.expect(200);
    let cluster = admin(&node, Method::GET, "/cluster/v1/status", None)
        .await?
        .expect(200);
    let status = cluster.data();
    assert_eq!(
        status["meta"]["voters"],
        json!([1]),
        "body: {}",
        cluster.text
    );
    assert_eq!(status["meta"]["leader"], 1, "body: {}", cluster.text);
    assert_eq!(status["orgCount"], 1, "body: {}", cluster.text);
    let nodes = status["nodes"].as_array().expect("nodes");
    assert_eq!(nodes.len(), 1, "body: {}", cluster.text);
    assert_eq!(nodes[0]["state"], "active");
    assert_eq!(nodes[0]["reachable"], true);
    assert_eq!(nodes[0]["leaderOf"], json!([1]));
    let shards = status["shards"].as_array().expect("shards");
    assert_eq!(shards.len(), 1, "body: {}", cluster.text);
    assert_eq!(shards[0]["leader"], 1);
    assert_eq!(shards[0]["voters"], json!([1]));
    assert_eq!(shards[0]["replicas"][0]["lag"], 0, "body: {}", cluster.text);
    let reply = admin(&node, Method::GET, "/cluster/v1/node", None)
        .await?
        .expect(200);
    let data = reply.data();
    let node_id = data["node"]
        .as_u64()
        .unwrap_or_else(|| panic!("node id: {}", reply.text));
    assert_eq!(data["ready"], true, "body: {}", reply.text);
    let groups = data["groups"]
        .as_array()
        .unwrap_or_else(|| panic!("groups: {}", reply.text));
    assert!(
        groups.len() >= 2,
        "meta and at least one shard: {}",
        reply.text
    );
    for group in groups {
        assert_eq!(group["leader"].as_u64(), Some(node_id), "leader of {group}");
        assert!(group["group"].is_u64(), "group id of {group}");
    }
    assert_eq!(data["orgActors"], 1, "body: {}", reply.text);
    assert!(
        data["walSyncs"]["syncs"].as_u64().is_some_and(|n| n > 0),
        "body: {}",
        reply.text
    );
    node.stop().await?;
    Ok(())
}

/// Data dir + running `lumod serve` child with a fixed cluster token.
fn start_process(dir: &std::path::Path) -> anyhow::Result<LumodProcess> {
    LumodProcess::start(
        dir,
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_API_KEY", BOOT_KEY),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )
}

fn key_from_output(stdout: &str) -> Option<String> {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("admin API key (shown once): "))
        .map(|k| k.trim().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_cli_prints_a_working_key_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = start_process(dir.path())?;
    let admin_url = process.admin.clone();
    let out = tokio::task::spawn_blocking(move || {
        lumod(
            &[
                "org",
                "create",
                "hooli",
                "--name",
                "Hooli XYZ",
                "--url",
                &admin_url,
                "--token",
                TOKEN,
            ],
            &[],
        )
    })
    .await??;
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}; stdout: {stdout}; stderr: {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.contains("organization hooli created"),
        "stdout: {stdout}"
    );
    let key = key_from_output(&stdout).unwrap_or_else(|| panic!("key line in: {stdout}"));
    assert!(key.starts_with("lmk_") && key.len() >= 24, "key: {key}");
    assert_eq!(
        stdout.matches(&key).count(),
        1,
        "the key is printed exactly once: {stdout}"
    );

    let hooli = Api::new(&process.http, "hooli", &key);
    hooli.get("/admin/users").await?.expect(200);
    let id = hooli.create_user("cli@hooli.example").await?;
    hooli.get(&format!("/admin/users/{id}")).await?.expect(200);
    let tenant = hooli.get("/admin/tenant").await?.expect(200);
    assert!(
        tenant.text.contains("Hooli XYZ"),
        "name from --name: {}",
        tenant.text
    );

    // `org list` through the CLI shows it, and never the key.
    let admin_url = process.admin.clone();
    let list = tokio::task::spawn_blocking(move || {
        lumod(
            &["org", "list", "--url", &admin_url],
            &[("LUMO_CLUSTER_TOKEN", TOKEN)],
        )
    })
    .await??;
    let listed = text(&list.stdout);
    assert!(list.status.success(), "stderr: {}", text(&list.stderr));
    assert!(
        listed.contains("\"hooli\"") && listed.contains("\"acme-corp\""),
        "list: {listed}"
    );
    assert!(!listed.contains(&key), "list shows no key");
    process.terminate()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_cli_reads_a_generated_token_from_the_data_dir() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = LumodProcess::start(
        dir.path(),
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_API_KEY", BOOT_KEY),
        ],
    )?;
    let token = std::fs::read_to_string(dir.path().join("cluster-token"))?
        .trim()
        .to_string();
    assert!(token.len() >= 16, "generated token: {token:?}");
    let admin_url = process.admin.clone();
    let data_dir = dir.path().to_string_lossy().into_owned();
    let out = tokio::task::spawn_blocking(move || {
        lumod(
            &[
                "org",
                "create",
                "umbrella",
                "--url",
                &admin_url,
                "--data-dir",
                &data_dir,
            ],
            &[],
        )
    })
    .await??;
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout: {stdout}; stderr: {}",
        text(&out.stderr)
    );
    let key = key_from_output(&stdout).unwrap_or_else(|| panic!("key in {stdout}"));
    Api::new(&process.http, "umbrella", &key)
        .get("/admin/users")
        .await?
        .expect(200);
    process.terminate()?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn org_create_cli_with_a_wrong_token_fails_clearly() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let process = start_process(dir.path())?;
    let admin_url = process.admin.clone();
    let out = tokio::task::spawn_blocking(move || {
        lumod(
            &[
                "org",
                "create",
                "wrong-token-org",
                "--name",
                "X",
                "--url",
                &admin_url,
                "--token",
                "not-the-cluster-token",
            ],
            &[],
        )
    })
    .await??;
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "must fail; stdout: {stdout}; stderr: {stderr}"
    );
    assert!(stderr.contains("401"), "names the status: {stderr}");
    assert!(
        stderr.to_lowercase().contains("token"),
        "says the token was refused: {stderr}"
    );
    assert!(
        !stdout.contains("lmk_") && !stderr.contains("lmk_"),
        "no key printed"
    );

    // Nothing was created.
    let list = raw_request(
        Method::GET,
        &format!("{}/cluster/v1/orgs", process.admin),
        &[("Authorization", &format!("Bearer {TOKEN}"))],
        None,
    )
    .await?
    .expect(200);
    let slugs: Vec<&str> = list
        .data()
        .as_array()
        .map(|a| a.iter().filter_map(|o| o["slug"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(slugs, vec!["acme-corp"]);

    // An unreachable admin URL also fails with a message, within a bounded time.
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::task::spawn_blocking(|| {
            lumod(
                &[
                    "org",
                    "create",
                    "nowhere",
                    "--url",
                    "http://127.0.0.1:1",
                    "--token",
                    TOKEN,
                ],
                &[],
            )
        }),
    )
    .await???;
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "stderr: {}",
        text(&out.stderr)
    );
    process.terminate()?;
    Ok(())
}

#[test]
fn validate_config_rejects_a_bad_http_addr_naming_it() -> anyhow::Result<()> {
    let out = lumod(&["validate-config", "--http-addr", "nonsense"], &[])?;
    assert!(!out.status.success(), "stdout: {}", text(&out.stdout));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("http_addr"),
        "stderr names http_addr: {stderr}"
    );
    assert!(
        stderr.contains("nonsense"),
        "stderr shows the value: {stderr}"
    );
    assert!(!text(&out.stdout).contains("configuration is valid"));

    // The same through the environment variable, and for the admin listener.
    let env = lumod(&["validate-config"], &[("LUMO_HTTP_ADDR", "nonsense")])?;
    assert!(!env.status.success());
    assert!(
        text(&env.stderr).contains("http_addr"),
        "stderr: {}",
        text(&env.stderr)
    );
    let admin = lumod(&["validate-config", "--admin-addr", "localhost"], &[])?;
    assert!(!admin.status.success());
    assert!(
        text(&admin.stderr).contains("admin_addr"),
        "stderr: {}",
        text(&admin.stderr)
    );

    // A good one passes.
    let ok = lumod(&["validate-config", "--http-addr", "127.0.0.1:18080"], &[])?;
    assert!(ok.status.success(), "stderr: {}", text(&ok.stderr));
    assert!(
        text(&ok.stdout).contains("127.0.0.1:18080"),
        "stdout: {}",
        text(&ok.stdout)
    );
    Ok(())
}

#[test]
fn serve_help_documents_the_listener_data_and_bootstrap_flags() -> anyhow::Result<()> {
    let out = lumod(&["serve", "--help"], &[])?;
    assert!(out.status.success(), "stderr: {}", text(&out.stderr));
    let help = text(&out.stdout);
    for flag in [
        "--data-dir",
        "--http-addr",
        "--admin-addr",
        "--rpc-addr",
        "--join",
        "--role",
        "--bootstrap-org",
        "--bootstrap-org-name",
        "--bootstrap-api-key",
        "--cluster-token",
    ] {
        assert!(help.contains(flag), "help documents {flag}: {help}");
    }
    for env in [
        "LUMO_DATA_DIR",
        "LUMO_BOOTSTRAP_ORG",
        "LUMO_BOOTSTRAP_API_KEY",
        "LUMO_CLUSTER_TOKEN",
    ] {
        assert!(help.contains(env), "help names {env}: {help}");
    }
    Ok(())
}

#[test]
fn validate_config_never_prints_the_bootstrap_key_or_cluster_token() -> anyhow::Result<()> {
    let key = "lmk_very_secret_bootstrap_key_value_0001";
    let token = "very-secret-cluster-token-value-0002";
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("lumo.toml");
    std::fs::write(
        &file,
        format!(
            "bootstrap_org = \"acme-corp\"\nbootstrap_api_key = \"{key}\"\ncluster_token = \"{token}\"\n"
        ),
    )?;
    let file = file.to_string_lossy().into_owned();
    let runs = [
        lumod(
            &[
                "validate-config",
                "--bootstrap-org",
                "acme-corp",
                "--bootstrap-api-key",
                key,
                "--cluster-token",
                token,
            ],
            &[],
        )?,
        lumod(
            &["validate-config"],
            &[
                ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
                ("LUMO_BOOTSTRAP_API_KEY", key),
                ("LUMO_CLUSTER_TOKEN", token),
            ],
        )?,
        lumod(&["validate-config", "--config", &file], &[])?,
    ];
    for out in &runs {
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert!(out.status.success(), "stdout: {stdout}; stderr: {stderr}");
        assert!(
            stdout.contains("configuration is valid"),
            "stdout: {stdout}"
        );
        assert!(
            stdout.contains("acme-corp"),
            "shows the non-secret settings: {stdout}"
        );
        for secret in [key, token] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{secret} leaked: {stdout} {stderr}"
            );
        }
        assert!(stdout.contains("***"), "secrets shown masked: {stdout}");
    }
    // Even a rejected config does not echo the secrets.
    let bad = lumod(
        &[
            "validate-config",
            "--bootstrap-api-key",
            key,
            "--cluster-token",
            token,
            "--http-addr",
            "bad",
        ],
        &[],
    )?;
    assert!(!bad.status.success());
    for secret in [key, token] {
        assert!(
            !text(&bad.stdout).contains(secret) && !text(&bad.stderr).contains(secret),
            "{secret} leaked on error"
        );
    }
    Ok(())
}
