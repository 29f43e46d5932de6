//! Resource indicators (RFC 8707): which URIs may name a token's audience, and the hosts
//! plain `http` is allowed for.

use crate::error::{ClusterError, Result};
use crate::protocol::ErrorCode;

/// The audience a `resource` parameter asks for (absolute URIs only, RFC 8707).
pub(super) fn resources(resource: Option<&str>) -> Result<Vec<String>> {
    match resource {
        None => Ok(Vec::new()),
        Some(resource) => {
            check_resource(resource)?;
            Ok(vec![resource.to_string()])
        }
    }
}

/// A resource indicator must be an absolute `https` URI without a fragment; `http` only for
/// loopback and private hosts.
pub fn check_resource(resource: &str) -> Result<()> {
    let invalid =
        |why: &str| ClusterError::oauth(ErrorCode::InvalidTarget, format!("resource {why}"));
    if resource.contains('#') {
        return Err(invalid("must not contain a fragment"));
    }
    let (scheme, rest) = resource
        .split_once("://")
        .ok_or_else(|| invalid("must be an absolute URI"))?;
    if rest.split(['/', '?']).next().unwrap_or("").contains('@') {
        return Err(invalid("must not contain user information"));
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        // An IPv6 literal: the host is what the brackets hold.
        Some(bracketed) => bracketed.split(']').next().unwrap_or(""),
        None => authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host),
    };
    match scheme {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_local_host(host) => Ok(()),
        "http" => Err(invalid(
            "must use https (http only for loopback and private hosts)",
        )),
        _ => Err(invalid("must be an https URI")),
    }
}

/// Loopback, private and link-local hosts.
pub(super) fn is_local_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    match host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => ip.is_loopback() || ip.is_private() || ip.is_link_local(),
        Ok(std::net::IpAddr::V6(ip)) => ip.is_loopback() || (ip.segments()[0] & 0xfe00) == 0xfc00,
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_loopback_hosts_count_as_local_with_or_without_a_port() {
        assert!(check_resource("http://[::1]/mcp").is_ok());
        assert!(check_resource("http://[::1]:8080/mcp").is_ok());
        assert!(check_resource("http://[fd00::1]/mcp").is_ok());
        assert!(check_resource("http://[2001:db8::1]/mcp").is_err());
    }

    #[test]
    fn resource_indicators_must_be_https_or_local_http() {
        assert!(check_resource("https://api.example.com/v1").is_ok());
        assert!(check_resource("http://127.0.0.1:9000/mcp").is_ok());
        assert!(check_resource("http://localhost/mcp").is_ok());
        assert!(check_resource("http://10.1.2.3/x").is_ok());
        assert!(check_resource("http://example.com/x").is_err());
        assert!(check_resource("https://example.com/x#frag").is_err());
        assert!(check_resource("urn:thing").is_err());
        assert!(check_resource("ftp://example.com").is_err());
    }
}
