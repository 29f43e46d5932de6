//! What a security review of the provider asked for, proven from outside: no path from a
//! registration or client-management right to admin tokens, token exchange only by a client
//! allowed it (and never outliving its subject), resource-bound tokens kept off the admin API,
//! confidential-only introspection, lockout that parallel guesses cannot outrun, admin scopes
//! re-judged on refresh, and URL and size checks.

use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, admin, basic, claims, create_client, create_user,
    exchange, sign_in,
};
use lumo_tests::{Api, TestNode};
use serde_json::json;

const PASSWORD: &str = "Correct-horse-battery-9";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

async fn key_with(api: &Api, scopes: &[&str]) -> anyhow::Result<String> {
    let reply = api
        .post(
            "/admin/api-keys",
            json!({"name": "narrow", "scopes": scopes}),
        )
        .await?
        .expect(201);
    Ok(reply.data()["key"].as_str().unwrap_or_default().to_string())
}

async fn access_token(reply: lumo_tests::http::Reply) -> String {
    reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn registration_and_client_rights_never_lead_to_admin_tokens() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let register = format!(
        "{}/orgs/{}/api/v1/connect/register",
        node.http,
        lumo_tests::ORG
    );
    let registrar = key_with(&api, &["admin:clients:register"]).await?;
    let headers = [("X-API-Key", registrar.as_str())];
    for (metadata, what) in [
        (
            json!({"grant_types": ["client_credentials"], "scope": "admin", "token_endpoint_auth_method": "client_secret_basic"}),
            "admin scope",
        ),
        (
            json!({"grant_types": ["client_credentials"], "scope": "admin:read"}),
            "admin:read scope",
        ),
        (
            json!({"grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "jwks": {"keys": []}}),
            "jwt-bearer grant",
        ),
        (
            json!({"grant_types": [TOKEN_EXCHANGE]}),
            "token exchange grant",
        ),
        (
            json!({"grant_types": ["urn:openid:params:grant-type:ciba"]}),
            "CIBA grant",
        ),
    ] {
        let reply = lumo_tests::http::raw_request(
            reqwest::Method::POST,
            &register,
            &headers,
            Some(metadata),
        )
        .await?;
        assert_eq!(reply.status, 400, "{what}: {}", reply.text);
        assert_eq!(reply.body["error"], "invalid_client_metadata", "{what}");
    }
    // A machine client without admin scopes may still register itself.
    let ok = lumo_tests::http::raw_request(
        reqwest::Method::POST,
        &register,
        &headers,
        Some(json!({"grant_types": ["client_credentials"], "scope": "openid"})),
    )
    .await?;
    assert_eq!(ok.status, 201, "{}", ok.text);

    // Client management alone cannot hand a client admin scopes or user-impersonating grants.
    let manager = api.with_key(&key_with(&api, &["admin:clients"]).await?);
    for body in [
        json!({"name": "x", "grantTypes": ["client_credentials"], "redirectUris": [], "allowedScopes": ["admin"]}),
        json!({"name": "x", "grantTypes": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "redirectUris": []}),
    ] {
        let refused = manager
            .post("/admin/clients", body)
            .await?
            .expect_error(403, "forbidden");
        assert_eq!(
            refused.body["details"]["required_scopes"],
            json!(["admin"]),
            "{}",
            refused.text
        );
    }
    let plain = manager
        .post(
            "/admin/clients",
            json!({"name": "plain", "grantTypes": ["client_credentials"], "redirectUris": [], "allowedScopes": ["openid"]}),
        )
        .await?
        .expect(201);
    let id = plain.data()["clientId"].as_str().unwrap_or_default();
    manager
        .put(
            &format!("/admin/clients/{id}/scopes"),
            json!({"scopes": ["admin:read"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    manager
        .patch(
            &format!("/admin/clients/{id}"),
            json!({"allowedScopes": ["admin"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    // The full admin key can.
    api.put(
        &format!("/admin/clients/{id}/scopes"),
        json!({"scopes": ["admin:read"]}),
    )
    .await?
    .expect(200);
    Ok(())
}

#[tokio::test]
async fn token_exchange_needs_a_client_allowed_it_and_resource_tokens_stay_off_the_admin_api()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let holder = create_client(
        &api,
        json!({"grantTypes": ["client_credentials"], "redirectUris": [], "allowedScopes": ["admin:read"], "accessTokenLifetime": 600}),
    )
    .await?;
    let subject = access_token(oauth.client_credentials(&holder, None).await?.expect(200)).await;
    let exchange_form = |extra: &[(&'static str, String)]| {
        let mut form: Vec<(&'static str, String)> = vec![
            ("grant_type", TOKEN_EXCHANGE.to_string()),
            ("subject_token", subject.clone()),
            ("subject_token_type", ACCESS_TOKEN.to_string()),
            ("resource", "https://payments.example.com/api".to_string()),
        ];
        form.extend_from_slice(extra);
        form
    };
    let post = |form: Vec<(&'static str, String)>, auth: Option<Client>| {
        let oauth = &oauth;
        async move {
            let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let credentials = auth
                .as_ref()
                .map(|c| (c.id.as_str(), c.secret.as_deref().unwrap_or("")));
            oauth.post("/oauth/token", &fields, credentials).await
        }
    };

    // Whoever holds a token of a client without the exchange grant cannot re-aim it.
    post(exchange_form(&[]), None)
        .await?
        .expect_oauth(400, "unauthorized_client");
    // A client without the exchange grant, authenticated or as the actor, is refused.
    post(exchange_form(&[]), Some(holder.clone()))
        .await?
        .expect_oauth(400, "unauthorized_client");
    let actor_token =
        access_token(oauth.client_credentials(&holder, None).await?.expect(200)).await;
    post(
        exchange_form(&[
            ("actor_token", actor_token),
            ("actor_token_type", ACCESS_TOKEN.to_string()),
        ]),
        None,
    )
    .await?
    .expect_oauth(400, "unauthorized_client");

    // A client with the grant that is not in the token's audience cannot re-aim it either.
    let exchanger = create_client(
        &api,
        json!({"grantTypes": [TOKEN_EXCHANGE, "client_credentials"], "redirectUris": [], "allowedScopes": ["admin:read"], "accessTokenLifetime": 3600}),
    )
    .await?;
    post(exchange_form(&[]), Some(exchanger.clone()))
        .await?
        .expect_oauth(400, "invalid_target");
    // Its own token it can: aimed at the payments API, never outliving the original.
    let own = access_token(
        oauth
            .client_credentials(&exchanger, None)
            .await?
            .expect(200),
    )
    .await;
    let exchanged = oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &own),
                ("subject_token_type", ACCESS_TOKEN),
                ("resource", "https://payments.example.com/api"),
            ],
            basic(&exchanger),
        )
        .await?
        .expect(200);
    let token = access_token(exchanged).await;
    let derived = claims(&token);
    let original = claims(&own);
    assert_eq!(derived["aud"], "https://payments.example.com/api");
    assert_eq!(derived["sub"], exchanger.id.as_str());
    assert!(
        derived["exp"].as_i64() <= original["exp"].as_i64(),
        "an exchanged token outlived its subject: {derived} vs {original}"
    );
    // Bound to the payments API: the admin API does not take it, the subject token still works.
    assert_eq!(oauth.get_bearer("/admin/users", &token).await?.status, 401);
    assert_eq!(oauth.get_bearer("/admin/users", &own).await?.status, 200);

    // Public clients cannot introspect; confidential ones can.
    let spa = create_client(
        &api,
        json!({"isPublic": true, "grantTypes": ["authorization_code"]}),
    )
    .await?;
    oauth
        .post(
            "/oauth/introspect",
            &[("token", subject.as_str()), ("client_id", spa.id.as_str())],
            None,
        )
        .await?
        .expect_oauth(401, "invalid_client");
    assert!(oauth.active(&holder, &subject).await?);
    Ok(())
}

#[tokio::test]
async fn parallel_wrong_passwords_cannot_outrun_the_lockout() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "target@example.com", PASSWORD).await?;
    let url = oauth.url("/oauth/login/json");
    let mut attempts = Vec::new();
    for i in 0..12 {
        let url = url.clone();
        attempts.push(tokio::spawn(async move {
            let reply = reqwest::Client::new()
                .post(&url)
                .header("X-Forwarded-For", format!("10.0.0.{i}"))
                .json(&json!({"email": "target@example.com", "password": format!("guess-{i}")}))
                .send()
                .await?;
            anyhow::Ok(reply.status().as_u16())
        }));
    }
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await??);
    }
    let judged = statuses.iter().filter(|s| **s == 401).count();
    assert!(
        judged < 5,
        "more wrong passwords were judged than the lockout allows: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    // Locked now: even the right password is refused, the same way as a wrong one.
    let right = reqwest::Client::new()
        .post(&url)
        .json(&json!({"email": "target@example.com", "password": PASSWORD}))
        .send()
        .await?;
    assert_eq!(right.status().as_u16(), 429);
    Ok(())
}

#[tokio::test]
async fn refresh_rejudges_admin_scopes_after_a_demotion() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "ops@example.com", PASSWORD).await?;
    api.put(
        &format!("/admin/users/{user_id}/roles"),
        json!({"roles": ["admin"]}),
    )
    .await?
    .expect(200);
    let client = create_client(
        &api,
        json!({"skipConsent": true, "allowedScopes": ["openid", "offline_access", "admin:read"]}),
    )
    .await?;
    let request = AuthRequest::new(&client, "openid offline_access admin:read");
    let mut browser = Browser::new();
    let redirect = sign_in(&mut browser, &oauth, &request, "ops@example.com", PASSWORD).await?;
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    assert!(
        tokens.body["scope"]
            .as_str()
            .unwrap_or("")
            .contains("admin:read")
    );
    let refresh = tokens.body["refresh_token"].as_str().unwrap_or_default();

    api.put(
        &format!("/admin/users/{user_id}/roles"),
        json!({"roles": []}),
    )
    .await?
    .expect(200);
    let refreshed = oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
            basic(&client),
        )
        .await?
        .expect(200);
    let scope = refreshed.body["scope"].as_str().unwrap_or_default();
    assert!(!scope.contains("admin:read"), "a demoted user kept {scope}");
    assert!(scope.contains("openid"), "{scope}");
    Ok(())
}

#[tokio::test]
async fn urls_with_user_information_and_oversized_pushed_requests_are_refused() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    api.post(
        "/admin/clients",
        json!({"name": "x", "redirectUris": ["http://[::1]:80@evil.example/cb"]}),
    )
    .await?
    .expect_error(422, "validation_error");
    let client = create_client(
        &api,
        json!({"grantTypes": ["client_credentials", "authorization_code"], "allowedScopes": ["openid"]}),
    )
    .await?;
    oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", "client_credentials"),
                ("resource", "http://127.0.0.1:1@evil.example/x"),
            ],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_target");
    let request = AuthRequest::new(&client, "openid");
    let mut fields: Vec<(&str, &str)> = request
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let padding = "p".repeat(4000);
    fields.push(("pad1", &padding));
    fields.push(("pad2", &padding));
    fields.push(("pad3", &padding));
    oauth
        .post("/oauth/par", &fields, basic(&client))
        .await?
        .expect_oauth(400, "invalid_request");
    Ok(())
}

#[tokio::test]
async fn a_pkce_code_may_be_redeemed_without_repeating_the_redirect_uri() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "short@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let request = AuthRequest::new(&client, "openid");
    let mut browser = Browser::new();
    let redirect = sign_in(
        &mut browser,
        &oauth,
        &request,
        "short@example.com",
        PASSWORD,
    )
    .await?;
    let code = lumo_tests::oauth::query_param(&redirect, "code").unwrap_or_default();
    // OAuth 2.1: PKCE binds the code; a redirect_uri that is sent must still match.
    oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/other"),
                ("code_verifier", &request.verifier),
            ],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_grant");
    oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("code_verifier", &request.verifier),
            ],
            basic(&client),
        )
        .await?
        .expect(200);
    Ok(())
}

#[tokio::test]
async fn a_powerful_client_can_be_changed_only_by_a_full_admin() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let console = create_client(
        &api,
        json!({"name": "Admin console", "allowedScopes": ["openid", "admin"]}),
    )
    .await?;
    let manager = api.with_key(&key_with(&api, &["admin:clients"]).await?);
    let path = format!("/admin/clients/{}", console.id);
    manager
        .patch(
            &path,
            json!({"grantTypes": ["authorization_code", "client_credentials"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    manager
        .patch(
            &path,
            json!({"redirectUris": ["https://attacker.example/cb"]}),
        )
        .await?
        .expect_error(403, "forbidden");
    manager
        .post(&format!("{path}/rotate-secret"), json!({}))
        .await?
        .expect_error(403, "forbidden");
    manager
        .put(&format!("{path}/scopes"), json!({"scopes": ["openid"]}))
        .await?
        .expect_error(403, "forbidden");
    // An ordinary client stays manageable with client rights.
    let ordinary = create_client(&api, json!({"name": "Shop"})).await?;
    manager
        .post(
            &format!("/admin/clients/{}/rotate-secret", ordinary.id),
            json!({}),
        )
        .await?
        .expect(200);
    Ok(())
}

#[tokio::test]
async fn resource_tokens_and_exchanges_by_outsiders_are_refused() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let machine = create_client(
        &api,
        json!({"grantTypes": ["client_credentials", TOKEN_EXCHANGE], "redirectUris": [], "allowedScopes": ["admin:read"]}),
    )
    .await?;
    // A token for a resource that only looks like this org's API is still for that resource.
    let lookalike = format!("https://evil.example/orgs/{}/api/v1", lumo_tests::ORG);
    let token = access_token(
        oauth
            .post(
                "/oauth/token",
                &[
                    ("grant_type", "client_credentials"),
                    ("resource", &lookalike),
                ],
                basic(&machine),
            )
            .await?
            .expect(200),
    )
    .await;
    let status = lumo_tests::http::raw_request(
        reqwest::Method::GET,
        &oauth.url("/admin/users"),
        &[("Authorization", &format!("Bearer {token}"))],
        None,
    )
    .await?
    .status;
    assert_eq!(status, 401);
    // Re-aiming that token elsewhere: the exchanging client is not in its audience.
    oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &token),
                ("subject_token_type", ACCESS_TOKEN),
                ("resource", "https://other.example/api"),
            ],
            None,
        )
        .await?
        .expect_oauth(400, "invalid_target");
    Ok(())
}
