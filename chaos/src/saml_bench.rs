//! The SAML side of `lumo-load`: `saml-sso`, SP-initiated sign-ons of a signed-in browser
//! (HTTP-Redirect binding), each answered with a response whose response and assertion are
//! both signed (RSA-SHA256) and an audit entry; counted per `SAMLResponse` received.

use std::io::Write;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumo_cluster::oauth::urlencode;
use serde_json::json;

use crate::oauth_bench::{Bounds, Issuer};
use crate::stats::ScenarioStats;

pub const SCENARIO: &str = "saml-sso";
const SP: &str = "https://sp.bench.example/metadata";
const ACS: &str = "https://sp.bench.example/acs";
const PASSWORD: &str = "Bench-password-0123456789";

/// A Redirect-binding `AuthnRequest` issued now.
fn request(seq: u64) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?;
    let at = time_text(now.as_secs());
    let xml = format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_bench{seq}" Version="2.0" "#,
            r#"IssueInstant="{at}" AssertionConsumerServiceURL="{acs}">"#,
            r#"<saml:Issuer>{sp}</saml:Issuer></samlp:AuthnRequest>"#
        ),
        seq = seq,
        at = at,
        acs = ACS,
        sp = SP,
    );
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(xml.as_bytes())?;
    Ok(urlencode(&STANDARD.encode(encoder.finish()?)))
}

/// `secs` since the epoch as an `xs:dateTime` (UTC).
fn time_text(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Registers the bench app and a user, and signs a browser in; answers its session cookie.
async fn set_up(issuer: &Issuer, run_id: u32) -> anyhow::Result<String> {
    let email = format!("saml-bench-{run_id}@bench.example");
    issuer
        .admin_send(
            reqwest::Method::POST,
            "/admin/users",
            json!({"email": email, "password": PASSWORD, "emailVerified": true}),
        )
        .await?;
    let apps = issuer
        .admin_send(
            reqwest::Method::GET,
            "/admin/saml/apps?limit=100",
            json!(null),
        )
        .await?;
    let registered = apps["data"]
        .as_array()
        .is_some_and(|all| all.iter().any(|app| app["entityId"] == SP));
    if !registered {
        issuer
            .admin_send(
                reqwest::Method::POST,
                "/admin/saml/apps",
                json!({"name": "Bench SP", "entityId": SP, "acsUrls": [ACS]}),
            )
            .await?;
    }
    let response = issuer
        .http
        .post(issuer.url("/oauth/login/json"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().is_success(),
        "login: {}",
        response.status()
    );
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("lumo_session="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no session cookie"))
}

/// Runs `saml-sso` against `issuer`'s org.
pub async fn run(
    issuer: Arc<Issuer>,
    bounds: Bounds,
    run_id: u32,
) -> anyhow::Result<ScenarioStats> {
    let session = set_up(&issuer, run_id).await?;
    let sso = issuer.issuer.replace("/api/v1", "/saml/idp/sso");
    Ok(crate::load::run(
        SCENARIO,
        bounds.concurrency,
        bounds.duration,
        bounds.max_ops,
        move |_, seq| {
            let issuer = issuer.clone();
            let url = request(seq).map(|r| format!("{sso}?SAMLRequest={r}"));
            let cookie = format!("lumo_session={session}");
            async move {
                let Ok(url) = url else { return false };
                let Ok(response) = issuer.http.get(url).header("cookie", cookie).send().await
                else {
                    return false;
                };
                response.status().is_success()
                    && response
                        .text()
                        .await
                        .is_ok_and(|page| page.contains("name=\"SAMLResponse\""))
            }
        },
    )
    .await)
}
