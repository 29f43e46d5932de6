//! Shared Signals against a real node: the transmitter metadata, streams (create, read,
//! delete), verification, and CAEP/RISC events pushed as Security Event Tokens that verify
//! against the org's JWKS.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use jsonwebtoken::{DecodingKey, Validation, decode, decode_header, jwk::JwkSet};
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

const PUSH: &str = "urn:ietf:rfc:8935";
const DISABLED: &str = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const CREDENTIAL: &str = "https://schemas.openid.net/secevent/caep/event-type/credential-change";
const VERIFICATION: &str = "https://schemas.openid.net/secevent/ssf/event-type/verification";
const AUD: &str = "https://receiver.example.com";

type Pushed = Arc<Mutex<Vec<(HeaderMap, String)>>>;

async fn push(State(got): State<Pushed>, headers: HeaderMap, body: Bytes) -> StatusCode {
    if let Ok(mut got) = got.lock() {
        got.push((headers, String::from_utf8_lossy(&body).into_owned()));
    }
    StatusCode::ACCEPTED
}

async fn receiver() -> anyhow::Result<(Pushed, String)> {
    let got = Pushed::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/ssf", listener.local_addr()?);
    let app = axum::Router::new()
        .route("/ssf", axum::routing::post(push))
        .with_state(got.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((got, url))
}

async fn wait_for(got: &Pushed, count: usize) -> Vec<(HeaderMap, String)> {
    for _ in 0..200 {
        let now = got.lock().map(|g| g.clone()).unwrap_or_default();
        if now.len() >= count {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("expected {count} SETs");
}

/// Verifies `token` against the org's published keys; returns its claims.
async fn verified(api: &Api, issuer: &str, token: &str) -> anyhow::Result<Value> {
    let jwks: JwkSet =
        serde_json::from_value(api.get("/.well-known/jwks.json").await?.expect(200).body)?;
    let header = decode_header(token)?;
    assert_eq!(header.typ.as_deref(), Some("secevent+jwt"));
    let kid = header.kid.clone().unwrap_or_default();
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| anyhow::anyhow!("kid {kid} not in the JWKS"))?;
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[AUD]);
    validation.set_issuer(&[issuer]);
    validation.required_spec_claims.clear();
    let data = decode::<Value>(token, &DecodingKey::from_jwk(jwk)?, &validation)?;
    Ok(data.claims)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_push_verifiable_security_events() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let issuer = api.url("");
    // Public metadata.
    let metadata = reqwest::get(api.url("/.well-known/ssf-configuration")).await?;
    assert_eq!(metadata.status(), 200);
    let metadata: Value = metadata.json().await?;
    assert_eq!(metadata["issuer"], issuer.as_str());
    assert_eq!(metadata["delivery_methods_supported"], json!([PUSH]));
    assert!(
        metadata["events_supported"]
            .as_array()
            .is_some_and(|e| e.contains(&json!(DISABLED)))
    );
    assert!(
        metadata["jwks_uri"]
            .as_str()
            .unwrap_or_default()
            .ends_with("/.well-known/jwks.json")
    );

    let (got, url) = receiver().await?;
    let created = api
        .post(
            "/ssf/stream",
            json!({"delivery": {"method": PUSH, "endpoint_url": url, "authorization_header": "Bearer rx-token"},
                   "events_requested": [DISABLED, CREDENTIAL], "aud": AUD}),
        )
        .await?
        .expect(201);
    let stream = created.body.clone();
    let id = stream["stream_id"].as_str().unwrap_or_default().to_string();
    assert_eq!(stream["iss"], issuer.as_str());
    assert_eq!(stream["aud"], AUD);
    assert_eq!(stream["status"], "enabled");
    assert_eq!(stream["events_delivered"], json!([DISABLED, CREDENTIAL]));
    assert_eq!(stream["delivery"]["authorization_configured"], true);
    assert!(stream.get("authorization_header").is_none());

    // Verification: a SET with the state, pushed with the receiver's authorization.
    api.post(
        "/ssf/verify",
        json!({"stream_id": id, "state": "state-123"}),
    )
    .await?
    .expect(204);
    let pushed = wait_for(&got, 1).await;
    let (headers, token) = &pushed[0];
    assert_eq!(headers["content-type"], "application/secevent+jwt");
    assert_eq!(headers["authorization"], "Bearer rx-token");
    let claims = verified(&api, &issuer, token).await?;
    assert_eq!(claims["events"][VERIFICATION]["state"], "state-123");

    // A group is no security event; blocking a user is.
    api.post("/admin/groups", json!({"name": "Not an event"}))
        .await?
        .expect(201);
    let user = api
        .post("/admin/users", json!({"email": "risky@example.com"}))
        .await?
        .expect(201);
    let user_id = user.data()["id"].as_str().unwrap_or_default().to_string();
    api.post_empty(&format!("/admin/users/{user_id}/block"))
        .await?
        .expect(200);
    let pushed = wait_for(&got, 2).await;
    let claims = verified(&api, &issuer, &pushed[1].1).await?;
    let event = &claims["events"][DISABLED];
    assert_eq!(event["subject"]["format"], "iss_sub", "{claims}");
    assert_eq!(event["subject"]["iss"], issuer.as_str());
    assert_eq!(event["subject"]["sub"], user_id.as_str());
    assert_eq!(claims["sub_id"], event["subject"]);
    assert!(
        claims["jti"]
            .as_str()
            .is_some_and(|j| j.starts_with("evt_"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        got.lock().map(|g| g.len()).unwrap_or_default(),
        2,
        "only security events"
    );

    // Reading, listing, deleting; streams are not webhooks.
    let one = api
        .get(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect(200);
    assert_eq!(one.body["stream_id"], id.as_str());
    let all = api.get("/ssf/stream").await?.expect(200);
    assert_eq!(all.body["streams"].as_array().map(Vec::len), Some(1));
    let hooks = api.get("/admin/webhooks").await?.expect(200);
    assert_eq!(hooks.data().as_array().map(Vec::len), Some(0));
    api.delete(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect(204);
    api.get(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn bad_stream_requests_are_refused_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let hook = api
        .post(
            "/admin/webhooks",
            json!({"url": "https://hooks.example.com/x", "events": ["*"]}),
        )
        .await?
        .expect(201);
    let webhook_id = hook.data()["id"].as_u64().unwrap_or_default();
    for body in [
        json!({}),
        json!({"delivery": "push"}),
        json!({"delivery": {"method": "urn:ietf:rfc:8936", "endpoint_url": "https://r.example.com"}}),
        json!({"delivery": {"method": PUSH}}),
        json!({"delivery": {"method": PUSH, "endpoint_url": "ftp://r.example.com"}}),
        json!({"delivery": {"method": PUSH, "endpoint_url": "https://r.example.com"},
               "events_requested": ["https://example.com/not-an-event"]}),
        json!({"delivery": {"method": PUSH, "endpoint_url": "https://r.example.com"},
               "events_requested": "all"}),
    ] {
        api.post("/ssf/stream", body.clone())
            .await?
            .expect_error(400, "invalid_request");
    }
    assert_eq!(
        api.get("/ssf/stream").await?.expect(200).body["streams"],
        json!([])
    );
    api.delete("/ssf/stream")
        .await?
        .expect_error(400, "invalid_request");
    for missing in ["424242", "nope", &webhook_id.to_string()] {
        api.get(&format!("/ssf/stream?stream_id={missing}"))
            .await?
            .expect_error(404, "resource_not_found");
        api.post("/ssf/verify", json!({"stream_id": missing}))
            .await?
            .expect_error(404, "resource_not_found");
    }
    api.post("/ssf/verify", json!({}))
        .await?
        .expect_error(400, "invalid_request");
    // Without a credential, or with another org's, nothing is shown.
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/ssf/stream")
        .await?
        .expect(401);
    let other = node.create_org("other-ssf").await?;
    let other_api = node.api_for("other-ssf", &other);
    let created = api
        .post(
            "/ssf/stream",
            json!({"delivery": {"method": PUSH, "endpoint_url": "https://r.example.com/ssf"}}),
        )
        .await?
        .expect(201);
    let id = created.body["stream_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    other_api
        .get(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect_error(404, "resource_not_found");
    other_api
        .delete(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect_error(404, "resource_not_found");
    api.get(&format!("/ssf/stream?stream_id={id}"))
        .await?
        .expect(200);
    node.stop().await?;
    Ok(())
}
