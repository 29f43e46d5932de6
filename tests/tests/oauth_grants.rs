//! The grants beyond the browser code flow, end to end over HTTP: device authorization with the
//! hosted approval page, CIBA with its approval page, token exchange with nested actors and the
//! depth limit, the JWT bearer grant with a client key, pushed authorization requests, and
//! dynamic client registration (RFC 7591/7592).

use std::time::{SystemTime, UNIX_EPOCH};

use lumo_cluster::crypto::{JwsAlg, SigningMaterial, generate_signing_key};
use lumo_tests::TestNode;
use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, admin, basic, claims, create_client, create_user, decide,
    exchange, query_param, sign_in, signed_in, verify_with_jwks,
};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";
const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";
const CIBA: &str = "urn:openid:params:grant-type:ciba";
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[tokio::test]
async fn a_device_is_approved_on_the_hosted_page_and_then_gets_tokens() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "tv@example.com", PASSWORD).await?;
    let client = create_client(
        &api,
        json!({"grantTypes": [DEVICE_CODE, "refresh_token"], "redirectUris": []}),
    )
    .await?;

    let started = oauth
        .post(
            "/oauth/device_authorization",
            &[("scope", "openid profile offline_access")],
            basic(&client),
        )
        .await?
        .expect(200);
    let body = &started.body;
    let device_code = body["device_code"].as_str().unwrap_or_default().to_string();
    let user_code = body["user_code"].as_str().unwrap_or_default().to_string();
    assert_eq!(user_code.len(), 9, "{body}");
    assert_eq!(body["verification_uri"], oauth.url("/oauth/device"));
    assert_eq!(body["interval"], 5);
    assert!(body["expires_in"].as_u64().unwrap_or(0) > 60, "{body}");
    let complete = body["verification_uri_complete"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(complete.contains(&user_code), "{complete}");

    let poll = [
        ("grant_type", DEVICE_CODE),
        ("device_code", device_code.as_str()),
    ];
    oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect_oauth(400, "authorization_pending");
    oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect_oauth(400, "slow_down");

    // Not signed in: the verification page asks for a login first.
    let mut anonymous = Browser::new();
    let page = anonymous.get(&complete).await?;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);

    let mut browser = signed_in(&oauth, "tv@example.com", PASSWORD).await?;
    let page = browser.get(&complete).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(&user_code), "{}", page.body);
    // The decision form needs its CSRF token.
    let forged = browser
        .post_form(
            &oauth.url("/oauth/device"),
            &[
                ("user_code".into(), user_code.clone()),
                ("decision".into(), "allow".into()),
            ],
        )
        .await?;
    assert_eq!(forged.status, 400, "{}", forged.body);
    let done = decide(&mut browser, &oauth, &page, "allow").await?;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Device connected"), "{}", done.body);

    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    let tokens = oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect(200);
    let access = tokens.body["access_token"].as_str().unwrap_or_default();
    let at = verify_with_jwks(&oauth, access).await?;
    assert_eq!(at["sub"], user_id.as_str());
    assert_eq!(at["client_id"], client.id.as_str());
    assert!(tokens.body["refresh_token"].is_string(), "{}", tokens.body);
    assert!(tokens.body["id_token"].is_string(), "{}", tokens.body);

    // The device code is spent.
    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect_oauth(400, "invalid_grant");

    // A denied device gets access_denied.
    let second = oauth
        .post(
            "/oauth/device_authorization",
            &[("scope", "openid")],
            basic(&client),
        )
        .await?
        .expect(200);
    let page = browser
        .get(
            second.body["verification_uri_complete"]
                .as_str()
                .unwrap_or(""),
        )
        .await?;
    let denied = decide(&mut browser, &oauth, &page, "deny").await?;
    assert!(denied.body.contains("Request denied"), "{}", denied.body);
    let code = second.body["device_code"].as_str().unwrap_or_default();
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", DEVICE_CODE), ("device_code", code)],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "access_denied");

    // A client without the grant cannot start one; an unknown user code shows an error.
    let web = create_client(&api, json!({})).await?;
    oauth
        .post(
            "/oauth/device_authorization",
            &[("scope", "openid")],
            basic(&web),
        )
        .await?
        .expect_oauth(400, "unauthorized_client");
    let unknown = browser
        .get(&oauth.url("/oauth/device?user_code=ZZZZ-ZZZZ"))
        .await?;
    assert_eq!(unknown.status, 400, "{}", unknown.body);
    Ok(())
}

#[tokio::test]
async fn a_backchannel_request_is_approved_by_the_signed_in_user() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "desk@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"grantTypes": [CIBA], "redirectUris": []})).await?;

    let started = oauth
        .post(
            "/oauth/bc-authorize",
            &[
                ("scope", "openid email"),
                ("login_hint", "desk@example.com"),
                ("binding_message", "Pay 12 EUR"),
            ],
            basic(&client),
        )
        .await?
        .expect(200);
    let auth_req_id = started.body["auth_req_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(started.body["expires_in"].as_u64().unwrap_or(0) > 0);
    let poll = [("grant_type", CIBA), ("auth_req_id", auth_req_id.as_str())];
    oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect_oauth(400, "authorization_pending");

    let mut browser = signed_in(&oauth, "desk@example.com", PASSWORD).await?;
    let page = browser.get(&oauth.url("/oauth/ciba")).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Pay 12 EUR"), "{}", page.body);
    let done = decide(&mut browser, &oauth, &page, "allow").await?;
    assert_eq!(done.status, 200, "{}", done.body);

    tokio::time::sleep(std::time::Duration::from_millis(5_100)).await;
    let tokens = oauth
        .post("/oauth/token", &poll, basic(&client))
        .await?
        .expect(200);
    let id_token = tokens.body["id_token"].as_str().unwrap_or_default();
    let id = verify_with_jwks(&oauth, id_token).await?;
    assert_eq!(id["sub"], user_id.as_str());
    assert_eq!(id["email"], "desk@example.com");

    // Unknown users, missing hints and missing openid are refused up front.
    oauth
        .post(
            "/oauth/bc-authorize",
            &[("scope", "openid"), ("login_hint", "nobody@example.com")],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "unknown_user_id");
    oauth
        .post(
            "/oauth/bc-authorize",
            &[("scope", "openid")],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_request");
    oauth
        .post(
            "/oauth/bc-authorize",
            &[("scope", "email"), ("login_hint", "desk@example.com")],
            basic(&client),
        )
        .await?
        .expect_oauth(400, "invalid_scope");
    oauth
        .post(
            "/oauth/bc-authorize",
            &[("scope", "openid"), ("login_hint", "desk@example.com")],
            Some((client.id.as_str(), "wrong-secret")),
        )
        .await?
        .expect_oauth(401, "invalid_client");
    Ok(())
}

/// A user access token through the JWT bearer grant of `client` (whose key is `key`).
async fn user_token_by_assertion(
    oauth: &Oauth,
    client: &Client,
    key: &SigningMaterial,
    sub: &str,
) -> anyhow::Result<String> {
    let assertion = key
        .sign(
            &json!({
                "iss": client.id, "sub": sub, "aud": oauth.url("/oauth/token"),
                "exp": now_secs() + 300, "iat": now_secs(),
                "jti": lumo_cluster::crypto::random_token("", 12),
            }),
            "JWT",
        )
        .map_err(|e| anyhow::anyhow!(e))?;
    let reply = oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", JWT_BEARER),
                ("assertion", &assertion),
                ("scope", "openid profile"),
            ],
            basic(client),
        )
        .await?
        .expect(200);
    Ok(reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

fn client_key() -> anyhow::Result<(SigningMaterial, Value)> {
    let generated =
        generate_signing_key(JwsAlg::ES256, "client-key-1").map_err(anyhow::Error::msg)?;
    let material = SigningMaterial::new(
        "client-key-1",
        JwsAlg::ES256,
        &generated.private_der,
        &generated.public_jwk,
    )
    .map_err(anyhow::Error::msg)?;
    Ok((material, generated.public_jwk))
}

#[tokio::test]
async fn jwt_bearer_assertions_must_be_signed_by_the_clients_key_for_this_endpoint()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "svc@example.com", PASSWORD).await?;
    let (key, jwk) = client_key()?;
    let client = create_client(
        &api,
        json!({"grantTypes": [JWT_BEARER], "redirectUris": [], "jwks": {"keys": [jwk]}}),
    )
    .await?;

    let token = user_token_by_assertion(&oauth, &client, &key, "svc@example.com").await?;
    let at = verify_with_jwks(&oauth, &token).await?;
    assert_eq!(at["sub"], user_id.as_str());
    assert_eq!(at["client_id"], client.id.as_str());

    let sign = |claims: Value| key.sign(&claims, "JWT").map_err(anyhow::Error::msg);
    let endpoint = oauth.url("/oauth/token");
    let good = json!({
        "iss": client.id, "sub": user_id, "aud": endpoint, "exp": now_secs() + 300, "jti": "j-1",
    });
    // One token per assertion: the same assertion again is a replay.
    let once = sign(good.clone())?;
    for expected in [200, 400] {
        let reply = oauth
            .post(
                "/oauth/token",
                &[("grant_type", JWT_BEARER), ("assertion", &once)],
                basic(&client),
            )
            .await?;
        assert_eq!(reply.status, expected, "{}", reply.text);
    }
    // Every refused case below carries an unused jti, so only its own flaw can refuse it.
    let fresh = |mut claims: Value| {
        claims["jti"] = json!(lumo_cluster::crypto::random_token("", 12));
        claims
    };
    let mut cases = Vec::new();
    for (field, value) in [
        ("aud", json!("https://elsewhere.example/token")),
        ("iss", json!("someone-else")),
        ("exp", json!(now_secs() - 10)),
        ("exp", json!(now_secs() + 7200)),
        ("sub", json!("ghost@example.com")),
        ("jti", Value::Null),
    ] {
        let mut claims = fresh(good.clone());
        claims[field] = value;
        cases.push(sign(claims)?);
    }
    // Signed by a key the client never registered (same kid).
    let (stranger, _) = client_key()?;
    cases.push(
        stranger
            .sign(&fresh(good.clone()), "JWT")
            .map_err(anyhow::Error::msg)?,
    );
    // Unsigned.
    let unsigned = sign(fresh(good.clone()))?;
    let mut parts: Vec<&str> = unsigned.split('.').collect();
    let none_header = base64_url(br#"{"alg":"none","kid":"client-key-1"}"#);
    parts[0] = &none_header;
    cases.push(format!("{}.{}.", parts[0], parts[1]));
    for assertion in &cases {
        oauth
            .post(
                "/oauth/token",
                &[("grant_type", JWT_BEARER), ("assertion", assertion)],
                basic(&client),
            )
            .await?
            .expect_oauth(400, "invalid_grant");
    }
    // A client without registered keys cannot use the grant at all.
    let keyless = create_client(
        &api,
        json!({"grantTypes": [JWT_BEARER], "redirectUris": []}),
    )
    .await?;
    let assertion = sign(fresh(
        json!({"iss": keyless.id, "sub": user_id, "aud": endpoint, "exp": now_secs() + 300}),
    ))?;
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", JWT_BEARER), ("assertion", &assertion)],
            basic(&keyless),
        )
        .await?
        .expect_oauth(400, "invalid_grant");
    Ok(())
}

fn base64_url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[tokio::test]
async fn token_exchange_nests_actors_sets_the_audience_and_stops_at_depth_three()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user_id = create_user(&api, "owner@example.com", PASSWORD).await?;
    let (key, jwk) = client_key()?;
    let app = create_client(
        &api,
        json!({"grantTypes": [JWT_BEARER], "redirectUris": [], "jwks": {"keys": [jwk]}}),
    )
    .await?;
    let user_token = user_token_by_assertion(&oauth, &app, &key, &user_id).await?;

    let mut agents = Vec::new();
    for _ in 0..4 {
        agents.push(
            create_client(
                &api,
                json!({"grantTypes": [TOKEN_EXCHANGE, "client_credentials"], "redirectUris": []}),
            )
            .await?,
        );
    }
    let mut subject = user_token.clone();
    let mut expected_act = Value::Null;
    for (depth, agent) in agents.iter().take(3).enumerate() {
        let reply = oauth
            .post(
                "/oauth/token",
                &[
                    ("grant_type", TOKEN_EXCHANGE),
                    ("subject_token", &subject),
                    ("subject_token_type", ACCESS_TOKEN),
                    ("scope", "openid"),
                ],
                basic(agent),
            )
            .await?
            .expect(200);
        assert_eq!(reply.body["issued_token_type"], ACCESS_TOKEN);
        assert_eq!(reply.body["scope"], "openid");
        subject = reply.body["access_token"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let claims = verify_with_jwks(&oauth, &subject).await?;
        assert_eq!(claims["sub"], user_id.as_str(), "depth {depth}");
        // Without a resource the token is for the party it was delegated to.
        assert_eq!(claims["aud"], agent.id.as_str());
        let mut act = json!({"sub": agent.id});
        if !expected_act.is_null() {
            act["act"] = expected_act.clone();
        }
        assert_eq!(claims["act"], act, "depth {depth}");
        expected_act = act;
    }
    let refused = oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &subject),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            basic(&agents[3]),
        )
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert_eq!(refused.body["error"], "delegation_depth_exceeded");
    assert_eq!(refused.body["max_depth"], 3);

    // An actor token names the actor instead of the client.
    let actor = oauth
        .client_credentials(&agents[3], None)
        .await?
        .expect(200);
    let actor_token = actor.body["access_token"].as_str().unwrap_or_default();
    let reply = oauth
        .post(
            "/oauth/token",
            &[
                ("grant_type", TOKEN_EXCHANGE),
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS_TOKEN),
                ("actor_token", actor_token),
                ("actor_token_type", ACCESS_TOKEN),
            ],
            None,
        )
        .await?
        .expect(200);
    let claims = claims(reply.body["access_token"].as_str().unwrap_or_default());
    assert_eq!(claims["act"]["sub"], agents[3].id.as_str());

    // More scope than the subject token has, garbage subjects, unknown types.
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[
                ("subject_token", &user_token),
                ("subject_token_type", ACCESS_TOKEN),
                ("scope", "openid admin:write"),
            ],
            "invalid_scope",
        ),
        (
            &[
                ("subject_token", "not-a-token"),
                ("subject_token_type", ACCESS_TOKEN),
            ],
            "invalid_grant",
        ),
        (
            &[
                ("subject_token", &user_token),
                ("subject_token_type", "urn:example:unknown"),
            ],
            "invalid_request",
        ),
        (&[("subject_token_type", ACCESS_TOKEN)], "invalid_request"),
    ];
    for (fields, error) in cases {
        let mut form = vec![("grant_type", TOKEN_EXCHANGE)];
        form.extend_from_slice(fields);
        oauth
            .post("/oauth/token", &form, basic(&agents[0]))
            .await?
            .expect_oauth(400, error);
    }
    Ok(())
}

#[tokio::test]
async fn pushed_requests_are_used_once_and_carry_the_whole_request() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "par@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let request = AuthRequest::new(&client, "openid email");

    let fields: Vec<(&str, &str)> = request
        .params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let pushed = oauth
        .post("/oauth/par", &fields, basic(&client))
        .await?
        .expect(201);
    let request_uri = pushed.body["request_uri"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert!(pushed.body["expires_in"].as_u64().unwrap_or(0) > 0);

    let by_reference = AuthRequest {
        params: vec![
            ("client_id".into(), client.id.clone()),
            ("request_uri".into(), request_uri.clone()),
        ],
        verifier: request.verifier.clone(),
        state: request.state.clone(),
        nonce: request.nonce.clone(),
    };
    let mut browser = Browser::new();
    let redirect = sign_in(
        &mut browser,
        &oauth,
        &by_reference,
        "par@example.com",
        PASSWORD,
    )
    .await?;
    assert_eq!(
        query_param(&redirect, "state").as_deref(),
        Some(request.state.as_str())
    );
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let id = claims(tokens.body["id_token"].as_str().unwrap_or_default());
    assert_eq!(id["nonce"], request.nonce.as_str());

    // Used once; an unknown reference and another client's reference are refused.
    let again = browser.get(&by_reference.url(&oauth)).await?;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.location.is_none());
    let other = create_client(&api, json!({})).await?;
    let pushed = oauth
        .post("/oauth/par", &fields, basic(&client))
        .await?
        .expect(201);
    let stolen = AuthRequest {
        params: vec![
            ("client_id".into(), other.id.clone()),
            (
                "request_uri".into(),
                pushed.body["request_uri"].as_str().unwrap_or("").into(),
            ),
        ],
        ..by_reference
    };
    let page = browser.get(&stolen.url(&oauth)).await?;
    assert_eq!(page.status, 400, "{}", page.body);

    // PAR needs client authentication and refuses a nested request_uri.
    oauth
        .post("/oauth/par", &fields, Some((client.id.as_str(), "nope")))
        .await?
        .expect_oauth(401, "invalid_client");
    let mut nested = fields.clone();
    nested.push(("request_uri", "urn:ietf:params:oauth:request_uri:x"));
    oauth
        .post("/oauth/par", &nested, basic(&client))
        .await?
        .expect_oauth(400, "invalid_request");
    Ok(())
}

#[tokio::test]
async fn clients_register_themselves_and_read_their_registration() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let oauth = Oauth::new(&node.http);
    let register = oauth.url("/connect/register");
    let headers = [("X-API-Key", lumo_tests::ADMIN_KEY)];
    let metadata = json!({
        "client_name": "Registered app",
        "redirect_uris": ["https://app.example.com/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "client_secret_basic",
        "scope": "openid profile",
    });
    let created = lumo_tests::http::raw_request(
        reqwest::Method::POST,
        &register,
        &headers,
        Some(metadata.clone()),
    )
    .await?
    .expect(201);
    let body = &created.body;
    let client_id = body["client_id"].as_str().unwrap_or_default().to_string();
    assert!(body["client_secret"].is_string(), "{body}");
    assert_eq!(body["client_name"], "Registered app");
    assert_eq!(body["redirect_uris"], json!(["https://app.example.com/cb"]));
    let reg_token = body["registration_access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let reg_uri = body["registration_client_uri"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(reg_uri, format!("{register}/{client_id}"));

    let read = lumo_tests::http::raw_request(
        reqwest::Method::GET,
        &reg_uri,
        &[("Authorization", &format!("Bearer {reg_token}"))],
        None,
    )
    .await?
    .expect(200);
    assert_eq!(read.body["client_id"], client_id.as_str());
    assert!(read.body.get("client_secret").is_none() || read.body["client_secret"].is_string());
    let wrong = lumo_tests::http::raw_request(
        reqwest::Method::GET,
        &reg_uri,
        &[("Authorization", "Bearer not-the-token")],
        None,
    )
    .await?;
    assert_eq!(wrong.status, 401, "{}", wrong.text);

    // The registered client works at the token endpoint like an admin-created one.
    let secret = body["client_secret"].as_str().unwrap_or_default();
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "client_credentials")],
            Some((&client_id, secret)),
        )
        .await?
        .expect_oauth(400, "unauthorized_client");

    // Registration needs a credential, and metadata is validated.
    let anonymous = lumo_tests::http::raw_request(
        reqwest::Method::POST,
        &register,
        &[],
        Some(metadata.clone()),
    )
    .await?;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    for (field, value, error) in [
        (
            "redirect_uris",
            json!(["not a uri"]),
            "invalid_redirect_uri",
        ),
        (
            "redirect_uris",
            json!(["https://app.example.com/cb#frag"]),
            "invalid_redirect_uri",
        ),
        (
            "grant_types",
            json!(["password"]),
            "invalid_client_metadata",
        ),
        (
            "token_endpoint_auth_method",
            json!("private_key_jwt"),
            "invalid_client_metadata",
        ),
    ] {
        let mut bad = metadata.clone();
        bad[field] = value;
        let reply =
            lumo_tests::http::raw_request(reqwest::Method::POST, &register, &headers, Some(bad))
                .await?;
        assert_eq!(reply.status, 400, "{field}: {}", reply.text);
        assert_eq!(reply.body["error"], error, "{field}: {}", reply.text);
    }
    Ok(())
}
