//! Revocation is strongly consistent across a 3-node cluster: once a revoke call returns on
//! one node, no node accepts the session, the refresh token or the access token any more.

use lumo_tests::cluster::TestCluster;
use lumo_tests::oauth::{
    AuthRequest, Browser, Oauth, basic, create_client, create_user, exchange, sign_in,
};
use serde_json::json;

const PASSWORD: &str = "Correct-horse-battery-9";

async fn userinfo_status(oauth: &Oauth, token: &str) -> anyhow::Result<u16> {
    Ok(oauth.get_bearer("/oauth/userinfo", token).await?.status)
}

#[tokio::test]
async fn a_revocation_on_one_node_is_seen_by_every_node_at_once() -> anyhow::Result<()> {
    let cluster = TestCluster::start(3).await?;
    let api = cluster.api(0);
    let nodes: Vec<Oauth> = cluster
        .members
        .iter()
        .map(|m| Oauth::new(&m.http))
        .collect();
    let user_id = create_user(&api, "multi@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;

    // Signed in and tokens issued through node 0.
    let request = AuthRequest::new(&client, "openid offline_access");
    let mut browser = Browser::new();
    let redirect = sign_in(
        &mut browser,
        &nodes[0],
        &request,
        "multi@example.com",
        PASSWORD,
    )
    .await?;
    let tokens = exchange(&nodes[0], &client, &request, &redirect)
        .await?
        .expect(200);
    let access = tokens.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let refresh = tokens.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for node in &nodes {
        assert!(node.active(&client, &access).await?);
        assert_eq!(userinfo_status(node, &access).await?, 200);
    }

    // Refresh through node 1, then present the old refresh token through node 2: reuse.
    let rotated = nodes[1]
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            basic(&client),
        )
        .await?
        .expect(200);
    nodes[2]
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_grant");
    // Reuse revoked the family everywhere, including the rotated token and its access token.
    let rotated_access = rotated.body["access_token"].as_str().unwrap_or_default();
    let rotated_refresh = rotated.body["refresh_token"].as_str().unwrap_or_default();
    for node in &nodes {
        assert!(!node.active(&client, rotated_access).await?);
    }
    nodes[0]
        .post(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", rotated_refresh),
            ],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_grant");

    // A fresh grant; its session revoked by an admin through node 2, checked on 0 and 1.
    let request = AuthRequest::new(&client, "openid offline_access");
    let redirect = sign_in(
        &mut browser,
        &nodes[1],
        &request,
        "multi@example.com",
        PASSWORD,
    )
    .await?;
    let tokens = exchange(&nodes[1], &client, &request, &redirect)
        .await?
        .expect(200);
    let access = tokens.body["access_token"].as_str().unwrap_or_default();
    let refresh = tokens.body["refresh_token"].as_str().unwrap_or_default();
    cluster
        .api(2)
        .delete(&format!("/admin/users/{user_id}/sessions"))
        .await?
        .expect(200);
    for node in &nodes[..2] {
        assert!(!node.active(&client, access).await?);
        assert_eq!(userinfo_status(node, access).await?, 401);
        node.post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_grant");
        let page = browser.get(&request.url(node)).await?;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.body.contains("name=\"password\""), "still signed in");
    }

    // A client token revoked through node 0 (RFC 7009) is dead on nodes 1 and 2.
    let machine = create_client(
        &api,
        json!({"grantTypes": ["client_credentials"], "redirectUris": []}),
    )
    .await?;
    let issued = nodes[2]
        .client_credentials(&machine, None)
        .await?
        .expect(200);
    let token = issued.body["access_token"].as_str().unwrap_or_default();
    nodes[0]
        .post("/oauth/revoke", &[("token", token)], basic(&machine))
        .await?
        .expect(200);
    for node in &nodes[1..] {
        assert!(!node.active(&machine, token).await?);
    }
    cluster.shutdown().await
}
