//! Passkeys (WebAuthn) end to end against a real node, with a software authenticator
//! (`lumo_tests::passkey`): registration through the API, step-up challenges answered with an
//! assertion, the hosted sign-in's second factor, passwordless sign-in with a discoverable
//! credential, and what is refused: replayed assertions, a counter that did not rise (a cloned
//! key), another origin or RP id, a registration answer for another ceremony, an IP origin, and
//! malformed credentials; and a policy that takes only passkeys at sign-in (`min_tier_login: 1`),
//! which has the user create one on the hosted page. WebAuthn needs a domain name, so every call
//! goes to `localhost`.

use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, Page, admin, attribute, claims, create_client,
    create_user, exchange, follow, form, sign_in,
};
use lumo_tests::passkey::SoftPasskey;
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";

struct Setup {
    _node: TestNode,
    base: String,
    api: Api,
    oauth: Oauth,
    client: Client,
    me: Api,
    token: String,
    user: String,
}

/// A node reached as `localhost`, a client, and a user with a fresh token.
async fn setup(email: &str) -> anyhow::Result<Setup> {
    let node = TestNode::start().await?;
    let base = node.http.replace("127.0.0.1", "localhost");
    let api = admin(&base);
    let oauth = Oauth::new(&base);
    let user = create_user(&api, email, PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let mut browser = Browser::new();
    let request = AuthRequest::new(&client, "openid email");
    let redirect = sign_in(&mut browser, &oauth, &request, email, PASSWORD).await?;
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let token = tokens.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let me = api.with_bearer(&token);
    Ok(Setup {
        _node: node,
        base,
        api,
        oauth,
        client,
        me,
        token,
        user,
    })
}

/// Enrolls `key` as a passkey of the token's user; returns the authenticator id.
async fn enroll(me: &Api, key: &mut SoftPasskey) -> anyhow::Result<String> {
    let started = me
        .post("/me/authenticators/passkey/enroll", json!({}))
        .await?
        .expect(201);
    assert_eq!(started.body["id"], "passkey:pending", "{}", started.text);
    assert_eq!(started.body["state"], "pending");
    let options = &started.body["public_key"];
    assert_eq!(options["rp"]["id"], "localhost", "{}", started.text);
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(
        options["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    let credential = key.register(options);
    let verified = me
        .post(
            "/me/authenticators/passkey:pending/verify",
            json!({ "credential": credential }),
        )
        .await?
        .expect(200);
    assert_eq!(verified.body["type"], "passkey", "{}", verified.text);
    assert_eq!(verified.body["state"], "active");
    assert_eq!(verified.body["tier"], 1);
    Ok(verified.body["id"].as_str().unwrap_or_default().to_string())
}

/// A step-up challenge that asks for a passkey: its id and request options.
async fn passkey_challenge(me: &Api) -> anyhow::Result<(String, Value)> {
    let started = me
        .post(
            "/mfa/challenges",
            json!({"purpose": "step_up", "min_tier": 1}),
        )
        .await?
        .expect(201);
    assert_eq!(started.body["delivery"], "webauthn", "{}", started.text);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    Ok((id, started.body["public_key"].clone()))
}

async fn answer(me: &Api, id: &str, credential: Value) -> anyhow::Result<lumo_tests::Reply> {
    me.post(
        &format!("/mfa/challenges/{id}/verify"),
        json!({ "credential": credential }),
    )
    .await
}

#[tokio::test]
async fn passkeys_register_and_answer_step_up_challenges() -> anyhow::Result<()> {
    let s = setup("pat@example.com").await?;
    let mut key = SoftPasskey::new(&s.base);
    let id = enroll(&s.me, &mut key).await?;

    let listed = s.me.get("/me/authenticators").await?.expect(200);
    assert!(
        listed.text.contains(&id) && listed.text.contains("\"passkey\""),
        "{}",
        listed.text
    );

    // A step-up answered with the passkey.
    let (challenge, options) = passkey_challenge(&s.me).await?;
    let allowed = options["allowCredentials"][0]["id"]
        .as_str()
        .unwrap_or_default();
    assert!(!allowed.is_empty(), "{options}");
    let shown =
        s.me.get(&format!("/mfa/challenges/{challenge}"))
            .await?
            .expect(200);
    assert_eq!(shown.body["public_key"]["challenge"], options["challenge"]);
    assert_eq!(shown.body["authenticator"]["type"], "passkey");
    let assertion = key.assert(&options);
    let approved = answer(&s.me, &challenge, assertion.clone())
        .await?
        .expect(200);
    assert_eq!(approved.body["status"], "approved", "{}", approved.text);
    // The approved challenge no longer offers options.
    let shown =
        s.me.get(&format!("/mfa/challenges/{challenge}"))
            .await?
            .expect(200);
    assert!(shown.body.get("public_key").is_none(), "{}", shown.text);

    // The same assertion against a new challenge: its signed challenge is the old one.
    let (second, options) = passkey_challenge(&s.me).await?;
    answer(&s.me, &second, assertion)
        .await?
        .expect_error(400, "invalid_code");

    // A clone of the key (its counter did not rise) and a phishing origin are refused.
    let cloned = key.assert_as(&options, key.counter, &s.base);
    answer(&s.me, &second, cloned).await?.expect(400);
    let phished = key.assert_as(&options, key.counter + 1, "http://evil.localhost:1");
    answer(&s.me, &second, phished).await?.expect(400);
    // Another key of the same user (not registered) is refused too.
    let stranger = SoftPasskey::new(&s.base).assert(&options);
    answer(&s.me, &second, stranger).await?.expect(400);
    // The real key still answers (attempts are left).
    let approved = answer(&s.me, &second, key.assert(&options))
        .await?
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    // An assertion for another relying party (its RP id hash) is refused.
    let (third, options) = passkey_challenge(&s.me).await?;
    let mut elsewhere = options.clone();
    elsewhere["rpId"] = json!("evil.example");
    let other_rp = key.assert_as(&elsewhere, key.counter + 1, &s.base);
    answer(&s.me, &third, other_rp)
        .await?
        .expect_error(400, "invalid_code");

    // A second registration of the same key is refused (excluded credential), and a
    // registration answer signed for another ceremony does not verify.
    let started =
        s.me.send_with(
            reqwest::Method::POST,
            "/me/authenticators/passkey/enroll",
            Some(json!({})),
            &[("X-MFA-Challenge", second.as_str())],
        )
        .await?
        .expect(201);
    let excluded = &started.body["public_key"]["excludeCredentials"];
    assert_eq!(excluded[0]["id"], allowed, "{}", started.text);
    let mut other = SoftPasskey::new(&s.base);
    let mut stale = started.body["public_key"].clone();
    stale["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    s.me.post(
        "/me/authenticators/passkey:pending/verify",
        json!({ "credential": other.register(&stale) }),
    )
    .await?
    .expect_error(400, "invalid_code");

    // The admin sees the passkey; removing it removes its credential too.
    let admin_view = s
        .api
        .get(&format!("/admin/users/{}/authenticators", s.user))
        .await?
        .expect(200);
    assert!(admin_view.text.contains(&id), "{}", admin_view.text);
    s.api
        .delete(&format!("/admin/users/{}/authenticators/{id}", s.user))
        .await?
        .expect(200);
    let started =
        s.me.post(
            "/mfa/challenges",
            json!({"purpose": "step_up", "min_tier": 1}),
        )
        .await?;
    started.expect_error(404, "no_factor_enrolled");
    Ok(())
}

/// The options and form of a page that asks for a passkey.
fn passkey_form(page: &Page) -> (Value, String, Vec<(String, String)>) {
    let options = attribute(&page.body, "data-options")
        .and_then(|o| serde_json::from_str(&o).ok())
        .unwrap_or(Value::Null);
    let (action, fields) = form(&page.body).unwrap_or_default();
    (options, action, fields)
}

fn with_credential(fields: &mut [(String, String)], credential: &Value) {
    for (name, value) in fields.iter_mut() {
        if name == "credential" {
            *value = credential.to_string();
        }
    }
}

fn is_client_redirect(page: &Page, client: &Client) -> bool {
    page.location
        .as_deref()
        .is_some_and(|l| l.starts_with(&client.redirect_uri) && l.contains("code="))
}

/// The `amr` of an ID token.
fn methods(id: &Value) -> Vec<&str> {
    id["amr"]
        .as_array()
        .map_or(Vec::new(), |a| a.iter().filter_map(Value::as_str).collect())
}

/// The ID token of the sign-in that ended at `page`.
async fn id_token(s: &Setup, request: &AuthRequest, page: &Page) -> anyhow::Result<Value> {
    anyhow::ensure!(is_client_redirect(page, &s.client), "no code: {page:?}");
    let location = page.location.clone().unwrap_or_default();
    let tokens = exchange(&s.oauth, &s.client, request, &location)
        .await?
        .expect(200);
    Ok(claims(tokens.body["id_token"].as_str().unwrap_or_default()))
}

#[tokio::test]
async fn the_hosted_sign_in_asks_for_the_passkey_and_passwordless_sign_in_works()
-> anyhow::Result<()> {
    let s = setup("quinn@example.com").await?;
    let mut key = SoftPasskey::new(&s.base);
    enroll(&s.me, &mut key).await?;

    // Password, then the passkey as the second factor.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&s.client, "openid email");
    let page = password_step(&mut browser, &s, &request, "quinn@example.com").await?;
    assert!(page.body.contains("Use your passkey"), "{}", page.body);
    let (options, action, fields) = passkey_form(&page);
    let page = submit_credential(&mut browser, &s, &action, fields, &key.assert(&options)).await?;
    let id = id_token(&s, &request, &page).await?;
    let amr = methods(&id);
    assert!(amr.contains(&"pwd") && amr.contains(&"hwk"), "{id}");
    assert_eq!(id["acr"], "urn:lumo:acr:mfa");

    // Passwordless is off: the entry point ends on the login page with a message.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&s.client, "openid email");
    let entry = format!(
        "{}{}",
        s.oauth.url("/oauth/passkey-login?"),
        request.url(&s.oauth).split_once('?').map_or("", |(_, q)| q)
    );
    let page = browser.get(&entry).await?;
    assert_eq!(page.status, 302);
    let page = follow(&mut browser, &s.oauth, page).await?;
    assert!(
        page.body.contains("Passkey sign-in is not available"),
        "{}",
        page.body
    );
    assert!(
        !page.body.contains("passkey-sign-in"),
        "passwordless is off by default"
    );

    s.api
        .put("/admin/policies/mfa", json!({"passwordless_passkey": true}))
        .await?
        .expect(200);
    let page = browser.get(&request.url(&s.oauth)).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    assert!(
        page.body.contains("id=\"passkey-sign-in\""),
        "{}",
        page.body
    );
    let link = attribute(
        &page.body[page.body.find("passkey-sign-in").unwrap_or(0)..],
        "href",
    )
    .unwrap_or_default();
    let page = browser.get(&format!("{}{link}", s.base)).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    let (options, action, mut fields) = passkey_form(&page);
    assert!(
        options["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty),
        "{options}"
    );
    with_credential(&mut fields, &key.assert(&options));
    let url = format!("{}{action}", s.base);
    let page = browser.post_form(&url, &fields).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    let id = id_token(&s, &request, &page).await?;
    let amr = methods(&id);
    assert!(amr.contains(&"hwk") && amr.contains(&"user"), "{id}");
    assert!(!amr.contains(&"pwd"), "{id}");

    // The ceremony was spent: the same answer again (signed out) goes back to the login page.
    browser.set_cookie("lumo_session", "");
    let page = browser.post_form(&url, &fields).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    assert!(
        page.body.contains("The passkey was not accepted"),
        "{}",
        page.body
    );
    Ok(())
}

#[tokio::test]
async fn passkeys_refuse_an_ip_origin_and_malformed_credentials() -> anyhow::Result<()> {
    let s = setup("rory@example.com").await?;
    // Reached by IP address: WebAuthn has no RP id for it.
    let by_ip = admin(&s.base.replace("localhost", "127.0.0.1")).with_bearer(&s.token);
    let refused = by_ip
        .post("/me/authenticators/passkey/enroll", json!({}))
        .await?
        .expect_error(422, "validation_error");
    assert!(refused.text.contains("domain name"), "{}", refused.text);

    let started =
        s.me.post("/me/authenticators/passkey/enroll", json!({}))
            .await?
            .expect(201);
    for bad in [json!("a string"), json!(7), json!([1])] {
        s.me.post(
            "/me/authenticators/passkey:pending/verify",
            json!({ "credential": bad }),
        )
        .await?
        .expect_error(422, "validation_error");
    }
    let garbage =
        s.me.post(
            "/me/authenticators/passkey:pending/verify",
            json!({"credential": {"id": "x"}}),
        )
        .await?;
    assert_eq!(garbage.status, 422, "{}", garbage.text);
    // Both a code and a credential, and a credential for a TOTP app.
    s.me.post(
        "/me/authenticators/passkey:pending/verify",
        json!({"code": "123456", "credential": {}}),
    )
    .await?
    .expect_error(422, "validation_error");
    let app =
        s.me.post("/me/authenticators/totp/enroll", json!({}))
            .await?;
    // (Enrolling a second factor needs a step-up once one is active; none is yet.)
    let app_id = app.body["id"].as_str().unwrap_or_default().to_string();
    let mut key = SoftPasskey::new(&s.base);
    let credential = key.register(&started.body["public_key"]);
    s.me.post(
        &format!("/me/authenticators/{app_id}/verify"),
        json!({ "credential": credential }),
    )
    .await?
    .expect_error(422, "validation_error");
    // Unknown pending id, and the real one still verifies.
    s.me.post(
        "/me/authenticators/mfa_unknown/verify",
        json!({ "credential": credential }),
    )
    .await?
    .expect(404);
    s.me.post(
        "/me/authenticators/passkey:pending/verify",
        json!({ "credential": credential }),
    )
    .await?
    .expect(200);
    Ok(())
}

/// Posts a passkey form with `credential`; the page that follows.
async fn submit_credential(
    browser: &mut Browser,
    s: &Setup,
    action: &str,
    mut fields: Vec<(String, String)>,
    credential: &Value,
) -> anyhow::Result<Page> {
    with_credential(&mut fields, credential);
    let page = browser
        .post_form(&format!("{}{action}", s.base), &fields)
        .await?;
    follow(browser, &s.oauth, page).await
}

/// Email and password on the hosted login form of `request`; the page that follows.
async fn password_step(
    browser: &mut Browser,
    s: &Setup,
    request: &AuthRequest,
    email: &str,
) -> anyhow::Result<Page> {
    let page = browser.get(&request.url(&s.oauth)).await?;
    let page = follow(browser, &s.oauth, page).await?;
    let (action, mut fields) = form(&page.body).unwrap_or_default();
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "email" => *value = email.to_string(),
            "password" => *value = PASSWORD.into(),
            _ => {}
        }
    }
    let page = browser
        .post_form(&format!("{}{action}", s.base), &fields)
        .await?;
    follow(browser, &s.oauth, page).await
}

#[tokio::test]
async fn a_policy_that_takes_only_passkeys_at_sign_in_has_the_user_create_one() -> anyhow::Result<()>
{
    use lumo_cluster::crypto::totp;
    let email = "sam@example.com";
    let s = setup(email).await?;
    // An authenticator app first (tier 2).
    let started =
        s.me.post("/me/authenticators/totp/enroll", json!({}))
            .await?
            .expect(201);
    let key = totp::base32_decode(started.body["secret"].as_str().unwrap_or_default())
        .unwrap_or_default();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let code = format!("{:06}", totp::hotp(&key, totp::step_at(now)));
    let app = started.body["id"].as_str().unwrap_or_default();
    s.me.post(
        &format!("/me/authenticators/{app}/verify"),
        json!({ "code": code }),
    )
    .await?
    .expect(200);
    // Then the org takes nothing weaker than a passkey at sign-in.
    s.api
        .put(
            "/admin/policies/mfa",
            json!({"requirement": "required", "grace_period_days": 0, "min_tier_login": 1}),
        )
        .await?
        .expect(200);

    // The app is too weak: the page has the user create a passkey, and asks no code.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&s.client, "openid email");
    let page = password_step(&mut browser, &s, &request, email).await?;
    assert!(page.body.contains("Create a passkey"), "{}", page.body);
    assert!(!page.body.contains("name=\"code\""), "{}", page.body);
    let (options, action, fields) = passkey_form(&page);
    assert_eq!(options["rp"]["id"], "localhost", "{options}");
    let mut passkey = SoftPasskey::new(&s.base);
    let page = submit_credential(
        &mut browser,
        &s,
        &action,
        fields,
        &passkey.register(&options),
    )
    .await?;
    let id = id_token(&s, &request, &page).await?;
    let amr = methods(&id);
    assert!(amr.contains(&"hwk") && amr.contains(&"pwd"), "{id}");

    // The next sign-in asks for the passkey; a code of the app is not enough.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&s.client, "openid email");
    let page = password_step(&mut browser, &s, &request, email).await?;
    assert!(page.body.contains("Use your passkey"), "{}", page.body);
    let code_form = &page.body[page.body.rfind("<form").unwrap_or(0)..];
    let (action, mut fields) = form(code_form).unwrap_or_default();
    for (name, value) in fields.iter_mut() {
        if name == "code" {
            *value = format!("{:06}", totp::hotp(&key, totp::step_at(now) + 1));
        }
    }
    let refused = browser
        .post_form(&format!("{}{action}", s.base), &fields)
        .await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(refused.body.contains("not right"), "{}", refused.body);
    let (options, action, fields) = passkey_form(&refused);
    let page =
        submit_credential(&mut browser, &s, &action, fields, &passkey.assert(&options)).await?;
    let id = id_token(&s, &request, &page).await?;
    assert!(methods(&id).contains(&"hwk"), "{id}");
    Ok(())
}
