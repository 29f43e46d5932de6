//! Cookies of the hosted pages: the session cookie, the CSRF double-submit cookie and the OP
//! browser state for session management. All are scoped to the org's path.

use axum::http::{HeaderMap, HeaderValue, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The browser session (HttpOnly).
pub const SESSION_COOKIE: &str = "lumo_session";
/// The CSRF token forms echo back (HttpOnly; the form carries a copy).
pub const CSRF_COOKIE: &str = "lumo_csrf";
/// OP browser state, readable by the check_session iframe (OIDC Session Management).
pub const OBS_COOKIE: &str = "lumo_obs";
/// The sign-in waiting for its second factor (`challenge id.secret`).
pub const MFA_COOKIE: &str = "lumo_mfa";
/// A device the user chose to trust (`device id.secret`): sign-ins skip the second factor.
pub const DEVICE_COOKIE: &str = "lumo_device";
/// A social login on its way to the upstream provider (`sls_….secret`).
pub const SOCIAL_COOKIE: &str = "lumo_social";
/// Binds a login through an upstream SAML IdP to the browser that started it.
pub const SAML_SP_COOKIE: &str = "lumo_saml_sp";

/// The cookies a request carried.
#[derive(Debug, Clone, Default)]
pub struct Browser {
    cookies: Vec<(String, String)>,
}

impl Browser {
    /// Reads the `Cookie` headers.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut cookies = Vec::new();
        for value in headers.get_all(header::COOKIE) {
            let Ok(text) = value.to_str() else { continue };
            for pair in text.split(';') {
                if let Some((name, value)) = pair.trim().split_once('=') {
                    cookies.push((name.trim().to_string(), value.trim().to_string()));
                }
            }
        }
        Browser { cookies }
    }

    /// The value of cookie `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, v)| n == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }
}

/// How cookies are written for one org.
#[derive(Debug, Clone)]
pub struct CookieJar {
    pub path: String,
    pub secure: bool,
}

impl CookieJar {
    fn build(&self, name: &str, value: &str, max_age: Option<u64>, http_only: bool) -> HeaderValue {
        self.build_for(name, value, max_age, http_only, "Lax")
    }

    fn build_for(
        &self,
        name: &str,
        value: &str,
        max_age: Option<u64>,
        http_only: bool,
        same_site: &str,
    ) -> HeaderValue {
        let mut cookie = format!("{name}={value}; Path={}; SameSite={same_site}", self.path);
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        if http_only {
            cookie.push_str("; HttpOnly");
        }
        if self.secure {
            cookie.push_str("; Secure");
        }
        HeaderValue::from_str(&cookie).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// Sets the session cookie (and the browser state the session-check iframe reads).
    pub fn session(&self, secret: &str, max_age: u64) -> [HeaderValue; 2] {
        [
            self.build(SESSION_COOKIE, secret, Some(max_age), true),
            self.build(
                OBS_COOKIE,
                &browser_state(Some(secret)),
                Some(max_age),
                false,
            ),
        ]
    }

    /// Clears the session cookies.
    pub fn end_session(&self) -> [HeaderValue; 2] {
        [
            self.build(SESSION_COOKIE, "", Some(0), true),
            self.build(OBS_COOKIE, &browser_state(None), Some(0), false),
        ]
    }

    /// Sets (or, with `max_age` 0, clears) the pending second-factor cookie.
    pub fn mfa(&self, value: &str, max_age: u64) -> HeaderValue {
        self.build(MFA_COOKIE, value, Some(max_age), true)
    }

    /// Sets (or, with `max_age` 0, clears) the cookie binding a social login to this browser.
    /// Over https it is `SameSite=None`, so a provider that posts its answer back (Apple's
    /// `form_post`) still brings it; the login it names is single use and short lived.
    pub fn social(&self, value: &str, max_age: u64) -> HeaderValue {
        let same_site = if self.secure { "None" } else { "Lax" };
        self.build_for(SOCIAL_COOKIE, value, Some(max_age), true, same_site)
    }

    /// Sets (or clears) the cookie binding a SAML login to this browser; `SameSite=None` over
    /// https, as the IdP posts its response back.
    pub fn saml_sp(&self, value: &str, max_age: u64) -> HeaderValue {
        let same_site = if self.secure { "None" } else { "Lax" };
        self.build_for(SAML_SP_COOKIE, value, Some(max_age), true, same_site)
    }

    /// Sets the trusted-device cookie.
    pub fn trusted_device(&self, value: &str, max_age: u64) -> HeaderValue {
        self.build(DEVICE_COOKIE, value, Some(max_age), true)
    }

    /// Sets the CSRF cookie.
    pub fn csrf(&self, token: &str) -> HeaderValue {
        self.build(CSRF_COOKIE, token, Some(3600), true)
    }
}

/// The OP browser state for a session cookie (changes whenever the session does).
pub fn browser_state(session: Option<&str>) -> String {
    match session {
        Some(secret) => hex::encode(&Sha256::digest(format!("obs:{secret}").as_bytes())[..16]),
        None => "anonymous".to_string(),
    }
}

/// `session_state` for an authorization response (OIDC Session Management 1.0 section 3).
pub fn session_state(client_id: &str, redirect_uri: &str, session: &str) -> String {
    let origin = origin_of(redirect_uri);
    let salt = hex::encode(rand::random::<[u8; 8]>());
    let text = format!(
        "{client_id} {origin} {} {salt}",
        browser_state(Some(session))
    );
    format!("{}.{salt}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// `scheme://host[:port]` of a URL.
pub fn origin_of(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            format!("{scheme}://{host}")
        }
        None => String::new(),
    }
}

/// The CSRF token for this browser: the cookie's, or a new one to set.
pub fn csrf_token(browser: &Browser) -> (String, bool) {
    match browser.get(CSRF_COOKIE) {
        Some(token) if token.len() >= 20 && token.len() <= 100 => (token.to_string(), false),
        _ => (lumo_cluster::crypto::random_token("", 24), true),
    }
}

/// True when the form's token matches the cookie's.
pub fn csrf_ok(browser: &Browser, form_token: Option<&str>) -> bool {
    match (browser.get(CSRF_COOKIE), form_token) {
        (Some(cookie), Some(form)) if !cookie.is_empty() => {
            cookie.as_bytes().ct_eq(form.as_bytes()).into()
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_from_every_cookie_header() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; lumo_csrf=abc"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("lumo_session=s"));
        let browser = Browser::from_headers(&headers);
        assert_eq!(browser.get("lumo_csrf"), Some("abc"));
        assert_eq!(browser.get("lumo_session"), Some("s"));
        assert!(csrf_ok(&browser, Some("abc")));
        assert!(!csrf_ok(&browser, Some("abd")));
        assert!(!csrf_ok(&browser, None));
        assert!(!csrf_ok(&Browser::default(), Some("abc")));
    }

    #[test]
    fn session_state_is_hash_dot_salt() {
        let state = session_state("client", "https://rp.example/cb?x=1", "secret");
        let (hash, salt) = state.split_once('.').expect("dot");
        assert_eq!(hash.len(), 64);
        assert_eq!(salt.len(), 16);
        assert_eq!(
            origin_of("https://rp.example:8443/cb"),
            "https://rp.example:8443"
        );
    }
}
