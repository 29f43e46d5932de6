//! First-start bootstrap: the configured org and its admin key are created exactly once, with an
//! explicit key or a generated one (printed once, saved with mode 0600), never again on restart.

use lumo_node::Bootstrap;
use lumo_tests::http::{Reply, raw_request};
use lumo_tests::process::LumodProcess;
use lumo_tests::{ADMIN_KEY, Api, ORG, TestNode};
use reqwest::Method;
use serde_json::json;

const TOKEN: &str = "bootstrap-suite-cluster-token-0123";
const EXPLICIT_KEY: &str = "lmk_explicit_bootstrap_key_abcdefghij0123";
const OTHER_KEY: &str = "lmk_another_bootstrap_key_zyxwvutsr98765";

/// The generated key printed by `serve`, if any.
fn printed_key(lines: &[String]) -> Option<String> {
    lines
        .iter()
        .find(|l| l.starts_with("admin API key"))
        .and_then(|l| l.rsplit(": ").next())
        .map(|k| k.trim().to_string())
}

async fn cluster_orgs(admin: &str, token: &str) -> anyhow::Result<Vec<String>> {
    let reply = raw_request(
        Method::GET,
        &format!("{admin}/cluster/v1/orgs"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .await?
    .expect(200);
    Ok(reply
        .data()
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|o| o["slug"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default())
}

/// The API keys of the org, as listed by `GET /admin/api-keys`.
async fn api_keys(api: &Api) -> anyhow::Result<Reply> {
    let reply = api.get("/admin/api-keys").await?.expect(200);
    assert!(reply.data().is_array(), "list of keys: {}", reply.text);
    Ok(reply)
}

fn key_count(reply: &Reply) -> usize {
    reply.data().as_array().map(Vec::len).unwrap_or(usize::MAX)
}

/// The key has the full admin scope: it can create an API key (which needs scope `admin`),
/// and the created key works.
async fn assert_full_admin(api: &Api, name: &str) -> anyhow::Result<()> {
    let created = api
        .post(
            "/admin/api-keys",
            json!({"name": name, "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);
    let minted = created.data()["key"]
        .as_str()
        .unwrap_or_else(|| panic!("key in {}", created.text))
        .to_string();
    assert_eq!(created.data()["name"], name, "body: {}", created.text);
    let reader = api.with_key(&minted);
    reader.get("/admin/users").await?.expect(200);
    // The minted read-only key cannot mint keys itself: scopes are enforced.
    let refused = reader
        .post("/admin/api-keys", json!({"name": "nope"}))
        .await?;
    assert_eq!(
        refused.status, 403,
        "read-only key may not create keys: {}",
        refused.text
    );
    // Revoke it again so callers can count keys.
    let id = created.data()["id"].clone();
    api.delete(&format!(
        "/admin/api-keys/{}",
        id.as_u64()
            .map(|n| n.to_string())
            .unwrap_or_else(|| id.as_str().unwrap_or_default().to_string())
    ))
    .await?
    .expect(200);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_explicit_bootstrap_key_gets_full_admin_rights() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let serve = LumodProcess::start_clean(
        dir.path(),
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_ORG_NAME", "Acme Corporation"),
            ("LUMO_BOOTSTRAP_API_KEY", EXPLICIT_KEY),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )?;
    let all = serve.lines.join("\n");
    assert!(
        !all.contains(EXPLICIT_KEY),
        "an explicit key is never printed: {all}"
    );
    assert!(
        printed_key(&serve.lines).is_none(),
        "nothing generated: {all}"
    );
    assert!(
        !dir.path().join("bootstrap-admin.key").exists(),
        "no key file for an explicit key"
    );

    let api = Api::new(&serve.http, "acme-corp", EXPLICIT_KEY);
    let id = api.create_user("root@acme.example").await?;
    api.get(&format!("/admin/users/{id}")).await?.expect(200);
    let tenant = api.get("/admin/tenant").await?.expect(200);
    assert!(
        tenant.text.contains("Acme Corporation"),
        "org name from config: {}",
        tenant.text
    );
    assert_eq!(key_count(&api_keys(&api).await?), 1);
    assert_eq!(cluster_orgs(&serve.admin, TOKEN).await?, vec!["acme-corp"]);
    assert_full_admin(&api, "from-explicit").await?;

    // Exactly the configured key: a near miss is refused.
    let near = api
        .with_key(&format!("{}x", EXPLICIT_KEY))
        .get("/admin/users")
        .await?;
    assert_eq!(near.status, 401, "body: {}", near.text);
    serve.terminate()?;
    Ok(())
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generated_bootstrap_key_is_printed_once_and_saved_with_mode_0600() -> anyhow::Result<()>
{
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir()?;
    let env = [
        ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
        ("LUMO_CLUSTER_TOKEN", TOKEN),
    ];
    let serve = LumodProcess::start_clean(dir.path(), &env)?;
    let all = serve.lines.join("\n");
    let key = printed_key(&serve.lines).unwrap_or_else(|| panic!("generated key printed: {all}"));
    assert!(
        key.starts_with("lmk_") && key.len() >= 24,
        "key shape: {key}"
    );
    assert_eq!(all.matches(&key).count(), 1, "printed once: {all}");

    let file = dir.path().join("bootstrap-admin.key");
    let mode = std::fs::metadata(&file)?.permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "key file mode {mode:o}");
    let saved = std::fs::read_to_string(&file)?;
    assert_eq!(saved.trim(), key, "the file holds the printed key");

    let api = Api::new(&serve.http, "acme-corp", &key);
    api.get("/admin/users").await?.expect(200);
    assert_eq!(key_count(&api_keys(&api).await?), 1);
    let user = api.create_user("kept@acme.example").await?;

    // Restart (clean): nothing printed, file unchanged, same one key and one org.
    serve.terminate()?;
    let again = LumodProcess::start_clean(dir.path(), &env)?;
    let all = again.lines.join("\n");
    assert!(
        printed_key(&again.lines).is_none(),
        "no key printed on restart: {all}"
    );
    assert!(!all.contains(&key), "the key is not printed again: {all}");
    assert_eq!(std::fs::read_to_string(&file)?, saved, "key file unchanged");
    assert_eq!(
        std::fs::metadata(&file)?.permissions().mode() & 0o777,
        0o600
    );
    let api = Api::new(&again.http, "acme-corp", &key);
    api.get(&format!("/admin/users/{user}")).await?.expect(200);
    let keys = api_keys(&api).await?;
    assert_eq!(key_count(&keys), 1, "one key after restart: {}", keys.text);
    assert_eq!(cluster_orgs(&again.admin, TOKEN).await?, vec!["acme-corp"]);

    // Restart after kill -9: still one key, one org.
    again.kill9()?;
    let third = LumodProcess::start_clean(dir.path(), &env)?;
    assert!(
        printed_key(&third.lines).is_none(),
        "no key printed: {:?}",
        third.lines
    );
    let api = Api::new(&third.http, "acme-corp", &key);
    assert_eq!(key_count(&api_keys(&api).await?), 1);
    assert_eq!(cluster_orgs(&third.admin, TOKEN).await?, vec!["acme-corp"]);
    // The generated key has full admin rights.
    assert_full_admin(&api, "from-generated").await?;
    third.terminate()?;

    // The operator deletes the key file after saving the key: a restart does not generate,
    // print or add another key.
    std::fs::remove_file(&file)?;
    let fourth = LumodProcess::start_clean(dir.path(), &env)?;
    assert!(
        printed_key(&fourth.lines).is_none(),
        "no key printed: {:?}",
        fourth.lines
    );
    assert!(!file.exists(), "no new key file for an existing org");
    let api = Api::new(&fourth.http, "acme-corp", &key);
    let keys = api_keys(&api).await?;
    let active = keys
        .data()
        .as_array()
        .map(|a| a.iter().filter(|k| k["isActive"] == true).count())
        .unwrap_or_default();
    assert_eq!(active, 1, "only the bootstrap key is active: {}", keys.text);
    assert_eq!(
        key_count(&keys),
        2,
        "bootstrap key + the revoked test key: {}",
        keys.text
    );
    assert_eq!(cluster_orgs(&fourth.admin, TOKEN).await?, vec!["acme-corp"]);
    fourth.terminate()?;
    Ok(())
}

#[tokio::test]
async fn restarting_in_process_never_creates_a_second_org_or_key() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    assert_eq!(
        node.node.as_ref().map(|n| &n.bootstrap),
        Some(&Bootstrap::Created {
            generated_key: None
        })
    );
    let id = node.api().create_user("persist@acme.example").await?;
    let token = node.cluster_token();
    let dir = node.stop().await?;

    for round in 0..3 {
        // shutdown() has returned, so the data dir is free for the next start at once.
        let running = lumo_node::start(lumo_tests::test_config(&dir))
            .await
            .map_err(|e| anyhow::anyhow!("round {round}: restart after shutdown failed: {e:#}"))?;
        assert_eq!(running.bootstrap, Bootstrap::AlreadyDone, "round {round}");
        let http = format!("http://{}", running.http_addr);
        let admin = format!("http://{}", running.admin_addr);
        let api = Api::new(&http, ORG, ADMIN_KEY);
        api.get(&format!("/admin/users/{id}")).await?.expect(200);
        let keys = api_keys(&api).await?;
        assert_eq!(key_count(&keys), 1, "round {round}: {}", keys.text);
        assert_eq!(
            cluster_orgs(&admin, &token).await?,
            vec![ORG],
            "round {round}"
        );
        running.shutdown().await?;
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changing_the_bootstrap_key_on_restart_adds_no_key() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let first = LumodProcess::start(
        dir.path(),
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_API_KEY", EXPLICIT_KEY),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )?;
    let api = Api::new(&first.http, "acme-corp", EXPLICIT_KEY);
    let before = api_keys(&api).await?;
    assert_eq!(key_count(&before), 1);
    first.terminate()?;

    let second = LumodProcess::start(
        dir.path(),
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_API_KEY", OTHER_KEY),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )?;
    let old = Api::new(&second.http, "acme-corp", EXPLICIT_KEY);
    let after = api_keys(&old).await?;
    assert_eq!(key_count(&after), 1, "still one key: {}", after.text);
    assert_eq!(
        after.data()[0]["id"],
        before.data()[0]["id"],
        "the same key"
    );
    let refused = old.with_key(OTHER_KEY).get("/admin/users").await?;
    assert_eq!(
        refused.status, 401,
        "the new config key was not added: {}",
        refused.text
    );
    assert_eq!(cluster_orgs(&second.admin, TOKEN).await?, vec!["acme-corp"]);
    assert!(!dir.path().join("bootstrap-admin.key").exists());

    // Changing the bootstrap org's display name on restart does not rename or add an org either.
    second.kill9()?;
    let third = LumodProcess::start(
        dir.path(),
        &[
            ("LUMO_BOOTSTRAP_ORG", "acme-corp"),
            ("LUMO_BOOTSTRAP_ORG_NAME", "Renamed"),
            ("LUMO_CLUSTER_TOKEN", TOKEN),
        ],
    )?;
    let api = Api::new(&third.http, "acme-corp", EXPLICIT_KEY);
    assert_eq!(key_count(&api_keys(&api).await?), 1);
    assert_eq!(cluster_orgs(&third.admin, TOKEN).await?, vec!["acme-corp"]);
    assert!(
        !dir.path().join("bootstrap-admin.key").exists(),
        "no key generated for an existing org"
    );
    let tenant = api.get("/admin/tenant").await?.expect(200);
    assert!(
        !tenant.text.contains("Renamed"),
        "bootstrap settings do not change an existing org: {}",
        tenant.text
    );
    third.terminate()?;
    Ok(())
}
