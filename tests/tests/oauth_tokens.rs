//! Tokens after they are issued: discovery and JWKS (public, cacheable, rotating with overlap),
//! access tokens on the admin API limited by their scopes, forged and foreign tokens refused
//! everywhere, admin revocations that take effect at once, and oversized parameters.

use base64::Engine;
use lumo_cluster::crypto::{JwsAlg, SigningMaterial, generate_signing_key};
use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, admin, basic, claims, create_client, create_user,
    exchange, sign_in, verify_with_jwks,
};
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";
const ALL_GRANTS: [&str; 7] = [
    "authorization_code",
    "refresh_token",
    "client_credentials",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:openid:params:grant-type:ciba",
];

async fn agent(api: &Api, scopes: &[&str]) -> anyhow::Result<Client> {
    create_client(
        api,
        json!({"grantTypes": ["client_credentials"], "redirectUris": [], "allowedScopes": scopes}),
    )
    .await
}

async fn token_of(oauth: &Oauth, client: &Client, scope: Option<&str>) -> anyhow::Result<String> {
    let reply = oauth.client_credentials(client, scope).await?.expect(200);
    Ok(reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

#[tokio::test]
async fn discovery_and_keys_are_public_and_keys_rotate_with_overlap() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let issuer = oauth.issuer();

    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let reply = reqwest::get(oauth.url(path)).await?;
        assert_eq!(reply.status(), 200, "{path}");
        assert_eq!(reply.headers()["access-control-allow-origin"], "*");
        assert!(
            reply.headers()["cache-control"]
                .to_str()?
                .contains("public")
        );
        let doc: Value = reply.json().await?;
        assert_eq!(doc["issuer"], issuer.as_str(), "{path}");
        for endpoint in ["authorization_endpoint", "token_endpoint", "jwks_uri"] {
            assert!(
                doc[endpoint].as_str().unwrap_or("").starts_with(&issuer),
                "{path} {endpoint}: {doc}"
            );
        }
        let grants = doc["grant_types_supported"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for grant in ALL_GRANTS {
            assert!(grants.contains(&json!(grant)), "{path} lacks {grant}");
        }
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    }
    let unknown = reqwest::get(format!(
        "{}/orgs/no-such-org/api/v1/.well-known/openid-configuration",
        node.http
    ))
    .await?;
    assert_eq!(unknown.status(), 404);

    let client = agent(&api, &["admin:read"]).await?;
    let first = token_of(&oauth, &client, None).await?;
    let jwks_reply = reqwest::get(oauth.url("/.well-known/jwks.json")).await?;
    assert_eq!(jwks_reply.headers()["access-control-allow-origin"], "*");
    let jwks: Value = jwks_reply.json().await?;
    let keys = jwks["keys"].as_array().cloned().unwrap_or_default();
    assert_eq!(keys.len(), 1, "{jwks}");
    assert_eq!(keys[0]["alg"], "RS256");
    assert!(keys[0].get("d").is_none(), "private part published: {jwks}");
    assert_eq!(
        jsonwebtoken::decode_header(&first)?.kid.as_deref(),
        keys[0]["kid"].as_str()
    );

    let mut kids = vec![keys[0]["kid"].clone()];
    let mut tokens = vec![first];
    for alg in ["ES256", "EdDSA"] {
        api.post("/admin/signing-keys", json!({"alg": alg}))
            .await?
            .expect(201);
        let token = token_of(&oauth, &client, None).await?;
        let header = jsonwebtoken::decode_header(&token)?;
        assert_eq!(format!("{:?}", header.alg), alg);
        kids.push(json!(header.kid));
        tokens.push(token);
    }
    let jwks: Value = reqwest::get(oauth.url("/.well-known/jwks.json"))
        .await?
        .json()
        .await?;
    let published: Vec<Value> = jwks["keys"]
        .as_array()
        .map(|keys| keys.iter().map(|k| k["kid"].clone()).collect())
        .unwrap_or_default();
    for kid in &kids {
        assert!(published.contains(kid), "{kid} left the JWKS: {jwks}");
    }
    // Tokens signed by every key, old ones included, verify and still work.
    for token in &tokens {
        verify_with_jwks(&oauth, token).await?;
        assert!(oauth.active(&client, token).await?);
        assert_eq!(oauth.get_bearer("/admin/users", token).await?.status, 200);
    }
    let listed = api.get("/admin/signing-keys").await?.expect(200);
    assert!(!listed.text.contains("private"), "{}", listed.text);
    api.post("/admin/signing-keys", json!({"alg": "HS256"}))
        .await?
        .expect(422);
    Ok(())
}

#[tokio::test]
async fn access_tokens_act_on_the_admin_api_within_their_scopes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let reader = agent(&api, &["admin:read", "profile"]).await?;
    let token = token_of(&oauth, &reader, Some("admin:read")).await?;
    let as_reader = Api::new(&node.http, lumo_tests::ORG, "").with_bearer(&token);

    as_reader.get("/admin/users").await?.expect(200);
    let refused = as_reader
        .post("/admin/users", json!({"email": "x@example.com"}))
        .await?
        .expect_error(403, "forbidden");
    let required = refused.body["details"]["required_scopes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(required.contains(&json!("admin:write")), "{}", refused.text);

    let me = as_reader.get("/me").await?.expect(200);
    let me = if me.body["data"].is_object() {
        me.body["data"].clone()
    } else {
        me.body.clone()
    };
    assert_eq!(me["subject_type"], "agent", "{me}");

    // Without admin scopes the same client reads nothing.
    let narrow = token_of(&oauth, &reader, Some("profile")).await?;
    let refused = Api::new(&node.http, lumo_tests::ORG, "")
        .with_bearer(&narrow)
        .get("/admin/users")
        .await?
        .expect_error(403, "forbidden");
    let required = refused.body["details"]["required_scopes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(required.contains(&json!("admin:read")), "{}", refused.text);
    // Scopes the client was never allowed are refused at the token endpoint.
    oauth
        .client_credentials(&reader, Some("admin:write"))
        .await?
        .expect_oauth(400, "invalid_scope");
    Ok(())
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Variants of a real token no one should accept.
fn forgeries(real: &str) -> anyhow::Result<Vec<(&'static str, String)>> {
    let header = jsonwebtoken::decode_header(real)?;
    let kid = header.kid.unwrap_or_default();
    let parts: Vec<&str> = real.split('.').collect();
    let mut payload = claims(real);
    let none_header = b64(json!({"alg": "none", "typ": "at+jwt", "kid": kid})
        .to_string()
        .as_bytes());
    let unsigned = format!("{none_header}.{}.", parts[1]);
    let stranger = generate_signing_key(JwsAlg::RS256, &kid).map_err(anyhow::Error::msg)?;
    let stranger = SigningMaterial::new(
        &kid,
        JwsAlg::RS256,
        &stranger.private_der,
        &stranger.public_jwk,
    )
    .map_err(anyhow::Error::msg)?;
    let wrong_key = stranger
        .sign(&payload, "at+jwt")
        .map_err(anyhow::Error::msg)?;
    payload["scope"] = json!("admin:read admin:write");
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(payload.to_string().as_bytes()),
        parts[2]
    );
    payload["exp"] = json!(1);
    let expired = stranger
        .sign(&payload, "at+jwt")
        .map_err(anyhow::Error::msg)?;
    Ok(vec![
        ("alg none", unsigned),
        ("wrong key", wrong_key),
        ("tampered payload", tampered),
        ("expired and wrong key", expired),
        ("garbage", "not.a.jwt".into()),
    ])
}

#[tokio::test]
async fn forged_and_foreign_tokens_are_refused_everywhere() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let client = agent(&api, &["admin:read", "openid"]).await?;
    let real = token_of(&oauth, &client, None).await?;
    assert_eq!(oauth.get_bearer("/admin/users", &real).await?.status, 200);

    let other_key = node.create_org("other-corp").await?;
    let other_api = Api::new(&node.http, "other-corp", &other_key);
    let other_oauth = Oauth::for_org(&node.http, "other-corp");
    let foreign_client = agent(&other_api, &["admin:read", "openid"]).await?;
    let foreign = token_of(&other_oauth, &foreign_client, None).await?;
    assert_eq!(
        other_oauth
            .get_bearer("/admin/users", &foreign)
            .await?
            .status,
        200
    );

    let mut refused = forgeries(&real)?;
    refused.push(("another org's token", foreign));
    for (what, token) in &refused {
        assert_eq!(
            oauth.get_bearer("/admin/users", token).await?.status,
            401,
            "{what} on the admin API"
        );
        assert_eq!(
            oauth.get_bearer("/oauth/userinfo", token).await?.status,
            401,
            "{what} at userinfo"
        );
        assert!(
            !oauth.active(&client, token).await?,
            "{what} introspected as active"
        );
    }
    // This org's client cannot use the other org's endpoints.
    other_oauth
        .client_credentials(&client, None)
        .await?
        .expect_oauth(401, "invalid_client");
    // And another org's client cannot introspect this org's token.
    let reply = other_oauth
        .post(
            "/oauth/introspect",
            &[("token", &real)],
            basic(&foreign_client),
        )
        .await?
        .expect(200);
    assert_eq!(reply.body["active"], false, "{}", reply.text);
    Ok(())
}

#[tokio::test]
async fn admin_revocations_end_sessions_and_tokens_at_once() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "rev@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;

    let mut signed_in = Vec::new();
    for _ in 0..2 {
        let request = AuthRequest::new(&client, "openid offline_access");
        let mut browser = Browser::new();
        let redirect = sign_in(&mut browser, &oauth, &request, "rev@example.com", PASSWORD).await?;
        let tokens = exchange(&oauth, &client, &request, &redirect)
            .await?
            .expect(200);
        signed_in.push((browser, request, tokens.body));
    }
    let sessions = api
        .get(&format!("/admin/users/{user_id}/sessions"))
        .await?
        .expect(200);
    assert_eq!(sessions.body["data"].as_array().map(Vec::len), Some(2));
    let count = api.get("/admin/sessions/count").await?.expect(200);
    assert_eq!(count.data()["count"], 2);
    let listed = api
        .get(&format!("/admin/sessions?userId={user_id}"))
        .await?
        .expect(200);
    let session_id = listed.body["data"][0]["id"].clone();
    assert!(session_id.is_number(), "{}", listed.text);

    // One session: its tokens stop, the other session's keep working.
    api.delete(&format!("/admin/sessions/{session_id}"))
        .await?
        .expect(200);
    let ended: Vec<bool> = {
        let mut out = Vec::new();
        for (_, _, tokens) in &signed_in {
            let access = tokens["access_token"].as_str().unwrap_or_default();
            out.push(oauth.active(&client, access).await?);
        }
        out
    };
    assert_eq!(
        ended.iter().filter(|active| !**active).count(),
        1,
        "{ended:?}"
    );

    // All of the user's sessions: refresh tokens die and the browsers must sign in again.
    api.delete(&format!("/admin/users/{user_id}/sessions"))
        .await?
        .expect(200);
    for (browser, request, tokens) in &mut signed_in {
        let access = tokens["access_token"].as_str().unwrap_or_default();
        assert!(!oauth.active(&client, access).await?);
        assert_eq!(
            oauth.get_bearer("/oauth/userinfo", access).await?.status,
            401
        );
        let refresh = tokens["refresh_token"].as_str().unwrap_or_default();
        oauth
            .post(
                "/oauth/token",
                &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
                basic(&client),
            )
            .await?
            .expect_oauth(400, "invalid_grant");
        let page = browser.get(&request.url(&oauth)).await?;
        assert_eq!(page.status, 200);
        assert!(page.body.contains("name=\"password\""), "signed out");
    }
    let stats = api.get("/admin/sessions/stats").await?.expect(200);
    assert_eq!(stats.data()["active"], 0, "{}", stats.text);

    // A client's tokens, then one token by id from the token list.
    let machine = agent(&api, &["admin:read"]).await?;
    let a = token_of(&oauth, &machine, None).await?;
    api.delete(&format!("/admin/clients/{}/tokens", machine.id))
        .await?
        .expect(200);
    assert!(!oauth.active(&machine, &a).await?);
    assert_eq!(oauth.get_bearer("/admin/users", &a).await?.status, 401);
    let b = token_of(&oauth, &machine, None).await?;
    let tokens = api
        .get(&format!(
            "/admin/tokens?clientId={}&revoked=false",
            machine.id
        ))
        .await?
        .expect(200);
    let items = tokens.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 1, "{}", tokens.text);
    api.delete(&format!("/admin/tokens/{}", items[0]["id"]))
        .await?
        .expect(200);
    assert!(!oauth.active(&machine, &b).await?);

    // Revoking everything needs an explicit confirmation; unknown ids are 404.
    api.post("/admin/sessions/revoke-all", json!({}))
        .await?
        .expect_error(400, "invalid_request");
    api.delete("/admin/sessions/999999").await?.expect(404);
    api.delete("/admin/tokens/999999").await?.expect(404);
    api.delete("/admin/users/nobody@example.com/sessions")
        .await?
        .expect(404);
    Ok(())
}

#[tokio::test]
async fn oversized_and_malformed_protocol_requests_are_refused() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let client = agent(&api, &["admin:read"]).await?;
    let huge = "a".repeat(17 * 1024);
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "client_credentials"), ("scope", &huge)],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_request");
    oauth
        .post("/oauth/introspect", &[("token", &huge)], basic(&client))
        .await?
        .expect_oauth(400, "invalid_request");
    let repeated = reqwest::Client::new()
        .post(oauth.url("/oauth/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&grant_type=client_credentials")
        .send()
        .await?;
    assert_eq!(repeated.status(), 400);
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "password")],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "unsupported_grant_type");
    oauth
        .post("/oauth/token", &[], basic(&client))
        .await?
        .expect_oauth(400, "invalid_request");
    let text = reqwest::Client::new()
        .post(oauth.url("/oauth/token"))
        .basic_auth(&client.id, client.secret.as_deref())
        .header("content-type", "text/plain")
        .body("grant_type=client_credentials")
        .send()
        .await?;
    assert_eq!(text.status(), 400);
    let authorize = reqwest::get(format!(
        "{}?client_id={}&response_type=code&state={huge}",
        oauth.url("/oauth/authorize"),
        client.id
    ))
    .await?;
    assert!(
        authorize.status() == 400 || authorize.status() == 414 || authorize.status() == 431,
        "{}",
        authorize.status()
    );
    Ok(())
}

#[tokio::test]
async fn expired_tokens_and_requests_are_purged_and_live_ones_kept() -> anyhow::Result<()> {
    use lumo_cluster::clock::{ManualClock, Timestamp};
    let start = Timestamp::now();
    let clock = std::sync::Arc::new(ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let client = create_client(
        &api,
        json!({
            "grantTypes": ["client_credentials", "urn:ietf:params:oauth:grant-type:device_code"],
            "redirectUris": [],
            "allowedScopes": ["admin:read", "openid"],
            "accessTokenLifetime": 60,
        }),
    )
    .await?;
    let short = token_of(&oauth, &client, None).await?;
    oauth
        .post(
            "/oauth/device_authorization",
            &[("scope", "openid")],
            basic(&client),
        )
        .await?
        .expect(200);
    let listed = |api: Api, client_id: String| async move {
        let reply = api
            .get(&format!("/admin/tokens?clientId={client_id}"))
            .await?
            .expect(200);
        anyhow::Ok(
            reply.body["pagination"]["total"]
                .as_u64()
                .unwrap_or(u64::MAX),
        )
    };
    assert_eq!(listed(api.clone(), client.id.clone()).await?, 1);

    let service = &node.node.as_ref().expect("running").service;
    assert_eq!(
        service.purge_expired_protocol_state().await?,
        0,
        "nothing expired yet"
    );

    clock.set(start.plus_millis(2 * 3_600_000));
    let live = token_of(&oauth, &client, None).await?;
    let removed = service.purge_expired_protocol_state().await?;
    assert_eq!(
        removed, 2,
        "the expired token and the expired device request"
    );
    assert_eq!(
        listed(api.clone(), client.id.clone()).await?,
        1,
        "only the live token"
    );
    assert!(!oauth.active(&client, &short).await?);
    assert!(oauth.active(&client, &live).await?);
    assert_eq!(oauth.get_bearer("/admin/users", &live).await?.status, 200);
    let audit = api
        .get("/admin/audit-logs?action=oauth.expired_purged")
        .await?
        .expect(200);
    assert_eq!(
        audit.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        audit.text
    );
    assert_eq!(
        service.purge_expired_protocol_state().await?,
        0,
        "idempotent"
    );
    Ok(())
}

/// A node on a hand-driven clock and a user signed in through a client made from
/// `client_body`, with the tokens of the code flow.
struct ClockedGrant {
    start: lumo_cluster::clock::Timestamp,
    clock: std::sync::Arc<lumo_cluster::clock::ManualClock>,
    node: TestNode,
    api: Api,
    oauth: Oauth,
    client: Client,
    request: AuthRequest,
    browser: Browser,
    tokens: serde_json::Value,
}

async fn clocked_grant(
    email: &str,
    client_body: serde_json::Value,
) -> anyhow::Result<ClockedGrant> {
    let start = lumo_cluster::clock::Timestamp::now();
    let clock = std::sync::Arc::new(lumo_cluster::clock::ManualClock::new(start));
    let node = TestNode::start_with_clock(clock.clone()).await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, email, PASSWORD).await?;
    let client = create_client(&api, client_body).await?;
    let request = AuthRequest::new(&client, "openid offline_access");
    let mut browser = Browser::new();
    let redirect = sign_in(&mut browser, &oauth, &request, email, PASSWORD).await?;
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200)
        .body;
    Ok(ClockedGrant {
        start,
        clock,
        node,
        api,
        oauth,
        client,
        request,
        browser,
        tokens,
    })
}

#[tokio::test]
async fn expired_sessions_refresh_tokens_and_their_families_are_purged() -> anyhow::Result<()> {
    let ClockedGrant {
        start,
        clock,
        node,
        api,
        oauth,
        client,
        request,
        mut browser,
        tokens,
    } = clocked_grant(
        "old@example.com",
        json!({"skipConsent": true, "refreshTokenLifetime": 300, "accessTokenLifetime": 60}),
    )
    .await?;
    let refresh = tokens["refresh_token"].as_str().unwrap_or_default();
    let stats = api.get("/admin/sessions/stats").await?.expect(200);
    assert_eq!(stats.data()["total"], 1);

    let service = &node.node.as_ref().expect("running").service;
    clock.set(start.plus_millis(3 * 86_400_000));
    let mut removed = 0;
    for _ in 0..3 {
        removed += service.purge_expired_protocol_state().await?;
    }
    // The access token, the refresh token, the code, the session and the refresh family.
    assert_eq!(removed, 5, "rows purged");
    let stats = api.get("/admin/sessions/stats").await?.expect(200);
    assert_eq!(stats.data()["total"], 0, "{}", stats.text);
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_grant");
    // The browser's old cookie signs nobody in.
    let page = browser.get(&request.url(&oauth)).await?;
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    Ok(())
}

#[tokio::test]
async fn the_purge_keeps_what_reuse_detection_needs() -> anyhow::Result<()> {
    let ClockedGrant {
        start,
        clock,
        node,
        oauth,
        client,
        tokens: first,
        ..
    } = clocked_grant(
        "keep@example.com",
        json!({"skipConsent": true, "refreshTokenLifetime": 3600}),
    )
    .await?;
    let r1 = first["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let refresh = |token: String| {
        let oauth = &oauth;
        let client = &client;
        async move {
            oauth
                .post(
                    "/oauth/token",
                    &[("grant_type", "refresh_token"), ("refresh_token", &token)],
                    basic(client),
                )
                .await
        }
    };
    // R1 expires; the family lives on through R2, issued later.
    clock.set(start.plus_millis(3_000_000));
    let second = refresh(r1.clone()).await?.expect(200);
    let r2 = second.body["refresh_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    clock.set(start.plus_millis(4_000_000));
    let service = &node.node.as_ref().expect("running").service;
    service.purge_expired_protocol_state().await?;
    // R1 is kept: presenting it again still revokes the whole family, R2 included.
    refresh(r1).await?.expect_oauth(400, "invalid_grant");
    refresh(r2).await?.expect_oauth(400, "invalid_grant");
    Ok(())
}
