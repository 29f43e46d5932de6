//! Social login end to end: a second org of the same `lumod` is the upstream OpenID Connect
//! provider (generic `oidc` preset, endpoints from its discovery document). The browser goes
//! from the app org's login page to the upstream's, signs in there, and comes back signed in
//! to the app org, whose client then gets an ID token for the user. Also: linking by verified
//! address only, provisioning switched off, a disabled provider, a forged or replayed state.

use lumo_tests::TestNode;
use lumo_tests::http::Api;
use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, attribute, create_client, create_user, drive, exchange,
    query_param, verify_with_jwks,
};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";

/// Two orgs: `idp` (the upstream, with a client for the app org's callback) and `app` (with
/// a social provider pointing at `idp`, and a client of its own).
struct World {
    node: TestNode,
    idp: Api,
    app: Api,
    app_oauth: Oauth,
    app_client: Client,
}

async fn world(jit: bool) -> anyhow::Result<World> {
    let node = TestNode::start().await?;
    let idp_key = node.create_org("idp").await?;
    let app_key = node.create_org("app").await?;
    let idp = node.api_for("idp", &idp_key);
    let app = node.api_for("app", &app_key);
    let idp_oauth = Oauth::for_org(&node.http, "idp");
    let app_oauth = Oauth::for_org(&node.http, "app");
    let callback = app_oauth.url("/oauth/social/corp/callback");
    let upstream = create_client(
        &idp,
        json!({"redirectUris": [callback], "grantTypes": ["authorization_code"]}),
    )
    .await?;
    let reply = app
        .post(
            "/admin/social-providers",
            json!({
                "provider": "corp",
                "type": "oidc",
                "displayName": "Corp SSO",
                "issuer": idp_oauth.issuer(),
                "clientId": upstream.id,
                "clientSecret": upstream.secret,
                "jitProvisioningEnabled": jit,
            }),
        )
        .await?
        .expect(201);
    assert_eq!(reply.data()["callbackUrl"], callback.as_str());
    assert!(reply.data().get("clientSecret").is_none(), "{}", reply.text);
    let app_client = create_client(&app, json!({})).await?;
    Ok(World {
        node,
        idp,
        app,
        app_oauth,
        app_client,
    })
}

/// The href of the login page's "Continue with …" link.
fn social_link(html: &str) -> Option<String> {
    let start = html.find("class=\"social-sign-in\"")?;
    let tag_start = html[..start].rfind('<')?;
    let tag_end = start + html[start..].find('>')?;
    attribute(&html[tag_start..tag_end], "href")
}

/// From the app's authorization request, through the upstream's login, back to the app's
/// client: where the browser was finally sent.
async fn through_upstream(
    world: &World,
    browser: &mut Browser,
    request: &AuthRequest,
    email: &str,
) -> anyhow::Result<String> {
    let base = world.node.http.clone();
    let login = browser.get(&request.url(&world.app_oauth)).await?;
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(
        login.body.contains("Continue with Corp SSO"),
        "{}",
        login.body
    );
    let link = social_link(&login.body).ok_or_else(|| anyhow::anyhow!("no social link"))?;
    let leave = browser.get(&format!("{base}{link}")).await?;
    assert_eq!(leave.status, 302, "{}", leave.body);
    let upstream = leave.location.clone().unwrap_or_default();
    assert!(
        upstream.contains("/orgs/idp/api/v1/oauth/authorize"),
        "{upstream}"
    );
    assert!(query_param(&upstream, "nonce").is_some());
    assert_eq!(
        query_param(&upstream, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert!(browser.cookie("lumo_social").is_some());
    drive(browser, &base, leave, email, PASSWORD).await
}

#[tokio::test]
async fn a_user_of_the_upstream_org_is_provisioned_signed_in_and_recognized_again()
-> anyhow::Result<()> {
    let world = world(true).await?;
    create_user(&world.idp, "alice@example.com", PASSWORD).await?;

    let mut browser = Browser::new();
    let request = AuthRequest::new(&world.app_client, "openid email profile");
    let redirect = through_upstream(&world, &mut browser, &request, "alice@example.com").await?;
    assert!(
        redirect.starts_with(&world.app_client.redirect_uri),
        "{redirect}"
    );
    assert_eq!(
        query_param(&redirect, "state").as_deref(),
        Some(request.state.as_str())
    );
    assert!(
        browser.cookie("lumo_social").is_none(),
        "the login cookie is cleared"
    );
    let tokens = exchange(&world.app_oauth, &world.app_client, &request, &redirect)
        .await?
        .expect(200);
    let id_token = tokens.body["id_token"].as_str().unwrap_or_default();
    let claims = verify_with_jwks(&world.app_oauth, id_token).await?;
    assert_eq!(claims["iss"], world.app_oauth.issuer().as_str());
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["nonce"], request.nonce.as_str());
    assert_eq!(claims["amr"], json!(["fed"]));

    // The user exists in the app org now: provisioned, linked to the upstream subject.
    let user = world
        .app
        .get("/admin/users/alice@example.com")
        .await?
        .expect(200);
    let user_id = user.data()["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(user.data()["isJitProvisioned"], true);
    assert_eq!(user.data()["socialProvider"], "corp");
    assert_eq!(user.data()["emailVerified"], true);
    let links = world
        .app
        .get(&format!("/admin/users/{user_id}/identities"))
        .await?
        .expect(200);
    assert!(links.text.contains("social"), "{}", links.text);
    let audit = world
        .app
        .get("/admin/audit-logs?action=social.login")
        .await?
        .expect(200);
    assert!(audit.text.contains("social.login"), "{}", audit.text);

    // A second login (a new browser) names the same user: no second account.
    let claims = signed_in_claims(&world, "alice@example.com").await?;
    assert_eq!(claims["sub"], user_id.as_str());
    let users = world.app.get("/admin/users").await?.expect(200);
    let count = users.data().as_array().map_or(0, Vec::len);
    assert_eq!(count, 1, "{}", users.text);
    Ok(())
}

/// A fresh browser signs in through the upstream as `email`; the app's verified ID token
/// claims.
async fn signed_in_claims(world: &World, email: &str) -> anyhow::Result<Value> {
    let mut browser = Browser::new();
    let request = AuthRequest::new(&world.app_client, "openid email");
    let redirect = through_upstream(world, &mut browser, &request, email).await?;
    let tokens = exchange(&world.app_oauth, &world.app_client, &request, &redirect)
        .await?
        .expect(200);
    verify_with_jwks(
        &world.app_oauth,
        tokens.body["id_token"].as_str().unwrap_or_default(),
    )
    .await
}

/// The state a login cookie (`sls_….secret`) stands for.
fn state_of(cookie: &str) -> String {
    cookie.split('.').next().unwrap_or_default().to_string()
}

/// Where the login form sends the browser after a refused social login.
fn login_error(redirect: &str) -> Option<String> {
    query_param(redirect, "login_error")
}

#[tokio::test]
async fn an_existing_account_is_linked_only_by_an_address_the_upstream_verified()
-> anyhow::Result<()> {
    let world = world(true).await?;
    // Bob exists in both orgs with a verified address: the login links to the app's Bob.
    create_user(&world.idp, "bob@example.com", PASSWORD).await?;
    let bob = create_user(&world.app, "bob@example.com", "Other-password-77").await?;
    let claims = signed_in_claims(&world, "bob@example.com").await?;
    assert_eq!(claims["sub"], bob.as_str());

    // Carol's upstream address is not verified: her app account is not taken over.
    world
        .idp
        .post(
            "/admin/users",
            json!({"email": "carol@example.com", "password": PASSWORD, "emailVerified": false}),
        )
        .await?
        .expect(201);
    create_user(&world.app, "carol@example.com", "Other-password-77").await?;
    let mut browser = Browser::new();
    let redirect = refused_login(&world, &mut browser, "carol@example.com").await?;
    assert_eq!(
        login_error(&redirect).as_deref(),
        Some("social_unverified"),
        "{redirect}"
    );
    // Not signed in to the app org (the browser's session is the upstream org's).
    let request = AuthRequest::new(&world.app_client, "openid");
    let page = browser.get(&request.url(&world.app_oauth)).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("name=\"password\""), "{}", page.body);
    let links = world
        .app
        .get("/admin/users/carol@example.com/identities")
        .await?
        .expect(200);
    assert!(!links.text.contains("corp"), "{}", links.text);

    // An unverified address does not provision a new account either.
    world
        .idp
        .post(
            "/admin/users",
            json!({"email": "dan@example.com", "password": PASSWORD, "emailVerified": false}),
        )
        .await?
        .expect(201);
    let mut browser = Browser::new();
    let redirect = refused_login(&world, &mut browser, "dan@example.com").await?;
    assert_eq!(login_error(&redirect).as_deref(), Some("social_unverified"));
    world
        .app
        .get("/admin/users/dan@example.com")
        .await?
        .expect_error(404, "resource_not_found");

    // Deleting the provider removes its links: a new provider of the same name inherits none.
    let linked = world
        .app
        .get(&format!("/admin/users/{bob}/identities"))
        .await?
        .expect(200);
    assert!(linked.text.contains("\"social\""), "{}", linked.text);
    world
        .app
        .delete("/admin/social-providers/corp")
        .await?
        .expect(200);
    let links = world
        .app
        .get(&format!("/admin/users/{bob}/identities"))
        .await?
        .expect(200);
    assert!(!links.text.contains("\"social\""), "{}", links.text);
    Ok(())
}

/// From the app's login page through its social link and the upstream's pages (signed in as
/// `email`, consent allowed), until the browser is sent where `stop` says; answers that
/// address and the login cookie set when the browser left for the upstream.
async fn follow_until(
    world: &World,
    browser: &mut Browser,
    email: &str,
    stop: impl Fn(&str) -> bool,
) -> anyhow::Result<(String, String)> {
    let request = AuthRequest::new(&world.app_client, "openid email");
    let base = world.node.http.clone();
    let login = browser.get(&request.url(&world.app_oauth)).await?;
    let link = social_link(&login.body).ok_or_else(|| anyhow::anyhow!("no social link"))?;
    let mut page = browser.get(&format!("{base}{link}")).await?;
    let cookie = browser
        .cookie("lumo_social")
        .unwrap_or_default()
        .to_string();
    for _ in 0..10 {
        if let Some(location) = page.location.clone() {
            if stop(&location) {
                return Ok((location, cookie));
            }
            let url = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location
            };
            page = browser.get(&url).await?;
            continue;
        }
        let (action, mut fields) = lumo_tests::oauth::form(&page.body)
            .ok_or_else(|| anyhow::anyhow!("no form in {} {}", page.status, page.body))?;
        for (name, value) in fields.iter_mut() {
            match name.as_str() {
                "email" => *value = email.to_string(),
                "password" => *value = PASSWORD.to_string(),
                _ => {}
            }
        }
        if !fields.iter().any(|(n, _)| n == "password") {
            fields.push(("consent".into(), "allow".into()));
        }
        page = browser
            .post_form(&format!("{base}{action}"), &fields)
            .await?;
    }
    anyhow::bail!("the browser never got where it was going")
}

/// A refused social login: where the browser is sent back (the login form, with the marker).
async fn refused_login(
    world: &World,
    browser: &mut Browser,
    email: &str,
) -> anyhow::Result<String> {
    let (location, _) = follow_until(world, browser, email, |l| l.contains("login_error=")).await?;
    Ok(location)
}

#[tokio::test]
async fn without_provisioning_an_unknown_user_is_refused_and_nothing_is_written()
-> anyhow::Result<()> {
    let world = world(false).await?;
    create_user(&world.idp, "dave@example.com", PASSWORD).await?;
    let mut browser = Browser::new();
    let refused = refused_login(&world, &mut browser, "dave@example.com").await?;
    assert_eq!(
        login_error(&refused).as_deref(),
        Some("social_no_account"),
        "{refused}"
    );
    // The login form shows why.
    let page = browser
        .get(&format!("{}{refused}", world.node.http))
        .await?;
    assert!(
        page.body.contains("No account here matches"),
        "{}",
        page.body
    );
    world
        .app
        .get("/admin/users/dave@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    Ok(())
}

#[tokio::test]
async fn a_forged_or_replayed_state_and_a_disabled_provider_are_refused() -> anyhow::Result<()> {
    let world = world(true).await?;
    create_user(&world.idp, "erin@example.com", PASSWORD).await?;
    let base = world.node.http.clone();
    let callback = world.app_oauth.url("/oauth/social/corp/callback");

    // No login cookie: a callback someone else's page sent this browser to.
    let mut stranger = Browser::new();
    let page = stranger
        .get(&format!("{callback}?state=sls_forged&code=abc"))
        .await?;
    assert_eq!(page.status, 302);
    assert!(
        page.location
            .as_deref()
            .unwrap_or("")
            .contains("login_error=social_failed"),
        "{:?}",
        page.location
    );

    // A real login whose state is swapped for another: refused, and nothing signed in.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&world.app_client, "openid");
    let login = browser.get(&request.url(&world.app_oauth)).await?;
    let link = social_link(&login.body).ok_or_else(|| anyhow::anyhow!("no social link"))?;
    browser.get(&format!("{base}{link}")).await?;
    let page = browser
        .get(&format!(
            "{callback}?state=sls_00000000000000000000000000&code=abc"
        ))
        .await?;
    assert!(
        page.location
            .as_deref()
            .unwrap_or("")
            .contains("login_error=social_expired"),
        "{:?}",
        page.location
    );
    assert!(browser.cookie("lumo_session").is_none());

    // A state used once cannot be used again, even with the browser's cookie put back.
    let mut browser = Browser::new();
    let (back, cookie) = follow_until(&world, &mut browser, "erin@example.com", |l| {
        l.contains("/oauth/social/corp/callback")
    })
    .await?;
    assert_eq!(query_param(&back, "state"), Some(state_of(&cookie)));
    let first = browser.get(&back).await?;
    assert!(
        !first
            .location
            .as_deref()
            .unwrap_or("")
            .contains("login_error"),
        "{:?}",
        first.location
    );
    assert!(browser.cookie("lumo_session").is_some());
    let mut replayer = Browser::new();
    replayer.set_cookie("lumo_social", &cookie);
    let again = replayer.get(&back).await?;
    assert!(
        again
            .location
            .as_deref()
            .unwrap_or("")
            .contains("login_error=social_expired"),
        "{:?}",
        again.location
    );
    assert!(replayer.cookie("lumo_session").is_none());

    // Disabled: the login page stops offering it and its URL refuses to start.
    world
        .app
        .post("/admin/social-providers/corp/disable", json!({}))
        .await?
        .expect(200);
    let mut browser = Browser::new();
    let login = browser.get(&request.url(&world.app_oauth)).await?;
    assert!(
        !login.body.contains("Continue with Corp SSO"),
        "{}",
        login.body
    );
    let start = browser
        .get(&world.app_oauth.url("/oauth/social/corp?client_id=x"))
        .await?;
    assert!(
        start
            .location
            .as_deref()
            .unwrap_or("")
            .contains("login_error=social_unavailable"),
        "{:?}",
        start.location
    );
    let unknown: Value = world
        .app
        .get("/admin/social-providers/nope")
        .await?
        .expect_error(404, "resource_not_found")
        .body;
    assert!(unknown.is_object());
    Ok(())
}
