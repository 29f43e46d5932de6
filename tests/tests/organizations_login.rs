//! Signing in as a member of a B2B organization: the org-select step of the hosted login for a
//! member of several, the `organization` parameter, the only organization chosen by itself,
//! `org_id`/`org_name`/`org_roles` in the ID and access tokens (kept across refresh while the
//! membership lasts), organization roles in ABAC checks, and the refusals.

use lumo_tests::Api;
use lumo_tests::TestNode;
use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, admin, claims, create_client, create_user, drive,
    exchange, form, query_param, submit_password,
};
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";

async fn organization(api: &Api, slug: &str, name: &str) -> anyhow::Result<String> {
    let created = api
        .post("/admin/organizations", json!({"name": name, "slug": slug}))
        .await?
        .expect(201);
    Ok(created.data()["id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

async fn add_member(api: &Api, org: &str, user: &str, role: &str) -> anyhow::Result<()> {
    api.post(
        &format!("/admin/organizations/{org}/members"),
        json!({"userId": user, "role": role}),
    )
    .await?
    .expect(201);
    Ok(())
}

/// Signs in up to the page the login leads to (org-select, consent or the client).
async fn sign_in_page(
    browser: &mut Browser,
    oauth: &Oauth,
    request: &AuthRequest,
    email: &str,
) -> anyhow::Result<lumo_tests::oauth::Page> {
    submit_password(browser, oauth, request, email, PASSWORD).await
}

/// The ID token's claims for `request` once the browser is past the organization step.
async fn id_claims(
    browser: &mut Browser,
    oauth: &Oauth,
    client: &Client,
    request: &AuthRequest,
    page: lumo_tests::oauth::Page,
    email: &str,
) -> anyhow::Result<Value> {
    let body = tokens(browser, oauth, client, request, page, email).await?;
    Ok(claims(body["id_token"].as_str().unwrap_or_default()))
}

/// A new browser signed in as `email` for `request`, and its ID token's claims (the request
/// must not need the organization page).
async fn signed_in_claims(
    oauth: &Oauth,
    client: &Client,
    request: &AuthRequest,
    email: &str,
) -> anyhow::Result<(Browser, Value)> {
    let mut browser = Browser::new();
    let page = sign_in_page(&mut browser, oauth, request, email).await?;
    let id = id_claims(&mut browser, oauth, client, request, page, email).await?;
    Ok((browser, id))
}

/// The `error` the authorization endpoint sends the client for `request`.
async fn refusal(
    browser: &mut Browser,
    oauth: &Oauth,
    request: &AuthRequest,
) -> anyhow::Result<String> {
    let page = browser.get(&request.url(oauth)).await?;
    let location = page.location.unwrap_or_default();
    query_param(&location, "error").ok_or_else(|| anyhow::anyhow!("not refused: {location}"))
}

/// The tokens for `request` once the browser is past the organization step.
async fn tokens(
    browser: &mut Browser,
    oauth: &Oauth,
    client: &Client,
    request: &AuthRequest,
    page: lumo_tests::oauth::Page,
    email: &str,
) -> anyhow::Result<Value> {
    let redirect = drive(browser, &oauth.base, page, email, PASSWORD).await?;
    let reply = exchange(oauth, client, request, &redirect).await?;
    anyhow::ensure!(reply.status == 200, "token: {}", reply.text);
    Ok(reply.body)
}

async fn refresh(oauth: &Oauth, client: &Client, token: &str) -> anyhow::Result<lumo_tests::Reply> {
    let secret = client.secret.clone().unwrap_or_default();
    oauth
        .post(
            "/oauth/token",
            &[("grant_type", "refresh_token"), ("refresh_token", token)],
            Some((&client.id, &secret)),
        )
        .await
}

#[tokio::test]
async fn a_member_of_several_organizations_picks_one_and_the_tokens_carry_it() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let ada = create_user(&api, "ada@example.com", PASSWORD).await?;
    let acme = organization(&api, "acme", "Acme").await?;
    let globex = organization(&api, "globex", "Globex").await?;
    add_member(&api, &acme, &ada, "admin").await?;
    add_member(&api, &globex, &ada, "member").await?;
    let client = create_client(
        &api,
        json!({"skipConsent": true, "allowedScopes": ["openid", "profile", "email", "offline_access", "abac:read"]}),
    )
    .await?;

    // A member of two organizations is asked.
    let request = AuthRequest::new(&client, "openid email offline_access abac:read");
    let mut browser = Browser::new();
    let page = sign_in_page(&mut browser, &oauth, &request, "ada@example.com").await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Choose an organization"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Acme") && page.body.contains("Globex"));
    let (action, fields) = form(&page.body).ok_or_else(|| anyhow::anyhow!("no form"))?;
    assert!(action.ends_with("/oauth/org-select"), "{action}");

    // The form needs its CSRF token and a choice.
    let without_csrf: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "_csrf")
        .cloned()
        .chain([("organization".to_string(), globex.clone())])
        .collect();
    let refused = browser
        .post_form(&format!("{}{action}", oauth.base), &without_csrf)
        .await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    let refused = browser
        .post_form(&format!("{}{action}", oauth.base), &fields)
        .await?;
    assert_eq!(refused.status, 400, "{}", refused.body);
    assert!(
        refused.body.contains("choose an organization"),
        "{}",
        refused.body
    );

    let mut chosen = fields.clone();
    chosen.push(("organization".into(), globex.clone()));
    let page = browser
        .post_form(&format!("{}{action}", oauth.base), &chosen)
        .await?;
    assert_eq!(page.status, 303, "{}", page.body);
    let body = tokens(
        &mut browser,
        &oauth,
        &client,
        &request,
        page,
        "ada@example.com",
    )
    .await?;
    let id = claims(body["id_token"].as_str().unwrap_or_default());
    assert_eq!(id["org_id"], globex.as_str(), "{id}");
    assert_eq!(id["org_name"], "globex");
    assert_eq!(id["org_roles"], json!(["member"]));
    let access = claims(body["access_token"].as_str().unwrap_or_default());
    assert_eq!(access["org_id"], globex.as_str(), "{access}");
    assert_eq!(access["org_roles"], json!(["member"]));

    // Organization roles reach ABAC checks as user attributes.
    api.post(
        "/abac/policies",
        json!({"name": "Acme admins", "slug": "acme-admins", "resourceType": "report",
            "action": "read", "effect": "allow", "priority": 1,
            "conditions": {"all": [{"attribute": "user.organizationRoles", "operator": "contains", "value": "acme:admin"}]}}),
    )
    .await?
    .expect(201);
    let as_ada = api.with_bearer(body["access_token"].as_str().unwrap_or_default());
    let mine = as_ada.get("/abac/my-attributes").await?.expect(200);
    assert_eq!(
        mine.body["attributes"]["organizations"],
        json!(["acme", "globex"]),
        "{}",
        mine.text
    );
    let check = json!({"resourceType": "report", "action": "read"});
    let allowed = as_ada.post("/abac/check", check.clone()).await?.expect(200);
    assert_eq!(allowed.body["allowed"], true, "{}", allowed.text);

    // A refresh keeps the organization while the membership lasts.
    let renewed = refresh(
        &oauth,
        &client,
        body["refresh_token"].as_str().unwrap_or_default(),
    )
    .await?;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let access = claims(renewed.body["access_token"].as_str().unwrap_or_default());
    assert_eq!(access["org_id"], globex.as_str());
    api.delete(&format!("/admin/organizations/{globex}/members/{ada}"))
        .await?
        .expect(200);
    let renewed = refresh(
        &oauth,
        &client,
        renewed.body["refresh_token"].as_str().unwrap_or_default(),
    )
    .await?;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    let access = claims(renewed.body["access_token"].as_str().unwrap_or_default());
    assert!(access.get("org_id").is_none(), "{access}");
    // Without the membership the ABAC condition no longer holds.
    api.delete(&format!("/admin/organizations/{acme}/members/{ada}"))
        .await?
        .expect(200);
    let denied = as_ada.post("/abac/check", check).await?.expect(200);
    assert_eq!(denied.body["allowed"], false, "{}", denied.text);
    Ok(())
}

#[tokio::test]
async fn the_organization_parameter_and_the_only_organization_skip_the_question()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let ada = create_user(&api, "ada@example.com", PASSWORD).await?;
    let bob = create_user(&api, "bob@example.com", PASSWORD).await?;
    create_user(&api, "cy@example.com", PASSWORD).await?;
    let acme = organization(&api, "acme", "Acme").await?;
    let globex = organization(&api, "globex", "Globex").await?;
    add_member(&api, &acme, &ada, "admin").await?;
    add_member(&api, &globex, &ada, "member").await?;
    add_member(&api, &acme, &bob, "owner").await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;

    // Named by slug: no page, that organization.
    let request = AuthRequest::new(&client, "openid").with("organization", "acme");
    let (mut browser, id) = signed_in_claims(&oauth, &client, &request, "ada@example.com").await?;
    assert_eq!(id["org_id"], acme.as_str(), "{id}");
    assert_eq!(id["org_roles"], json!(["admin"]));

    // The same session, now naming an organization she is not in: refused to the client.
    let request = AuthRequest::new(&client, "openid").with("organization", "initech");
    assert_eq!(
        refusal(&mut browser, &oauth, &request).await?,
        "access_denied"
    );
    // Silent authentication cannot ask which organization.
    let request = AuthRequest::new(&client, "openid").with("prompt", "none");
    assert_eq!(
        refusal(&mut browser, &oauth, &request).await?,
        "interaction_required"
    );
    // ... but it can when the request names one.
    let request = AuthRequest::new(&client, "openid")
        .with("prompt", "none")
        .with("organization", &globex);
    let page = browser.get(&request.url(&oauth)).await?;
    let id = id_claims(
        &mut browser,
        &oauth,
        &client,
        &request,
        page,
        "ada@example.com",
    )
    .await?;
    assert_eq!(id["org_id"], globex.as_str(), "{id}");

    // A member of one organization signs in as its member without being asked.
    let request = AuthRequest::new(&client, "openid");
    let (_, id) = signed_in_claims(&oauth, &client, &request, "bob@example.com").await?;
    assert_eq!(id["org_id"], acme.as_str(), "{id}");
    assert_eq!(id["org_roles"], json!(["owner"]));

    // A user in no organization gets no organization claims; naming one is refused.
    let request = AuthRequest::new(&client, "openid");
    let (mut browser, id) = signed_in_claims(&oauth, &client, &request, "cy@example.com").await?;
    assert!(id.get("org_id").is_none(), "{id}");
    let request = AuthRequest::new(&client, "openid").with("organization", "acme");
    assert_eq!(
        refusal(&mut browser, &oauth, &request).await?,
        "access_denied"
    );
    Ok(())
}
