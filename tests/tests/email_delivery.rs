//! Email delivery against a real node and a local SMTP sink (`lumo_chaos::smtp_sink`): the
//! admin calls `verify-email` and `password-reset` send through the org's SMTP settings from
//! the replicated outbox; the emailed links open the hosted pages, work once, and change the
//! user; custom templates shape what is sent; an unreachable server is retried and reported;
//! refused recipients are dead-lettered at once; and the settings refuse what cannot work.

use lumo_chaos::smtp_sink::SmtpSink;
use lumo_tests::email::send_through_sink;
use lumo_tests::oauth::{Browser, Oauth, signed_in, submit_page_form};
use lumo_tests::wait::{eventually, mail_to};
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

async fn configure(api: &Api, port: u16) -> anyhow::Result<()> {
    send_through_sink(
        api,
        port,
        json!({"from_name": "Acme Corp", "reply_to": "help@acme.test"}),
    )
    .await
}

async fn create_user(api: &Api, email: &str, name: &str) -> anyhow::Result<String> {
    let reply = api
        .post(
            "/admin/users",
            json!({"email": email, "name": name, "password": "Original-pass-1"}),
        )
        .await?
        .expect(201);
    Ok(reply.data()["id"].as_str().unwrap_or_default().to_string())
}

#[tokio::test]
async fn verification_and_reset_emails_go_out_and_their_links_work_once() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let node = TestNode::start().await?;
    let api = node.api();
    let id = create_user(&api, "ada@example.com", "Ada <Lovelace>").await?;

    // Without email settings the call records and says it did not send.
    let reply = api
        .post(&format!("/admin/users/{id}/verify-email"), json!({}))
        .await?
        .expect(200);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not sent"),
        "{}",
        reply.text
    );
    configure(&api, sink.port).await?;

    let reply = api
        .post(&format!("/admin/users/{id}/verify-email"), json!({}))
        .await?
        .expect(200);
    assert!(
        reply.body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("queued"),
        "{}",
        reply.text
    );
    let mail = mail_to(&sink, "ada@example.com", 0).await?;
    assert_eq!(mail.from, "no-reply@acme.test");
    assert!(
        mail.header("Subject")
            .is_some_and(|s| s.starts_with("Verify your email for ")),
        "{}",
        mail.data
    );
    assert!(
        mail.header("Message-ID")
            .is_some_and(|m| m.contains("evt_")),
        "{}",
        mail.data
    );
    assert!(
        mail.header("Reply-To")
            .is_some_and(|r| r.contains("help@acme.test"))
    );
    let html = mail.part("text/html").unwrap_or_default();
    assert!(
        html.contains("Ada &lt;Lovelace&gt;"),
        "the name is escaped: {html}"
    );
    let link = mail
        .link("/oauth/verify-email?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", mail.text()))?;
    assert!(link.starts_with(&node.http), "{link}");

    // The page shows a confirmation; only the POST verifies.
    let user = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(user.data()["emailVerified"], json!(false));
    let done = submit_page_form(&node.http, &link, &[]).await?;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Email verified"), "{}", done.body);
    let user = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(user.data()["emailVerified"], json!(true));
    // Used once: the link is spent.
    let again = Browser::new().get(&link).await?;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(again.body.contains("already used"), "{}", again.body);
    // A forged or cut token is refused.
    let forged = Browser::new()
        .get(&format!("{}x", &link[..link.len() - 2]))
        .await?;
    assert_eq!(forged.status, 400);
    assert!(forged.body.contains("not valid"), "{}", forged.body);

    // Password reset: asking twice spends the first link; the new password signs in.
    api.post(&format!("/admin/users/{id}/password-reset"), json!({}))
        .await?
        .expect(200);
    let first = mail_to(&sink, "ada@example.com", 1).await?;
    api.post(&format!("/admin/users/{id}/password-reset"), json!({}))
        .await?
        .expect(200);
    let second = mail_to(&sink, "ada@example.com", 2).await?;
    let old_link = first.link("reset-password").unwrap_or_default();
    let new_link = second
        .link("/oauth/reset-password?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", second.text()))?;
    assert_ne!(old_link, new_link);
    let stale = Browser::new().get(&old_link).await?;
    assert_eq!(stale.status, 400, "{}", stale.body);
    let differ = submit_page_form(
        &node.http,
        &new_link,
        &[
            ("password", "Brand-new-pass-2"),
            ("password_confirm", "other"),
        ],
    )
    .await?;
    assert_eq!(differ.status, 422, "{}", differ.body);
    assert!(differ.body.contains("differ"), "{}", differ.body);
    let short = submit_page_form(
        &node.http,
        &new_link,
        &[("password", "x"), ("password_confirm", "x")],
    )
    .await?;
    assert_eq!(short.status, 422, "{}", short.body);
    // A session signed in with the old password ends with the reset.
    let oauth = Oauth::new(&node.http);
    signed_in(&oauth, "ada@example.com", "Original-pass-1").await?;
    let active = api.get("/admin/sessions/count").await?.expect(200);
    assert_eq!(active.data()["count"], 1, "{}", active.text);
    let changed = submit_page_form(
        &node.http,
        &new_link,
        &[
            ("password", "Brand-new-pass-2"),
            ("password_confirm", "Brand-new-pass-2"),
        ],
    )
    .await?;
    let active = api.get("/admin/sessions/count").await?.expect(200);
    assert_eq!(
        active.data()["count"],
        0,
        "signed out everywhere: {}",
        active.text
    );
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(
        changed.body.contains("Password changed"),
        "{}",
        changed.body
    );
    signed_in(&oauth, "ada@example.com", "Brand-new-pass-2").await?;
    assert!(
        signed_in(&oauth, "ada@example.com", "Original-pass-1")
            .await
            .is_err()
    );
    let reused = Browser::new().get(&new_link).await?;
    assert_eq!(reused.status, 400);

    // The audit trail has the request and the reset.
    let audit = api
        .get("/admin/audit-logs?action=user.password.reset")
        .await?
        .expect(200);
    assert_eq!(
        audit.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        audit.text
    );
    let settings = api.get("/admin/settings/email").await?.expect(200);
    assert_eq!(settings.data()["last_delivery_status"], json!("sent"));
    Ok(())
}

#[tokio::test]
async fn custom_templates_shape_what_is_sent_and_bad_ones_are_refused() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let node = TestNode::start().await?;
    let api = node.api();
    configure(&api, sink.port).await?;
    let list = api.get("/admin/email-templates").await?.expect(200);
    let types: Vec<&str> = list.body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        types,
        [
            "verification",
            "password_reset",
            "invitation",
            "magic_link",
            "mfa_code"
        ]
    );
    assert!(
        list.body["data"]
            .as_array()
            .is_some_and(|a| a.iter().all(|t| t["is_custom"] == json!(false)))
    );

    // Refusals: unknown type, unknown variable, broken syntax, missing subject.
    api.get("/admin/email-templates/newsletter")
        .await?
        .expect_error(404, "resource_not_found");
    for (body, field) in [
        (
            json!({"subject": "Hi {{ password }}", "body_html": "<p>x</p>"}),
            "subject",
        ),
        (
            json!({"subject": "Hi", "body_html": "<p>{% if user_name %}</p>"}),
            "body_html",
        ),
        (json!({"body_html": "<p>x</p>"}), "subject"),
        (json!({"subject": 5, "body_html": "<p>x</p>"}), "subject"),
    ] {
        let reply = api.put("/admin/email-templates/verification", body).await?;
        assert_eq!(reply.status, 422, "{}", reply.text);
        assert!(reply.text.contains(field), "{}", reply.text);
    }
    let untouched = api
        .get("/admin/email-templates/verification")
        .await?
        .expect(200);
    assert_eq!(untouched.body["is_custom"], json!(false));

    let saved = api
        .put(
            "/admin/email-templates/verification",
            json!({"subject": "{{ org_name }}: confirm {{ user_email }}",
                "body_html": "<h1>Hi {{ user_name }}</h1><p><a href=\"{{ verification_url }}\">Confirm</a> within {{ expires_in }}</p>",
                "is_active": true}),
        )
        .await?
        .expect(200);
    assert_eq!(saved.body["is_custom"], json!(true));
    assert!(
        saved.body["body_html"]
            .as_str()
            .unwrap_or_default()
            .contains("<h1>")
    );
    let variables = api
        .get("/admin/email-templates/verification/variables")
        .await?
        .expect(200);
    assert!(variables.body["variables"]["verification_url"].is_string());
    let preview = api
        .post("/admin/email-templates/verification/preview", json!({}))
        .await?
        .expect(200);
    assert_eq!(
        preview.body["subject"],
        json!("Acme Corp: confirm ada@example.com")
    );
    assert!(
        preview.body["html"]
            .as_str()
            .unwrap_or_default()
            .contains("Hi Ada Lovelace")
    );

    let id = create_user(&api, "grace@example.com", "Grace").await?;
    api.post(&format!("/admin/users/{id}/verify-email"), json!({}))
        .await?
        .expect(200);
    let mail = mail_to(&sink, "grace@example.com", 0).await?;
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Acme Corp: confirm grace@example.com")
    );
    assert!(mail.text().contains("Hi Grace"), "{}", mail.text());
    assert!(mail.text().contains("within 1 day"), "{}", mail.text());

    // Delete reverts to the default; a second delete is 404.
    api.delete("/admin/email-templates/verification")
        .await?
        .expect(200);
    api.delete("/admin/email-templates/verification")
        .await?
        .expect_error(404, "resource_not_found");
    let back = api
        .get("/admin/email-templates/verification")
        .await?
        .expect(200);
    assert_eq!(back.body["is_custom"], json!(false));
    Ok(())
}

#[tokio::test]
async fn an_unreachable_server_is_retried_and_a_refused_address_given_up() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let node = TestNode::start().await?;
    let api = node.api();
    configure(&api, sink.port).await?;

    // A transient 451 is retried until the message goes through.
    sink.fail_next(1);
    let id = create_user(&api, "retry@example.com", "Retry").await?;
    api.post(&format!("/admin/users/{id}/verify-email"), json!({}))
        .await?
        .expect(200);
    let settings = eventually("a failed attempt reported", || async {
        let reply = api.get("/admin/settings/email").await?.expect(200);
        Ok((reply.data()["last_delivery_status"] == json!("retrying"))
            .then(|| reply.data().clone()))
    })
    .await?;
    assert!(
        settings["last_delivery_error"]
            .as_str()
            .unwrap_or_default()
            .contains("451"),
        "{settings}"
    );
    // The first retry waits for the backoff (seconds); the message arrives once.
    let mail = mail_to(&sink, "retry@example.com", 0).await?;
    assert!(mail.link("verify-email").is_some(), "{}", mail.text());
    assert_eq!(
        sink.received()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == "retry@example.com"))
            .count(),
        1
    );

    // A recipient the server refuses for good is dead-lettered at once.
    let id = create_user(&api, "reject-me@example.com", "Nobody").await?;
    api.post(&format!("/admin/users/{id}/verify-email"), json!({}))
        .await?
        .expect(200);
    let settings: Value =
        eventually("the refusal reported", || async {
            let reply = api.get("/admin/settings/email").await?.expect(200);
            Ok((reply.data()["last_delivery_status"] == json!("refused"))
                .then(|| reply.data().clone()))
        })
        .await?;
    assert!(
        settings["last_delivery_error"]
            .as_str()
            .unwrap_or_default()
            .contains("550"),
        "{settings}"
    );

    // An unreachable server: the admin call still succeeds, the failure is reported.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    configure(&api, closed).await?;
    let id = create_user(&api, "later@example.com", "Later").await?;
    api.post(&format!("/admin/users/{id}/password-reset"), json!({}))
        .await?
        .expect(200);
    let settings: Value = eventually("the connection failure reported", || async {
        let reply = api.get("/admin/settings/email").await?.expect(200);
        let error = reply.data()["last_delivery_error"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        Ok(
            (reply.data()["last_delivery_status"] == json!("retrying") && error.contains("onnect"))
                .then(|| reply.data().clone()),
        )
    })
    .await?;
    assert!(settings["last_delivery_at"].is_string());
    Ok(())
}

#[tokio::test]
async fn email_settings_refuse_what_cannot_send() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.put(
        "/admin/settings/email",
        json!({"enabled": true, "provider": "smtp", "from_email": "a@b.test"}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.put(
        "/admin/settings/email",
        json!({"enabled": true, "provider": "smtp", "smtp_host": "127.0.0.1"}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.put(
        "/admin/settings/email",
        json!({"enabled": true, "provider": "smtp", "smtp_host": "127.0.0.1",
            "from_email": "a@b.test", "smtp_username": "mailer"}),
    )
    .await?
    .expect_error(422, "validation_error");
    let reply = api
        .put(
            "/admin/settings/email",
            json!({"enabled": true, "provider": "sendgrid", "from_email": "a@b.test"}),
        )
        .await?;
    assert_eq!(reply.status, 501, "{}", reply.text);
    // Nothing half-written: the section is still the default.
    let settings = api.get("/admin/settings/email").await?.expect(200);
    assert_eq!(settings.data()["enabled"], json!(false));
    // The carrier webhook is hidden from the webhook list.
    api.put(
        "/admin/settings/email",
        json!({"enabled": true, "provider": "smtp", "smtp_host": "127.0.0.1",
            "from_email": "a@b.test", "smtp_username": "mailer", "smtp_password": "pw-123456"}),
    )
    .await?
    .expect(200);
    let settings = api.get("/admin/settings/email").await?.expect(200);
    assert_eq!(settings.data()["smtp_password"]["configured"], json!(true));
    let hooks = api.get("/admin/webhooks").await?.expect(200);
    assert_eq!(
        hooks.body["data"].as_array().map(Vec::len),
        Some(0),
        "{}",
        hooks.text
    );
    Ok(())
}
