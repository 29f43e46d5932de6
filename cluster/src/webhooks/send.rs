//! One delivery attempt: POST to the checked address (the URL's host pinned to it), no
//! redirects, a whole-request timeout, and at most a few KiB of the answer read.

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

fn failed(error: String) -> Attempt {
    Attempt {
        status_code: None,
        response_body: None,
        error: Some(error),
    }
}

/// POSTs `body` with `headers` to `url`.
pub async fn send(
    url: &str,
    headers: &[(&'static str, String)],
    body: Vec<u8>,
    policy: TargetPolicy,
    limits: SendLimits,
) -> Attempt {
    let parsed = match check_url(url, policy) {
        Ok(parsed) => parsed,
        Err(e) => return failed(format!("the URL {e}")),
    };
    let address = match resolve(&parsed, policy).await {
        Ok(address) => address,
        Err(e) => return failed(e),
    };
    let host = parsed.host_str().unwrap_or_default().to_string();
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(limits.timeout)
        .connect_timeout(limits.timeout)
        .resolve(&host, address)
        .user_agent("Lumo-Webhooks/1")
        .build()
    {
        Ok(client) => client,
        Err(e) => return failed(format!("HTTP client: {e}")),
    };
    let mut request = client.post(parsed).body(body);
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let attempt = async {
        let mut response = request.send().await.map_err(|e| describe(&e))?;
        let status = response.status().as_u16();
        let mut kept = Vec::new();
        while kept.len() < limits.max_response {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        kept.truncate(limits.max_response);
        Ok::<_, String>((status, String::from_utf8_lossy(&kept).into_owned()))
    };
    match tokio::time::timeout(limits.timeout, attempt).await {
        Ok(Ok((status, text))) => Attempt {
            status_code: Some(status),
            response_body: Some(text),
            error: None,
        },
        Ok(Err(e)) => failed(e),
        Err(_) => failed(format!("timed out after {:?}", limits.timeout)),
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
