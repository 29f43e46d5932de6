//! `POST ~/admin/clients/cimd/check` against documents served from a loopback HTTP server (the
//! node runs with `fault_injection`, the test-only mode that lets CIMD fetch loopback `http`):
//! valid documents, every refusal reason the fetch and the rules produce, and the SSRF guard of
//! a normal node.

use std::collections::HashMap;
use std::sync::Arc;

use lumo_tests::TestNode;
use lumo_tests::oauth::admin;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response: status, content type, body.
type Served = (u16, &'static str, String);

/// Serves the routes `routes(base URL)` builds (path -> response) on 127.0.0.1 until the test
/// ends; returns the base URL.
async fn serve(routes: impl FnOnce(&str) -> HashMap<String, Served>) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let routes = Arc::new(routes(&base));
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let routes = routes.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 4096];
                let n = socket.read(&mut buffer).await.unwrap_or(0);
                let request = String::from_utf8_lossy(&buffer[..n]);
                let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
                let (status, content_type, body) =
                    routes
                        .get(&path)
                        .cloned()
                        .unwrap_or((404, "text/plain", "not found".into()));
                let extra = if status == 302 {
                    "Location: https://elsewhere.example/c.json\r\n"
                } else {
                    ""
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: {content_type}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            });
        }
    });
    Ok(base)
}

fn document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Loopback app",
        "redirect_uris": ["https://app.example.com/cb", "http://127.0.0.1:7777/cb"],
        "grant_types": ["authorization_code", "refresh_token"],
        "scope": "openid profile admin:write",
        "token_endpoint_auth_method": "none",
    })
}

#[tokio::test]
async fn metadata_documents_are_fetched_checked_and_explained() -> anyhow::Result<()> {
    let base = serve(|base| {
        let url = |path: &str| format!("{base}{path}");
        let mut routes: HashMap<String, Served> = HashMap::new();
        routes.insert(
            "/good.json".into(),
            (
                200,
                "application/json",
                document(&url("/good.json")).to_string(),
            ),
        );
        routes.insert(
            "/mismatch.json".into(),
            (
                200,
                "application/json",
                document("https://x.example/c.json").to_string(),
            ),
        );
        let mut secret = document(&url("/secret.json"));
        secret["client_secret"] = json!("shh");
        routes.insert(
            "/secret.json".into(),
            (200, "application/json", secret.to_string()),
        );
        routes.insert(
            "/html.json".into(),
            (200, "text/html", "<html></html>".into()),
        );
        routes.insert(
            "/big.json".into(),
            (
                200,
                "application/json",
                format!("{{\"pad\":\"{}\"}}", "x".repeat(8000)),
            ),
        );
        routes.insert(
            "/broken.json".into(),
            (200, "application/json", "{not json".into()),
        );
        routes.insert("/moved.json".into(), (302, "text/plain", String::new()));
        routes
    })
    .await?;
    let url = |path: &str| format!("{base}{path}");

    let node = TestNode::start_with(|c| c.fault_injection = true).await?;
    let api = admin(&node.http);
    let check = |client_id: String| {
        let api = api.clone();
        async move {
            let reply = api
                .post("/admin/clients/cimd/check", json!({"client_id": client_id}))
                .await?
                .expect(200);
            anyhow::Ok(reply.body["data"].clone())
        }
    };

    let good = check(url("/good.json")).await?;
    assert_eq!(good["ok"], true, "{good}");
    assert_eq!(
        good["enabled"], false,
        "CIMD is off until an org switches it on"
    );
    assert_eq!(good["document"]["client_name"], "Loopback app");
    let effective = &good["effective"];
    assert_eq!(effective["public_client"], true);
    assert_eq!(effective["pkce_required"], true);
    assert_eq!(effective["scopes"], json!(["openid", "profile"]));
    assert_eq!(effective["dropped_scopes"], json!(["admin:write"]));
    assert_eq!(effective["has_loopback_redirect"], true);
    assert_eq!(good["shadow_client"], Value::Null);

    // The org blocks loopback redirects: they are dropped from the effective client.
    api.patch(
        "/admin/settings/authentication",
        json!({"cimd_localhost_redirect_policy": "block"}),
    )
    .await?
    .expect(200);
    let blocked = check(url("/good.json")).await?;
    assert_eq!(
        blocked["effective"]["dropped_redirect_uris"],
        json!(["http://127.0.0.1:7777/cb"])
    );

    for (path, reason) in [
        ("/mismatch.json", "client_id_mismatch"),
        ("/secret.json", "client_secret_not_allowed"),
        ("/html.json", "invalid_content_type"),
        ("/big.json", "document_too_large"),
        ("/broken.json", "invalid_json"),
        ("/moved.json", "redirect_not_allowed"),
        ("/missing.json", "http_status_404"),
    ] {
        let answer = check(url(path)).await?;
        assert_eq!(answer["ok"], false, "{path}: {answer}");
        assert_eq!(answer["reason"], reason, "{path}: {answer}");
        assert!(answer["message"].is_string(), "{path}");
    }

    // Only allow-listed domains, once the org has a list.
    api.patch(
        "/admin/settings/authentication",
        json!({"cimd_allowed_domains": ["example.com"]}),
    )
    .await?
    .expect(200);
    let outside = check(url("/good.json")).await?;
    assert_eq!(outside["reason"], "domain_not_allowed", "{outside}");

    // Bad requests are 422; the endpoint needs client-management rights.
    api.post("/admin/clients/cimd/check", json!({}))
        .await?
        .expect_error(422, "validation_error");
    api.post("/admin/clients/cimd/check", json!({"client_id": 5}))
        .await?
        .expect_error(422, "validation_error");
    Ok(())
}

#[tokio::test]
async fn a_normal_node_never_fetches_internal_addresses() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = admin(&node.http);
    for (client_id, reason) in [
        ("http://127.0.0.1:9/c.json", "invalid_client_id"),
        ("https://127.0.0.1:9/c.json", "ssrf_blocked"),
        ("https://10.0.0.1/c.json", "ssrf_blocked"),
        ("https://169.254.169.254/latest/meta-data", "ssrf_blocked"),
        ("https://[::1]/c.json", "ssrf_blocked"),
        ("https://localhost/c.json", "ssrf_blocked"),
        ("https://app.example.com/", "invalid_client_id"),
    ] {
        let reply = api
            .post("/admin/clients/cimd/check", json!({"client_id": client_id}))
            .await?
            .expect(200);
        assert_eq!(reply.body["data"]["ok"], false, "{client_id}");
        assert_eq!(
            reply.body["data"]["reason"], reason,
            "{client_id}: {}",
            reply.text
        );
    }
    Ok(())
}

#[tokio::test]
async fn a_url_client_id_signs_a_user_in_through_its_metadata_document() -> anyhow::Result<()> {
    use lumo_tests::oauth::{
        AuthRequest, Browser, Client, Oauth, REDIRECT_URI, create_user, exchange, query_param,
        sign_in,
    };
    let base = serve(|base| {
        let mut routes: HashMap<String, Served> = HashMap::new();
        let mut app = document(&format!("{base}/app.json"));
        app["redirect_uris"] = json!([REDIRECT_URI]);
        routes.insert(
            "/app.json".into(),
            (200, "application/json", app.to_string()),
        );
        routes.insert(
            "/bad.json".into(),
            (
                200,
                "application/json",
                document("https://elsewhere.example/c.json").to_string(),
            ),
        );
        routes
    })
    .await?;
    let node = TestNode::start_with(|c| c.fault_injection = true).await?;
    let api = admin(&node.http);
    let oauth = Oauth::new(&node.http);
    create_user(&api, "cimd@example.com", "Correct-horse-battery-9").await?;
    let before: Value = reqwest::get(oauth.url("/.well-known/openid-configuration"))
        .await?
        .json()
        .await?;
    assert_eq!(before["client_id_metadata_document_supported"], false);
    api.patch(
        "/admin/settings/authentication",
        json!({"cimd_enabled": true}),
    )
    .await?
    .expect(200);
    let discovery: Value = reqwest::get(oauth.url("/.well-known/openid-configuration"))
        .await?
        .json()
        .await?;
    assert_eq!(discovery["client_id_metadata_document_supported"], true);

    let client = Client {
        id: format!("{base}/app.json"),
        secret: None,
        redirect_uri: REDIRECT_URI.to_string(),
    };
    let request = AuthRequest::new(&client, "openid profile");
    let mut browser = Browser::new();
    let redirect = sign_in(
        &mut browser,
        &oauth,
        &request,
        "cimd@example.com",
        "Correct-horse-battery-9",
    )
    .await?;
    assert_eq!(
        query_param(&redirect, "state").as_deref(),
        Some(request.state.as_str())
    );
    let tokens = exchange(&oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let id_token = tokens.body["id_token"].as_str().unwrap_or_default();
    assert_eq!(
        lumo_tests::oauth::claims(id_token)["aud"],
        client.id.as_str()
    );

    // The shadow client is visible to admins and to the check.
    let check = api
        .post("/admin/clients/cimd/check", json!({"client_id": client.id}))
        .await?
        .expect(200);
    assert!(
        check.body["data"]["shadow_client"]["id"].is_number(),
        "{}",
        check.text
    );
    let shown = api
        .get(&format!(
            "/admin/clients/{}",
            check.body["data"]["shadow_client"]["id"]
        ))
        .await?
        .expect(200);
    assert_eq!(shown.data()["isPublic"], true);
    assert_eq!(shown.data()["requiresPkce"], true);

    // A document that breaks the rules never gets a redirect; neither does a switched-off org.
    let bad = Client {
        id: format!("{base}/bad.json"),
        ..client.clone()
    };
    let page = browser
        .get(&AuthRequest::new(&bad, "openid").url(&oauth))
        .await?;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none());
    assert!(page.body.contains("could not be used"), "{}", page.body);
    assert!(
        !page.body.contains("client_id_mismatch"),
        "no fetch details for browsers"
    );
    api.patch(
        "/admin/settings/authentication",
        json!({"cimd_enabled": false}),
    )
    .await?
    .expect(200);
    let fresh = Client {
        id: format!("{base}/app.json?v=2"),
        ..client.clone()
    };
    let page = browser
        .get(&AuthRequest::new(&fresh, "openid").url(&oauth))
        .await?;
    assert_eq!(page.status, 400, "{}", page.body);
    assert!(page.location.is_none());
    Ok(())
}
