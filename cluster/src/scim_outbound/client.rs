//! The HTTP side of the outbound SCIM client: the downstream base URL behind the SSRF guard
//! (`webhooks::Sender`, one pinned address per round), its TLS trust, and the credential the
//! settings name (a bearer token, HTTP Basic, or an OAuth 2.0 client-credentials token).

use base64::Engine;
use reqwest::Method;
use serde_json::Value;

use crate::command::ScimResourceKind;
use crate::oauth::urlencode;
use crate::webhooks::{Attempt, SendLimits, Sender, TargetPolicy, TlsTrust};

const SCIM_JSON: &str = "application/scim+json";
/// Bytes of a downstream answer read (a created resource, a filtered list).
const MAX_ANSWER: usize = 1 << 20;

/// One answer of the downstream service.
#[derive(Debug)]
pub struct Answer {
    pub attempt: Attempt,
}

impl Answer {
    pub fn status(&self) -> Option<u16> {
        self.attempt.status_code
    }

    pub fn is_success(&self) -> bool {
        self.attempt.error.is_none() && self.status().is_some_and(|s| (200..300).contains(&s))
    }

    pub fn json(&self) -> Value {
        self.attempt
            .response_body
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    }

    /// The attempt as recorded: a transport error, or `what` answered with a non-2xx status.
    pub fn into_attempt(mut self, what: &str) -> Attempt {
        if self.attempt.error.is_none() && !self.is_success() {
            let status = self.status().unwrap_or_default();
            let detail = self.json()["detail"].as_str().map(str::to_string);
            self.attempt.error = Some(match detail {
                Some(detail) => format!("{what} answered {status}: {detail}"),
                None => format!("{what} answered {status}"),
            });
        } else if let Some(error) = &mut self.attempt.error {
            *error = format!("{what}: {error}");
        }
        self.attempt
    }
}

/// A connected downstream SCIM service.
pub struct ScimClient {
    /// The base URL, ending in `/`.
    base: reqwest::Url,
    sender: Sender,
    authorization: String,
}

fn text<'a>(outbound: &'a Value, name: &str) -> Option<&'a str> {
    outbound[name].as_str().filter(|s| !s.trim().is_empty())
}

impl ScimClient {
    /// Connects to the service `outbound` names; `secret` opens a usable secret by its
    /// dotted path (`outbound.bearer_token`, ...).
    pub async fn connect(
        outbound: &Value,
        secret: impl Fn(&str) -> Result<String, String>,
        policy: TargetPolicy,
    ) -> Result<ScimClient, String> {
        let endpoint = text(outbound, "endpoint_url").ok_or("outbound.endpoint_url is not set")?;
        let endpoint = format!("{}/", endpoint.trim_end_matches('/'));
        let tls = TlsTrust {
            skip_verify: outbound["verify_tls"] == Value::Bool(false),
            extra_root_pem: text(outbound, "tls_certificate").map(str::to_string),
        };
        let limits = SendLimits {
            max_response: MAX_ANSWER,
            ..SendLimits::default()
        };
        let sender = Sender::with_tls(&endpoint, policy, limits, &tls).await?;
        let authorization = match outbound["auth_type"].as_str().unwrap_or("bearer") {
            "basic" => {
                let user = text(outbound, "basic_username").ok_or("basic_username is not set")?;
                let password = secret("outbound.basic_password")?;
                let pair = format!("{user}:{password}");
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            "oauth2" => format!(
                "Bearer {}",
                client_credentials(outbound, &secret, policy, &tls).await?
            ),
            _ => format!("Bearer {}", secret("outbound.bearer_token")?),
        };
        Ok(ScimClient {
            base: sender.url().clone(),
            sender,
            authorization,
        })
    }

    async fn send(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        let url = match self.base.join(path) {
            Ok(url) => url,
            Err(e) => {
                return Answer {
                    attempt: Attempt::failed(format!("{path}: {e}")),
                };
            }
        };
        let mut headers = vec![
            ("authorization", self.authorization.clone()),
            ("accept", format!("{SCIM_JSON}, application/json")),
        ];
        if body.is_some() {
            headers.push(("content-type", SCIM_JSON.to_string()));
        }
        let body = body.map(|b| b.to_string().into_bytes());
        Answer {
            attempt: self.sender.call(method, &url, &headers, body).await,
        }
    }

    pub async fn create(&self, kind: ScimResourceKind, resource: &Value) -> Answer {
        self.send(Method::POST, kind.endpoint(), Some(resource))
            .await
    }

    pub async fn replace(&self, kind: ScimResourceKind, remote: &str, resource: &Value) -> Answer {
        let path = format!("{}/{}", kind.endpoint(), urlencode(remote));
        self.send(Method::PUT, &path, Some(resource)).await
    }

    pub async fn delete(&self, kind: ScimResourceKind, remote: &str) -> Answer {
        let path = format!("{}/{}", kind.endpoint(), urlencode(remote));
        self.send(Method::DELETE, &path, None).await
    }

    /// The downstream id of the resource whose `attribute` equals `value`, if one exists.
    pub async fn find(
        &self,
        kind: ScimResourceKind,
        attribute: &str,
        value: &str,
    ) -> Result<Option<String>, Answer> {
        let quoted = serde_json::to_string(value).unwrap_or_default();
        let filter = format!("{attribute} eq {quoted}");
        let path = format!("{}?filter={}&count=2", kind.endpoint(), urlencode(&filter));
        let answer = self.send(Method::GET, &path, None).await;
        if !answer.is_success() {
            return Err(answer);
        }
        Ok(answer.json()["Resources"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|r| r["id"].as_str())
            .map(str::to_string))
    }
}

/// An access token from the settings' OAuth 2.0 token endpoint (client credentials, the
/// client authenticated with HTTP Basic).
async fn client_credentials(
    outbound: &Value,
    secret: &impl Fn(&str) -> Result<String, String>,
    policy: TargetPolicy,
    tls: &TlsTrust,
) -> Result<String, String> {
    let token_url = text(outbound, "oauth2_token_url").ok_or("oauth2_token_url is not set")?;
    let client_id = text(outbound, "oauth2_client_id").ok_or("oauth2_client_id is not set")?;
    let client_secret = secret("outbound.oauth2_client_secret")?;
    let mut form = "grant_type=client_credentials".to_string();
    if let Some(scope) = text(outbound, "oauth2_scope") {
        form.push_str(&format!("&scope={}", urlencode(scope)));
    }
    let basic = format!("{}:{}", urlencode(client_id), urlencode(&client_secret));
    let headers = [
        (
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(basic)
            ),
        ),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_string(),
        ),
        ("accept", "application/json".to_string()),
    ];
    let sender = Sender::with_tls(token_url, policy, SendLimits::default(), tls)
        .await
        .map_err(|e| format!("the token endpoint: {e}"))?;
    let attempt = sender.post(&headers, form.into_bytes()).await;
    if let Some(error) = attempt.error {
        return Err(format!("the token endpoint: {error}"));
    }
    let status = attempt.status_code.unwrap_or_default();
    let answer: Value = attempt
        .response_body
        .as_deref()
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null);
    match answer["access_token"].as_str() {
        Some(token) if (200..300).contains(&status) => Ok(token.to_string()),
        _ => Err(format!(
            "the token endpoint answered {status}{}",
            answer["error"]
                .as_str()
                .map(|e| format!(" ({e})"))
                .unwrap_or_default()
        )),
    }
}
