//! A small JSON-over-HTTP client for the admin API.

use reqwest::Method;
use serde_json::Value;

/// A response: status, headers and body (JSON when it parses, else a string).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Reply {
    /// The `data` field.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// Panics with the body unless the status is `expected`.
    #[track_caller]
    pub fn expect(self, expected: u16) -> Reply {
        assert_eq!(
            self.status, expected,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error reply in the LumoAuth shape with this status and code.
    #[track_caller]
    pub fn expect_error(self, status: u16, code: &str) -> Reply {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(
            self.body["error"], code,
            "unexpected error code; body: {}",
            self.text
        );
        assert_eq!(
            self.body["status"], status,
            "status field; body: {}",
            self.text
        );
        assert!(
            self.body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "message; body: {}",
            self.text
        );
        self
    }

    /// Asserts an RFC 6749 error reply (`error`, `error_description`) with this status; a 401
    /// must also carry `WWW-Authenticate`.
    #[track_caller]
    pub fn expect_oauth(self, status: u16, error: &str) -> Reply {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        assert_eq!(self.body["error"], error, "error code; body: {}", self.text);
        assert!(
            self.body["error_description"].is_string(),
            "error_description; body: {}",
            self.text
        );
        if status == 401 {
            assert!(
                self.headers.contains_key("www-authenticate"),
                "401 without WWW-Authenticate"
            );
        }
        self
    }
}

/// Sends one request with optional JSON body.
pub async fn raw_request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let client = reqwest::Client::new();
    let mut request = client.request(method, url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await?).await
}

/// Reads a response into a [`Reply`].
pub(crate) async fn read(response: reqwest::Response) -> anyhow::Result<Reply> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Reply {
        status,
        headers,
        body,
        text,
    })
}

/// A client of one org with one credential.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub org: String,
    pub key: String,
    client: reqwest::Client,
}

impl Api {
    /// A client of `org` at `base` (e.g. `http://127.0.0.1:1234`).
    pub fn new(base: &str, org: &str, key: &str) -> Api {
        Api {
            base: base.to_string(),
            org: org.to_string(),
            key: key.to_string(),
            client: reqwest::Client::new(),
        }
    }

    /// The same client with another key.
    pub fn with_key(&self, key: &str) -> Api {
        Api::new(&self.base, &self.org, key)
    }

    /// The same client authenticating with `Authorization: Bearer <token>` instead of a key.
    pub fn with_bearer(&self, token: &str) -> Api {
        Api::new(&self.base, &self.org, &format!("Bearer {token}"))
    }

    /// The credential header this client sends.
    fn credential(&self) -> (&'static str, &str) {
        if self.key.starts_with("Bearer ") {
            ("Authorization", self.key.as_str())
        } else {
            ("X-API-Key", self.key.as_str())
        }
    }

    /// The same client pointed at another org (same key).
    pub fn with_org(&self, org: &str) -> Api {
        Api::new(&self.base, org, &self.key)
    }

    /// The URL of an org-scoped path (`/admin/users` -> `/orgs/{org}/api/v1/admin/users`).
    pub fn url(&self, path: &str) -> String {
        format!("{}/orgs/{}/api/v1{}", self.base, self.org, path)
    }

    /// Sends a request with the API key.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        self.send_to(method, &self.url(path), body).await
    }

    /// POST to a root route that takes the org from the credential (`/api/v1/authz/check`).
    pub async fn post_root(&self, path: &str, body: Value) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        self.send_to(Method::POST, &url, Some(body)).await
    }

    /// GET of a root route that takes the org from the credential.
    pub async fn get_root(&self, path: &str) -> anyhow::Result<Reply> {
        let url = format!("{}{path}", self.base);
        self.send_to(Method::GET, &url, None).await
    }

    async fn send_to(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Reply> {
        self.send_with_headers(method, url, body, &[]).await
    }

    /// Sends a request to an org-scoped path with extra headers (e.g. `X-MFA-Challenge`).
    pub async fn send_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        self.send_with_headers(method, &self.url(path), body, headers)
            .await
    }

    async fn send_with_headers(
        &self,
        method: Method,
        url: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let mut request = self
            .client
            .request(method, url)
            .header(self.credential().0, self.credential().1);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await?).await
    }

    /// Sends raw bytes with a content type.
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<Reply> {
        let (header, value) = self.credential();
        let mut request = self
            .client
            .request(method, self.url(path))
            .header(header, value)
            .body(body);
        if let Some(ct) = content_type {
            request = request.header("Content-Type", ct);
        }
        read(request.send().await?).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Reply> {
        self.send(Method::POST, path, Some(body)).await
    }

    /// POST without a body.
    pub async fn post_empty(&self, path: &str) -> anyhow::Result<Reply> {
        self.send(Method::POST, path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> anyhow::Result<Reply> {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> anyhow::Result<Reply> {
        self.send(Method::PATCH, path, Some(body)).await
    }

    /// DELETE with a JSON body.
    pub async fn delete_with_body(&self, path: &str, body: Value) -> anyhow::Result<Reply> {
        self.send(Method::DELETE, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> anyhow::Result<Reply> {
        self.send(Method::DELETE, path, None).await
    }

    /// Creates a user and returns its id.
    pub async fn create_user(&self, email: &str) -> anyhow::Result<String> {
        let reply = self
            .post("/admin/users", serde_json::json!({"email": email}))
            .await?;
        anyhow::ensure!(
            reply.status == 201,
            "create user: {} {}",
            reply.status,
            reply.text
        );
        Ok(reply.data()["id"].as_str().unwrap_or_default().to_string())
    }
}
