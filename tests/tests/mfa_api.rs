//! MFA end to end against a real node: TOTP enrollment and verification (codes computed here
//! from the secret the API returns), challenges and step-up, recovery codes, the hosted
//! sign-in's second factor with `amr`/`acr` in the ID token, trusted devices, an org policy
//! that requires MFA of a role (enrollment during sign-in), temporary access codes, the
//! lockout, the coverage report, and what is refused.

use std::time::{SystemTime, UNIX_EPOCH};

use lumo_cluster::crypto::totp;
use lumo_tests::Api;
use lumo_tests::TestNode;
use lumo_tests::http::Reply;
use lumo_tests::oauth::{
    AuthRequest, Browser, Client, Oauth, Page, admin, claims, create_client, create_user, exchange,
    follow, form, submit_password,
};
use reqwest::Method;
use serde_json::{Value, json};

const PASSWORD: &str = "Correct-horse-battery-9";

/// An authenticator app: the secret, and the last step it showed (each step is used once).
struct App {
    key: Vec<u8>,
    last: Option<u64>,
}

impl App {
    fn new(secret: &str) -> App {
        App {
            key: totp::base32_decode(secret).expect("base32 secret"),
            last: None,
        }
    }

    /// A code for a step not used before, inside the server's window of one step either way.
    fn code(&mut self) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let current = totp::step_at(now);
        let step = self.last.map_or(current - 1, |l| (l + 1).max(current - 1));
        assert!(step <= current + 1, "no fresh step left in this window");
        self.last = Some(step);
        format!("{:06}", totp::hotp(&self.key, step))
    }

    /// A code the server must refuse: far outside the window.
    fn stale(&self) -> String {
        format!("{:06}", totp::hotp(&self.key, 7))
    }
}

/// Opens the authorization request and submits the password; returns the page that follows
/// (the second-factor page, or a redirect to the client).
async fn password(
    browser: &mut Browser,
    oauth: &Oauth,
    request: &AuthRequest,
    email: &str,
) -> anyhow::Result<Page> {
    submit_password(browser, oauth, request, email, PASSWORD).await
}

/// Submits the second-factor form of `page` with `code` (and `trust`).
async fn second_factor(
    browser: &mut Browser,
    oauth: &Oauth,
    page: &Page,
    code: &str,
    trust: bool,
) -> anyhow::Result<Page> {
    let (action, mut fields) =
        form(&page.body).ok_or_else(|| anyhow::anyhow!("no MFA form: {}", page.body))?;
    fields.retain(|(n, _)| n != "trust_device" || trust);
    for (name, value) in fields.iter_mut() {
        if name == "code" {
            *value = code.to_string();
        }
    }
    let url = if action.starts_with('/') {
        format!("{}{action}", oauth.base)
    } else {
        action
    };
    let page = browser.post_form(&url, &fields).await?;
    follow(browser, oauth, page).await
}

fn is_client_redirect(page: &Page, client: &Client) -> bool {
    page.location
        .as_deref()
        .is_some_and(|l| l.starts_with(&client.redirect_uri) && l.contains("code="))
}

/// A fresh user token through the hosted login (no MFA yet).
async fn user_token(
    oauth: &Oauth,
    client: &Client,
    email: &str,
) -> anyhow::Result<(String, Value)> {
    let mut browser = Browser::new();
    let request = AuthRequest::new(client, "openid email");
    let page = password(&mut browser, oauth, &request, email).await?;
    anyhow::ensure!(is_client_redirect(&page, client), "no code: {page:?}");
    let location = page.location.clone().unwrap_or_default();
    let tokens = exchange(oauth, client, &request, &location)
        .await?
        .expect(200);
    let access = tokens.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = claims(tokens.body["id_token"].as_str().unwrap_or_default());
    Ok((access, id))
}

async fn with_step_up(
    api: &Api,
    method: Method,
    path: &str,
    body: Option<Value>,
    challenge: &str,
) -> anyhow::Result<Reply> {
    api.send_with(method, path, body, &[("X-MFA-Challenge", challenge)])
        .await
}

/// Answers challenge `id` with `code`.
async fn answer(me: &Api, id: &str, code: &str) -> anyhow::Result<Reply> {
    me.post(
        &format!("/mfa/challenges/{id}/verify"),
        json!({"code": code}),
    )
    .await
}

/// Verifies pending authenticator `id` with `code`.
async fn verify_authenticator(me: &Api, id: &str, code: &str) -> anyhow::Result<Reply> {
    me.post(
        &format!("/me/authenticators/{id}/verify"),
        json!({"code": code}),
    )
    .await
}

/// Starts a step-up challenge and answers it with `code`.
async fn step_up(me: &Api, code: &str) -> anyhow::Result<String> {
    let started = me
        .post("/mfa/challenges", json!({"purpose": "step_up"}))
        .await?
        .expect(201);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let answered = answer(me, &id, code).await?.expect(200);
    assert_eq!(answered.body["status"], "approved", "{}", answered.text);
    Ok(id)
}

/// Enrolls and verifies a TOTP app for the token's user.
async fn enroll_totp(me: &Api, step_up_id: Option<&str>) -> anyhow::Result<(String, App)> {
    let path = "/me/authenticators/totp/enroll";
    let started = match step_up_id {
        Some(c) => with_step_up(me, Method::POST, path, Some(json!({})), c).await?,
        None => me.post(path, json!({})).await?,
    }
    .expect(201);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let mut app = App::new(started.body["secret"].as_str().unwrap_or_default());
    let verified = verify_authenticator(me, &id, &app.code())
        .await?
        .expect(200);
    assert_eq!(verified.body["state"], "active");
    Ok((id, app))
}

/// A node (with a mail directory when asked), an admin client, a confidential client, and a
/// user signed in through the hosted login with a fresh token.
struct Signed {
    /// Kept alive for the test.
    _node: TestNode,
    /// Where the node drops mail (kept alive with the node).
    mail: Option<tempfile::TempDir>,
    api: Api,
    oauth: Oauth,
    client: Client,
    user: String,
    me: Api,
    id_token: Value,
}

async fn signed_in(email: &str, with_mail: bool) -> anyhow::Result<Signed> {
    let mail = if with_mail {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let dir = mail.as_ref().map(|m| m.path().to_path_buf());
    let node = TestNode::start_with(|c| c.mail_dir = dir).await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user = create_user(&api, email, PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let (access, id_token) = user_token(&oauth, &client, email).await?;
    let me = api.with_bearer(&access);
    Ok(Signed {
        _node: node,
        mail,
        api,
        oauth,
        client,
        user,
        me,
        id_token,
    })
}

impl Signed {
    fn mail_dir(&self) -> std::path::PathBuf {
        self.mail
            .as_ref()
            .map(|m| m.path().to_path_buf())
            .unwrap_or_default()
    }
}

/// Enrolls and verifies an email authenticator with the code mailed to `email`.
async fn enroll_email(me: &Api, dir: &std::path::Path, email: &str) -> anyhow::Result<String> {
    let started = me
        .post("/me/authenticators/email_otp/enroll", json!({}))
        .await?
        .expect(201);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let code = mailed_code(dir, email)?;
    verify_authenticator(me, &id, &code).await?.expect(200);
    Ok(id)
}

#[tokio::test]
async fn totp_enrollment_challenges_recovery_and_step_up() -> anyhow::Result<()> {
    let signed = signed_in("ada@example.com", false).await?;
    let Signed {
        api,
        user,
        me,
        id_token,
        ..
    } = &signed;
    assert_eq!(id_token["amr"], json!(["pwd"]));
    assert_eq!(id_token["acr"], "urn:lumo:acr:pwd");

    let listed = me.get("/me/authenticators").await?.expect(200);
    assert_eq!(listed.body["status"], "at_risk");
    assert!(
        listed.body["allowed_types"]
            .as_array()
            .is_some_and(|t| t.contains(&json!("totp")))
    );
    assert_eq!(listed.body["recommended_type"], "passkey");

    // Enrollment: the secret, the otpauth URI and a QR code; a wrong code counts, the right one
    // activates, and the first factor becomes the default.
    let started = me
        .post("/me/authenticators/totp/enroll", json!({}))
        .await?
        .expect(201);
    let body = &started.body;
    assert_eq!(body["state"], "pending");
    let uri = body["otpauth_uri"].as_str().unwrap_or_default();
    assert!(
        uri.starts_with("otpauth://totp/") && uri.contains("ada@example.com"),
        "{uri}"
    );
    assert!(
        body["qr_data_uri"]
            .as_str()
            .is_some_and(|q| q.starts_with("data:image/svg+xml;base64,"))
    );
    let secret = body["secret"].as_str().unwrap_or_default();
    assert_eq!(
        body["secret_grouped"].as_str().map(|g| g.replace(' ', "")),
        Some(secret.to_string())
    );
    let id = body["id"].as_str().unwrap_or_default().to_string();
    let mut app = App::new(secret);
    let wrong = verify_authenticator(me, &id, &app.stale())
        .await?
        .expect_error(400, "invalid_code");
    assert!(wrong.body["details"]["attempts_remaining"].is_u64());
    let verified = verify_authenticator(me, &id, &app.code())
        .await?
        .expect(200);
    assert_eq!(verified.body["state"], "active");
    assert_eq!(verified.body["is_default"], true);
    assert_eq!(verified.body["tier"], 2);
    assert!(verified.body.get("secret").is_none());
    let user_row = api.get(&format!("/admin/users/{user}")).await?.expect(200);
    assert_eq!(user_row.data()["mfaEnabled"], true);

    // A challenge: the code just used is refused (no code twice), the next step is accepted.
    let used = format!("{:06}", totp::hotp(&app.key, app.last.unwrap_or(0)));
    let started = me.post("/mfa/challenges", json!({})).await?.expect(201);
    assert_eq!(started.body["status"], "issued");
    assert_eq!(started.body["delivery"], "code_expected");
    assert_eq!(started.body["attempts_remaining"], 5);
    let challenge = started.body["id"].as_str().unwrap_or_default().to_string();
    answer(me, &challenge, &used)
        .await?
        .expect_error(400, "invalid_code");
    let approved = answer(me, &challenge, &app.code()).await?.expect(200);
    assert_eq!(approved.body["status"], "approved");
    let shown = me
        .get(&format!("/mfa/challenges/{challenge}"))
        .await?
        .expect(200);
    assert_eq!(shown.body["status"], "approved");
    assert_eq!(shown.body["authenticator"]["id"], id);
    answer(me, &challenge, "123456")
        .await?
        .expect_error(410, "challenge_expired");

    // Recovery codes: ten, shown once; replacing them needs a step-up.
    let codes = me.post_empty("/me/recovery-codes").await?.expect(201);
    let list: Vec<String> = codes.body["codes"]
        .as_array()
        .map(|c| {
            c.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(list.len(), 10);
    assert!(
        list.iter()
            .all(|c| c.len() == 11 && c.chars().nth(5) == Some('-'))
    );
    let status = me.get("/me/recovery-codes").await?.expect(200);
    assert_eq!(status.body["remaining"], 10);
    assert_eq!(status.body["low"], false);
    me.post_empty("/me/recovery-codes")
        .await?
        .expect_error(403, "step_up_required");
    let by_recovery = step_up(me, &list[0].to_lowercase()).await?;
    // A recovery code works once.
    let again = me.post("/mfa/challenges", json!({})).await?.expect(201);
    let again_id = again.body["id"].as_str().unwrap_or_default();
    answer(me, again_id, &list[0])
        .await?
        .expect_error(400, "invalid_code");
    let replaced = with_step_up(me, Method::POST, "/me/recovery-codes", None, &by_recovery)
        .await?
        .expect(201);
    assert_eq!(replaced.body["remaining"], 10);
    // The old set stopped working.
    let third = me.post("/mfa/challenges", json!({})).await?.expect(201);
    let third_id = third.body["id"].as_str().unwrap_or_default();
    answer(me, third_id, &list[1])
        .await?
        .expect_error(400, "invalid_code");

    // Rename and default.
    let renamed = me
        .patch(
            &format!("/me/authenticators/{id}"),
            json!({"display_name": "Phone"}),
        )
        .await?
        .expect(200);
    assert_eq!(renamed.body["display_name"], "Phone");
    let listed = me.get("/me/authenticators").await?.expect(200);
    assert_eq!(listed.body["status"], "protected");
    assert_eq!(listed.body["default"], id);
    assert_eq!(listed.body["recovery_codes"]["remaining"], 10);

    // Removing needs a step-up; then the user is at risk again.
    me.delete(&format!("/me/authenticators/{id}"))
        .await?
        .expect_error(403, "step_up_required");
    let fresh = step_up(me, &app.code()).await?;
    let removed = with_step_up(
        me,
        Method::DELETE,
        &format!("/me/authenticators/{id}"),
        None,
        &fresh,
    )
    .await?;
    assert_eq!(removed.status, 204, "{}", removed.text);
    let listed = me.get("/me/authenticators").await?.expect(200);
    assert_eq!(listed.body["authenticators"], json!([]));
    let user_row = api.get(&format!("/admin/users/{user}")).await?.expect(200);
    assert_eq!(user_row.data()["mfaEnabled"], false);

    // The audit log recorded the MFA events.
    let audit = api.get("/admin/audit-logs?limit=100").await?.expect(200);
    let text = audit.text;
    for action in [
        "mfa.authenticator.enrolled",
        "mfa.challenge.approved",
        "mfa.challenge.failed",
        "mfa.recovery_code.used",
        "mfa.authenticator.removed",
    ] {
        assert!(text.contains(action), "audit lacks {action}");
    }
    Ok(())
}

#[tokio::test]
async fn hosted_sign_in_asks_the_second_factor_and_trusts_the_device() -> anyhow::Result<()> {
    let signed = signed_in("bo@example.com", false).await?;
    let Signed {
        oauth, client, me, ..
    } = &signed;
    let (_, mut app) = enroll_totp(me, None).await?;

    // The password alone no longer signs in: the second-factor page asks for a code.
    let mut browser = Browser::new();
    let request = AuthRequest::new(client, "openid email");
    let page = password(&mut browser, oauth, &request, "bo@example.com").await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Two-step verification"), "{}", page.body);
    assert!(browser.cookie("lumo_session").is_none());
    assert!(browser.cookie("lumo_mfa").is_some());
    let wrong = second_factor(&mut browser, oauth, &page, &app.stale(), false).await?;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("4 attempts left"), "{}", wrong.body);
    let done = second_factor(&mut browser, oauth, &wrong, &app.code(), true).await?;
    assert!(is_client_redirect(&done, client), "{done:?}");
    assert!(browser.cookie("lumo_device").is_some());
    let tokens = exchange(
        oauth,
        client,
        &request,
        done.location.as_deref().unwrap_or_default(),
    )
    .await?
    .expect(200);
    let id = claims(tokens.body["id_token"].as_str().unwrap_or_default());
    assert_eq!(id["acr"], "urn:lumo:acr:mfa");
    let amr = id["amr"].as_array().cloned().unwrap_or_default();
    for method in ["pwd", "otp", "mfa"] {
        assert!(amr.contains(&json!(method)), "{amr:?}");
    }

    // Signed out, the trusted device skips the second factor.
    browser.set_cookie("lumo_session", "");
    let request = AuthRequest::new(client, "openid");
    let page = password(&mut browser, oauth, &request, "bo@example.com").await?;
    assert!(is_client_redirect(&page, client), "{page:?}");

    // The device is listed and can be revoked; then the code is asked again.
    let devices = me.get("/me/trusted-devices").await?.expect(200);
    let list = devices.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "{}", devices.text);
    let device = list[0]["id"].as_str().unwrap_or_default().to_string();
    assert_eq!(
        me.delete(&format!("/me/trusted-devices/{device}"))
            .await?
            .status,
        204
    );
    me.delete(&format!("/me/trusted-devices/{device}"))
        .await?
        .expect_error(404, "resource_not_found");
    browser.set_cookie("lumo_session", "");
    let page = password(
        &mut browser,
        oauth,
        &AuthRequest::new(client, "openid"),
        "bo@example.com",
    )
    .await?;
    assert!(page.body.contains("Two-step verification"), "{}", page.body);
    Ok(())
}

#[tokio::test]
async fn a_role_that_requires_mfa_enrolls_at_sign_in_and_admins_recover_users() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let user = create_user(&api, "cy@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    api.post(
        "/admin/roles",
        json!({"name": "Finance", "slug": "finance"}),
    )
    .await?
    .expect(201);
    api.post(
        &format!("/admin/users/{user}/roles"),
        json!({"roleIds": ["finance"]}),
    )
    .await?;
    let policy = api
        .put("/admin/policies/mfa", json!({"required_roles": ["finance"], "grace_period_days": 0, "trusted_device_days": 999, "unknown": 1}))
        .await?
        .expect(200);
    assert_eq!(policy.body["data"]["trusted_device_days"], 180);
    assert_eq!(policy.body["data"]["required_roles"], json!(["finance"]));
    let shown = api.get("/admin/policies/mfa").await?.expect(200);
    assert!(
        shown.body["effective_allowed_factors"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("totp")))
    );

    // The password alone does not finish: the page enrolls an authenticator app first.
    let mut browser = Browser::new();
    let request = AuthRequest::new(&client, "openid");
    let page = password(&mut browser, &oauth, &request, "cy@example.com").await?;
    assert!(
        page.body.contains("requires a second factor"),
        "{}",
        page.body
    );
    let secret = page
        .body
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(|s| s.replace(' ', ""))
        .unwrap_or_default();
    let mut app = App::new(&secret);
    let wrong = second_factor(&mut browser, &oauth, &page, &app.stale(), false).await?;
    assert!(browser.cookie("lumo_session").is_none(), "{wrong:?}");
    let done = second_factor(&mut browser, &oauth, &wrong, &app.code(), false).await?;
    assert!(is_client_redirect(&done, &client), "{done:?}");

    // The coverage report counts the enrolled user; the admin sees the authenticator.
    let report = api.get("/admin/reports/mfa-coverage").await?.expect(200);
    assert_eq!(report.body["data"]["total_users"], 1);
    assert_eq!(report.body["data"]["enrolled_users"], 1);
    assert_eq!(report.body["data"]["by_type"]["totp"], 1);
    let listed = api
        .get(&format!("/admin/users/{user}/authenticators"))
        .await?
        .expect(200);
    let factors = listed.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(factors.len(), 1);
    assert_eq!(listed.body["status"], "add_backup");

    // A lost phone: the admin issues a temporary access code; it lets the user in to enroll a
    // new app, once.
    api.post(
        &format!("/admin/users/{user}/temporary-access-code"),
        json!({}),
    )
    .await?
    .expect_error(422, "validation_error");
    let tap = api
        .post(
            &format!("/admin/users/{user}/temporary-access-code"),
            json!({"reason": "lost phone", "ttl_minutes": 30}),
        )
        .await?
        .expect(201);
    let code = tap.body["data"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert_eq!(tap.body["data"]["single_use"], true);
    let mut browser = Browser::new();
    let page = password(
        &mut browser,
        &oauth,
        &AuthRequest::new(&client, "openid"),
        "cy@example.com",
    )
    .await?;
    assert!(page.body.contains("Two-step verification"));
    let enroll = second_factor(&mut browser, &oauth, &page, &code, false).await?;
    assert!(
        enroll.body.contains("requires a second factor"),
        "{}",
        enroll.body
    );
    assert!(browser.cookie("lumo_session").is_none());
    let secret = enroll
        .body
        .split("id=\"totp-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .map(|s| s.replace(' ', ""))
        .unwrap_or_default();
    let mut second = App::new(&secret);
    let done = second_factor(&mut browser, &oauth, &enroll, &second.code(), false).await?;
    assert!(is_client_redirect(&done, &client), "{done:?}");
    // The code was single-use.
    let mut browser = Browser::new();
    let page = password(
        &mut browser,
        &oauth,
        &AuthRequest::new(&client, "openid"),
        "cy@example.com",
    )
    .await?;
    let refused = second_factor(&mut browser, &oauth, &page, &code, false).await?;
    assert_eq!(refused.status, 400, "{refused:?}");

    // The admin removes one authenticator: 200 with the removed factor.
    let first = factors[0]["id"].as_str().unwrap_or_default();
    let removed = api
        .delete(&format!("/admin/users/{user}/authenticators/{first}"))
        .await?
        .expect(200);
    assert_eq!(removed.data()["id"], first);
    api.delete(&format!("/admin/users/{user}/authenticators/{first}"))
        .await?
        .expect_error(404, "resource_not_found");
    let _ = app.code();
    Ok(())
}

#[tokio::test]
async fn ten_failures_lock_mfa_and_bad_input_is_refused() -> anyhow::Result<()> {
    let signed = signed_in("di@example.com", false).await?;
    let Signed {
        api,
        oauth,
        client,
        me,
        ..
    } = &signed;
    let other = create_user(api, "ed@example.com", PASSWORD).await?;
    let (_, mut app) = enroll_totp(me, None).await?;

    // API keys are not people.
    api.get("/me/authenticators")
        .await?
        .expect_error(403, "user_token_required");
    api.post("/mfa/challenges", json!({}))
        .await?
        .expect_error(403, "user_token_required");
    // Unknown types and bad fields (passkeys' refusals are in `mfa_passkey.rs`).
    me.post("/me/authenticators/yubikey/enroll", json!({}))
        .await?
        .expect_error(422, "validation_error");
    // Email codes need a mail sender; this node has none.
    me.post("/me/authenticators/email_otp/enroll", json!({}))
        .await?
        .expect_error(501, "not_implemented");
    me.post("/mfa/challenges", json!({"min_tier": 9}))
        .await?
        .expect_error(422, "validation_error");
    me.post("/mfa/challenges", json!({"purpose": "coffee"}))
        .await?
        .expect_error(422, "validation_error");
    me.post("/mfa/challenges", json!({"min_tier": 1}))
        .await?
        .expect_error(404, "no_factor_enrolled");
    me.get("/mfa/challenges/mfc_unknown")
        .await?
        .expect_error(404, "resource_not_found");
    me.patch(
        "/me/authenticators/mfa_unknown",
        json!({"display_name": "x"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    me.patch("/me/authenticators/mfa_unknown", json!({"display_name": 7}))
        .await?
        .expect_error(422, "validation_error");
    api.put("/admin/policies/mfa", json!({"requirement": "sometimes"}))
        .await?
        .expect_error(422, "validation_error");
    api.put("/admin/policies/mfa", json!({"grace_period_days": "soon"}))
        .await?
        .expect_error(422, "validation_error");
    api.post(
        &format!("/admin/users/{other}/temporary-access-code"),
        json!({"reason": "x", "ttl_minutes": 1}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.get("/admin/users/nobody@example.com/authenticators")
        .await?
        .expect_error(404, "resource_not_found");

    // Another user's challenge is not theirs to answer.
    let (other_access, _) = user_token(oauth, client, "ed@example.com").await?;
    let started = me.post("/mfa/challenges", json!({})).await?.expect(201);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let intruder = api.with_bearer(&other_access);
    answer(&intruder, &id, "123456")
        .await?
        .expect_error(403, "challenge_not_yours");
    intruder
        .get(&format!("/mfa/challenges/{id}"))
        .await?
        .expect_error(404, "resource_not_found");

    // Five wrong answers use a challenge up; ten failures lock MFA (the right code too).
    for left in (0..5).rev() {
        let wrong = answer(me, &id, &app.stale())
            .await?
            .expect_error(400, "invalid_code");
        assert_eq!(wrong.body["details"]["attempts_remaining"], left);
    }
    answer(me, &id, &app.code())
        .await?
        .expect_error(410, "challenge_expired");
    let second = me.post("/mfa/challenges", json!({})).await?.expect(201);
    let second_id = second.body["id"].as_str().unwrap_or_default().to_string();
    for _ in 0..4 {
        answer(me, &second_id, &app.stale())
            .await?
            .expect_error(400, "invalid_code");
    }
    let locked = answer(me, &second_id, &app.stale())
        .await?
        .expect_error(429, "mfa_locked");
    assert!(locked.headers.get("retry-after").is_some());
    me.post("/mfa/challenges", json!({}))
        .await?
        .expect_error(429, "mfa_locked");
    let audit = api.get("/admin/audit-logs?limit=100").await?.expect(200);
    assert!(audit.text.contains("mfa.locked"));
    Ok(())
}

/// The code in the newest mail to `to` in the mail directory.
fn mailed_code(dir: &std::path::Path, to: &str) -> anyhow::Result<String> {
    let mut mails: Vec<(String, Value)> = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "json") {
            let mail: Value = serde_json::from_slice(&std::fs::read(&path)?)?;
            if mail["to"] == to {
                mails.push((path.to_string_lossy().into_owned(), mail));
            }
        }
    }
    mails.sort_by(|a, b| a.0.cmp(&b.0));
    let (_, mail) = mails
        .last()
        .ok_or_else(|| anyhow::anyhow!("no mail to {to}"))?;
    assert_eq!(mail["kind"], "mfa.email_otp");
    let text = mail["text"].as_str().unwrap_or_default();
    let code = text
        .split("code is ")
        .nth(1)
        .map(|rest| rest.chars().take(6).collect::<String>())
        .unwrap_or_default();
    anyhow::ensure!(code.len() == 6, "no code in {text}");
    Ok(code)
}

#[tokio::test]
async fn email_codes_enroll_answer_challenges_and_sign_in() -> anyhow::Result<()> {
    let signed = signed_in("fay@example.com", true).await?;
    let dir = signed.mail_dir();
    let Signed {
        oauth, client, me, ..
    } = &signed;

    // Enrolling sends a code to the account's address; the wrong code is refused.
    let started = me
        .post("/me/authenticators/email_otp/enroll", json!({}))
        .await?
        .expect(201);
    assert_eq!(started.body["state"], "pending");
    assert_eq!(started.body["masked_email"], "f***@example.com");
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let code = mailed_code(&dir, "fay@example.com")?;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    verify_authenticator(me, &id, wrong)
        .await?
        .expect_error(400, "invalid_code");
    let verified = verify_authenticator(me, &id, &code).await?.expect(200);
    assert_eq!(verified.body["type"], "email_otp");
    assert_eq!(verified.body["tier"], 4);

    // A challenge emails a new code; the enrollment's code does not answer it.
    let challenge = me.post("/mfa/challenges", json!({})).await?.expect(201);
    assert_eq!(challenge.body["delivery"], "email_sent");
    let challenge_id = challenge.body["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let fresh = mailed_code(&dir, "fay@example.com")?;
    if fresh != code {
        answer(me, &challenge_id, &code)
            .await?
            .expect_error(400, "invalid_code");
    }
    let approved = answer(me, &challenge_id, &fresh).await?.expect(200);
    assert_eq!(approved.body["status"], "approved");

    // The hosted sign-in emails a code and takes it.
    let mut browser = Browser::new();
    let request = AuthRequest::new(client, "openid");
    let page = password(&mut browser, oauth, &request, "fay@example.com").await?;
    assert!(page.body.contains("Code from your email"), "{}", page.body);
    let login_code = mailed_code(&dir, "fay@example.com")?;
    let done = second_factor(&mut browser, oauth, &page, &login_code, false).await?;
    assert!(is_client_redirect(&done, client), "{done:?}");
    let tokens = exchange(
        oauth,
        client,
        &request,
        done.location.as_deref().unwrap_or_default(),
    )
    .await?
    .expect(200);
    let id_token = claims(tokens.body["id_token"].as_str().unwrap_or_default());
    assert_eq!(id_token["acr"], "urn:lumo:acr:mfa");
    Ok(())
}

/// The lockout is replicated state: wrong answers through three different nodes add up, and
/// once locked, every node refuses; a code used through one node is refused through another.
#[tokio::test]
async fn failures_through_any_node_count_toward_one_lockout() -> anyhow::Result<()> {
    let cluster = lumo_tests::cluster::TestCluster::start(3).await?;
    let api = cluster.api(0);
    let nodes: Vec<Oauth> = cluster
        .members
        .iter()
        .map(|m| Oauth::new(&m.http))
        .collect();
    create_user(&api, "gus@example.com", PASSWORD).await?;
    let client = create_client(&api, json!({"skipConsent": true})).await?;
    let (access, _) = user_token(&nodes[0], &client, "gus@example.com").await?;
    let me: Vec<Api> = (0..3)
        .map(|i| cluster.api(i).with_bearer(&access))
        .collect();
    let (_, mut app) = enroll_totp(&me[1], None).await?;

    // A code accepted through node 2 is refused through node 0 (the step is spent everywhere).
    let first = me[2].post("/mfa/challenges", json!({})).await?.expect(201);
    let first_id = first.body["id"].as_str().unwrap_or_default().to_string();
    let code = app.code();
    answer(&me[2], &first_id, &code).await?.expect(200);
    let second = me[0].post("/mfa/challenges", json!({})).await?.expect(201);
    let second_id = second.body["id"].as_str().unwrap_or_default().to_string();
    answer(&me[0], &second_id, &code)
        .await?
        .expect_error(400, "invalid_code");

    // Nine more wrong answers, spread over the three nodes and two challenges.
    let third = me[1].post("/mfa/challenges", json!({})).await?.expect(201);
    let third_id = third.body["id"].as_str().unwrap_or_default().to_string();
    for i in 0..9 {
        let challenge = if i < 4 { &second_id } else { &third_id };
        let reply = me[i % 3]
            .post(
                &format!("/mfa/challenges/{challenge}/verify"),
                json!({"code": app.stale()}),
            )
            .await?;
        let expected = if i == 8 { 429 } else { 400 };
        assert_eq!(
            reply.status,
            expected,
            "answer {i} through node {}: {}",
            i % 3,
            reply.text
        );
    }
    for node in &me {
        node.post("/mfa/challenges", json!({}))
            .await?
            .expect_error(429, "mfa_locked");
    }
    cluster.shutdown().await?;
    Ok(())
}

/// The policy's step-up tier: with `min_tier_step_up: 2`, an email code cannot answer a
/// step-up (tier 4) but an authenticator app can (tier 2).
#[tokio::test]
async fn step_up_asks_the_policys_tier() -> anyhow::Result<()> {
    let signed = signed_in("hal@example.com", true).await?;
    let Signed { api, me, .. } = &signed;
    enroll_email(me, &signed.mail_dir(), "hal@example.com").await?;
    api.put("/admin/policies/mfa", json!({"min_tier_step_up": 2}))
        .await?
        .expect(200);
    me.post("/mfa/challenges", json!({"purpose": "step_up"}))
        .await?
        .expect_error(404, "no_factor_enrolled");
    // Login challenges are not step-ups: the email code still answers them.
    me.post("/mfa/challenges", json!({"purpose": "login"}))
        .await?
        .expect(201);
    Ok(())
}

/// A signed-in administrator (a user token with `admin:users`) steps up before issuing a
/// temporary access code or linking and unlinking identities; API keys are not people and do
/// not.
#[tokio::test]
async fn signed_in_admins_step_up_for_sensitive_user_operations() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    let ian = create_user(&api, "ian@example.com", PASSWORD).await?;
    // The admin role lets a user's token carry admin scopes.
    api.post(
        &format!("/admin/users/{ian}/roles"),
        json!({"roleIds": ["admin"]}),
    )
    .await?
    .expect(200);
    let target = create_user(&api, "jo@example.com", PASSWORD).await?;
    let client = create_client(
        &api,
        json!({"skipConsent": true, "allowedScopes": ["openid", "admin:users"]}),
    )
    .await?;
    let mut browser = Browser::new();
    let request = AuthRequest::new(&client, "openid admin:users");
    let page = password(&mut browser, &oauth, &request, "ian@example.com").await?;
    let location = page.location.clone().unwrap_or_default();
    let tokens = exchange(&oauth, &client, &request, &location)
        .await?
        .expect(200);
    let admin_user = api.with_bearer(tokens.body["access_token"].as_str().unwrap_or_default());
    let (_, mut app) = enroll_totp(&admin_user, None).await?;

    let tap = format!("/admin/users/{target}/temporary-access-code");
    let link = format!("/admin/users/{target}/identities");
    let saml = json!({"type": "saml", "idp_id": 7, "name_id": "jo@idp.example"});
    admin_user
        .post(&tap, json!({"reason": "lost phone"}))
        .await?
        .expect_error(403, "step_up_required");
    admin_user
        .post(&link, saml.clone())
        .await?
        .expect_error(403, "step_up_required");
    let fresh = step_up(&admin_user, &app.code()).await?;
    with_step_up(
        &admin_user,
        Method::POST,
        &tap,
        Some(json!({"reason": "lost phone"})),
        &fresh,
    )
    .await?
    .expect(201);
    with_step_up(&admin_user, Method::POST, &link, Some(saml), &fresh)
        .await?
        .expect(201);
    admin_user
        .delete(&format!("{link}/saml"))
        .await?
        .expect_error(403, "step_up_required");
    with_step_up(
        &admin_user,
        Method::DELETE,
        &format!("{link}/saml"),
        None,
        &fresh,
    )
    .await?
    .expect(200);
    // An API key needs no step-up.
    api.post(&tap, json!({"reason": "lost phone"}))
        .await?
        .expect(201);
    Ok(())
}

#[tokio::test]
async fn a_policy_that_turns_required_signs_password_only_browsers_in_again() -> anyhow::Result<()>
{
    let email = "uma@example.com";
    let s = signed_in(email, false).await?;
    // A browser signed in with the password alone (no factor; MFA optional).
    let mut browser = Browser::new();
    let request = AuthRequest::new(&s.client, "openid email");
    let page = password(&mut browser, &s.oauth, &request, email).await?;
    assert!(is_client_redirect(&page, &s.client), "{page:?}");
    // Single sign-on reuses the session...
    let again = AuthRequest::new(&s.client, "openid email");
    let page = browser.get(&again.url(&s.oauth)).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    assert!(is_client_redirect(&page, &s.client), "{page:?}");
    // ... until the org requires MFA of everyone, at once.
    s.api
        .put(
            "/admin/policies/mfa",
            json!({"requirement": "required", "grace_period_days": 0}),
        )
        .await?
        .expect(200);
    let third = AuthRequest::new(&s.client, "openid email");
    let page = browser.get(&third.url(&s.oauth)).await?;
    let page = follow(&mut browser, &s.oauth, page).await?;
    assert!(!is_client_redirect(&page, &s.client), "{page:?}");
    let asks_password = form(&page.body)
        .is_some_and(|(_, fields)| fields.iter().any(|(name, _)| name == "password"));
    assert!(asks_password, "{}", page.body);
    // Signing in again asks for a second factor: the user enrolls an app on the page.
    let page = password(&mut browser, &s.oauth, &third, email).await?;
    assert!(page.body.contains("totp-secret"), "{}", page.body);
    Ok(())
}

/// With the org's email settings on, codes go out through its SMTP server (the `mfa_code`
/// template) on a node without a mail directory; a server that cannot be reached is a 503,
/// not a code the user never gets.
#[tokio::test]
async fn email_codes_go_through_the_orgs_smtp_server() -> anyhow::Result<()> {
    let sink = lumo_chaos::smtp_sink::SmtpSink::start().await?;
    let signed = signed_in("gil@example.com", false).await?;
    let Signed { api, me, .. } = &signed;
    lumo_tests::email::send_through_sink(api, sink.port, json!({})).await?;
    api.put(
        "/admin/email-templates/mfa_code",
        json!({"subject": "Code {{ code }} for {{ user_email }}",
               "body_html": "<p>Your code: <b>{{ code }}</b> ({{ expires_in }})</p>"}),
    )
    .await?
    .expect(200);
    let started = me
        .post("/me/authenticators/email_otp/enroll", json!({}))
        .await?
        .expect(201);
    let id = started.body["id"].as_str().unwrap_or_default().to_string();
    let mail = lumo_tests::wait::mail_to(&sink, "gil@example.com", 0).await?;
    let subject = mail.header("Subject").unwrap_or_default();
    let code = subject
        .strip_prefix("Code ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_default()
        .to_string();
    assert_eq!(code.len(), 6, "{subject}");
    assert!(mail.text().contains("5 minutes"), "{}", mail.text());
    verify_authenticator(me, &id, &code).await?.expect(200);

    // The server refuses the message: the challenge says so instead of pretending it sent.
    sink.fail_next(1);
    let refused = me.post("/mfa/challenges", json!({})).await?;
    assert_eq!(refused.status, 503, "{}", refused.text);
    assert!(
        refused.text.contains("could not be emailed"),
        "{}",
        refused.text
    );
    let challenge = me.post("/mfa/challenges", json!({})).await?.expect(201);
    assert_eq!(challenge.body["delivery"], "email_sent");
    lumo_tests::wait::mail_to(&sink, "gil@example.com", 1).await?;
    Ok(())
}
