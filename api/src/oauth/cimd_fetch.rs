//! Fetching a Client ID Metadata Document safely: `https` only, no credentials or fragment in
//! the URL, the host resolved once and refused when any address is loopback, private,
//! link-local or otherwise internal (the connection is pinned to the checked address, so DNS
//! cannot be rebound between check and fetch), no redirects, a short timeout, a JSON content
//! type and a size cap. Test clusters (`--fault-injection`) may also fetch `http` from loopback.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use serde_json::Value;

/// Largest document accepted.
pub const MAX_DOCUMENT_BYTES: usize = 5 * 1024;
/// Whole-fetch deadline.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a document could not be fetched: a stable `reason` code and a message for developers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchFailure {
    pub reason: String,
    pub message: String,
}

fn failure(reason: impl Into<String>, message: impl Into<String>) -> FetchFailure {
    FetchFailure {
        reason: reason.into(),
        message: message.into(),
    }
}

/// True for addresses a server-side fetch must never reach.
pub fn is_internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_internal(IpAddr::V4(v4));
            }
            let [first, second, ..] = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || (first & 0xffc0) == 0xfec0
                || first == 0x2002
                || (first == 0x0064 && second == 0xff9b)
                || (first == 0x2001 && second == 0x0db8)
        }
    }
}

/// Checks the form of a client identifier URL; returns the parsed URL.
pub fn check_client_id(
    client_id: &str,
    allow_loopback_http: bool,
) -> Result<reqwest::Url, FetchFailure> {
    let invalid = |why: &str| failure("invalid_client_id", format!("client_id {why}"));
    let url = reqwest::Url::parse(client_id).map_err(|_| invalid("is not an absolute URL"))?;
    let loopback_http = allow_loopback_http
        && url.scheme() == "http"
        && matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
    if url.scheme() != "https" && !loopback_http {
        return Err(invalid("must be an https URL"));
    }
    if url.fragment().is_some() {
        return Err(invalid("must not have a fragment"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid("must not carry credentials"));
    }
    if url.path() == "/" || url.path().is_empty() {
        return Err(invalid("must have a path"));
    }
    if url
        .path_segments()
        .is_some_and(|mut s| s.any(|seg| seg == "." || seg == ".."))
        || client_id.contains("/./")
        || client_id.contains("/../")
    {
        return Err(invalid("must not contain . or .. path segments"));
    }
    Ok(url)
}

/// Resolves the host and picks an address allowed to be fetched.
async fn safe_address(
    url: &reqwest::Url,
    allow_loopback_http: bool,
) -> Result<SocketAddr, FetchFailure> {
    let host = url
        .host_str()
        .ok_or_else(|| failure("invalid_client_id", "client_id has no host"))?;
    let port = url.port_or_known_default().unwrap_or(443);
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> =
        tokio::time::timeout(FETCH_TIMEOUT, tokio::net::lookup_host((bare, port)))
            .await
            .map_err(|_| failure("timeout", format!("resolving {host} took too long")))?
            .map_err(|_| failure("dns_error", format!("{host} does not resolve")))?
            .collect();
    let allowed_loopback = allow_loopback_http && url.scheme() == "http";
    if addresses.is_empty() {
        return Err(failure("dns_error", format!("{host} does not resolve")));
    }
    if let Some(bad) = addresses
        .iter()
        .find(|a| is_internal(a.ip()) && !(allowed_loopback && a.ip().is_loopback()))
    {
        return Err(failure(
            "ssrf_blocked",
            format!("{host} resolves to an internal address ({})", bad.ip()),
        ));
    }
    Ok(addresses[0])
}

/// Fetches the document at `url` under every guard above; returns the JSON object.
pub async fn fetch_document(
    url: &reqwest::Url,
    allow_loopback_http: bool,
) -> Result<Value, FetchFailure> {
    let address = safe_address(url, allow_loopback_http).await?;
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(FETCH_TIMEOUT)
        .resolve(&host, address)
        .user_agent("lumod-cimd/1")
        .build()
        .map_err(|e| failure("fetch_failed", e.to_string()))?;
    let mut response = client
        .get(url.clone())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            let reason = if e.is_timeout() {
                "timeout"
            } else {
                "fetch_failed"
            };
            failure(reason, format!("fetching {url} failed: {e}"))
        })?;
    let status = response.status().as_u16();
    if response.status().is_redirection() {
        return Err(failure(
            "redirect_not_allowed",
            format!("{url} answered {status}; metadata documents must be served without redirects"),
        ));
    }
    if status != 200 {
        return Err(failure(
            format!("http_status_{status}"),
            format!("{url} answered {status}"),
        ));
    }
    let content_type = super::params::media_type(response.headers());
    if content_type != "application/json" {
        return Err(failure(
            "invalid_content_type",
            format!("the document must be application/json, not {content_type:?}"),
        ));
    }
    if response
        .content_length()
        .is_some_and(|n| n as usize > MAX_DOCUMENT_BYTES)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| failure("fetch_failed", e.to_string()))?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_DOCUMENT_BYTES {
            return Err(too_large());
        }
    }
    match serde_json::from_slice::<Value>(&body) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(failure(
            "invalid_document",
            "the document must be a JSON object",
        )),
        Err(_) => Err(failure("invalid_json", "the document is not valid JSON")),
    }
}

fn too_large() -> FetchFailure {
    failure(
        "document_too_large",
        format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_recognized() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "fec0::1",
        ] {
            assert!(is_internal(ip.parse().expect("ip")), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1::1", "8.8.8.8"] {
            assert!(!is_internal(ip.parse().expect("ip")), "{ip}");
        }
    }

    #[test]
    fn client_ids_must_be_https_urls_with_a_path() {
        assert!(check_client_id("https://app.example.com/client.json", false).is_ok());
        for bad in [
            "http://app.example.com/client.json",
            "https://app.example.com/",
            "https://app.example.com",
            "https://user:pw@app.example.com/c",
            "https://app.example.com/c#frag",
            "https://app.example.com/a/../c",
            "not a url",
        ] {
            let refused = check_client_id(bad, false).expect_err(bad);
            assert_eq!(refused.reason, "invalid_client_id", "{bad}");
        }
        assert!(check_client_id("http://127.0.0.1:9/c.json", true).is_ok());
        assert!(check_client_id("http://10.0.0.1/c.json", true).is_err());
    }
}
