//! Black-box tests of `~/admin/settings[/{section}]`, `~/admin/tenant` and
//! `~/admin/organization`: shapes, defaults, merge semantics, validation, write-only secrets,
//! and the audit trail of every change.

use lumo_tests::http::raw_request;
use lumo_tests::{ADMIN_KEY, Api, TestNode};
use reqwest::Method;
use serde_json::{Value, json};

const SECTIONS: &[&str] = &[
    "auth",
    "authentication",
    "branding",
    "email",
    "general",
    "scim",
    "security",
];

async fn section(api: &Api, name: &str) -> anyhow::Result<Value> {
    Ok(api
        .get(&format!("/admin/settings/{name}"))
        .await?
        .expect(200)
        .data()
        .clone())
}

/// Every audit record with `action`, newest first.
async fn audit(api: &Api, action: &str) -> anyhow::Result<Vec<Value>> {
    let reply = api
        .get(&format!("/admin/audit-logs?limit=100&action={action}"))
        .await?
        .expect(200);
    Ok(reply.data().as_array().cloned().unwrap_or_default())
}

async fn audit_total(api: &Api) -> anyhow::Result<u64> {
    let reply = api.get("/admin/audit-logs?limit=1").await?.expect(200);
    Ok(reply.body["meta"]["total"].as_u64().unwrap_or(0))
}

/// Every settings document and the tenant, to compare before/after a refused write.
async fn snapshot(api: &Api) -> anyhow::Result<Value> {
    let mut all = serde_json::Map::new();
    for name in SECTIONS {
        all.insert(name.to_string(), section(api, name).await?);
    }
    all.insert(
        "combined".into(),
        api.get("/admin/settings").await?.expect(200).data().clone(),
    );
    all.insert(
        "tenant".into(),
        api.get("/admin/tenant").await?.expect(200).data().clone(),
    );
    Ok(Value::Object(all))
}

#[tokio::test]
async fn combined_settings_have_every_section_with_defaults() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let all = api.get("/admin/settings").await?.expect(200);
    let data = all.data();
    let keys: Vec<&str> = data
        .as_object()
        .expect("object")
        .keys()
        .map(String::as_str)
        .collect();
    for key in ["general", "authentication", "branding", "security", "email"] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    assert_eq!(data["general"], json!({"name": "Acme Corp"}));
    assert_eq!(data["security"], section(&api, "security").await?);
    assert_eq!(data["security"]["dpop_require_nonce"], false);
    assert_eq!(
        data["security"]["rate_limits"]["admin_writes_per_minute"],
        100
    );
    assert_eq!(data["authentication"], section(&api, "auth").await?);
    assert_eq!(data["branding"], section(&api, "branding").await?);
    assert_eq!(data["email"], section(&api, "email").await?);

    let auth = section(&api, "auth").await?;
    assert_eq!(auth["session_timeout"], 86400);
    assert_eq!(auth["mfa_required"], false);
    assert_eq!(auth["password_policy"]["template"], "moderate");
    assert_eq!(auth["password_policy"]["min_length"], 8);
    assert_eq!(auth["mfa_policy"]["requirement"], "optional");
    assert_eq!(auth["mfa_policy"]["required_since"], Value::Null);
    assert_eq!(
        auth,
        section(&api, "authentication").await?,
        "authentication is an alias of auth"
    );
    let branding = section(&api, "branding").await?;
    assert_eq!(branding["primary_color"], "#4f46e5");
    assert_eq!(branding["theme"], "auto");
    assert_eq!(branding["logo_url"], Value::Null);
    let email = section(&api, "email").await?;
    assert_eq!(email["provider"], "none");
    assert_eq!(email["smtp_password"], Value::Null);
    assert_eq!(email["smtp_secure"], true);
    let general = section(&api, "general").await?;
    assert_eq!(
        general,
        json!({"name": "Acme Corp", "displayName": "Acme Corp", "timezone": "UTC", "locale": "en"})
    );
    let scim = section(&api, "scim").await?;
    assert_eq!(scim["inbound"]["enabled"], false);
    assert_eq!(scim["inbound"]["bearer_token"], Value::Null);
    assert_eq!(scim["inbound"]["bearer_token_hash"], Value::Null);
    assert_eq!(scim["inbound"]["deprovisioning_action"], "soft_delete");
    assert_eq!(scim["outbound"]["auth_type"], "bearer");
    assert_eq!(
        section(&api, "security").await?,
        json!({"dpop_require_nonce": false, "rate_limits": {
            "admin_reads_per_minute": 1000, "admin_writes_per_minute": 100,
            "token_requests_per_minute": 30, "checks_per_minute": 10000,
            "audit_exports_per_hour": 10}})
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_sections_are_404_for_every_method() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let total = audit_total(&api).await?;
    let reply = api
        .get("/admin/settings/colours")
        .await?
        .expect_error(404, "resource_not_found");
    assert!(reply.text.contains("colours"), "{}", reply.text);
    api.put("/admin/settings/colours", json!({"a": 1}))
        .await?
        .expect_error(404, "resource_not_found");
    api.patch("/admin/settings/colours", json!({"a": 1}))
        .await?
        .expect_error(404, "resource_not_found");
    api.get("/admin/settings/Auth")
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(audit_total(&api).await?, total);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn auth_and_authentication_are_one_section() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let via_alias = api
        .patch(
            "/admin/settings/authentication",
            json!({"session_timeout": 3600}),
        )
        .await?
        .expect(200);
    assert_eq!(via_alias.data()["session_timeout"], 3600);
    assert_eq!(via_alias.body["message"], "Settings updated");
    assert_eq!(section(&api, "auth").await?["session_timeout"], 3600);
    api.put("/admin/settings/auth", json!({"mfa_required": true}))
        .await?
        .expect(200);
    let alias = section(&api, "authentication").await?;
    assert_eq!(alias["mfa_required"], true);
    assert_eq!(
        alias["session_timeout"], 3600,
        "PUT of one key keeps the others"
    );
    assert_eq!(alias, section(&api, "auth").await?);
    let combined = api.get("/admin/settings").await?.expect(200);
    assert_eq!(combined.data()["authentication"], alias);

    // Both paths record the same section name.
    let records = audit(&api, "settings.auth.updated").await?;
    assert_eq!(records.len(), 2);
    assert!(
        records
            .iter()
            .all(|r| r["targetId"] == "auth" && r["targetType"] == "settings")
    );
    assert_eq!(records[0]["changes"], json!({"mfa_required": true}));
    assert_eq!(records[1]["changes"], json!({"session_timeout": 3600}));
    assert!(
        audit(&api, "settings.authentication.updated")
            .await?
            .is_empty()
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn put_and_patch_merge_nested_objects() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let before = section(&api, "auth").await?;
    let patched = api
        .patch(
            "/admin/settings/auth",
            json!({"password_policy": {"min_length": 12}}),
        )
        .await?
        .expect(200);
    let policy = &patched.data()["password_policy"];
    assert_eq!(policy["min_length"], 12);
    assert_eq!(
        policy["template"], "moderate",
        "sibling keys survive a nested patch"
    );
    assert_eq!(policy["require_special"], false);
    let put = api
        .put(
            "/admin/settings/auth",
            json!({"password_policy": {"require_numbers": true}, "mfa_policy": {"grace_period_days": 14}}),
        )
        .await?
        .expect(200);
    let data = put.data().clone();
    assert_eq!(data["password_policy"]["min_length"], 12, "PUT merges too");
    assert_eq!(data["password_policy"]["require_numbers"], true);
    assert_eq!(data["mfa_policy"]["grace_period_days"], 14);
    assert_eq!(data["mfa_policy"]["requirement"], "optional");
    assert_eq!(
        data["mfa_policy"]["allowed_factors"],
        before["mfa_policy"]["allowed_factors"]
    );
    assert_eq!(data["session_timeout"], before["session_timeout"]);
    assert_eq!(
        section(&api, "auth").await?,
        data,
        "GET shows what the write returned"
    );

    // Lists and free-form objects replace rather than merge.
    api.patch(
        "/admin/settings/auth",
        json!({"mfa_methods": ["totp", "email_otp"]}),
    )
    .await?
    .expect(200);
    let replaced = api
        .patch(
            "/admin/settings/auth",
            json!({"mfa_methods": ["email_otp"]}),
        )
        .await?
        .expect(200);
    assert_eq!(replaced.data()["mfa_methods"], json!(["email_otp"]));

    // Branding, email, general, security, scim.
    let branding = api
        .put("/admin/settings/branding", json!({"primary_color": "#112233", "theme": "dark", "logo_url": "https://cdn.example.com/logo.png"}))
        .await?
        .expect(200);
    assert_eq!(branding.data()["primary_color"], "#112233");
    assert_eq!(branding.data()["theme"], "dark");
    assert_eq!(
        branding.data()["logo_url"],
        "https://cdn.example.com/logo.png"
    );
    let cleared = api
        .patch("/admin/settings/branding", json!({"logo_url": null}))
        .await?
        .expect(200);
    assert_eq!(cleared.data()["logo_url"], Value::Null);
    assert_eq!(cleared.data()["primary_color"], "#112233");
    assert_eq!(cleared.data()["button_text"], "Sign in");

    let email = api
        .patch(
            "/admin/settings/email",
            json!({"from_name": "Acme", "from_email": "no-reply@acme.test", "smtp_port": 587}),
        )
        .await?
        .expect(200);
    assert_eq!(email.data()["from_name"], "Acme");
    assert_eq!(email.data()["from_email"], "no-reply@acme.test");
    assert_eq!(email.data()["smtp_port"], 587);
    assert_eq!(email.data()["provider"], "none");
    assert_eq!(
        api.get("/admin/settings").await?.expect(200).data()["email"],
        email.data().clone()
    );

    let general = api
        .put(
            "/admin/settings/general",
            json!({"timezone": "Europe/Berlin"}),
        )
        .await?
        .expect(200);
    assert_eq!(general.data()["timezone"], "Europe/Berlin");
    assert_eq!(general.data()["locale"], "en");
    assert_eq!(general.data()["name"], "Acme Corp");

    let security = api
        .put(
            "/admin/settings/security",
            json!({"dpop_require_nonce": true}),
        )
        .await?
        .expect(200);
    assert_eq!(
        security.data()["dpop_require_nonce"],
        true,
        "{}",
        security.text
    );
    assert_eq!(
        security.data()["rate_limits"]["admin_reads_per_minute"],
        1000,
        "the nested defaults stay"
    );
    let combined = api.get("/admin/settings").await?.expect(200);
    assert_eq!(&combined.data()["security"], security.data());
    assert_eq!(combined.data()["branding"]["primary_color"], "#112233");

    let scim = api
        .patch("/admin/settings/scim", json!({"inbound": {"allow_user_deletion": true, "protected_attributes": {"email": true}}}))
        .await?
        .expect(200);
    let inbound = &scim.data()["inbound"];
    assert_eq!(inbound["allow_user_deletion"], true);
    assert_eq!(inbound["allow_user_creation"], true);
    assert_eq!(
        inbound["protected_attributes"],
        json!({"email": true, "name": false, "active": false, "roles": true, "permissions": true})
    );
    assert_eq!(scim.data()["outbound"]["verify_tls"], true);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn refused_writes_report_each_bad_field_and_change_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.patch(
        "/admin/settings/branding",
        json!({"primary_color": "#abcdef"}),
    )
    .await?
    .expect(200);
    let before = snapshot(&api).await?;
    let audited = audit_total(&api).await?;
    let cases: &[(&str, Value, &str)] = &[
        ("auth", json!({"colour": "red"}), "colour"),
        (
            "authentication",
            json!({"session_timeout": "long"}),
            "session_timeout",
        ),
        ("auth", json!({"session_timeout": 10}), "session_timeout"),
        (
            "auth",
            json!({"password_policy": {"min_length": 12, "shape": "round"}}),
            "password_policy.shape",
        ),
        (
            "auth",
            json!({"password_policy": {"template": "lenient"}}),
            "password_policy.template",
        ),
        (
            "auth",
            json!({"password_policy": "strict"}),
            "password_policy",
        ),
        (
            "auth",
            json!({"mfa_policy": {"allowed_factors": ["totp", "carrier_pigeon"]}}),
            "mfa_policy.allowed_factors",
        ),
        ("auth", json!({"mfa_required": "yes"}), "mfa_required"),
        ("auth", json!({"session_timeout": null}), "session_timeout"),
        ("branding", json!({"theme": "purple"}), "theme"),
        (
            "branding",
            json!({"primary_color": "blue"}),
            "primary_color",
        ),
        (
            "branding",
            json!({"background_color": "#12345"}),
            "background_color",
        ),
        (
            "branding",
            json!({"logo_url": "ftp://example.com/logo.png"}),
            "logo_url",
        ),
        (
            "branding",
            json!({"terms_url": "javascript:alert(1)"}),
            "terms_url",
        ),
        (
            "branding",
            json!({"primary_color": "#000000", "layout": "sideways"}),
            "layout",
        ),
        ("email", json!({"provider": "pigeon"}), "provider"),
        (
            "email",
            json!({"from_email": "not-an-address"}),
            "from_email",
        ),
        ("email", json!({"smtp_port": 70000}), "smtp_port"),
        ("general", json!({"timezone": ""}), "timezone"),
        ("general", json!({"name": 42}), "name"),
        ("general", json!({"region": "eu"}), "region"),
        (
            "security",
            json!({"dpop_require_nonce": "yes"}),
            "dpop_require_nonce",
        ),
        ("security", json!({"require_mtls": true}), "require_mtls"),
        (
            "scim",
            json!({"inbound": {"deprovisioning_action": "nuke"}}),
            "inbound.deprovisioning_action",
        ),
        (
            "scim",
            json!({"inbound": {"enabled": true, "bogus": 1}}),
            "inbound.bogus",
        ),
        (
            "scim",
            json!({"outbound": {"endpoint_url": "not a url"}}),
            "outbound.endpoint_url",
        ),
        (
            "scim",
            json!({"inbound": {"bearer_token": 12345}}),
            "inbound.bearer_token",
        ),
    ];
    for (name, body, field) in cases {
        for method in [Method::PUT, Method::PATCH] {
            let reply = api
                .send(
                    method.clone(),
                    &format!("/admin/settings/{name}"),
                    Some(body.clone()),
                )
                .await?;
            let reply = reply.expect_error(422, "validation_error");
            let details = reply.body["details"]
                .as_object()
                .cloned()
                .unwrap_or_default();
            assert!(
                details.contains_key(*field),
                "{method} {name} {body}: details should name {field}: {}",
                reply.text
            );
            assert!(
                details[*field].as_str().is_some_and(|m| !m.is_empty()),
                "{}",
                reply.text
            );
        }
    }
    let both = api
        .patch("/admin/settings/auth", json!({"colour": "red", "session_timeout": "x", "mfa_policy": {"requirement": "sometimes"}}))
        .await?
        .expect_error(422, "validation_error");
    let details = both.body["details"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    for field in ["colour", "session_timeout", "mfa_policy.requirement"] {
        assert!(
            details.contains_key(field),
            "every problem is reported: {}",
            both.text
        );
    }

    // Malformed bodies.
    let raw = |body: &'static str, ct: Option<&'static str>| {
        let api = api.clone();
        async move {
            api.send_raw(
                Method::PATCH,
                "/admin/settings/branding",
                ct,
                body.as_bytes().to_vec(),
            )
            .await
        }
    };
    raw("[1, 2]", Some("application/json"))
        .await?
        .expect_error(400, "invalid_request");
    raw("{\"theme\": ", Some("application/json"))
        .await?
        .expect_error(400, "invalid_request");
    raw("theme=dark", Some("application/x-www-form-urlencoded"))
        .await?
        .expect_error(415, "unsupported_media_type");

    assert_eq!(
        snapshot(&api).await?,
        before,
        "refused writes changed something"
    );
    assert_eq!(
        audit_total(&api).await?,
        audited,
        "refused writes were audited"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn scim_bearer_token_is_write_only() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let secret = "scim-super-secret-token-0123456789";
    let secret_hash = lumo_cluster::api_key::hash_key(secret);
    let put = api
        .put(
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": secret}}),
        )
        .await?
        .expect(200);
    let check = |doc: &Value| {
        let inbound = &doc["inbound"];
        assert_eq!(inbound["enabled"], true);
        assert_eq!(inbound["bearer_token"], Value::Null);
        assert_eq!(
            inbound["bearer_token_hash"],
            json!({"configured": true, "redacted": true})
        );
        assert_eq!(inbound["bearer_token_preview"], "scim…");
        assert!(
            inbound["token_created_at"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{doc}"
        );
        let text = doc.to_string();
        assert!(!text.contains(secret), "secret shown: {text}");
        assert!(!text.contains(&secret_hash), "secret hash shown: {text}");
    };
    check(put.data());
    assert!(!put.text.contains(secret));
    let got = api.get("/admin/settings/scim").await?.expect(200);
    check(got.data());
    assert!(!got.text.contains(secret));
    let combined = api.get("/admin/settings").await?.expect(200);
    assert!(!combined.text.contains(secret));

    // Other changes keep the token; echoing the redacted marker back keeps it too.
    let echoed = api
        .patch(
            "/admin/settings/scim",
            json!({"inbound": {"allow_user_deletion": true, "bearer_token_hash": {"configured": true, "redacted": true}, "bearer_token": {"configured": true, "redacted": true}}}),
        )
        .await?
        .expect(200);
    check(echoed.data());
    assert_eq!(echoed.data()["inbound"]["allow_user_deletion"], true);

    // The audit trail says a token was set, never what it is.
    let records = audit(&api, "settings.scim.updated").await?;
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["changes"]["inbound.bearer_token"], "set");
    for path in [
        "/admin/audit-logs?limit=100",
        "/admin/audit-logs/export",
        "/admin/audit-logs/export?format=json",
    ] {
        let reply = api.get(path).await?.expect(200);
        assert!(!reply.text.contains(secret), "{path} leaks the SCIM token");
        assert!(
            !reply.text.contains(&secret_hash),
            "{path} leaks the SCIM token hash"
        );
        assert!(reply.text.contains("settings.scim.updated"), "{path}");
    }
    let accept_json = raw_request(
        Method::GET,
        &api.url("/admin/audit-logs/export"),
        &[("X-API-Key", ADMIN_KEY), ("Accept", "application/json")],
        None,
    )
    .await?
    .expect(200);
    assert!(!accept_json.text.contains(secret));

    // A new token replaces the old one; null clears it.
    let rotated = api
        .patch(
            "/admin/settings/scim",
            json!({"inbound": {"bearer_token": "another-token-value-0123456789"}}),
        )
        .await?
        .expect(200);
    assert_eq!(rotated.data()["inbound"]["bearer_token_preview"], "anot…");
    assert_eq!(rotated.data()["inbound"]["bearer_token"], Value::Null);
    let cleared = api
        .patch(
            "/admin/settings/scim",
            json!({"inbound": {"bearer_token": null}}),
        )
        .await?
        .expect(200);
    assert_eq!(cleared.data()["inbound"]["bearer_token_hash"], Value::Null);
    assert_eq!(
        cleared.data()["inbound"]["bearer_token_preview"],
        Value::Null
    );
    assert_eq!(cleared.data()["inbound"]["token_created_at"], Value::Null);
    assert_eq!(cleared.data()["inbound"]["enabled"], true);
    let records = audit(&api, "settings.scim.updated").await?;
    assert_eq!(records[0]["changes"]["inbound.bearer_token"], "cleared");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn other_secrets_are_shown_only_as_redacted_markers() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let smtp = "smtp-password-do-not-show";
    let basic = "basic-password-do-not-show";
    let email = api
        .patch(
            "/admin/settings/email",
            json!({"provider": "smtp", "smtp_host": "smtp.example.com", "smtp_password": smtp}),
        )
        .await?
        .expect(200);
    assert_eq!(
        email.data()["smtp_password"],
        json!({"configured": true, "redacted": true})
    );
    assert_eq!(email.data()["smtp_host"], "smtp.example.com");
    let scim = api
        .patch("/admin/settings/scim", json!({"outbound": {"auth_type": "basic", "basic_username": "sync", "basic_password": basic}}))
        .await?
        .expect(200);
    assert_eq!(
        scim.data()["outbound"]["basic_password"],
        json!({"configured": true, "redacted": true})
    );
    assert_eq!(scim.data()["outbound"]["basic_username"], "sync");
    for path in [
        "/admin/settings",
        "/admin/settings/email",
        "/admin/settings/scim",
        "/admin/audit-logs/export",
    ] {
        let reply = api.get(path).await?.expect(200);
        for secret in [smtp, basic] {
            assert!(!reply.text.contains(secret), "{path} shows a secret");
            assert!(
                !reply
                    .text
                    .contains(&lumo_cluster::api_key::hash_key(secret)),
                "{path} shows a secret hash"
            );
        }
    }
    let combined = api.get("/admin/settings").await?.expect(200);
    assert_eq!(
        combined.data()["email"]["smtp_password"],
        json!({"configured": true, "redacted": true})
    );
    // Sending the marker back keeps the secret configured.
    let echoed = api
        .put(
            "/admin/settings/email",
            json!({"smtp_password": {"configured": true, "redacted": true}, "from_name": "Ops"}),
        )
        .await?
        .expect(200);
    assert_eq!(
        echoed.data()["smtp_password"],
        json!({"configured": true, "redacted": true})
    );
    assert_eq!(echoed.data()["from_name"], "Ops");
    let cleared = api
        .patch("/admin/settings/email", json!({"smtp_password": null}))
        .await?
        .expect(200);
    assert_eq!(cleared.data()["smtp_password"], Value::Null);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn general_name_is_the_tenant_name() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let renamed = api
        .patch("/admin/settings/general", json!({"name": "Acme Renamed"}))
        .await?
        .expect(200);
    assert_eq!(renamed.data()["name"], "Acme Renamed");
    assert_eq!(renamed.data()["displayName"], "Acme Renamed");
    let tenant = api.get("/admin/tenant").await?.expect(200);
    assert_eq!(tenant.data()["name"], "Acme Renamed");
    let combined = api.get("/admin/settings").await?.expect(200);
    assert_eq!(combined.data()["general"], json!({"name": "Acme Renamed"}));

    let via_tenant = api
        .put("/admin/tenant", json!({"name": "Acme Again"}))
        .await?
        .expect(200);
    assert_eq!(via_tenant.data()["name"], "Acme Again");
    assert_eq!(section(&api, "general").await?["name"], "Acme Again");
    assert_eq!(
        api.get("/admin/settings").await?.expect(200).data()["general"]["name"],
        "Acme Again"
    );

    // An explicit display name is kept apart from the name.
    api.patch("/admin/settings/general", json!({"displayName": "ACME™"}))
        .await?
        .expect(200);
    api.patch("/admin/organization", json!({"name": "Acme Third"}))
        .await?
        .expect(200);
    let general = section(&api, "general").await?;
    assert_eq!(general["name"], "Acme Third");
    assert_eq!(general["displayName"], "ACME™");
    let records = audit(&api, "settings.general.updated").await?;
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["changes"], json!({"displayName": "ACME™"}));
    let org_records = audit(&api, "organization.updated").await?;
    assert_eq!(org_records.len(), 2);
    assert_eq!(
        org_records[0]["changes"]["name"],
        json!({"from": "Acme Again", "to": "Acme Third"})
    );
    // The rename through general settings must say what changed (as /admin/tenant does).
    assert!(
        records[1]["changes"].to_string().contains("Acme Renamed"),
        "settings.general.updated for a rename does not record the new name: {}",
        records[1]
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn tenant_and_organization_profiles_read_and_update() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let tenant = api.get("/admin/tenant").await?.expect(200);
    let t = tenant.data().clone();
    assert!(t["id"].is_u64(), "id is an integer: {t}");
    assert_eq!(t["slug"], "acme-corp");
    assert_eq!(t["name"], "Acme Corp");
    assert_eq!(t["status"], "active");
    assert_eq!(t["settings"], json!({}));
    let created = lumo_cluster::clock::Timestamp::parse(t["createdAt"].as_str().unwrap_or(""))
        .expect("createdAt");
    let updated = lumo_cluster::clock::Timestamp::parse(t["updatedAt"].as_str().unwrap_or(""))
        .expect("updatedAt");
    assert!(updated >= created);
    let org = api.get("/admin/organization").await?.expect(200);
    assert_eq!(org.data(), &t, "organization is an alias of tenant");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let patched = api
        .patch(
            "/admin/tenant",
            json!({"settings": {"region": "eu", "tier": "gold"}}),
        )
        .await?
        .expect(200);
    assert_eq!(
        patched.data()["settings"],
        json!({"region": "eu", "tier": "gold"})
    );
    assert_eq!(
        patched.data()["name"],
        "Acme Corp",
        "PATCH of settings keeps the name"
    );
    assert_eq!(patched.data()["id"], t["id"]);
    assert_eq!(patched.data()["createdAt"], t["createdAt"]);
    let later =
        lumo_cluster::clock::Timestamp::parse(patched.data()["updatedAt"].as_str().unwrap_or(""))
            .expect("updatedAt");
    assert!(later > updated, "updatedAt moves forward");
    assert!(patched.body["message"].is_string());

    let put = api
        .put(
            "/admin/organization",
            json!({"name": "Acme Holdings", "settings": {"tier": null, "support": "24/7"}}),
        )
        .await?
        .expect(200);
    assert_eq!(put.data()["name"], "Acme Holdings");
    assert_eq!(
        put.data()["settings"],
        json!({"region": "eu", "support": "24/7"}),
        "settings keys merge; null removes"
    );
    assert_eq!(put.data()["slug"], "acme-corp");
    assert_eq!(
        api.get("/admin/tenant").await?.expect(200).data(),
        put.data()
    );

    let before = api.get("/admin/tenant").await?.expect(200).data().clone();
    let audited = audit_total(&api).await?;
    for bad in [
        json!({"name": ""}),
        json!({"name": "   "}),
        json!({"name": null}),
        json!({"name": 5}),
        json!({"settings": "flat"}),
        json!({"settings": [1, 2]}),
        json!({}),
        json!({"slug": "renamed"}),
        json!({"name": "x".repeat(201)}),
    ] {
        for path in ["/admin/tenant", "/admin/organization"] {
            api.put(path, bad.clone())
                .await?
                .expect_error(422, "validation_error");
            api.patch(path, bad.clone())
                .await?
                .expect_error(422, "validation_error");
        }
    }
    assert_eq!(api.get("/admin/tenant").await?.expect(200).data(), &before);
    assert_eq!(audit_total(&api).await?, audited);

    let records = audit(&api, "organization.updated").await?;
    assert_eq!(records.len(), 2);
    assert_eq!(
        records[0]["changes"]["name"],
        json!({"from": "Acme Corp", "to": "Acme Holdings"})
    );
    assert_eq!(records[0]["targetType"], "organization");
    assert_eq!(records[0]["targetId"], t["id"].to_string().as_str());
    assert_eq!(records[0]["targetName"], "Acme Holdings");
    assert_eq!(records[1]["changes"]["settings.region"], "eu");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn every_settings_change_is_audited_with_its_changes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let writes: &[(&str, &str, Value)] = &[
        ("auth", "auth", json!({"session_timeout": 1800})),
        (
            "authentication",
            "auth",
            json!({"password_policy": {"min_length": 10}}),
        ),
        ("branding", "branding", json!({"button_text": "Log in"})),
        ("email", "email", json!({"from_name": "Acme Mail"})),
        ("general", "general", json!({"locale": "fr"})),
        ("scim", "scim", json!({"inbound": {"enabled": true}})),
        ("security", "security", json!({"dpop_require_nonce": true})),
    ];
    for (i, (path, stored, body)) in writes.iter().enumerate() {
        let method = if i % 2 == 0 {
            Method::PUT
        } else {
            Method::PATCH
        };
        let reply = api
            .send(
                method,
                &format!("/admin/settings/{path}"),
                Some(body.clone()),
            )
            .await?
            .expect(200);
        let request_id = reply
            .headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let records = audit(&api, &format!("settings.{stored}.updated")).await?;
        let newest = records.first().cloned().unwrap_or(Value::Null);
        assert_eq!(newest["changes"], *body, "{path}: {newest}");
        assert_eq!(newest["eventType"], "settings");
        assert_eq!(newest["targetType"], "settings");
        assert_eq!(newest["targetId"], *stored);
        assert_eq!(newest["actorType"], "api_key");
        assert_eq!(newest["requestId"], request_id.as_str());
    }
    assert_eq!(audit(&api, "settings.auth.updated").await?.len(), 2);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn renaming_through_general_settings_moves_the_tenant_updated_at() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let before = api.get("/admin/tenant").await?.expect(200).data().clone();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    api.patch(
        "/admin/settings/general",
        json!({"name": "Acme Via General"}),
    )
    .await?
    .expect(200);
    let after = api.get("/admin/tenant").await?.expect(200).data().clone();
    assert_eq!(after["name"], "Acme Via General");
    let parse = |v: &Value| {
        lumo_cluster::clock::Timestamp::parse(v.as_str().unwrap_or("")).expect("timestamp")
    };
    assert!(
        parse(&after["updatedAt"]) > parse(&before["updatedAt"]),
        "the tenant name changed but updatedAt stayed {} (before {})",
        after["updatedAt"],
        before["updatedAt"]
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn general_name_follows_the_tenant_name_rules() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let long = "n".repeat(201);
    // The tenant endpoint refuses a 201-character name...
    api.patch("/admin/tenant", json!({"name": long.clone()}))
        .await?
        .expect_error(422, "validation_error");
    // ...so the same name must not get in through general settings either.
    let reply = api
        .patch("/admin/settings/general", json!({"name": long.clone()}))
        .await?;
    let tenant = api.get("/admin/tenant").await?.expect(200);
    assert_eq!(
        (reply.status, tenant.data()["name"].as_str().map(str::len)),
        (422, Some("Acme Corp".len())),
        "general settings accepted a tenant name the tenant endpoint refuses: {}",
        reply.text
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_short_scim_token_is_not_revealed_by_its_preview() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let token = "s3cr3t!!";
    let reply = api
        .put(
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": token}}),
        )
        .await?;
    // A token this short is refused before it is proposed, so it is never stored or shown.
    let reply = reply.expect_error(422, "validation_error");
    assert!(
        reply.body["details"]["inbound.bearer_token"]
            .as_str()
            .is_some_and(|m| m.contains("at least")),
        "{}",
        reply.text
    );
    let got = api.get("/admin/settings/scim").await?.expect(200);
    assert!(!got.text.contains(token), "{}", got.text);
    assert_eq!(got.data()["inbound"]["bearer_token_hash"], Value::Null);
    node.stop().await?;
    Ok(())
}
