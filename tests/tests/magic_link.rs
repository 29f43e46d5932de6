//! Sign-in links (the hosted login's magic link) against a real node and a local SMTP sink:
//! the login page offers them when the branding says so, the link arrives through the org's
//! SMTP settings, opening it (GET shows, POST signs in) continues the authorization request
//! with `amr: ["email"]` and a verified address, it works once, unknown addresses get the same
//! answer and no email, and `magic_link_only` turns password sign-in off.

use lumo_chaos::smtp_sink::SmtpSink;
use lumo_tests::TestNode;
use lumo_tests::email::send_through_sink;
use lumo_tests::oauth::{
    AuthRequest, Browser, Oauth, admin, claims, create_client, create_user, drive, exchange, form,
};
use lumo_tests::wait::mail_to;
use serde_json::json;

const PASSWORD: &str = "Correct-horse-battery-9";

/// The form with `id` on `html`: its action and inputs.
fn form_with_id(html: &str, id: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find(&format!("<form id=\"{id}\""))?;
    form(&html[start..])
}

#[tokio::test]
async fn a_sign_in_link_signs_in_once_and_continues_the_authorization() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let id = create_user(&api, "ada@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let request = AuthRequest::new(&client, "openid email");

    // Off by default: the login page offers no link, and asking for one is refused.
    let mut browser = Browser::new();
    let page = browser.get(&request.url(&oauth)).await?;
    assert!(form_with_id(&page.body, "magic-link").is_none());
    let (_, carried) = form(&page.body).ok_or_else(|| anyhow::anyhow!("no login form"))?;
    let mut fields: Vec<(String, String)> = carried
        .into_iter()
        .filter(|(k, _)| k != "email" && k != "password")
        .collect();
    fields.push(("email".into(), "ada@example.com".into()));
    let refused = browser
        .post_form(&oauth.url("/oauth/magic-link/send"), &fields)
        .await?;
    assert!(refused.status >= 400, "{} {}", refused.status, refused.body);

    send_through_sink(&api, sink.port, json!({})).await?;
    api.put(
        "/admin/settings/branding",
        json!({"magic_link_enabled": true, "magic_link_expiry": 600}),
    )
    .await?
    .expect(200);

    // The login page offers it; an unknown address gets the same answer and no email.
    let page = browser.get(&request.url(&oauth)).await?;
    assert!(
        page.body.contains("Email me a sign-in link"),
        "{}",
        page.body
    );
    let (action, mut fields) =
        form_with_id(&page.body, "magic-link").ok_or_else(|| anyhow::anyhow!("no link form"))?;
    for (name, value) in fields.iter_mut() {
        if name == "email" {
            *value = "nobody@example.com".into();
        }
    }
    let unknown = browser
        .post_form(&format!("{}{action}", oauth.base), &fields)
        .await?;
    assert_eq!(unknown.status, 200, "{}", unknown.body);
    assert!(
        unknown.body.contains("Check your email"),
        "{}",
        unknown.body
    );
    for (name, value) in fields.iter_mut() {
        if name == "email" {
            *value = "Ada@Example.com".into();
        }
    }
    let sent = browser
        .post_form(&format!("{}{action}", oauth.base), &fields)
        .await?;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert_eq!(
        sent.body.replace("Ada@Example.com", "X"),
        unknown.body.replace("nobody@example.com", "X"),
        "the page does not tell whether the address has an account"
    );
    let mail = mail_to(&sink, "ada@example.com", 0).await?;
    assert!(
        mail.header("Subject")
            .is_some_and(|s| s.starts_with("Your sign-in link for")),
        "{}",
        mail.data
    );
    assert!(mail.text().contains("10 minutes"), "{}", mail.text());
    assert!(
        sink.received()
            .iter()
            .all(|m| m.to.iter().all(|t| t != "nobody@example.com")),
        "no email to an address without an account"
    );
    let link = mail
        .link("/oauth/magic-link?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", mail.text()))?;

    // GET shows whom it signs in; POST signs in and goes on with the authorization request.
    let shown = browser.get(&link).await?;
    assert_eq!(shown.status, 200, "{}", shown.body);
    assert!(
        shown.body.contains("Sign in as ada@example.com"),
        "{}",
        shown.body
    );
    let (action, inputs) = form(&shown.body).ok_or_else(|| anyhow::anyhow!("no form"))?;
    let signed = browser
        .post_form(&format!("{}{action}", oauth.base), &inputs)
        .await?;
    assert_eq!(signed.status, 302, "{}", signed.body);
    assert!(browser.cookie("lumo_session").is_some());
    let redirect = drive(&mut browser, &oauth.base, signed, "", "").await?;
    let tokens = exchange(&oauth, &client, &request, &redirect).await?;
    assert_eq!(tokens.status, 200, "{}", tokens.text);
    let id_token = claims(tokens.body["id_token"].as_str().unwrap_or_default());
    assert_eq!(id_token["sub"], id.as_str());
    assert_eq!(id_token["amr"], json!(["email"]), "{id_token}");
    let user = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(
        user.data()["emailVerified"],
        true,
        "the inbox proved the address"
    );

    // It works once; a forged token, or a form without its CSRF token, does nothing.
    let again = Browser::new().get(&link).await?;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    let forged = Browser::new()
        .get(&format!("{}x", &link[..link.len() - 2]))
        .await?;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert!(forged.body.contains("not valid"), "{}", forged.body);
    let no_csrf: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "_csrf")
        .cloned()
        .collect();
    let before = sink.count();
    let refused = Browser::new()
        .post_form(&oauth.url("/oauth/magic-link/send"), &no_csrf)
        .await?;
    assert_eq!(refused.status, 302, "{}", refused.body);
    assert!(
        refused
            .location
            .as_deref()
            .is_some_and(|l| l.contains("login_error=csrf")),
        "{:?}",
        refused.location
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(sink.count(), before, "a refused form sends nothing");
    Ok(())
}

#[tokio::test]
async fn links_only_turns_password_sign_in_off() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "ada@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    api.put(
        "/admin/settings/branding",
        json!({"magic_link_enabled": true, "magic_link_only": true}),
    )
    .await?
    .expect(200);
    let request = AuthRequest::new(&client, "openid");
    let mut browser = Browser::new();
    let page = browser.get(&request.url(&oauth)).await?;
    assert!(!page.body.contains("type=\"password\""), "{}", page.body);
    assert!(form_with_id(&page.body, "magic-link").is_some());
    // A password posted anyway is refused.
    let (_, carried) = form(&page.body).ok_or_else(|| anyhow::anyhow!("no form"))?;
    let mut fields: Vec<(String, String)> =
        carried.into_iter().filter(|(k, _)| k != "email").collect();
    fields.push(("email".into(), "ada@example.com".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let refused = browser
        .post_form(&oauth.url("/oauth/login/submit"), &fields)
        .await?;
    assert!(refused.status >= 400, "{} {}", refused.status, refused.body);
    assert!(browser.cookie("lumo_session").is_none());
    let json = browser
        .post_json(
            &oauth.url("/oauth/login/json"),
            json!({"email": "ada@example.com", "password": PASSWORD}),
        )
        .await?;
    assert!(json.status >= 400, "{} {}", json.status, json.body);
    // Without email settings a link cannot be sent: a clear refusal, not a silent page.
    let (action, mut fields) =
        form_with_id(&page.body, "magic-link").ok_or_else(|| anyhow::anyhow!("no link form"))?;
    for (name, value) in fields.iter_mut() {
        if name == "email" {
            *value = "ada@example.com".into();
        }
    }
    let unsent = browser
        .post_form(&format!("{}{action}", oauth.base), &fields)
        .await?;
    assert_eq!(unsent.status, 400, "{}", unsent.body);
    assert!(unsent.body.contains("sends no email"), "{}", unsent.body);
    Ok(())
}
