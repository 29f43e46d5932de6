//! The OAuth side of `lumo-load`: one org's protocol endpoints driven like real clients do
//! (HTTP Basic client authentication, form bodies, a session cookie for the code flow), plus
//! any other token endpoint for the same `client_credentials` request (a baseline server).

use base64::Engine;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// One org's issuer and an admin key to set things up with; `http` must not follow
/// redirects (the code flow reads `Location`).
pub struct Issuer {
    pub issuer: String,
    pub admin_key: String,
    pub http: reqwest::Client,
}

/// A registered confidential client.
#[derive(Clone)]
pub struct BenchClient {
    pub id: String,
    pub secret: String,
}

/// The redirect URI bench clients register (never fetched: the load tool reads `Location`).
const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

fn query_param(url: &str, name: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

impl Issuer {
    /// The URL of `path` under the issuer.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// An admin API call with `method`; the JSON answer, or an error naming the status.
    pub async fn admin_send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> anyhow::Result<Value> {
        let response = self
            .http
            .request(method, self.url(path))
            .header("X-API-Key", &self.admin_key)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let json: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "{path}: {status} {json}");
        Ok(json)
    }

    /// An admin API `POST`.
    pub async fn admin_post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.admin_send(reqwest::Method::POST, path, body).await
    }

    /// A confidential client that may use the code, refresh and client credentials grants.
    pub async fn create_client(&self) -> anyhow::Result<BenchClient> {
        let created = self
            .admin_post(
                "/admin/clients",
                json!({
                    "name": "bench",
                    "redirectUris": [REDIRECT_URI],
                    "grantTypes": ["authorization_code", "refresh_token", "client_credentials"],
                    "allowedScopes": ["openid", "profile", "offline_access", "admin:read"],
                    "skipConsent": true,
                }),
            )
            .await?;
        Ok(BenchClient {
            id: created["data"]["clientId"]
                .as_str()
                .unwrap_or_default()
                .into(),
            secret: created["data"]["secret"]
                .as_str()
                .unwrap_or_default()
                .into(),
        })
    }

    /// An AI agent with `capabilities` and a daily budget large enough never to run out (the
    /// budget is still counted on every token); returns its client.
    pub async fn create_agent(&self, capabilities: &[&str]) -> anyhow::Result<BenchClient> {
        let created = self
            .admin_post(
                "/admin/agents",
                json!({"name": "bench agent", "capabilities": capabilities, "maxTokensPerDay": 1_000_000_000u64}),
            )
            .await?;
        Ok(BenchClient {
            id: created["data"]["clientId"]
                .as_str()
                .unwrap_or_default()
                .into(),
            secret: created["data"]["clientSecret"]
                .as_str()
                .unwrap_or_default()
                .into(),
        })
    }

    /// One Ask API decision with `token`; true when it answered and `allowed` is `expected`.
    pub async fn ask(&self, token: &str, action: &str, expected: bool) -> bool {
        let response = self
            .http
            .post(self.url("/agents/ask"))
            .bearer_auth(token)
            .json(&json!({"action": action}))
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => r
                .json::<Value>()
                .await
                .is_ok_and(|body| body["allowed"] == expected && body["audit_id"].is_string()),
            _ => false,
        }
    }

    /// Makes a new signing key of `alg` the org's active one.
    pub async fn use_signing_alg(&self, alg: &str) -> anyhow::Result<()> {
        self.admin_post("/admin/signing-keys", json!({"alg": alg}))
            .await
            .map(|_| ())
    }

    /// Creates a user with a password.
    pub async fn create_user(&self, email: &str, password: &str) -> anyhow::Result<()> {
        self.admin_post(
            "/admin/users",
            json!({"email": email, "password": password, "name": "Bench User"}),
        )
        .await
        .map(|_| ())
    }

    async fn token(&self, client: &BenchClient, form: &[(&str, &str)]) -> Option<Value> {
        token_request(&self.http, &self.url("/oauth/token"), client, form).await
    }

    /// One `client_credentials` token; `None` on any failure.
    pub async fn client_credentials(&self, client: &BenchClient) -> Option<String> {
        let body = self
            .token(client, &[("grant_type", "client_credentials")])
            .await?;
        body["access_token"].as_str().map(str::to_string)
    }

    /// Introspects `token`; true when the answer is `active: true`.
    pub async fn introspect(&self, client: &BenchClient, token: &str) -> bool {
        let response = self
            .http
            .post(self.url("/oauth/introspect"))
            .basic_auth(&client.id, Some(&client.secret))
            .form(&[("token", token)])
            .send()
            .await;
        match response {
            Ok(r) if r.status().is_success() => r
                .json::<Value>()
                .await
                .is_ok_and(|body| body["active"] == true),
            _ => false,
        }
    }

    /// A password sign-in through `~/oauth/login/json`; returns the session cookie.
    pub async fn login(&self, email: &str, password: &str) -> Option<String> {
        let response = self
            .http
            .post(self.url("/oauth/login/json"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response
            .headers()
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.starts_with("lumo_session="))
            .and_then(|c| c.split(';').next())
            .map(str::to_string)
    }

    /// The authorization code flow (PKCE, no consent) with a signed-in `cookie` for `scope`;
    /// returns the token response.
    pub async fn code_flow(
        &self,
        client: &BenchClient,
        cookie: &str,
        scope: &str,
    ) -> Option<Value> {
        let verifier = format!("bench-verifier-{}", rand::random::<u64>()).repeat(2);
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(verifier.as_bytes()));
        let response = self
            .http
            .get(self.url("/oauth/authorize"))
            .query(&[
                ("response_type", "code"),
                ("client_id", client.id.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("scope", scope),
                ("state", "bench"),
                ("code_challenge", challenge.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .header(reqwest::header::COOKIE, cookie)
            .send()
            .await
            .ok()?;
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)?
            .to_str()
            .ok()?;
        let code = query_param(location, "code")?;
        self.token(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT_URI),
                ("code_verifier", &verifier),
            ],
        )
        .await
    }

    /// The code flow's refresh token.
    pub async fn refresh_token(&self, client: &BenchClient, cookie: &str) -> Option<String> {
        let body = self
            .code_flow(client, cookie, "openid offline_access")
            .await?;
        body["refresh_token"].as_str().map(str::to_string)
    }

    /// One refresh (rotation); returns the new refresh token.
    pub async fn refresh(&self, client: &BenchClient, refresh_token: &str) -> Option<String> {
        let body = self
            .token(
                client,
                &[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", refresh_token),
                ],
            )
            .await?;
        body["refresh_token"].as_str().map(str::to_string)
    }
}

/// A token endpoint request with HTTP Basic client authentication; the JSON body on 200.
pub async fn token_request(
    http: &reqwest::Client,
    token_url: &str,
    client: &BenchClient,
    form: &[(&str, &str)],
) -> Option<Value> {
    let response = http
        .post(token_url)
        .basic_auth(&client.id, Some(&client.secret))
        .form(form)
        .send()
        .await
        .ok()?;
    if !response.status().is_success() {
        return None;
    }
    response.json().await.ok()
}

/// What the OAuth scenarios set up once and share: a client, a signed-in user, tokens.
pub struct OauthScenarios {
    pub issuer: std::sync::Arc<Issuer>,
    client: Option<BenchClient>,
    tokens: std::sync::Arc<Vec<String>>,
}

/// The password of the bench user.
const PASSWORD: &str = "bench-password-123";

/// Names of the scenarios [`OauthScenarios::run`] knows.
pub const SCENARIOS: [&str; 9] = [
    "cc-rs256",
    "cc-agent",
    "agent-ask",
    "cc-es256",
    "cc-eddsa",
    "introspect",
    "login",
    "login-totp",
    "refresh",
];

/// Bounds of one scenario run.
#[derive(Clone, Copy)]
pub struct Bounds {
    pub concurrency: usize,
    pub duration: std::time::Duration,
    pub max_ops: u64,
}

impl OauthScenarios {
    pub fn new(issuer: Issuer) -> Self {
        OauthScenarios {
            issuer: std::sync::Arc::new(issuer),
            client: None,
            tokens: std::sync::Arc::new(Vec::new()),
        }
    }

    async fn client(&mut self) -> anyhow::Result<BenchClient> {
        if self.client.is_none() {
            self.client = Some(self.issuer.create_client().await?);
            self.issuer
                .create_user("bench-login@bench.example", PASSWORD)
                .await?;
        }
        Ok(self.client.clone().unwrap_or_else(|| BenchClient {
            id: String::new(),
            secret: String::new(),
        }))
    }

    /// Runs scenario `name`.
    pub async fn run(
        &mut self,
        name: &'static str,
        bounds: Bounds,
    ) -> anyhow::Result<crate::stats::ScenarioStats> {
        let client = self.client().await?;
        let issuer = self.issuer.clone();
        let Bounds {
            concurrency,
            duration,
            max_ops,
        } = bounds;
        let stats = match name {
            "cc-rs256" | "cc-es256" | "cc-eddsa" => {
                let alg = match name {
                    "cc-es256" => "ES256",
                    "cc-eddsa" => "EdDSA",
                    _ => "RS256",
                };
                issuer.use_signing_alg(alg).await?;
                crate::load::run(name, concurrency, duration, max_ops, move |_, _| {
                    let (issuer, client) = (issuer.clone(), client.clone());
                    async move { issuer.client_credentials(&client).await.is_some() }
                })
                .await
            }
            "cc-agent" => {
                issuer.use_signing_alg("RS256").await?;
                let agent = issuer.create_agent(&["bench.read"]).await?;
                crate::load::run(name, concurrency, duration, max_ops, move |_, _| {
                    let (issuer, agent) = (issuer.clone(), agent.clone());
                    async move { issuer.client_credentials(&agent).await.is_some() }
                })
                .await
            }
            "agent-ask" => {
                let agent = issuer.create_agent(&["bench.read", "docs.*"]).await?;
                let token = issuer
                    .client_credentials(&agent)
                    .await
                    .ok_or_else(|| anyhow::anyhow!("no agent token"))?;
                let token = std::sync::Arc::new(token);
                // Allowed and denied decisions alternate (each is audited).
                crate::load::run(name, concurrency, duration, max_ops, move |_, seq| {
                    let (issuer, token) = (issuer.clone(), token.clone());
                    async move {
                        let (action, expected) = if seq % 2 == 0 {
                            ("docs.read", true)
                        } else {
                            ("bench.write", false)
                        };
                        issuer.ask(&token, action, expected).await
                    }
                })
                .await
            }
            "introspect" => {
                if self.tokens.is_empty() {
                    let mut tokens = Vec::new();
                    for _ in 0..100 {
                        if let Some(token) = issuer.client_credentials(&client).await {
                            tokens.push(token);
                        }
                    }
                    anyhow::ensure!(!tokens.is_empty(), "no token to introspect");
                    self.tokens = std::sync::Arc::new(tokens);
                }
                let tokens = self.tokens.clone();
                crate::load::run(name, concurrency, duration, max_ops, move |_, seq| {
                    let (issuer, client, tokens) = (issuer.clone(), client.clone(), tokens.clone());
                    async move {
                        let token = &tokens[(seq as usize) % tokens.len()];
                        issuer.introspect(&client, token).await
                    }
                })
                .await
            }
            "login" => {
                // One account per connection: sign-ins to one account are checked one at a
                // time (lockout), so a single account would measure that, not the hashing.
                for worker in 0..concurrency {
                    issuer
                        .create_user(&format!("bench-login-{worker}@bench.example"), PASSWORD)
                        .await?;
                }
                crate::load::run(name, concurrency, duration, max_ops, move |worker, _| {
                    let issuer = issuer.clone();
                    async move {
                        issuer
                            .login(&format!("bench-login-{worker}@bench.example"), PASSWORD)
                            .await
                            .is_some()
                    }
                })
                .await
            }
            "login-totp" => {
                let users =
                    crate::mfa_bench::enroll_users(&issuer, &client, concurrency, duration).await?;
                crate::load::run(name, concurrency, duration, max_ops, move |worker, _| {
                    let (issuer, users) = (issuer.clone(), users.clone());
                    async move { crate::mfa_bench::login(&issuer, &users[worker]).await }
                })
                .await
            }
            "refresh" => {
                let cookie = issuer
                    .login("bench-login@bench.example", PASSWORD)
                    .await
                    .ok_or_else(|| anyhow::anyhow!("bench user cannot sign in"))?;
                let mut current = Vec::with_capacity(concurrency);
                for _ in 0..concurrency {
                    let token = issuer
                        .refresh_token(&client, &cookie)
                        .await
                        .ok_or_else(|| anyhow::anyhow!("code flow failed"))?;
                    current.push(tokio::sync::Mutex::new(token));
                }
                let current = std::sync::Arc::new(current);
                crate::load::run(name, concurrency, duration, max_ops, move |worker, _| {
                    let (issuer, client, current) =
                        (issuer.clone(), client.clone(), current.clone());
                    async move {
                        let mut token = current[worker].lock().await;
                        match issuer.refresh(&client, &token).await {
                            Some(next) => {
                                *token = next;
                                true
                            }
                            None => false,
                        }
                    }
                })
                .await
            }
            other => anyhow::bail!("unknown OAuth scenario {other}"),
        };
        Ok(stats)
    }
}

/// `client_credentials` against any token endpoint (the baseline server).
pub async fn external_client_credentials(
    http: reqwest::Client,
    token_url: String,
    client: BenchClient,
    scope: Option<String>,
    bounds: Bounds,
) -> crate::stats::ScenarioStats {
    crate::load::run(
        "cc-baseline",
        bounds.concurrency,
        bounds.duration,
        bounds.max_ops,
        move |_, _| {
            let (http, token_url, client, scope) = (
                http.clone(),
                token_url.clone(),
                client.clone(),
                scope.clone(),
            );
            async move {
                let mut form = vec![("grant_type", "client_credentials")];
                if let Some(scope) = scope.as_deref() {
                    form.push(("scope", scope));
                }
                token_request(&http, &token_url, &client, &form)
                    .await
                    .is_some_and(|body| body["access_token"].is_string())
            }
        },
    )
    .await
}
