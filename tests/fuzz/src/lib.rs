//! The HTTP fuzz target's harness: one real in-process node (RocksDB in a temp dir, ephemeral
//! loopback ports) started on the first input, a few objects to aim at, and the table of
//! network-facing inputs the fuzzer's bytes are sent to.

mod routes;

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use lumo_tests::{ADMIN_KEY, ORG, TestNode};
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};

pub use routes::{Placement, ROUTES, Route};

/// The inbound SCIM token the fuzz org's settings hold.
const SCIM_TOKEN: &str = "fuzz-scim-token-0123456789abcdef";

/// One fuzzed request: which route, the text placed in it, and a raw body.
#[derive(Debug, Arbitrary)]
pub struct FuzzRequest {
    pub route: u8,
    pub text: String,
    pub body: Vec<u8>,
}

/// The objects of the org that routes with ids point at.
struct Targets {
    user: String,
    scim_user: String,
    client_id: String,
    client_secret: String,
}

/// The node, its runtime and a client; lives for the whole fuzzing process.
pub struct Harness {
    runtime: tokio::runtime::Runtime,
    node: TestNode,
    client: reqwest::Client,
    targets: Targets,
}

static HARNESS: OnceLock<Harness> = OnceLock::new();

/// The harness, started on first use. A node that cannot start is a broken fuzz setup, so this
/// panics with the reason (the fuzzer reports it at once).
pub fn harness() -> &'static Harness {
    HARNESS.get_or_init(|| match Harness::start() {
        Ok(harness) => harness,
        Err(e) => panic!("the fuzz node did not start: {e:#}"),
    })
}

impl Harness {
    fn start() -> anyhow::Result<Harness> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let (node, targets) = runtime.block_on(async {
            let node = TestNode::start().await?;
            let targets = create_targets(&node).await?;
            anyhow::Ok((node, targets))
        })?;
        Ok(Harness {
            runtime,
            node,
            client: reqwest::Client::new(),
            targets,
        })
    }

    /// Sends `input` to its route. Panics (a finding) when the server answers 5xx, drops the
    /// connection, or answers a 4xx JSON body without an error in it.
    pub fn send(&self, input: &FuzzRequest) {
        let route = &ROUTES[usize::from(input.route) % ROUTES.len()];
        let Some(request) = self.build(route, input) else {
            return;
        };
        let outcome = self.runtime.block_on(async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let json = response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|ct| ct.contains("json"));
            let text = response.text().await?;
            anyhow::Ok((status, json, text))
        });
        let (status, json, text) = match outcome {
            Ok(answer) => answer,
            Err(e) => panic!("{} {}: no answer: {e:#}", route.method, route.path),
        };
        assert!(
            status < 500,
            "{} {} answered {status}: {text}",
            route.method,
            route.path
        );
        if (400..500).contains(&status) && json {
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            assert!(
                body.get("error").is_some() || body.get("schemas").is_some(),
                "{} {} answered {status} without an error: {text}",
                route.method,
                route.path
            );
        }
    }

    fn build(&self, route: &Route, input: &FuzzRequest) -> Option<reqwest::RequestBuilder> {
        let path = route
            .path
            .replace("{user}", &self.targets.user)
            .replace("{scimUser}", &self.targets.scim_user);
        let base = if path.starts_with("/api/") || path.starts_with("/orgs/") {
            format!("{}{}", self.node.http, path.replace("{org}", ORG))
        } else {
            format!("{}/orgs/{ORG}/api/v1{path}", self.node.http)
        };
        let mut url = reqwest::Url::parse(&base).ok()?;
        match route.placement {
            Placement::Query => url.set_query(Some(&input.text)),
            Placement::QueryParam(name) => {
                url.query_pairs_mut().append_pair(name, &input.text);
            }
            _ => {}
        }
        let method = reqwest::Method::from_bytes(route.method.as_bytes()).ok()?;
        let mut request = self.client.request(method, url);
        request = match route.placement {
            Placement::JsonBody => admin(request, &path)
                .header(CONTENT_TYPE, route.content_type)
                .body(input.body.clone()),
            Placement::FormBody => self
                .client_auth(request)
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(input.body.clone()),
            Placement::FormField(field, fixed) => {
                let mut form = url::form_urlencoded::Serializer::new(String::new());
                form.extend_pairs(fixed.iter().copied());
                form.append_pair(field, &input.text);
                self.client_auth(request)
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(form.finish())
            }
            Placement::Query | Placement::QueryParam(_) => admin(request, &path),
            Placement::Bearer => {
                let value = format!("Bearer {}", input.text);
                reqwest::header::HeaderValue::from_str(&value).ok()?;
                request.header("Authorization", value)
            }
            Placement::SignatureHeaders => {
                let mut lines = input.text.splitn(3, '\n');
                for name in ["Signature-Input", "Signature", "Signature-Key"] {
                    let value = lines.next().unwrap_or_default();
                    reqwest::header::HeaderValue::from_str(value).ok()?;
                    request = request.header(name, value);
                }
                request
                    .header(CONTENT_TYPE, "application/json")
                    .body(input.body.clone())
            }
        };
        Some(request)
    }

    fn client_auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request.basic_auth(&self.targets.client_id, Some(&self.targets.client_secret))
    }
}

/// The admin key, or the inbound SCIM token for SCIM paths.
fn admin(request: reqwest::RequestBuilder, path: &str) -> reqwest::RequestBuilder {
    if path.starts_with("/scim/") {
        request.bearer_auth(SCIM_TOKEN)
    } else {
        request.header("X-API-Key", ADMIN_KEY)
    }
}

async fn create_targets(node: &TestNode) -> anyhow::Result<Targets> {
    let api = node.api();
    let user = api.create_user("fuzz-target@example.com").await?;
    let client = api
        .post(
            "/admin/clients",
            json!({
                "name": "fuzz",
                "redirectUris": ["https://app.example.com/cb"],
                "grantTypes": ["authorization_code", "refresh_token", "client_credentials",
                    "urn:ietf:params:oauth:grant-type:token-exchange"],
                "allowedScopes": ["openid", "profile", "email"],
            }),
        )
        .await?;
    anyhow::ensure!(client.status == 201, "create client: {}", client.text);
    let scim = api
        .put(
            "/admin/settings/scim",
            json!({"inbound": {"enabled": true, "bearer_token": SCIM_TOKEN}}),
        )
        .await?;
    anyhow::ensure!(scim.status == 200, "turn SCIM on: {}", scim.text);
    let scim_user = api
        .with_bearer(SCIM_TOKEN)
        .send_raw(
            reqwest::Method::POST,
            "/scim/v2/Users",
            Some("application/scim+json"),
            serde_json::to_vec(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": "fuzz-scim@example.com",
            }))?,
        )
        .await?;
    anyhow::ensure!(
        scim_user.status == 201,
        "create SCIM user: {}",
        scim_user.text
    );
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Ok(Targets {
        user,
        scim_user: text(&scim_user.body["id"]),
        client_id: text(&client.data()["clientId"]),
        client_secret: text(&client.data()["clientSecret"]),
    })
}
