//! AI agents against real nodes: JIT grants end on every node once a task's completion
//! returned, workload attestation against a live issuer key set (signature, issuer, audience,
//! subject and expiry), signed agent cards (verified against the org's and a foreign key set),
//! and the bad input of the agent families (oversized, non-JSON, malformed: nothing written).

use lumo_cluster::crypto::{JwsAlg, SigningMaterial, generate_signing_key};
use lumo_tests::cluster::TestCluster;
use lumo_tests::oauth::Oauth;
use lumo_tests::{Api, TestNode};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Creates an agent; returns its `data` (with the one-time secret and key).
async fn agent(api: &Api, body: Value) -> anyhow::Result<Value> {
    Ok(api
        .post("/admin/agents", body)
        .await?
        .expect(201)
        .data()
        .clone())
}

/// A client-credentials token of `agent` at `base`.
async fn agent_token(base: &str, org: &str, agent: &Value) -> anyhow::Result<String> {
    let oauth = Oauth::for_org(base, org);
    let id = agent["clientId"].as_str().unwrap_or_default();
    let secret = agent["clientSecret"].as_str().unwrap_or_default();
    let reply = oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", id),
                ("client_secret", secret),
            ],
            None,
        )
        .await?
        .expect(200);
    Ok(reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_jit_task_ends_its_token_on_every_node_at_once() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let status = cluster.status().await?;
    let leader_id = status["shards"][0]["leader"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no shard leader: {status}"))?;
    let leader = cluster
        .index_of(leader_id)
        .ok_or_else(|| anyhow::anyhow!("leader member"))?;
    let admin = cluster.api(leader);
    let bot = agent(
        &admin,
        json!({"name": "JIT bot", "capabilities": ["files.read"]}),
    )
    .await?;
    let token = agent_token(&admin.base, &admin.org, &bot).await?;
    let on_leader = admin.with_bearer(&token);
    let task = on_leader
        .post("/jit/task", json!({"name": "q4"}))
        .await?
        .expect(201);
    let task_id = task.body["task_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let granted = on_leader
        .post(
            "/jit/request",
            json!({"task_id": task_id, "authorization_details": {"type": "file_access", "actions": ["read"], "identifier": "q4.pdf"}, "requested_ttl": 300}),
        )
        .await?
        .expect(201);
    assert_eq!(granted.body["status"], "approved", "{}", granted.text);
    let request_id = granted.body["request_id"].as_str().unwrap_or_default();
    let jit = on_leader
        .post_empty(&format!("/jit/request/{request_id}/token"))
        .await?
        .expect(200);
    let jit_token = jit.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // A grant token reads but never writes through the API.
    admin
        .with_bearer(&jit_token)
        .post("/jit/task", json!({}))
        .await?
        .expect_error(403, "forbidden");
    // Every node honours the grant while the task lives.
    for i in 0..3 {
        cluster
            .api(i)
            .with_bearer(&jit_token)
            .get("/agents/me")
            .await?
            .expect(200);
    }
    on_leader
        .post_empty(&format!("/jit/task/{task_id}/complete"))
        .await?
        .expect(200);
    // At once, through every other node: refused, and introspection says inactive.
    for i in (0..3).filter(|i| *i != leader) {
        let api = cluster.api(i);
        api.with_bearer(&jit_token)
            .get("/agents/me")
            .await?
            .expect_error(401, "invalid_token");
        let status = api
            .with_bearer(&token)
            .get(&format!("/jit/request/{request_id}/status"))
            .await?
            .expect(200);
        assert_eq!(status.body["status"], "revoked", "{}", status.text);
    }
    cluster.shutdown().await?;
    Ok(())
}

/// A one-route HTTP server on loopback answering every request with `body` as JSON.
async fn serve_json(body: Value) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let text = body.to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let text = text.clone();
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(format!("http://{addr}"))
}

fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

#[tokio::test]
async fn workload_attestation_checks_every_claim_against_the_binding() -> anyhow::Result<()> {
    let node = TestNode::start_with(|c| c.fault_injection = true).await?;
    let api = node.api();
    let key = generate_signing_key(JwsAlg::ES256, "wl-1").map_err(anyhow::Error::msg)?;
    let signer = SigningMaterial::new("wl-1", JwsAlg::ES256, &key.private_der, &key.public_jwk)
        .map_err(anyhow::Error::msg)?;
    let other = generate_signing_key(JwsAlg::ES256, "wl-1").map_err(anyhow::Error::msg)?;
    let forger = SigningMaterial::new("wl-1", JwsAlg::ES256, &other.private_der, &other.public_jwk)
        .map_err(anyhow::Error::msg)?;
    let jwks = serve_json(json!({"keys": [key.public_jwk]})).await?;
    let issuer = "https://token.actions.example.test";
    let bot = agent(
        &api,
        json!({"name": "CI bot", "capabilities": ["deploy.run"]}),
    )
    .await?;
    let id = bot["agentId"].as_str().unwrap_or_default().to_string();
    let path = format!("/agents/{id}/attest");
    // Without a binding, attestation fails like any other refusal.
    let claims = |sub: &str, aud: &str, iss: &str, exp: i64| json!({"iss": iss, "sub": sub, "aud": aud, "exp": exp, "iat": now_secs()});
    let good = claims(
        "repo:acme/app:ref:refs/heads/main",
        "lumo",
        issuer,
        now_secs() + 300,
    );
    let token = signer.sign(&good, "JWT").map_err(anyhow::Error::msg)?;
    api.post(&path, json!({"attestation_token": token}))
        .await?
        .expect(401);
    api.patch(
        &format!("/admin/agents/{id}"),
        json!({"workload": {"provider": "github", "issuer": issuer, "subject": "repo:acme/app:ref:refs/heads/main", "audience": "lumo", "jwksUri": format!("{jwks}/jwks.json")}}),
    )
    .await?
    .expect(200);
    let ok = api
        .with_key("")
        .post(&path, json!({"attestation_token": token}))
        .await?
        .expect(200);
    assert_eq!(ok.body["token_type"], "Bearer", "{}", ok.text);
    assert_eq!(ok.body["scope"], "deploy.run");
    assert_eq!(ok.body["identity"]["issuer"], issuer);
    assert_eq!(ok.body["identity"]["provider"], "github");
    let access = ok.body["access_token"].as_str().unwrap_or_default();
    let me = api.with_bearer(access).get("/agents/me").await?.expect(200);
    assert_eq!(me.body["identity"]["agent_id"], id.as_str());
    // Each wrong claim, a foreign signature, a malformed token, an unknown agent: the same 401.
    let wrong = [
        signer.sign(
            &claims("repo:evil/app", "lumo", issuer, now_secs() + 300),
            "JWT",
        ),
        signer.sign(
            &claims(
                "repo:acme/app:ref:refs/heads/main",
                "other",
                issuer,
                now_secs() + 300,
            ),
            "JWT",
        ),
        signer.sign(
            &claims(
                "repo:acme/app:ref:refs/heads/main",
                "lumo",
                "https://evil.test",
                now_secs() + 300,
            ),
            "JWT",
        ),
        signer.sign(
            &claims(
                "repo:acme/app:ref:refs/heads/main",
                "lumo",
                issuer,
                now_secs() - 600,
            ),
            "JWT",
        ),
        forger.sign(&good, "JWT"),
        Ok("not.a.jwt".to_string()),
    ];
    for token in wrong {
        let token = token.map_err(anyhow::Error::msg)?;
        let reply = api
            .with_key("")
            .post(&path, json!({"attestation_token": token}))
            .await?
            .expect(401);
        assert_eq!(
            reply.body["error"], "workload_identity_failed",
            "{}",
            reply.text
        );
    }
    api.with_key("")
        .post(
            "/agents/agt_unknown0000/attest",
            json!({"attestation_token": "a.b.c"}),
        )
        .await?
        .expect(401);
    api.with_key("")
        .post(&path, json!({}))
        .await?
        .expect_oauth(400, "invalid_request");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn agent_cards_are_signed_and_verified_against_a_key_set() -> anyhow::Result<()> {
    let node = TestNode::start_with(|c| c.fault_injection = true).await?;
    let api = node.api();
    let bot = agent(&api, json!({"name": "Card bot", "description": "Books meetings", "capabilities": ["calendar:write"]})).await?;
    let id = bot["agentId"].as_str().unwrap_or_default().to_string();
    let card_path = format!("/agents/{id}/agent-card");
    // No A2A endpoint yet: no card.
    api.with_key("").get(&card_path).await?.expect(404);
    api.patch(
        &format!("/admin/agents/{id}"),
        json!({"a2aUrl": "https://agents.acme.test/card-bot/a2a"}),
    )
    .await?
    .expect(200);
    let card = api.with_key("").get(&card_path).await?.expect(200);
    assert_eq!(
        card.headers
            .get("cache-control")
            .and_then(|v| v.to_str().ok()),
        Some("public, max-age=300")
    );
    let card = card.body;
    assert_eq!(card["url"], "https://agents.acme.test/card-bot/a2a");
    assert_eq!(card["skills"][0]["id"], "calendar:write");
    assert_eq!(card["security"][0]["lumoauth_oauth2"][0], "calendar:write");
    assert!(card["signatures"][0]["protected"].is_string(), "{card}");
    let verdict = api
        .post("/agents/agent-card/verify", card.clone())
        .await?
        .expect(200);
    assert_eq!(verdict.body["valid"], true, "{}", verdict.text);
    assert_eq!(verdict.body["card_summary"]["skills"], 1);
    // A changed card fails, with the reason.
    let mut tampered = card.clone();
    tampered["url"] = json!("https://evil.test/a2a");
    let verdict = api
        .post("/agents/agent-card/verify", json!({"card": tampered}))
        .await?
        .expect(200);
    assert_eq!(verdict.body["valid"], false);
    assert!(verdict.body["error"].is_string());
    // Against a foreign key set (fetched under the SSRF guard): the org's card does not verify.
    let foreign = generate_signing_key(JwsAlg::ES256, "f-1").map_err(anyhow::Error::msg)?;
    let jwks = serve_json(json!({"keys": [foreign.public_jwk]})).await?;
    let verdict = api
        .post(
            "/agents/agent-card/verify",
            json!({"card": card, "jwks_uri": format!("{jwks}/jwks.json")}),
        )
        .await?
        .expect(200);
    assert_eq!(verdict.body["valid"], false, "{}", verdict.text);
    // Verification needs a credential of the org; a disabled agent has no card.
    api.with_key("")
        .post("/agents/agent-card/verify", json!({}))
        .await?
        .expect(401);
    api.post_empty(&format!("/admin/agents/{id}/disable"))
        .await?
        .expect(200);
    api.with_key("").get(&card_path).await?.expect(404);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn agent_family_bodies_that_are_too_big_not_json_or_malformed_write_nothing()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let bot = agent(
        &api,
        json!({"name": "Input bot", "capabilities": ["x.read"]}),
    )
    .await?;
    let token = agent_token(&api.base, &api.org, &bot).await?;
    let as_agent = api.with_bearer(&token);
    let id = bot["agentId"].as_str().unwrap_or_default().to_string();
    let routes: Vec<(&Api, String)> = vec![
        (&api, "/admin/agents".into()),
        (&api, format!("/admin/agents/{id}/scopes")),
        (&api, "/admin/mcp/servers".into()),
        (&api, format!("/admin/agents/{id}/connections")),
        (&as_agent, "/agents/ask".into()),
        (&as_agent, "/jit/task".into()),
        (&as_agent, "/jit/request".into()),
        (&as_agent, "/agents/me/approvals".into()),
        (&as_agent, "/agents/me/mcp/authorize".into()),
    ];
    let before = (
        api.get("/admin/agents?limit=100").await?.body,
        api.get("/admin/mcp/servers").await?.body,
    );
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(1_100_000));
    for (client, path) in &routes {
        let method = if path.ends_with("/scopes") {
            Method::PUT
        } else {
            Method::POST
        };
        let big = client
            .send_raw(
                method.clone(),
                path,
                Some("application/json"),
                huge.clone().into_bytes(),
            )
            .await?;
        assert_eq!(big.status, 413, "{path}: {}", big.text);
        let text = client
            .send_raw(method.clone(), path, Some("text/plain"), b"{}".to_vec())
            .await?;
        assert_eq!(text.status, 415, "{path}: {}", text.text);
        let broken = client
            .send_raw(
                method.clone(),
                path,
                Some("application/json"),
                b"{\"name\": ".to_vec(),
            )
            .await?;
        assert_eq!(broken.status, 400, "{path}: {}", broken.text);
        assert!(broken.body["error"].is_string(), "{path}: {}", broken.text);
    }
    let after = (
        api.get("/admin/agents?limit=100").await?.body,
        api.get("/admin/mcp/servers").await?.body,
    );
    assert_eq!(after, before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_and_foreign_ids_of_the_agent_families_are_404() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let key_b = node.create_org("globex").await?;
    let b = node.api_for("globex", &key_b);
    let theirs = agent(
        &b,
        json!({"name": "Globex bot", "capabilities": ["x.read"]}),
    )
    .await?;
    let their_id = theirs["agentId"].as_str().unwrap_or_default().to_string();
    for path in [
        format!("/admin/agents/{their_id}"),
        "/admin/agents/agt_unknown0000".to_string(),
        "/admin/agents/999999".to_string(),
        "/admin/mcp/servers/unknown".to_string(),
        "/mcp/servers/unknown".to_string(),
        format!("/agents/{their_id}/agent-card"),
    ] {
        let reply = api.get(&path).await?;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
    api.get("/admin/agents/agt_..%2Fx").await?.expect(400);
    // The other org's agent token is nothing here.
    let their_token = agent_token(&b.base, "globex", &theirs).await?;
    let reply = api.with_bearer(&their_token).get("/agents/me").await?;
    assert!(matches!(reply.status, 401 | 403), "{}", reply.text);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_signed_in_reviewer_decides_jit_requests_on_the_hosted_page() -> anyhow::Result<()> {
    use lumo_tests::oauth::{create_user, decide, signed_in};
    let node = TestNode::start().await?;
    let api = node.api();
    let oauth = Oauth::for_org(&api.base, &api.org);
    let password = "correct-horse-battery";
    let reviewer = create_user(&api, "reviewer@acme.test", password).await?;
    create_user(&api, "bystander@acme.test", password).await?;
    api.post(
        "/admin/permissions",
        json!({"name": "Review JIT", "slug": "jit:approve"}),
    )
    .await?
    .expect(201);
    api.post(
        &format!("/admin/users/{reviewer}/permissions"),
        json!({"permissions": ["jit:approve"]}),
    )
    .await?
    .expect(200);
    let bot = agent(
        &api,
        json!({"name": "Writer bot", "capabilities": ["files.*"]}),
    )
    .await?;
    let as_agent = api.with_bearer(&agent_token(&api.base, &api.org, &bot).await?);
    let task = as_agent.post("/jit/task", json!({})).await?.expect(201);
    let task_id = task.body["task_id"].as_str().unwrap_or_default();
    let mut pending = Vec::new();
    for _ in 0..2 {
        let request = as_agent
            .post(
                "/jit/request",
                json!({"task_id": task_id, "authorization_details": {"type": "file_access", "actions": ["write"], "identifier": "q4.pdf"}}),
            )
            .await?
            .expect(201);
        assert_eq!(request.body["status"], "pending", "{}", request.text);
        pending.push(
            request.body["request_id"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    let page_url = oauth.url("/oauth/jit-review");
    // A user without the permission sees no queue.
    let mut bystander = signed_in(&oauth, "bystander@acme.test", password).await?;
    let refused = bystander.get(&page_url).await?;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(!refused.body.contains(&pending[0]), "{}", refused.body);
    // The reviewer sees both, approves the first and denies the second.
    let mut browser = signed_in(&oauth, "reviewer@acme.test", password).await?;
    let page = browser.get(&page_url).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Writer bot"), "{}", page.body);
    assert!(page.body.contains(&pending[0]) && page.body.contains(&pending[1]));
    let after = decide(&mut browser, &oauth, &page, "allow").await?;
    assert_eq!(after.status, 200, "{}", after.body);
    assert!(after.body.contains("Approved."), "{}", after.body);
    let after = decide(&mut browser, &oauth, &after, "deny").await?;
    assert!(after.body.contains("Denied."), "{}", after.body);
    let statuses: Vec<Value> = {
        let mut out = Vec::new();
        for id in &pending {
            let reply = as_agent
                .get(&format!("/jit/request/{id}/status"))
                .await?
                .expect(200);
            out.push(reply.body["status"].clone());
        }
        out
    };
    // One approved and one denied (the page lists them oldest first; both were made within
    // the same millisecond here, so which came first is not asserted).
    let mut statuses: Vec<String> = statuses
        .iter()
        .map(|s| s.as_str().unwrap_or_default().to_string())
        .collect();
    statuses.sort();
    assert_eq!(statuses, vec!["approved", "denied"]);
    node.stop().await?;
    Ok(())
}
