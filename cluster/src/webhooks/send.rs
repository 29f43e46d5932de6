//! Outbound calls (webhook deliveries, upstream identity providers): to the checked address (the URL's host pinned to it), no redirects,
//! a whole-request timeout, and at most a few KiB of the answer read. A [`Sender`] is made per
//! batch (one DNS answer, checked once, and one connection pool for the batch).

use std::time::Duration;

use super::target::{TargetPolicy, check_url, resolve};

/// Bounds of one attempt.
#[derive(Debug, Clone, Copy)]
pub struct SendLimits {
    pub timeout: Duration,
    /// Bytes of the answer read (the rest is dropped unread).
    pub max_response: usize,
}

impl Default for SendLimits {
    fn default() -> Self {
        SendLimits {
            timeout: Duration::from_secs(10),
            max_response: 4096,
        }
    }
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub status_code: Option<u16>,
    pub response_body: Option<String>,
    /// Transport failure, refused target or timeout.
    pub error: Option<String>,
}

impl Attempt {
    /// An attempt that never reached the receiver.
    pub fn failed(error: String) -> Attempt {
        Attempt {
            status_code: None,
            response_body: None,
            error: Some(error),
        }
    }
}

/// Which TLS certificates a [`Sender`] trusts: the system's (verified) by default; an extra
/// root (PEM) a downstream service uses; or, when the operator said so, any.
#[derive(Debug, Clone, Default)]
pub struct TlsTrust {
    pub skip_verify: bool,
    pub extra_root_pem: Option<String>,
}

/// A client for one receiver URL, pinned to the address the guard checked.
pub struct Sender {
    url: reqwest::Url,
    client: reqwest::Client,
    limits: SendLimits,
}

impl Sender {
    /// Checks `url` under `policy`, resolves it once and pins the address; the error says why
    /// the receiver cannot be called (every attempt of the batch fails with it).
    pub async fn new(
        url: &str,
        policy: TargetPolicy,
        limits: SendLimits,
    ) -> Result<Sender, String> {
        Self::with_tls(url, policy, limits, &TlsTrust::default()).await
    }

    /// [`Sender::new`] trusting the certificates `tls` names.
    pub async fn with_tls(
        url: &str,
        policy: TargetPolicy,
        limits: SendLimits,
        tls: &TlsTrust,
    ) -> Result<Sender, String> {
        let parsed = check_url(url, policy).map_err(|e| format!("the URL {e}"))?;
        let address = resolve(&parsed, policy).await?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let mut builder = reqwest::Client::builder();
        if tls.skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        if let Some(pem) = tls
            .extra_root_pem
            .as_deref()
            .filter(|p| !p.trim().is_empty())
        {
            let root = reqwest::Certificate::from_pem(pem.as_bytes())
                .map_err(|e| format!("the TLS certificate is not PEM: {e}"))?;
            builder = builder.add_root_certificate(root);
        }
        let client = builder
            .redirect(reqwest::redirect::Policy::none())
            .timeout(limits.timeout)
            .connect_timeout(limits.timeout)
            .resolve(&host, address)
            .user_agent("Lumo-Webhooks/1")
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Sender {
            url: parsed,
            client,
            limits,
        })
    }

    /// POSTs `body` with `headers`.
    pub async fn post(&self, headers: &[(&'static str, String)], body: Vec<u8>) -> Attempt {
        self.attempt(self.client.post(self.url.clone()).body(body), headers)
            .await
    }

    /// GETs the URL with `headers`.
    pub async fn get(&self, headers: &[(&'static str, String)]) -> Attempt {
        self.attempt(self.client.get(self.url.clone()), headers)
            .await
    }

    /// Sends `method` to `url` (on the pinned host only) with `headers` and `body`.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &reqwest::Url,
        headers: &[(&'static str, String)],
        body: Option<Vec<u8>>,
    ) -> Attempt {
        if url.host_str() != self.url.host_str()
            || url.port_or_known_default() != self.url.port_or_known_default()
            || url.scheme() != self.url.scheme()
        {
            return Attempt::failed(format!("{url} is not on the checked host"));
        }
        let mut request = self.client.request(method, url.clone());
        if let Some(body) = body {
            request = request.body(body);
        }
        self.attempt(request, headers).await
    }

    /// The URL this sender was checked for.
    pub fn url(&self) -> &reqwest::Url {
        &self.url
    }

    async fn attempt(
        &self,
        mut request: reqwest::RequestBuilder,
        headers: &[(&'static str, String)],
    ) -> Attempt {
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let max = self.limits.max_response;
        let attempt = async {
            let mut response = request.send().await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let mut kept = Vec::new();
            while kept.len() < max {
                match response.chunk().await {
                    Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                    Ok(None) | Err(_) => break,
                }
            }
            kept.truncate(max);
            Ok::<_, String>((status, String::from_utf8_lossy(&kept).into_owned()))
        };
        match tokio::time::timeout(self.limits.timeout, attempt).await {
            Ok(Ok((status, text))) => Attempt {
                status_code: Some(status),
                response_body: Some(text),
                error: None,
            },
            Ok(Err(e)) => Attempt::failed(e),
            Err(_) => Attempt::failed(format!("timed out after {:?}", self.limits.timeout)),
        }
    }
}

/// One attempt to `url` with a sender of its own (the admin's `test`).
pub async fn send(
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    policy: TargetPolicy,
    limits: SendLimits,
) -> Attempt {
    match Sender::new(url, policy, limits).await {
        Ok(sender) => sender.post(headers, body).await,
        Err(e) => Attempt::failed(e),
    }
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        format!("connection failed: {e}")
    } else {
        format!("request failed: {e}")
    }
}
