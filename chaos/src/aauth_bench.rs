//! The AAuth side of `lumo-load`: requests signed as the LumoAuth SDK signs them (RFC 9421,
//! Ed25519), checked by the verifier alone in this process (`aauth-verify`), and sent over
//! HTTP to one node (`aauth-signed`), where the org's leader verifies each signature and spends
//! its nonce through Raft before answering.

use std::sync::Arc;

use lumo_cluster::crypto::http_signature::{
    HttpMessage, RequestSigner, okp_thumbprint, parse_signature, verify,
};
use serde_json::{Value, json};

use crate::oauth_bench::{Bounds, Issuer};
use crate::stats::ScenarioStats;

/// Names of the scenarios [`run`] knows.
pub const SCENARIOS: [&str; 2] = ["aauth-verify", "aauth-signed"];

/// Distinct pre-signed requests `aauth-verify` cycles through.
const PRESIGNED: usize = 1000;

/// The identifier the bench resource registers.
const RESOURCE_ID: &str = "https://bench-resource.example";

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// A fresh nonce (128 random bits, hex).
fn nonce() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn key(seed: u8, signature_key: Option<String>) -> anyhow::Result<RequestSigner> {
    RequestSigner::from_seed([seed; 32], signature_key)
        .ok_or_else(|| anyhow::anyhow!("ring refused the Ed25519 seed"))
}

/// `host:port` and path of `url`.
fn authority_and_path(url: &str) -> anyhow::Result<(String, String)> {
    let parsed = reqwest::Url::parse(url)?;
    let host = parsed
        .host_str()
        .ok_or_else(|| anyhow::anyhow!("{url} has no host"))?;
    let authority = match parsed.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    };
    Ok((authority, parsed.path().to_string()))
}

/// What `aauth-signed` sets up once: a registered resource that signs, and a resource token
/// it minted for a registered agent.
struct SignedResource {
    issuer: Arc<Issuer>,
    signer: RequestSigner,
    authority: String,
    verify_path: String,
    /// The body every verification sends (the resource token, the agent it names).
    body: Vec<u8>,
}

impl SignedResource {
    async fn set_up(issuer: Arc<Issuer>) -> anyhow::Result<SignedResource> {
        let agent = issuer
            .admin_post(
                "/admin/agents",
                json!({"name": "AAuth bench agent", "capabilities": ["read"]}),
            )
            .await?;
        let agent_id = agent["data"]["agentId"].as_str().unwrap_or_default();
        let agent_key = key(3, None)?;
        let identity = issuer
            .admin_send(
                reqwest::Method::PUT,
                &format!("/admin/agents/{agent_id}/aauth"),
                json!({"jwks": agent_key.jwks()}),
            )
            .await?;
        let agent_identifier = identity["data"]["identifier"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let signer = key(
            5,
            Some(format!("sig1=jwks_uri;id=\"{RESOURCE_ID}\";kid=\"key-1\"")),
        )?;
        issuer
            .admin_post(
                "/admin/aauth/resources",
                json!({"name": "Bench API", "identifier": RESOURCE_ID, "jwks": signer.jwks(),
                       "scopes": ["read"], "auto_approve": true}),
            )
            .await?;
        let (authority, _) = authority_and_path(&issuer.issuer)?;
        let mut resource = SignedResource {
            verify_path: authority_and_path(&issuer.url("/aauth/resource/token/verify"))?.1,
            issuer,
            signer,
            authority,
            body: Vec::new(),
        };
        let minted = resource
            .send(
                "/aauth/resource/token",
                &json!({"agent": agent_identifier, "agent_jkt": okp_thumbprint(&agent_key.x),
                        "scope": "read"}),
            )
            .await?;
        let token = minted["resource_token"]
            .as_str()
            .ok_or_else(|| anyhow::anyhow!("no resource token: {minted}"))?;
        resource.body =
            serde_json::to_vec(&json!({"resource_token": token, "agent": agent_identifier}))?;
        Ok(resource)
    }

    /// Signs and POSTs `body` to `path` under the issuer; the JSON answer of a 200.
    async fn send(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let url = self.issuer.url(path);
        let bytes = serde_json::to_vec(body)?;
        let (_, signed_path) = authority_and_path(&url)?;
        let response = self.post_signed(&url, &signed_path, bytes).await?;
        let status = response.status();
        let json: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {json}");
        Ok(json)
    }

    async fn post_signed(
        &self,
        url: &str,
        path: &str,
        body: Vec<u8>,
    ) -> reqwest::Result<reqwest::Response> {
        let headers = self
            .signer
            .sign_post(&self.authority, path, &body, &nonce(), now());
        let mut request = self.issuer.http.post(url).body(body);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send().await
    }

    /// One signed verification of the resource token; true when it answered `active: true`.
    async fn verify_once(&self) -> bool {
        let url = self.issuer.url("/aauth/resource/token/verify");
        match self
            .post_signed(&url, &self.verify_path, self.body.clone())
            .await
        {
            Ok(r) if r.status().is_success() => r
                .json::<Value>()
                .await
                .is_ok_and(|answer| answer["active"] == true),
            _ => false,
        }
    }
}

/// [`PRESIGNED`] requests to one path, as the node would receive them, and the key's `x`.
fn presigned(created: i64) -> anyhow::Result<(Vec<HttpMessage>, String)> {
    let signer = key(
        5,
        Some(format!("sig1=jwks_uri;id=\"{RESOURCE_ID}\";kid=\"key-1\"")),
    )?;
    let (authority, path) = (
        "127.0.0.1:8080",
        "/orgs/bench/api/v1/aauth/resource/token/verify",
    );
    let mut messages = Vec::with_capacity(PRESIGNED);
    for i in 0..PRESIGNED {
        let body = serde_json::to_vec(&json!({
            "resource_token": format!("eyJhbGciOiJFZERTQSJ9.{}.{}", "a".repeat(400), i),
            "agent": "http://127.0.0.1:8080/orgs/bench/api/v1/aauth/agents/bench",
        }))?;
        let mut headers = vec![
            ("host".to_string(), authority.to_string()),
            ("accept".to_string(), "*/*".to_string()),
            ("content-length".to_string(), body.len().to_string()),
        ];
        headers.extend(signer.sign_post(authority, path, &body, &nonce(), created));
        messages.push(HttpMessage {
            method: "POST".into(),
            authority: authority.into(),
            scheme: "http".into(),
            path: path.into(),
            query: None,
            headers,
            body,
        });
    }
    Ok((messages, signer.x.clone()))
}

/// Runs scenario `name` against `issuer`.
pub async fn run(
    name: &'static str,
    issuer: Arc<Issuer>,
    bounds: Bounds,
) -> anyhow::Result<ScenarioStats> {
    let Bounds {
        concurrency,
        duration,
        max_ops,
    } = bounds;
    Ok(match name {
        "aauth-verify" => {
            // The verifier's clock is the signing time, so no run is too long for `created`.
            let created = now();
            let (messages, x) = presigned(created)?;
            let messages = Arc::new(messages);
            let x = Arc::new(x);
            let cores = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            crate::load::run(name, cores, duration, max_ops, move |_, seq| {
                let (messages, x) = (messages.clone(), x.clone());
                async move {
                    let message = &messages[(seq as usize) % messages.len()];
                    parse_signature(message, created)
                        .and_then(|params| verify(message, &params, &x))
                        .is_ok()
                }
            })
            .await
        }
        "aauth-signed" => {
            let resource = Arc::new(SignedResource::set_up(issuer).await?);
            crate::load::run(name, concurrency, duration, max_ops, move |_, _| {
                let resource = resource.clone();
                async move { resource.verify_once().await }
            })
            .await
        }
        other => anyhow::bail!("unknown AAuth scenario {other}"),
    })
}
