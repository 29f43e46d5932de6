//! Outbound SCIM against a real node: one org pushes its users and groups to a downstream
//! SCIM service, which is a second org of the same `lumod` (its inbound SCIM server) or a
//! small recording service standing in for a third party (to see the credentials sent and to
//! fail on purpose). Creates, updates, group membership, deletes, the full sync, the three
//! credential kinds, retries after failures, the status fields, and the refusals.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine;
use lumo_tests::wait::eventually;
use lumo_tests::{Api, TestNode};
use serde_json::{Value, json};

const DOWNSTREAM_TOKEN: &str = "downstream-scim-token-0123456789";

/// The downstream users whose `userName` is `name` (SCIM filter).
async fn downstream_users(scim: &Api, name: &str) -> anyhow::Result<Vec<Value>> {
    let filter = format!("userName eq \"{name}\"")
        .replace(' ', "%20")
        .replace('"', "%22");
    let reply = scim.get(&format!("/scim/v2/Users?filter={filter}")).await?;
    anyhow::ensure!(reply.status == 200, "{}", reply.text);
    Ok(reply.body["Resources"]
        .as_array()
        .cloned()
        .unwrap_or_default())
}

async fn downstream_user(scim: &Api, name: &str) -> anyhow::Result<Value> {
    eventually(&format!("{name} downstream"), || async {
        Ok(downstream_users(scim, name).await?.into_iter().next())
    })
    .await
}

async fn outbound(api: &Api) -> anyhow::Result<Value> {
    Ok(api.get("/admin/settings/scim").await?.expect(200).data()["outbound"].clone())
}

#[tokio::test]
async fn users_and_groups_reach_a_downstream_lumo_org() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let key = node.create_org("downstream").await?;
    let downstream = node.api_for("downstream", &key);
    downstream
        .put(
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": DOWNSTREAM_TOKEN,
                "allow_user_deletion": true, "deprovisioning_action": "hard_delete"}}),
        )
        .await?
        .expect(200);
    let scim = downstream.with_bearer(DOWNSTREAM_TOKEN);

    // A user from before outbound was switched on: only the full sync pushes her.
    let early = api
        .post(
            "/admin/users",
            json!({"email": "early@example.com", "name": "Early Bird"}),
        )
        .await?
        .expect(201);
    let early_id = early.data()["id"].as_str().unwrap_or_default().to_string();

    let endpoint = format!("{}/orgs/downstream/api/v1/scim/v2", node.http);
    let saved = api
        .put(
            "/admin/settings/scim",
            json!({"outbound": {"enabled": true, "endpoint_url": endpoint,
                "bearer_token": DOWNSTREAM_TOKEN,
                "attribute_mapping": {"title": "family_name"}}}),
        )
        .await?
        .expect(200);
    assert!(
        !saved.text.contains(DOWNSTREAM_TOKEN),
        "the token is never shown: {}",
        saved.text
    );
    assert_eq!(
        saved.data()["outbound"]["bearer_token"],
        json!({"configured": true, "redacted": true})
    );

    // Create: the downstream user carries our id as externalId and the mapped title.
    let bob = api
        .post(
            "/admin/users",
            json!({"email": "bob@example.com", "name": "Bob Builder",
                "given_name": "Bob", "family_name": "Builder"}),
        )
        .await?
        .expect(201);
    let bob_id = bob.data()["id"].as_str().unwrap_or_default().to_string();
    let pushed = downstream_user(&scim, "bob@example.com").await?;
    assert_eq!(pushed["externalId"], bob_id.as_str());
    assert_eq!(pushed["name"]["givenName"], "Bob");
    assert_eq!(pushed["emails"][0]["value"], "bob@example.com");
    assert_eq!(pushed["active"], true);
    let remote = pushed["id"].as_str().unwrap_or_default().to_string();
    assert_ne!(remote, bob_id, "the downstream keeps its own ids");

    // Update: the same downstream user changes.
    api.patch(
        &format!("/admin/users/{bob_id}"),
        json!({"name": "Robert Builder"}),
    )
    .await?
    .expect(200);
    eventually("the new name downstream", || async {
        let user = scim.get(&format!("/scim/v2/Users/{remote}")).await?;
        Ok((user.body["displayName"] == "Robert Builder").then_some(()))
    })
    .await?;

    // Groups: created downstream with the members it knows.
    let group = api
        .post(
            "/admin/groups",
            json!({"name": "Engineering", "slug": "eng"}),
        )
        .await?
        .expect(201);
    let group_id = group.data()["id"].as_str().unwrap_or_default().to_string();
    api.post("/admin/groups/eng/members", json!({"userIds": [bob_id]}))
        .await?
        .expect(200);
    let remote_group = eventually("the group and its member downstream", || async {
        let groups = scim
            .get("/scim/v2/Groups?filter=displayName%20eq%20%22Engineering%22")
            .await?;
        let found = groups.body["Resources"][0].clone();
        let has_bob = found["members"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["value"] == remote.as_str()));
        Ok(has_bob.then_some(found))
    })
    .await?;
    assert_eq!(remote_group["externalId"], group_id.as_str());

    // Delete: gone downstream too.
    api.delete(&format!("/admin/users/{bob_id}"))
        .await?
        .expect(200);
    eventually("bob removed downstream", || async {
        let reply = scim.get(&format!("/scim/v2/Users/{remote}")).await?;
        Ok((reply.status == 404).then_some(()))
    })
    .await?;

    // The full sync pushes what the events never did.
    assert!(
        downstream_users(&scim, "early@example.com")
            .await?
            .is_empty()
    );
    let queued = api
        .post_empty("/admin/settings/scim/sync")
        .await?
        .expect(202);
    assert_eq!(queued.data()["status"], "queued");
    let early_pushed = downstream_user(&scim, "early@example.com").await?;
    assert_eq!(early_pushed["externalId"], early_id.as_str());
    let status = eventually("the batch status", || async {
        let outbound = outbound(&api).await?;
        Ok((outbound["last_batch_sync_status"] == "success").then_some(outbound))
    })
    .await?;
    assert_eq!(status["last_batch_sync_counts"]["users"], 1);
    assert_eq!(status["last_batch_sync_counts"]["groups"], 1);
    assert_eq!(status["last_sync_status"], "success");
    assert!(status["last_sync_at"].is_string());

    // The carrier webhook is the settings' own: hidden from the list, closed to admin edits.
    let hooks = api.get("/admin/webhooks").await?.expect(200);
    assert_eq!(hooks.body["data"], json!([]), "{}", hooks.text);
    api.delete("/admin/webhooks/1")
        .await?
        .expect_error(409, "duplicate_resource");

    // Switched off: nothing more is pushed.
    api.patch(
        "/admin/settings/scim",
        json!({"outbound": {"enabled": false}}),
    )
    .await?
    .expect(200);
    api.post("/admin/users", json!({"email": "late@example.com"}))
        .await?
        .expect(201);
    api.post_empty("/admin/settings/scim/sync")
        .await?
        .expect_error(409, "duplicate_resource");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        downstream_users(&scim, "late@example.com")
            .await?
            .is_empty()
    );
    node.stop().await?;
    Ok(())
}

/// One request the recorder got: method, path and query, `Authorization`, JSON body.
type Recorded = (Method, String, Option<String>, Value);

/// What the recording downstream service got, and what it answers.
#[derive(Clone, Default)]
struct Recorder {
    requests: Arc<Mutex<Vec<Recorded>>>,
    /// Statuses to answer to the next SCIM requests before answering normally.
    failures: Arc<Mutex<VecDeque<u16>>>,
}

impl Recorder {
    fn got(&self) -> Vec<Recorded> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

async fn record(
    State(rec): State<Recorder>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> axum::response::Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let json: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let path = uri.path().to_string();
    if path == "/token" {
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("pusher:client-secret")
        );
        if auth.as_deref() != Some(expected.as_str()) || !body.contains("client_credentials") {
            return (
                StatusCode::UNAUTHORIZED,
                axum::Json(json!({"error": "invalid_client"})),
            )
                .into_response();
        }
        return axum::Json(json!({"access_token": "token-from-oauth", "token_type": "Bearer"}))
            .into_response();
    }
    if let Ok(mut r) = rec.requests.lock() {
        r.push((method.clone(), uri.to_string(), auth, json.clone()));
    }
    if let Some(status) = rec.failures.lock().ok().and_then(|mut f| f.pop_front()) {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return (status, axum::Json(json!({"detail": "try later"}))).into_response();
    }
    match method {
        Method::GET => axum::Json(json!({"totalResults": 0, "Resources": []})).into_response(),
        Method::POST => {
            let n = rec.got().len();
            let mut created = json;
            created["id"] = json!(format!("remote-{n}"));
            (StatusCode::CREATED, axum::Json(created)).into_response()
        }
        _ => axum::Json(json).into_response(),
    }
}

async fn recorder() -> anyhow::Result<(Recorder, String)> {
    let rec = Recorder::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = axum::Router::new().fallback(record).with_state(rec.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((rec, base))
}

/// The SCIM POSTs of users named `email` the recorder got.
fn posts_of(rec: &Recorder, email: &str) -> Vec<Recorded> {
    rec.got()
        .into_iter()
        .filter(|(m, p, _, body)| {
            *m == Method::POST && p == "/scim/Users" && body["userName"] == email
        })
        .collect()
}

#[tokio::test]
async fn oauth2_and_basic_credentials_retries_and_refusals() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let (rec, base) = recorder().await?;

    // Refusals: each answers 422 naming the field, and nothing is switched on.
    for (body, field) in [
        (
            json!({"outbound": {"enabled": true}}),
            "outbound.endpoint_url",
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": "ftp://files.example.com/scim"}}),
            "outbound.endpoint_url",
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": format!("{base}/scim")}}),
            "outbound.bearer_token",
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": format!("{base}/scim"),
                "auth_type": "oauth2", "oauth2_client_id": "pusher",
                "oauth2_client_secret": "client-secret"}}),
            "outbound.oauth2_token_url",
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": format!("{base}/scim"),
                "auth_type": "basic", "basic_password": "pw"}}),
            "outbound.basic_username",
        ),
        (
            json!({"outbound": {"auth_type": "kerberos"}}),
            "outbound.auth_type",
        ),
    ] {
        let reply = api.put("/admin/settings/scim", body.clone()).await?;
        let reply = reply.expect_error(422, "validation_error");
        assert!(
            reply.text.contains(field),
            "{body}: expected {field} in {}",
            reply.text
        );
    }
    assert_eq!(outbound(&api).await?["enabled"], false);
    assert_eq!(outbound(&api).await?["oauth2_client_secret"], Value::Null);

    // OAuth 2.0 client credentials: the token endpoint is called, its token sent.
    api.put(
        "/admin/settings/scim",
        json!({"outbound": {"enabled": true, "endpoint_url": format!("{base}/scim"),
            "auth_type": "oauth2", "oauth2_client_id": "pusher",
            "oauth2_client_secret": "client-secret",
            "oauth2_token_url": format!("{base}/token"), "oauth2_scope": "scim"}}),
    )
    .await?
    .expect(200);
    api.post("/admin/users", json!({"email": "o@example.com"}))
        .await?
        .expect(201);
    let posts = eventually("the oauth2 push", || async {
        let posts = posts_of(&rec, "o@example.com");
        Ok((!posts.is_empty()).then_some(posts))
    })
    .await?;
    assert_eq!(posts[0].2.as_deref(), Some("Bearer token-from-oauth"));
    // A lookup by userName came first (so a first push adopts what is there).
    assert!(rec.got().iter().any(|(m, p, _, _)| *m == Method::GET
        && p.starts_with("/scim/Users?filter=userName%20eq%20%22o%40example.com%22")));

    // HTTP Basic.
    api.patch(
        "/admin/settings/scim",
        json!({"outbound": {"auth_type": "basic", "basic_username": "pusher",
            "basic_password": "basic-secret"}}),
    )
    .await?
    .expect(200);
    api.post("/admin/users", json!({"email": "b@example.com"}))
        .await?
        .expect(201);
    let posts = eventually("the basic push", || async {
        let posts = posts_of(&rec, "b@example.com");
        Ok((!posts.is_empty()).then_some(posts))
    })
    .await?;
    let basic = base64::engine::general_purpose::STANDARD.encode("pusher:basic-secret");
    assert_eq!(
        posts[0].2.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );

    // A downstream failing twice: the push is retried until it lands, and the status says
    // what happened in between.
    if let Ok(mut f) = rec.failures.lock() {
        f.extend([503, 503]);
    }
    api.post("/admin/users", json!({"email": "r@example.com"}))
        .await?
        .expect(201);
    let failed = eventually("the failure status", || async {
        let outbound = outbound(&api).await?;
        Ok((outbound["last_sync_status"] == "failed").then_some(outbound))
    })
    .await?;
    assert!(
        failed["last_sync_error"]
            .as_str()
            .is_some_and(|e| e.contains("503")),
        "{failed}"
    );
    eventually("the retried push", || async {
        Ok((!posts_of(&rec, "r@example.com").is_empty()).then_some(()))
    })
    .await?;
    eventually("the success status", || async {
        Ok((outbound(&api).await?["last_sync_status"] == "success").then_some(()))
    })
    .await?;

    // Updates go to the id the downstream gave.
    let users = api
        .get("/admin/users?search=r%40example.com")
        .await?
        .expect(200);
    let id = users.body["data"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    api.patch(&format!("/admin/users/{id}"), json!({"name": "Arr"}))
        .await?
        .expect(200);
    eventually("the PUT to the downstream id", || async {
        Ok(rec
            .got()
            .iter()
            .any(|(m, p, _, body)| {
                *m == Method::PUT
                    && p.starts_with("/scim/Users/remote-")
                    && body["displayName"] == "Arr"
            })
            .then_some(()))
    })
    .await?;
    node.stop().await?;
    Ok(())
}
