//! AAuth against real nodes: a signed request's nonce is spent in the Raft log, so the same
//! request replayed through another node (behind the same public authority) is refused; and
//! an auth token revoked through one node is inactive on every other node at once.

use lumo_cluster::crypto::http_signature::{RequestSigner, okp_thumbprint};
use lumo_tests::Api;
use lumo_tests::cluster::TestCluster;
use serde_json::Value;
use serde_json::json;

/// An Ed25519 identity from `seed`, signing the way the LumoAuth SDK does.
fn signer(seed: u8, signature_key: Option<String>) -> RequestSigner {
    RequestSigner::from_seed([seed; 32], signature_key).expect("seed")
}

/// Headers for a POST of `body` to `path` at `authority`, signed now.
fn signed(
    key: &RequestSigner,
    authority: &str,
    path: &str,
    body: &[u8],
    nonce: &str,
) -> Vec<(String, String)> {
    let created = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    key.sign_post(authority, path, body, nonce, created)
}

/// POSTs `body` to `api`'s node with `headers`, naming `authority` as the Host.
async fn send(
    api: &Api,
    authority: &str,
    path: &str,
    body: &[u8],
    headers: &[(String, String)],
) -> anyhow::Result<(u16, Value)> {
    let mut request = reqwest::Client::new()
        .post(api.url(path))
        .header("host", authority)
        .body(body.to_vec());
    for (name, value) in headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let text = response.text().await?;
    Ok((
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonces_and_revocations_hold_on_every_node() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let admin = cluster.api(0);
    let authority = admin.base.trim_start_matches("http://").to_string();
    let issuer = format!("{}/orgs/{}/api/v1", admin.base, admin.org);
    let agent = admin
        .post(
            "/admin/agents",
            json!({"name": "AAuth bot", "capabilities": ["read"]}),
        )
        .await?
        .expect(201)
        .data()["agentId"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let agent_key = signer(3, None);
    let identity = admin
        .put(
            &format!("/admin/agents/{agent}/aauth"),
            json!({"jwks": agent_key.jwks()}),
        )
        .await?
        .expect(200);
    let agent_id = identity.data()["identifier"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let resource_id = "https://api.example.test";
    let resource = signer(
        5,
        Some(format!("sig1=jwks_uri;id=\"{resource_id}\";kid=\"key-1\"")),
    );
    admin
        .post(
            "/admin/aauth/resources",
            json!({"name": "Example API", "identifier": resource_id, "jwks": resource.jwks(),
                   "scopes": ["read"], "auto_approve": true}),
        )
        .await?
        .expect(201);

    // The resource mints a resource token through node 0...
    let path = format!("/orgs/{}/api/v1/aauth/resource/token", admin.org);
    let body = serde_json::to_vec(
        &json!({"agent": agent_id, "agent_jkt": okp_thumbprint(&agent_key.x), "scope": "read"}),
    )?;
    let headers = signed(
        &resource,
        &authority,
        &path,
        &body,
        "replay-nonce-0123456789",
    );
    let (status, minted) =
        send(&admin, &authority, "/aauth/resource/token", &body, &headers).await?;
    assert_eq!(status, 200, "{minted}");
    let resource_token = minted["resource_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!resource_token.is_empty(), "{minted}");
    // ...and the very same request replayed through the other nodes is refused.
    for i in 1..3 {
        let (status, refused) = send(
            &cluster.api(i),
            &authority,
            "/aauth/resource/token",
            &body,
            &headers,
        )
        .await?;
        assert_eq!(status, 401, "node {i}: {refused}");
        assert_eq!(refused["error"], "invalid_signature", "{refused}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("nonce"),
            "{refused}"
        );
    }

    // The agent (signing with its registered key as its own delegate) gets an auth token.
    let agent_signer = signer(
        3,
        Some(format!("sig1=jwks_uri;id=\"{agent_id}\";kid=\"key-1\"")),
    );
    let token_path = format!("/orgs/{}/api/v1/aauth/agent/token", admin.org);
    let body = serde_json::to_vec(
        &json!({"request_type": "auth", "resource_token": resource_token, "scope": "read"}),
    )?;
    let headers = signed(
        &agent_signer,
        &authority,
        &token_path,
        &body,
        "agent-nonce-0123456789",
    );
    let (status, tokens) = send(&admin, &authority, "/aauth/agent/token", &body, &headers).await?;
    assert_eq!(status, 200, "{tokens}");
    let auth_token = tokens["auth_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();

    let verify_path = format!("/orgs/{}/api/v1/aauth/auth/token/verify", admin.org);
    let verify = |node: usize, nonce: &'static str| {
        let body = serde_json::to_vec(&json!({"auth_token": auth_token})).unwrap_or_default();
        let headers = signed(&resource, &authority, &verify_path, &body, nonce);
        let api = cluster.api(node);
        let authority = authority.clone();
        async move {
            send(
                &api,
                &authority,
                "/aauth/auth/token/verify",
                &body,
                &headers,
            )
            .await
        }
    };
    let (status, live) = verify(1, "verify-nonce-0001-abcdef").await?;
    assert_eq!(status, 200, "{live}");
    assert_eq!(live["active"], true, "{live}");
    assert_eq!(live["agent"], agent_id.as_str());
    assert_eq!(live["resource"], resource_id);
    assert_eq!(live["pop_required"], true);
    assert_eq!(live["cnf_jkt"], okp_thumbprint(&agent_key.x).as_str());
    assert_eq!(
        live["sub"],
        agent_id.as_str(),
        "an agent acting on its own is the subject"
    );

    // Revoked through node 2: inactive through node 1 at once.
    let revoke_path = format!("/orgs/{}/api/v1/aauth/token/revoke", admin.org);
    let body = serde_json::to_vec(&json!({"token": auth_token, "token_type": "auth_token"}))?;
    let headers = signed(
        &agent_signer,
        &authority,
        &revoke_path,
        &body,
        "revoke-nonce-0123456789",
    );
    let (status, revoked) = send(
        &cluster.api(2),
        &authority,
        "/aauth/token/revoke",
        &body,
        &headers,
    )
    .await?;
    assert_eq!(
        (status, &revoked["revoked"]),
        (200, &json!(true)),
        "{revoked}"
    );
    let (status, dead) = verify(1, "verify-nonce-0002-abcdef").await?;
    assert_eq!(status, 200, "{dead}");
    assert_eq!(dead["active"], false, "{dead}");
    assert!(
        dead["error"]
            .as_str()
            .unwrap_or_default()
            .contains("revoked"),
        "{dead}"
    );
    assert!(issuer.ends_with("/api/v1"));
    cluster.shutdown().await?;
    Ok(())
}
