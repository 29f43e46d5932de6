//! The authorization code flow end to end through the hosted pages: login, consent, code,
//! PKCE, ID token checked against the JWKS, userinfo, refresh rotation with reuse detection,
//! code replay, logout, and what is refused along the way.

use lumo_tests::TestNode;
use lumo_tests::oauth::{
    AuthRequest, Browser, Oauth, admin, create_client, create_user, exchange, form, query_param,
    sign_in, verify_with_jwks,
};
use serde_json::json;

const PASSWORD: &str = "Correct-horse-battery-9";

#[tokio::test]
async fn a_user_signs_in_consents_and_the_client_gets_verified_tokens() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "ada@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({})).await?;
    let request = AuthRequest::new(&client, "openid profile email");
    let mut browser = Browser::new();

    // The first visit shows the login page, with a CSRF cookie and the request carried along.
    let page = browser.get(&request.url(&oauth)).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Sign in"), "{}", page.body);
    assert!(browser.cookie("lumo_csrf").is_some());
    assert_eq!(
        page.headers
            .get("x-frame-options")
            .and_then(|v| v.to_str().ok()),
        Some("DENY")
    );
    let (action, fields) = form(&page.body).expect("login form");
    assert!(action.ends_with("/oauth/login/submit"), "{action}");
    assert!(
        fields
            .iter()
            .any(|(n, v)| n == "state" && *v == request.state)
    );

    let redirect = sign_in(&mut browser, &oauth, &request, "ada@example.com", PASSWORD).await?;
    assert!(redirect.starts_with(&client.redirect_uri), "{redirect}");
    assert_eq!(
        query_param(&redirect, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert_eq!(query_param(&redirect, "iss"), Some(oauth.issuer()));
    assert!(query_param(&redirect, "session_state").is_some());
    assert!(browser.cookie("lumo_session").is_some());

    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    assert_eq!(tokens.headers["cache-control"], "no-store");
    let body = &tokens.body;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "openid profile email");
    let id_token = body["id_token"].as_str().expect("id_token");
    let id = verify_with_jwks(&oauth, id_token).await?;
    assert_eq!(id["iss"], oauth.issuer());
    assert_eq!(id["sub"], user_id);
    assert_eq!(id["aud"], client.id);
    assert_eq!(id["nonce"], request.nonce);
    assert_eq!(id["email"], "ada@example.com");
    assert!(id["auth_time"].is_i64() && id["at_hash"].is_string());
    let access = body["access_token"].as_str().expect("access_token");
    let at = verify_with_jwks(&oauth, access).await?;
    assert_eq!(at["sub"], user_id);
    assert_eq!(at["client_id"], client.id);
    assert_eq!(at["org"], "acme-corp");
    assert!(at["jti"].is_string());

    let info = oauth
        .get_bearer("/oauth/userinfo", access)
        .await?
        .expect(200);
    assert_eq!(info.body["sub"], user_id);
    assert_eq!(info.body["email"], "ada@example.com");
    assert_eq!(info.body["email_verified"], true);
    assert_eq!(info.body["name"], "Test User");

    // A second authorization in the same browser needs neither login nor consent.
    let again = AuthRequest::new(&client, "openid email");
    let page = browser.get(&again.url(&oauth)).await?;
    assert_eq!(page.status, 302, "{}", page.body);
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("code="))
    );
    Ok(())
}

#[tokio::test]
async fn refresh_tokens_rotate_and_a_reused_one_revokes_its_whole_family() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "bo@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let request = AuthRequest::new(&client, "openid offline_access");
    let mut browser = Browser::new();
    let redirect = sign_in(&mut browser, &oauth, &request, "bo@example.com", PASSWORD).await?;
    let first = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let r1 = first.body["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let basic = Some((client.id.as_str(), client.secret.as_deref().unwrap_or("")));

    let second = oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
            basic,
        )
        .await?
        .expect(200);
    let r2 = second.body["refresh_token"]
        .as_str()
        .expect("rotated")
        .to_string();
    assert_ne!(r1, r2);
    let a2 = second.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    assert!(oauth.active(&client, &a2).await?);
    // Narrowing the scope is allowed, widening is not.
    oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &r2),
                ("scope", "openid admin"),
            ],
            basic,
        )
        .await?
        .expect_error(400, "invalid_scope");

    // Reusing the rotated token is refused and ends every token of the grant.
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &r1)],
            basic,
        )
        .await?
        .expect_error(400, "invalid_grant");
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", &r2)],
            basic,
        )
        .await?
        .expect_error(400, "invalid_grant");
    assert!(!oauth.active(&client, &a2).await?);
    // The reuse is in the audit log.
    let audit = api.get("/admin/audit-logs?limit=100").await?.expect(200);
    let actions: Vec<&str> = audit
        .data()
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["action"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        actions.contains(&"oauth.refresh_token.reused"),
        "{actions:?}"
    );
    assert!(actions.contains(&"oauth.token.issued"), "{actions:?}");
    assert!(actions.contains(&"user.login.succeeded"), "{actions:?}");
    Ok(())
}

#[tokio::test]
async fn codes_are_single_use_bound_to_client_redirect_and_verifier() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "cy@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let other = create_client(&api, json!({"skipConsent": true})).await?;
    let mut browser = Browser::new();

    // Wrong verifier, wrong redirect URI, another client: refused, and the code still works.
    let request = AuthRequest::new(&client, "openid");
    let redirect = sign_in(&mut browser, &oauth, &request, "cy@example.com", PASSWORD).await?;
    let code = query_param(&redirect, "code").expect("code");
    let basic = Some((client.id.as_str(), client.secret.as_deref().unwrap_or("")));
    let mut bad = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        (
            "code_verifier",
            "wrong-verifier-wrong-verifier-wrong-verifier-1",
        ),
    ];
    oauth
        .post("/oauth/token", &bad, basic)
        .await?
        .expect_error(400, "invalid_grant");
    bad[3].1 = request.verifier.as_str();
    bad[2].1 = "http://127.0.0.1:9/other";
    oauth
        .post("/oauth/token", &bad, basic)
        .await?
        .expect_error(400, "invalid_grant");
    bad[2].1 = client.redirect_uri.as_str();
    oauth
        .post(
            "/oauth/token",
            &bad,
            Some((other.id.as_str(), other.secret.as_deref().unwrap_or(""))),
        )
        .await?
        .expect_error(400, "invalid_grant");
    let without_verifier = &bad[..3];
    oauth
        .post("/oauth/token", without_verifier, basic)
        .await?
        .expect_error(400, "invalid_grant");

    // The right exchange works once; a replay is refused and revokes what it issued.
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let access = tokens.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();
    assert!(oauth.active(&client, &access).await?);
    exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect_error(400, "invalid_grant");
    assert!(!oauth.active(&client, &access).await?);
    Ok(())
}

#[tokio::test]
async fn authorization_requests_that_cannot_be_trusted_never_redirect() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let client = create_client(&api, json!({})).await?;
    let mut browser = Browser::new();

    // Unregistered redirect URI, unknown client, unknown org: an error page, no Location.
    let request =
        AuthRequest::new(&client, "openid").with("redirect_uri", "https://evil.example/cb");
    let page = browser.get(&request.url(&oauth)).await?;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none());
    assert!(page.body.contains("redirect_uri"), "{}", page.body);
    let request = AuthRequest::new(&client, "openid").with("client_id", "no-such-client");
    let page = browser.get(&request.url(&oauth)).await?;
    assert_eq!(page.status, 400);
    assert!(page.location.is_none());
    let page = browser
        .get(&format!(
            "{}/orgs/no-such-org/api/v1/oauth/authorize?client_id=x",
            node.http
        ))
        .await?;
    assert_eq!(page.status, 404);

    // Errors about the rest of the request go back to the client, with state and iss.
    let cases = [
        ("response_type", "token", "unsupported_response_type"),
        ("scope", "openid admin:users", "invalid_scope"),
        ("code_challenge_method", "plain", "invalid_request"),
        ("prompt", "none", "login_required"),
    ];
    for (name, value, error) in cases {
        let request = AuthRequest::new(&client, "openid").with(name, value);
        let page = browser.get(&request.url(&oauth)).await?;
        assert_eq!(page.status, 302, "{name}={value}: {}", page.body);
        let location = page.location.unwrap_or_default();
        assert!(location.starts_with(&client.redirect_uri), "{location}");
        assert_eq!(
            query_param(&location, "error").as_deref(),
            Some(error),
            "{location}"
        );
        assert_eq!(
            query_param(&location, "state").as_deref(),
            Some(request.state.as_str())
        );
        assert_eq!(query_param(&location, "iss"), Some(oauth.issuer()));
    }
    // A public client must use PKCE.
    let public = create_client(
        &api,
        json!({"isConfidential": false, "grantTypes": ["authorization_code"]}),
    )
    .await?;
    let request = AuthRequest::new(&public, "openid").with("code_challenge", "");
    let mut params = request.params.clone();
    params.retain(|(k, _)| k != "code_challenge" && k != "code_challenge_method");
    let url = format!(
        "{}?{}",
        oauth.url("/oauth/authorize"),
        params
            .iter()
            .map(|(k, v)| format!("{k}={}", lumo_cluster::oauth::urlencode(v)))
            .collect::<Vec<_>>()
            .join("&")
    );
    let page = browser.get(&url).await?;
    assert_eq!(
        query_param(page.location.as_deref().unwrap_or(""), "error").as_deref(),
        Some("invalid_request")
    );
    Ok(())
}

#[tokio::test]
async fn consent_can_be_denied_and_forms_need_their_csrf_token() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "di@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({})).await?;
    let request = AuthRequest::new(&client, "openid email");
    let mut browser = Browser::new();
    let page = browser.get(&request.url(&oauth)).await?;
    let (action, mut fields) = form(&page.body).expect("login form");
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "email" => *value = "di@example.com".into(),
            "password" => *value = PASSWORD.into(),
            _ => {}
        }
    }
    // A forged login post (wrong CSRF token) goes back to the login page with an error.
    let mut forged = fields.clone();
    for (name, value) in forged.iter_mut() {
        if name == "_csrf" {
            *value = "forged-token-forged-token".into();
        }
    }
    let page = browser
        .post_form(&format!("{}{action}", node.http), &forged)
        .await?;
    assert_eq!(page.status, 302);
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("login_error=csrf"))
    );
    assert!(browser.cookie("lumo_session").is_none());

    let page = browser
        .post_form(&format!("{}{action}", node.http), &fields)
        .await?;
    let next = page.location.expect("back to authorize");
    let page = browser
        .get(&format!(
            "{}{next}",
            if next.starts_with('/') {
                node.http.as_str()
            } else {
                ""
            }
        ))
        .await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("wants to access your account"),
        "{}",
        page.body
    );
    let (action, mut fields) = form(&page.body).expect("consent form");
    // Without the CSRF token the consent post is refused.
    let without: Vec<(String, String)> = fields
        .iter()
        .filter(|(n, _)| n != "_csrf")
        .cloned()
        .chain([("consent".to_string(), "allow".to_string())])
        .collect();
    let page = browser
        .post_form(&format!("{}{action}", node.http), &without)
        .await?;
    assert_eq!(page.status, 400);
    fields.push(("consent".into(), "deny".into()));
    let page = browser
        .post_form(&format!("{}{action}", node.http), &fields)
        .await?;
    let location = page.location.expect("redirect");
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    Ok(())
}

#[tokio::test]
async fn wrong_passwords_lock_the_account_and_blocked_users_cannot_sign_in() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "eve@example.com", PASSWORD).await?;
    create_user(&api, "fay@example.com", PASSWORD).await?;
    let login = |email: &'static str, password: &'static str| {
        let oauth = &oauth;
        async move {
            let mut browser = Browser::new();
            browser
                .post_json(
                    &oauth.url("/oauth/login/json"),
                    json!({"email": email, "password": password}),
                )
                .await
        }
    };
    for _ in 0..4 {
        let page = login("eve@example.com", "wrong-password").await?;
        assert_eq!(page.status, 401, "{}", page.body);
        assert_eq!(page.json()["error"], "invalid_token");
    }
    // The fifth failure locks the account (and says so); even the right password is refused.
    assert_eq!(
        login("eve@example.com", "wrong-password").await?.status,
        429
    );
    let locked = login("eve@example.com", PASSWORD).await?;
    assert_eq!(locked.status, 429, "{}", locked.body);
    // Unknown emails fail the same way as wrong passwords.
    assert_eq!(login("nobody@example.com", PASSWORD).await?.status, 401);

    let fay = api.get("/admin/users/fay@example.com").await?.expect(200);
    let fay_id = fay.data()["id"].as_str().unwrap_or_default().to_string();
    api.post_empty(&format!("/admin/users/{fay_id}/block"))
        .await?
        .expect(200);
    let blocked = login("fay@example.com", PASSWORD).await?;
    assert_eq!(blocked.status, 403, "{}", blocked.body);
    api.post_empty(&format!("/admin/users/{fay_id}/unblock"))
        .await?
        .expect(200);
    let ok = login("fay@example.com", PASSWORD).await?;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["status"], "complete");

    // Every failure is in the audit log.
    let audit = api.get("/admin/audit-logs?limit=100").await?.expect(200);
    let failed = audit
        .data()
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|e| e["action"] == "user.login.failed")
                .count()
        })
        .unwrap_or(0);
    assert!(failed >= 7, "{}", audit.text);
    let _ = oauth;
    Ok(())
}

#[tokio::test]
async fn logout_ends_the_session_and_its_tokens_and_returns_to_the_client() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "gus@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let request = AuthRequest::new(&client, "openid");
    let mut browser = Browser::new();
    let redirect = sign_in(&mut browser, &oauth, &request, "gus@example.com", PASSWORD).await?;
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let id_token = tokens.body["id_token"]
        .as_str()
        .expect("id token")
        .to_string();
    let access = tokens.body["access_token"]
        .as_str()
        .expect("access")
        .to_string();

    // An unregistered post-logout URI is refused.
    let bad = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}",
        oauth.url("/oauth/logout"),
        lumo_cluster::oauth::urlencode("https://evil.example/")
    );
    assert_eq!(browser.get(&bad).await?.status, 400);
    // Without an ID token hint the user confirms first.
    let page = browser.get(&oauth.url("/oauth/logout")).await?;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("Sign out"), "{}", page.body);
    assert!(oauth.active(&client, &access).await?);

    let url = format!(
        "{}?id_token_hint={id_token}&post_logout_redirect_uri={}&state=s1",
        oauth.url("/oauth/logout"),
        lumo_cluster::oauth::urlencode("http://127.0.0.1:9/bye")
    );
    let page = browser.get(&url).await?;
    assert_eq!(page.status, 302, "{}", page.body);
    assert_eq!(
        page.location.as_deref(),
        Some("http://127.0.0.1:9/bye?state=s1")
    );
    assert!(browser.cookie("lumo_session").is_none());
    assert!(!oauth.active(&client, &access).await?);
    // The next authorization asks for the password again.
    let again = browser
        .get(&AuthRequest::new(&client, "openid").url(&oauth))
        .await?;
    assert_eq!(again.status, 200);
    assert!(again.body.contains("password"));
    Ok(())
}
