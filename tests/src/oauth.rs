//! OAuth test helpers: a cookie-keeping browser that does not follow redirects, form posts
//! with client authentication, PKCE, hidden-form parsing, and the whole sign-in dance.

use base64::Engine;
use lumo_cluster::crypto::{JwsAlg, decoding_key_of};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::http::Reply;
use crate::{ADMIN_KEY, Api, ORG};

/// A redirect-free HTTP client that keeps cookies like a browser (per name, last wins).
pub struct Browser {
    client: reqwest::Client,
    cookies: Vec<(String, String)>,
}

/// A response seen by the browser.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The JSON body.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

impl Default for Browser {
    fn default() -> Self {
        Self::new()
    }
}

impl Browser {
    pub fn new() -> Self {
        Browser {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            cookies: Vec::new(),
        }
    }

    /// The value of a cookie the server set.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or removes, with an empty value) a cookie.
    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.retain(|(n, _)| n != name);
        if !value.is_empty() {
            self.cookies.push((name.to_string(), value.to_string()));
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let cookie_header = self
            .cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie_header.is_empty() {
            request
        } else {
            request.header("Cookie", cookie_header)
        };
        let response = request.send().await?;
        for value in response.headers().get_all("set-cookie") {
            let text = value.to_str().unwrap_or("");
            let pair = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = pair.split_once('=') {
                let expired = text.contains("Max-Age=0");
                self.set_cookie(name.trim(), if expired { "" } else { value.trim() });
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await?;
        Ok(Page {
            status,
            location,
            body,
            headers,
        })
    }

    pub async fn get(&mut self, url: &str) -> anyhow::Result<Page> {
        let request = self.client.get(url);
        self.send(request).await
    }

    pub async fn post_form(
        &mut self,
        url: &str,
        fields: &[(String, String)],
    ) -> anyhow::Result<Page> {
        let request = self.client.post(url).form(fields);
        self.send(request).await
    }

    pub async fn post_json(&mut self, url: &str, body: Value) -> anyhow::Result<Page> {
        let request = self.client.post(url).json(&body);
        self.send(request).await
    }
}

/// Opens the hosted page at `link` in a fresh browser and submits its first form, with
/// `fields` set (replacing inputs of the same name); answers the page the form led to.
pub async fn submit_page_form(
    base: &str,
    link: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<Page> {
    let mut browser = Browser::new();
    let page = browser.get(link).await?;
    anyhow::ensure!(page.status == 200, "{} {}", page.status, page.body);
    let (action, mut inputs) = form(&page.body).ok_or_else(|| anyhow::anyhow!("no form"))?;
    for (name, value) in fields {
        inputs.retain(|(input, _)| input != name);
        inputs.push(((*name).to_string(), (*value).to_string()));
    }
    browser.post_form(&format!("{base}{action}"), &inputs).await
}

/// The first `<form>` of a page: its action and its inputs (name, value).
pub fn form(html: &str) -> Option<(String, Vec<(String, String)>)> {
    let start = html.find("<form")?;
    let end = html[start..].find("</form>")? + start;
    let form = &html[start..end];
    let action = attribute(form, "action")?;
    let mut inputs = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input") {
        let tag_end = rest[at..].find('>').map(|e| at + e)?;
        let tag = &rest[at..tag_end];
        if let Some(name) = attribute(tag, "name") {
            inputs.push((name, attribute(tag, "value").unwrap_or_default()));
        }
        rest = &rest[tag_end..];
    }
    Some((unescape(&action), inputs))
}

/// The first `name="…"` attribute in `tag` (a tag, or a whole page), unescaped.
pub fn attribute(tag: &str, name: &str) -> Option<String> {
    let needle = format!("{name}=\"");
    let start = tag.find(&needle)? + needle.len();
    let end = tag[start..].find('"')? + start;
    Some(unescape(&tag[start..end]))
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#x2f;", "/")
        .replace("&#x2F;", "/")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("v{}", "x".repeat(10)) + &lumo_cluster::crypto::random_token("", 32);
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| {
            let v = v.replace('+', " ");
            percent_decode(&v)
        })
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        if let Some(b) = escaped {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The claims of a JWT, unverified.
pub fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap_or("");
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(Value::Null)
}

/// The protocol side of one org: form posts with client authentication.
pub struct Oauth {
    pub base: String,
    pub org: String,
    client: reqwest::Client,
}

impl Oauth {
    pub fn new(base: &str) -> Self {
        Self::for_org(base, ORG)
    }

    pub fn for_org(base: &str, org: &str) -> Self {
        Oauth {
            base: base.to_string(),
            org: org.to_string(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
        }
    }

    /// The issuer.
    pub fn issuer(&self) -> String {
        format!("{}/orgs/{}/api/v1", self.base, self.org)
    }

    /// An org URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer())
    }

    /// Form POST to `path`, with HTTP Basic when `basic` is given.
    pub async fn post(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        basic: Option<(&str, &str)>,
    ) -> anyhow::Result<Reply> {
        let mut request = self.client.post(self.url(path)).form(fields);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        crate::http::read(request.send().await?).await
    }

    /// GET with a bearer token.
    pub async fn get_bearer(&self, path: &str, token: &str) -> anyhow::Result<Reply> {
        crate::http::raw_request(
            Method::GET,
            &self.url(path),
            &[("Authorization", &format!("Bearer {token}"))],
            None,
        )
        .await
    }

    /// `client_credentials` for a confidential client.
    pub async fn client_credentials(
        &self,
        client: &Client,
        scope: Option<&str>,
    ) -> anyhow::Result<Reply> {
        let mut fields = vec![("grant_type", "client_credentials")];
        if let Some(scope) = scope {
            fields.push(("scope", scope));
        }
        self.post("/oauth/token", &fields, basic(client)).await
    }

    /// Introspects `token` as `client`; returns `active`.
    pub async fn active(&self, client: &Client, token: &str) -> anyhow::Result<bool> {
        let reply = self
            .post("/oauth/introspect", &[("token", token)], basic(client))
            .await?;
        anyhow::ensure!(reply.status == 200, "introspect: {}", reply.text);
        Ok(reply.body["active"] == true)
    }
}

/// HTTP Basic credentials of `client` (empty secret for public clients).
pub fn basic(client: &Client) -> Option<(&str, &str)> {
    Some((client.id.as_str(), client.secret.as_deref().unwrap_or("")))
}

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub id: String,
    pub secret: Option<String>,
    pub redirect_uri: String,
}

/// The redirect URI test clients register (nothing listens there; tests read `Location`).
pub const REDIRECT_URI: &str = "http://127.0.0.1:9/cb";

/// Creates a client with `body` merged over sensible defaults.
pub async fn create_client(api: &Api, body: Value) -> anyhow::Result<Client> {
    let mut request = json!({
        "name": "Test app",
        "redirectUris": [REDIRECT_URI],
        "postLogoutRedirectUris": ["http://127.0.0.1:9/bye"],
        "grantTypes": ["authorization_code", "refresh_token", "client_credentials"],
        "allowedScopes": ["openid", "profile", "email", "offline_access"],
    });
    if let (Value::Object(base), Value::Object(extra)) = (&mut request, body) {
        base.extend(extra);
    }
    let reply = api.post("/admin/clients", request).await?;
    anyhow::ensure!(reply.status == 201, "create client: {}", reply.text);
    Ok(Client {
        id: reply.data()["clientId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        secret: reply.data()["secret"].as_str().map(str::to_string),
        redirect_uri: REDIRECT_URI.to_string(),
    })
}

/// Creates a user with a password; returns its id.
pub async fn create_user(api: &Api, email: &str, password: &str) -> anyhow::Result<String> {
    let reply = api
        .post(
            "/admin/users",
            json!({"email": email, "password": password, "name": "Test User", "emailVerified": true}),
        )
        .await?;
    anyhow::ensure!(reply.status == 201, "create user: {}", reply.text);
    Ok(reply.data()["id"].as_str().unwrap_or_default().to_string())
}

/// An authorization request: the parameters and the PKCE verifier.
pub struct AuthRequest {
    pub params: Vec<(String, String)>,
    pub verifier: String,
    pub state: String,
    pub nonce: String,
}

impl AuthRequest {
    pub fn new(client: &Client, scope: &str) -> Self {
        let (verifier, challenge) = pkce();
        let state = lumo_cluster::crypto::random_token("", 8);
        let nonce = lumo_cluster::crypto::random_token("", 8);
        let params = vec![
            ("response_type".into(), "code".into()),
            ("client_id".into(), client.id.clone()),
            ("redirect_uri".into(), client.redirect_uri.clone()),
            ("scope".into(), scope.into()),
            ("state".into(), state.clone()),
            ("nonce".into(), nonce.clone()),
            ("code_challenge".into(), challenge),
            ("code_challenge_method".into(), "S256".into()),
        ];
        AuthRequest {
            params,
            verifier,
            state,
            nonce,
        }
    }

    /// Adds or replaces a parameter.
    pub fn with(mut self, name: &str, value: &str) -> Self {
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.into(), value.into()));
        self
    }

    /// The authorization URL.
    pub fn url(&self, oauth: &Oauth) -> String {
        let query = self
            .params
            .iter()
            .map(|(k, v)| format!("{k}={}", lumo_cluster::oauth::urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{}?{query}", oauth.url("/oauth/authorize"))
    }
}

/// Signs in through the hosted login page (answering consent with `allow`) and returns the
/// final redirect to the client.
pub async fn sign_in(
    browser: &mut Browser,
    oauth: &Oauth,
    request: &AuthRequest,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    let page = browser.get(&request.url(oauth)).await?;
    drive(browser, &oauth.base, page, email, password).await
}

/// From `page`, follows redirects on `base`, fills login forms with `email` and `password`
/// and allows consent, until the browser is sent off `base` (to the client); returns where.
pub async fn drive(
    browser: &mut Browser,
    base: &str,
    mut page: Page,
    email: &str,
    password: &str,
) -> anyhow::Result<String> {
    for _ in 0..10 {
        if let Some(location) = &page.location {
            if !location.starts_with(base) && !location.starts_with('/') {
                return Ok(location.clone());
            }
            let url = if location.starts_with('/') {
                format!("{base}{location}")
            } else {
                location.clone()
            };
            page = browser.get(&url).await?;
            continue;
        }
        anyhow::ensure!(page.status == 200, "page {}: {}", page.status, page.body);
        let (action, mut fields) =
            form(&page.body).ok_or_else(|| anyhow::anyhow!("no form in {}", page.body))?;
        if fields.iter().any(|(n, _)| n == "password") {
            for (name, value) in fields.iter_mut() {
                match name.as_str() {
                    "email" => *value = email.to_string(),
                    "password" => *value = password.to_string(),
                    _ => {}
                }
            }
        } else {
            fields.push(("consent".into(), "allow".into()));
        }
        page = browser
            .post_form(&format!("{base}{action}"), &fields)
            .await?;
    }
    anyhow::bail!("sign-in did not finish: {} {}", page.status, page.body)
}

/// Opens `request`, fills the login form with `email` and `password` and submits it; answers
/// the page that follows (the org-select or second-factor page, or a redirect to the client).
pub async fn submit_password(
    browser: &mut Browser,
    oauth: &Oauth,
    request: &AuthRequest,
    email: &str,
    password: &str,
) -> anyhow::Result<Page> {
    let page = browser.get(&request.url(oauth)).await?;
    let page = follow(browser, oauth, page).await?;
    let (action, mut fields) =
        form(&page.body).ok_or_else(|| anyhow::anyhow!("no login form: {}", page.body))?;
    for (name, value) in fields.iter_mut() {
        match name.as_str() {
            "email" => *value = email.to_string(),
            "password" => *value = password.to_string(),
            _ => {}
        }
    }
    let page = browser
        .post_form(&format!("{}{action}", oauth.base), &fields)
        .await?;
    follow(browser, oauth, page).await
}

/// Follows same-origin redirects until a page with a form, or a redirect to the client.
pub async fn follow(browser: &mut Browser, oauth: &Oauth, mut page: Page) -> anyhow::Result<Page> {
    for _ in 0..8 {
        let Some(location) = page.location.clone() else {
            return Ok(page);
        };
        if !location.starts_with('/') && !location.starts_with(&oauth.base) {
            return Ok(page);
        }
        let url = if location.starts_with('/') {
            format!("{}{location}", oauth.base)
        } else {
            location
        };
        page = browser.get(&url).await?;
    }
    anyhow::bail!("too many redirects")
}

/// Exchanges the code in `redirect` for tokens.
pub async fn exchange(
    oauth: &Oauth,
    client: &Client,
    request: &AuthRequest,
    redirect: &str,
) -> anyhow::Result<Reply> {
    let code =
        query_param(redirect, "code").ok_or_else(|| anyhow::anyhow!("no code in {redirect}"))?;
    let mut fields = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", client.redirect_uri.as_str()),
        ("code_verifier", request.verifier.as_str()),
    ];
    match &client.secret {
        Some(secret) => {
            oauth
                .post("/oauth/token", &fields, Some((&client.id, secret)))
                .await
        }
        None => {
            fields.push(("client_id", client.id.as_str()));
            oauth.post("/oauth/token", &fields, None).await
        }
    }
}

/// The admin API of the bootstrap org.
pub fn admin(base: &str) -> Api {
    Api::new(base, ORG, ADMIN_KEY)
}

/// Verifies `jwt` with the key its `kid` names in the issuer's JWKS; returns the claims.
pub async fn verify_with_jwks(oauth: &Oauth, jwt: &str) -> anyhow::Result<Value> {
    let jwks: Value = reqwest::get(oauth.url("/.well-known/jwks.json"))
        .await?
        .json()
        .await?;
    let header = jsonwebtoken::decode_header(jwt)?;
    let kid = header.kid.ok_or_else(|| anyhow::anyhow!("no kid"))?;
    let jwk = jwks["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .ok_or_else(|| anyhow::anyhow!("kid {kid} not in JWKS"))?;
    let alg =
        JwsAlg::parse(jwk["alg"].as_str().unwrap_or("")).ok_or_else(|| anyhow::anyhow!("alg"))?;
    let key = decoding_key_of(alg, jwk).map_err(|e| anyhow::anyhow!(e))?;
    let mut validation = jsonwebtoken::Validation::new(alg.algorithm());
    validation.validate_aud = false;
    Ok(jsonwebtoken::decode::<Value>(jwt, &key, &validation)?.claims)
}

/// A browser signed in to the org through `POST ~/oauth/login/json`.
pub async fn signed_in(oauth: &Oauth, email: &str, password: &str) -> anyhow::Result<Browser> {
    let mut browser = Browser::new();
    let page = browser
        .post_json(
            &oauth.url("/oauth/login/json"),
            json!({"email": email, "password": password}),
        )
        .await?;
    anyhow::ensure!(page.status == 200, "login: {} {}", page.status, page.body);
    anyhow::ensure!(
        browser.cookie("lumo_session").is_some(),
        "no session cookie"
    );
    Ok(browser)
}

/// Answers the decision form on `page` (device or CIBA approval) with `decision`.
pub async fn decide(
    browser: &mut Browser,
    oauth: &Oauth,
    page: &Page,
    decision: &str,
) -> anyhow::Result<Page> {
    let (action, mut fields) =
        form(&page.body).ok_or_else(|| anyhow::anyhow!("no form in {}", page.body))?;
    fields.push(("decision".into(), decision.into()));
    let url = if action.starts_with('/') {
        format!("{}{action}", oauth.base)
    } else {
        action
    };
    browser.post_form(&url, &fields).await
}
