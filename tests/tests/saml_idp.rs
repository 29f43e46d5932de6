//! The SAML identity provider from outside, with hand-made requests (the protocol conformance
//! against a real SAML service provider is `tests/python/test_saml_idp.py`, with pysaml2):
//! metadata and the signing certificate, a sign-on through the hosted login and the response
//! it posts, IdP-initiated sign-on, single logout, and every refusal (unknown issuer, foreign
//! org, unregistered ACS, stale or future requests, unsigned or badly signed requests,
//! undecodable messages, DTDs with external or expanding entities) ending on an error page
//! that sends nothing to the service provider. And service provider mode, with a second org of
//! the same `lumod` as the upstream IdP: each registers the other from its metadata, and a user
//! of the IdP org signs in to an OAuth client of the SP org (provisioned, linked), while
//! tampered, commented, replayed or misdirected responses are refused.

use std::io::Write;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use lumo_cluster::oauth::urlencode;
use lumo_tests::TestNode;
use lumo_tests::http::Api;
use lumo_tests::oauth::{
    AuthRequest, Browser, Oauth, create_client, create_user, drive, exchange, form, query_param,
    signed_in, verify_with_jwks,
};
use serde_json::json;

const PASSWORD: &str = "Correct-horse-battery-9";
const SP: &str = "https://sp.example.test/metadata";
const ACS: &str = "https://sp.example.test/acs";
const SLO: &str = "https://sp.example.test/slo";

struct World {
    node: TestNode,
    api: Api,
    oauth: Oauth,
    org: String,
    app: u64,
}

async fn world() -> anyhow::Result<World> {
    let node = TestNode::start().await?;
    let org = "saml-co".to_string();
    let key = node.create_org(&org).await?;
    let api = node.api_for(&org, &key);
    let oauth = Oauth::for_org(&node.http, &org);
    create_user(&api, "ada@saml.test", PASSWORD).await?;
    let app = api
        .post(
            "/admin/saml/apps",
            json!({"name": "Payroll", "entityId": SP, "acsUrls": [ACS], "sloUrl": SLO,
                   "allowIdpInitiated": true,
                   "attributeMapping": {"mail": "email", "uid": "id"}}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    Ok(World {
        node,
        api,
        oauth,
        org,
        app,
    })
}

fn idp(world: &World, route: &str) -> String {
    format!("{}/orgs/{}/saml/idp{route}", world.node.http, world.org)
}

fn instant(offset_secs: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(offset_secs);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    )
}

fn authn_request(id: &str, issuer: &str, acs: &str, issued_offset: i64) -> String {
    format!(
        concat!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" "#,
            r#"IssueInstant="{at}" AssertionConsumerServiceURL="{acs}" "#,
            r#"ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer></samlp:AuthnRequest>"#
        ),
        id = id,
        at = instant(issued_offset),
        acs = acs,
        issuer = issuer,
    )
}

fn logout_request(id: &str, issuer: &str) -> String {
    format!(
        concat!(
            r#"<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" "#,
            r#"xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id}" Version="2.0" IssueInstant="{at}">"#,
            r#"<saml:Issuer>{issuer}</saml:Issuer><saml:NameID>ada@saml.test</saml:NameID></samlp:LogoutRequest>"#
        ),
        id = id,
        at = instant(0),
        issuer = issuer,
    )
}

/// The Redirect binding's encoding: DEFLATE, base64, URL-encoded.
fn redirect_encoded(xml: &str) -> String {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(xml.as_bytes());
    urlencode(&STANDARD.encode(encoder.finish().unwrap_or_default()))
}

fn sso_url(world: &World, xml: &str, relay: &str) -> String {
    format!(
        "{}?SAMLRequest={}&RelayState={}",
        idp(world, "/sso"),
        redirect_encoded(xml),
        urlencode(relay)
    )
}

/// The auto-submitting form's action and fields.
fn posted(html: &str) -> Option<(String, String, Option<String>)> {
    let (action, fields) = form(html)?;
    let field = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    Some((action, field("SAMLResponse")?, field("RelayState")))
}

fn decoded(response: &str) -> String {
    String::from_utf8(STANDARD.decode(response).unwrap_or_default()).unwrap_or_default()
}

/// A refusal: an error page, and nothing for the service provider.
fn assert_refused(page: &lumo_tests::oauth::Page, why: &str) {
    assert_eq!(page.status, 400, "{why}: {}", page.body);
    assert!(page.location.is_none(), "{why}: redirected");
    assert!(!page.body.contains("SAMLResponse"), "{why}: {}", page.body);
    assert!(!page.body.contains(ACS), "{why}: {}", page.body);
}

#[tokio::test]
async fn metadata_publishes_one_stable_signing_certificate() -> anyhow::Result<()> {
    let world = world().await?;
    let mut browser = Browser::new();
    let page = browser.get(&idp(&world, "/metadata")).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(
        page.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/samlmetadata+xml")
    );
    let entity = idp(&world, "/metadata");
    assert!(
        page.body.contains(&format!(r#"entityID="{entity}""#)),
        "{}",
        page.body
    );
    assert!(
        page.body
            .contains(&format!(r#"Location="{}""#, idp(&world, "/sso")))
    );
    assert!(
        page.body
            .contains(&format!(r#"Location="{}""#, idp(&world, "/slo")))
    );
    let cert = page
        .body
        .split("<ds:X509Certificate>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap_or_default()
        .to_string();
    assert!(
        STANDARD.decode(&cert).is_ok_and(|der| der.len() > 500),
        "{cert}"
    );
    let again = browser.get(&idp(&world, "/metadata")).await?;
    assert!(again.body.contains(&cert), "the certificate changed");
    let described = world.api.get("/admin/saml/idp").await?.expect(200);
    assert_eq!(described.data()["entityId"], entity.as_str());
    let pem: String = described.data()["certificate"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(pem, cert);
    // The docs' spelling reaches the same document.
    let alias = browser
        .get(&format!(
            "{}/t/{}/saml/idp/metadata",
            world.node.http, world.org
        ))
        .await?;
    assert_eq!(alias.status, 307);
    assert_eq!(
        alias.location.as_deref(),
        Some(format!("/orgs/{}/saml/idp/metadata", world.org).as_str())
    );
    Ok(())
}

#[tokio::test]
async fn sign_on_goes_through_the_login_and_posts_a_signed_response() -> anyhow::Result<()> {
    let world = world().await?;
    let url = sso_url(&world, &authn_request("_req1", SP, ACS, 0), "rs-1");
    // Signed out: the hosted login form, which comes back here.
    let mut browser = Browser::new();
    let login = browser.get(&url).await?;
    assert_eq!(login.status, 200, "{}", login.body);
    let (action, fields) = form(&login.body).ok_or_else(|| anyhow::anyhow!("no login form"))?;
    assert!(action.ends_with("/oauth/login/submit"), "{action}");
    let mut fields: Vec<(String, String)> = fields
        .into_iter()
        .filter(|(n, _)| n != "email" && n != "password")
        .collect();
    fields.push(("email".into(), "ada@saml.test".into()));
    fields.push(("password".into(), PASSWORD.into()));
    let signed = browser
        .post_form(&format!("{}{action}", world.node.http), &fields)
        .await?;
    let back = signed
        .location
        .ok_or_else(|| anyhow::anyhow!("login did not redirect: {}", signed.body))?;
    assert!(
        back.starts_with(&format!("/orgs/{}/saml/idp/sso?", world.org)),
        "{back}"
    );
    let page = browser.get(&format!("{}{back}", world.node.http)).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    let (action, response, relay) =
        posted(&page.body).ok_or_else(|| anyhow::anyhow!("no response form: {}", page.body))?;
    assert_eq!(action, ACS);
    assert_eq!(relay.as_deref(), Some("rs-1"));
    let xml = decoded(&response);
    for expected in [
        r#"InResponseTo="_req1""#,
        &format!(r#"Destination="{ACS}""#),
        &format!(r#"Recipient="{ACS}""#),
        &format!("<saml:Audience>{SP}</saml:Audience>"),
        &format!("<saml:Issuer>{}</saml:Issuer>", idp(&world, "/metadata")),
        ">ada@saml.test</saml:NameID>",
        r#"<saml:Attribute Name="mail""#,
        r#"<saml:Attribute Name="uid""#,
        "urn:oasis:names:tc:SAML:2.0:status:Success",
    ] {
        assert!(xml.contains(expected), "{expected} missing from {xml}");
    }
    // Response and assertion are both signed (the default), with filled-in values.
    assert_eq!(xml.matches("<ds:SignatureValue>").count(), 2, "{xml}");
    assert!(
        !xml.contains("<ds:SignatureValue></ds:SignatureValue>"),
        "{xml}"
    );
    // Signed in now: the next request is answered at once, over the POST binding too.
    let encoded = STANDARD.encode(authn_request("_req2", SP, ACS, 0));
    let again = browser
        .post_form(
            &idp(&world, "/sso"),
            &[
                ("SAMLRequest".into(), encoded),
                ("RelayState".into(), "rs-2".into()),
            ],
        )
        .await?;
    let (_, response, relay) =
        posted(&again.body).ok_or_else(|| anyhow::anyhow!("no form: {}", again.body))?;
    assert_eq!(relay.as_deref(), Some("rs-2"));
    assert!(decoded(&response).contains(r#"InResponseTo="_req2""#));
    // The sign-on is in the audit trail.
    let audit = world
        .api
        .get("/admin/audit-logs?limit=100")
        .await?
        .expect(200);
    assert!(audit.text.contains("saml.sso"), "{}", audit.text);
    Ok(())
}

#[tokio::test]
async fn idp_initiated_sign_on_and_single_logout() -> anyhow::Result<()> {
    let world = world().await?;
    let mut browser = signed_in(&world.oauth, "ada@saml.test", PASSWORD).await?;
    let page = browser
        .get(&format!(
            "{}?RelayState=%2Fhome",
            idp(&world, &format!("/init/{}", world.app))
        ))
        .await?;
    let (action, response, relay) =
        posted(&page.body).ok_or_else(|| anyhow::anyhow!("no form: {}", page.body))?;
    assert_eq!(action, ACS);
    assert_eq!(relay.as_deref(), Some("/home"));
    assert!(!decoded(&response).contains("InResponseTo"));
    // An app that does not allow it refuses.
    world
        .api
        .patch(
            &format!("/admin/saml/apps/{}", world.app),
            json!({"allowIdpInitiated": false}),
        )
        .await?
        .expect(200);
    let refused = browser
        .get(&idp(&world, &format!("/init/{}", world.app)))
        .await?;
    assert_refused(&refused, "IdP-initiated, not allowed");
    // Single logout: the session ends and the SP gets a signed LogoutResponse.
    let url = format!(
        "{}?SAMLRequest={}&RelayState=bye",
        idp(&world, "/slo"),
        redirect_encoded(&logout_request("_lo1", SP))
    );
    let out = browser.get(&url).await?;
    assert_eq!(out.status, 302, "{}", out.body);
    let location = out.location.unwrap_or_default();
    assert!(
        location.starts_with(&format!("{SLO}?SAMLResponse=")),
        "{location}"
    );
    assert_eq!(query_param(&location, "RelayState").as_deref(), Some("bye"));
    assert!(query_param(&location, "Signature").is_some_and(|s| s.len() > 100));
    assert_eq!(
        query_param(&location, "SigAlg").as_deref(),
        Some("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256")
    );
    assert!(browser.cookie("lumo_session").is_none());
    let login = browser
        .get(&sso_url(&world, &authn_request("_req3", SP, ACS, 0), "x"))
        .await?;
    assert_eq!(login.status, 200);
    assert!(
        posted(&login.body).is_none(),
        "still signed in: {}",
        login.body
    );
    Ok(())
}

#[tokio::test]
async fn refused_requests_send_nothing_to_the_service_provider() -> anyhow::Result<()> {
    let world = world().await?;
    let other_key = world.node.create_org("other-co").await?;
    let other = world.node.api_for("other-co", &other_key);
    other
        .post(
            "/admin/saml/apps",
            json!({"name": "Theirs", "entityId": "https://theirs.test/sp", "acsUrls": ["https://theirs.test/acs"]}),
        )
        .await?
        .expect(201);
    let mut browser = signed_in(&world.oauth, "ada@saml.test", PASSWORD).await?;
    let sso = idp(&world, "/sso");
    let xxe = format!(
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>{}"#,
        authn_request("_x", SP, ACS, 0).replace("<saml:Issuer>", "<saml:Issuer>&x;")
    );
    let laughs = format!(
        r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>{}"#,
        authn_request("_l", SP, ACS, 0).replace("<saml:Issuer>", "<saml:Issuer>&c;")
    );
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown issuer",
            sso_url(
                &world,
                &authn_request("_a", "https://nobody.test", ACS, 0),
                "",
            ),
        ),
        (
            "another org's app",
            sso_url(
                &world,
                &authn_request("_b", "https://theirs.test/sp", "https://theirs.test/acs", 0),
                "",
            ),
        ),
        (
            "unregistered ACS",
            sso_url(
                &world,
                &authn_request("_c", SP, "https://evil.test/acs", 0),
                "",
            ),
        ),
        (
            "issued in the future",
            sso_url(&world, &authn_request("_d", SP, ACS, 3600), ""),
        ),
        (
            "issued long ago",
            sso_url(&world, &authn_request("_e", SP, ACS, -7200), ""),
        ),
        ("external entity", sso_url(&world, &xxe, "")),
        ("entity expansion", sso_url(&world, &laughs, "")),
        ("not base64", format!("{sso}?SAMLRequest=%%%%")),
        (
            "not deflated",
            format!("{sso}?SAMLRequest={}", urlencode(&STANDARD.encode("<x/>"))),
        ),
        ("not a request", sso_url(&world, "<hello/>", "")),
        ("no request", sso.clone()),
    ];
    for (why, url) in cases {
        let page = browser.get(&url).await?;
        assert_refused(&page, why);
    }
    // A request that must be signed: unsigned, or with a signature that does not verify.
    let cert = world.api.get("/admin/saml/idp").await?.expect(200).data()["certificate"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    world
        .api
        .patch(
            &format!("/admin/saml/apps/{}", world.app),
            json!({"wantAuthnRequestsSigned": true, "spCertificate": cert}),
        )
        .await?
        .expect(200);
    let unsigned = browser
        .get(&sso_url(&world, &authn_request("_f", SP, ACS, 0), ""))
        .await?;
    assert_refused(&unsigned, "unsigned");
    let forged = format!(
        "{sso}?SAMLRequest={}&SigAlg={}&Signature={}",
        redirect_encoded(&authn_request("_g", SP, ACS, 0)),
        urlencode("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
        urlencode(&STANDARD.encode([7u8; 256]))
    );
    assert_refused(&browser.get(&forged).await?, "forged signature");
    let sha1 = format!(
        "{sso}?SAMLRequest={}&SigAlg={}&Signature={}",
        redirect_encoded(&authn_request("_h", SP, ACS, 0)),
        urlencode("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
        urlencode(&STANDARD.encode([7u8; 256]))
    );
    assert_refused(&browser.get(&sha1).await?, "RSA-SHA1");
    // A disabled app.
    world
        .api
        .patch(
            &format!("/admin/saml/apps/{}", world.app),
            json!({"enabled": false, "wantAuthnRequestsSigned": false}),
        )
        .await?
        .expect(200);
    let disabled = browser
        .get(&sso_url(&world, &authn_request("_i", SP, ACS, 0), ""))
        .await?;
    assert_refused(&disabled, "disabled app");
    Ok(())
}

/// A change made to a response after the IdP signed it.
type Tamper = Box<dyn Fn(String) -> String>;

/// The SP org `app` uses the IdP org `corp` (the `World`'s org) as its upstream SAML IdP.
struct Federation {
    world: World,
    app: Api,
    app_oauth: Oauth,
    idp_id: u64,
    /// The SP org as an app of the IdP org.
    sp_app: u64,
}

async fn federation(jit: bool) -> anyhow::Result<Federation> {
    let world = world().await?;
    let key = world.node.create_org("app").await?;
    let app = world.node.api_for("app", &key);
    let app_oauth = Oauth::for_org(&world.node.http, "app");
    let mut browser = Browser::new();
    let sp_metadata = browser
        .get(&format!("{}/orgs/app/saml/sp/metadata", world.node.http))
        .await?;
    assert_eq!(sp_metadata.status, 200, "{}", sp_metadata.body);
    assert!(sp_metadata.body.contains(r#"AuthnRequestsSigned="true""#));
    // The IdP registers the SP from its metadata: its requests must be signed with the cert.
    let registered = world
        .api
        .post(
            "/admin/saml/apps",
            json!({"name": "App org", "metadataXml": sp_metadata.body}),
        )
        .await?
        .expect(201);
    assert_eq!(registered.data()["wantAuthnRequestsSigned"], true);
    let sp_app = registered.data()["id"].as_u64().unwrap_or_default();
    assert_eq!(
        registered.data()["acsUrls"][0],
        format!("{}/orgs/app/saml/sp/acs", world.node.http).as_str()
    );
    let idp_metadata = browser.get(&idp(&world, "/metadata")).await?;
    let idp_id = app
        .post(
            "/admin/saml/idps",
            json!({"name": "Corp", "metadataXml": idp_metadata.body, "jitProvisioning": jit}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    Ok(Federation {
        world,
        app,
        app_oauth,
        idp_id,
        sp_app,
    })
}

/// From the SP org's login link through the IdP org (signed in there) to the page the IdP
/// posts back: the ACS URL and the form's fields.
async fn to_the_acs(
    fed: &Federation,
    browser: &mut Browser,
    query: &str,
) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let base = &fed.world.node.http;
    let leave = browser
        .get(&format!(
            "{base}/orgs/app/saml/sp/login/{}?{query}",
            fed.idp_id
        ))
        .await?;
    assert_eq!(leave.status, 302, "{}", leave.body);
    let upstream = leave.location.unwrap_or_default();
    assert!(
        upstream.starts_with(&idp(&fed.world, "/sso?SAMLRequest=")),
        "{upstream}"
    );
    assert!(query_param(&upstream, "Signature").is_some());
    assert!(browser.cookie("lumo_saml_sp").is_some());
    let page = browser.get(&upstream).await?;
    assert_eq!(page.status, 200, "{}", page.body);
    form(&page.body).ok_or_else(|| anyhow::anyhow!("no form: {}", page.body))
}

#[tokio::test]
async fn an_upstream_idp_user_is_provisioned_and_signed_in_to_the_sp_org() -> anyhow::Result<()> {
    let fed = federation(true).await?;
    let client = create_client(&fed.app, json!({})).await?;
    let request = AuthRequest::new(&client, "openid email profile");
    let query = request
        .params
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&");
    // The SP org's login page offers the IdP, carrying the authorization request.
    let login = Browser::new().get(&request.url(&fed.app_oauth)).await?;
    assert!(login.body.contains("Continue with Corp"), "{}", login.body);
    assert!(
        login
            .body
            .contains(&format!("/orgs/app/saml/sp/login/{}?", fed.idp_id)),
        "{}",
        login.body
    );
    let mut browser = signed_in(&fed.world.oauth, "ada@saml.test", PASSWORD).await?;
    let (action, fields) = to_the_acs(&fed, &mut browser, &query).await?;
    assert_eq!(
        action,
        format!("{}/orgs/app/saml/sp/acs", fed.world.node.http)
    );
    let back = browser.post_form(&action, &fields).await?;
    // Signed in to the SP org: on through its consent page to the client.
    let redirect = drive(&mut browser, &fed.world.node.http, back, "", "").await?;
    assert!(redirect.starts_with(&client.redirect_uri), "{redirect}");
    assert!(
        browser.cookie("lumo_saml_sp").is_none(),
        "the login cookie is cleared"
    );
    let tokens = exchange(&fed.app_oauth, &client, &request, &redirect)
        .await?
        .expect(200);
    let claims = verify_with_jwks(
        &fed.app_oauth,
        tokens.body["id_token"].as_str().unwrap_or_default(),
    )
    .await?;
    assert_eq!(claims["email"], "ada@saml.test");
    assert_eq!(claims["amr"], json!(["fed"]));
    let user = fed.app.get("/admin/users/ada@saml.test").await?.expect(200);
    assert_eq!(user.data()["isJitProvisioned"], true);
    let id = user.data()["id"].as_str().unwrap_or_default().to_string();
    let links = fed
        .app
        .get(&format!("/admin/users/{id}/identities"))
        .await?
        .expect(200);
    assert!(links.text.contains(r#""type":"saml""#), "{}", links.text);
    assert!(links.text.contains("ada@saml.test"), "{}", links.text);
    // The same response again: the login it answered is spent.
    let replay = browser.post_form(&action, &fields).await?;
    assert!(
        replay
            .location
            .as_deref()
            .is_some_and(|l| l.contains("login_error=saml_")),
        "{replay:?}"
    );
    // The legacy bare-NameID report names the org's one upstream IdP.
    let report = fed
        .app
        .get("/admin/identities/legacy-saml")
        .await?
        .expect(200);
    assert_eq!(report.data()["idp_count"], 1);
    assert_eq!(report.data()["idps"][0]["id"], fed.idp_id);
    assert_eq!(report.data()["users"], json!([]));
    fed.app
        .get("/admin/identities/legacy-saml?idp_id=424242")
        .await?
        .expect_error(404, "resource_not_found");
    // Only the assertion signed (the response envelope is not): still a sign-in.
    fed.world
        .api
        .patch(
            &format!("/admin/saml/apps/{}", fed.sp_app),
            json!({"signResponse": false}),
        )
        .await?
        .expect(200);
    // (A fresh browser: this test browser keeps one `lumo_session` for both orgs.)
    let mut browser = signed_in(&fed.world.oauth, "ada@saml.test", PASSWORD).await?;
    let (action, fields) = to_the_acs(&fed, &mut browser, "").await?;
    let response = fields
        .iter()
        .find(|(name, _)| name == "SAMLResponse")
        .map(|(_, value)| value.clone())
        .unwrap_or_default();
    let xml = String::from_utf8(STANDARD.decode(response)?)?;
    assert_eq!(xml.matches("<ds:SignatureValue>").count(), 1, "{xml}");
    assert!(
        xml.find("<ds:Signature").unwrap_or(0) > xml.find("<saml:Assertion").unwrap_or(usize::MAX)
    );
    let page = browser.post_form(&action, &fields).await?;
    assert_eq!(page.status, 200, "{page:?}");
    assert!(page.body.contains("Signed in"), "{}", page.body);
    Ok(())
}

#[tokio::test]
async fn tampered_or_misdirected_responses_are_refused() -> anyhow::Result<()> {
    let fed = federation(false).await?;
    let mut browser = signed_in(&fed.world.oauth, "ada@saml.test", PASSWORD).await?;
    let users_before = fed
        .app
        .get("/admin/users?limit=100")
        .await?
        .expect(200)
        .body;
    let field = |fields: &[(String, String)], name: &str| {
        fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let resend = |fields: &[(String, String)], xml: String| -> Vec<(String, String)> {
        vec![
            ("SAMLResponse".into(), STANDARD.encode(xml)),
            ("RelayState".into(), field(fields, "RelayState")),
        ]
    };
    let refused = |page: &lumo_tests::oauth::Page, why: &str| {
        assert!(
            page.location
                .as_deref()
                .is_some_and(|l| l.contains("login_error=saml_")),
            "{why}: {page:?}"
        );
    };
    // Each case starts its own login (a refused response spends it).
    let cases: Vec<(&str, Tamper)> = vec![
        (
            "NameID changed after signing",
            Box::new(|xml: String| xml.replace(">ada@saml.test<", ">eve@saml.test<")),
        ),
        (
            "comment in the NameID",
            Box::new(|xml: String| xml.replace(">ada@saml.test<", ">ada@saml.test<!---->.evil<")),
        ),
        (
            "DTD",
            Box::new(|xml: String| format!("<!DOCTYPE r [<!ENTITY x \"y\">]>{xml}")),
        ),
        (
            "signatures removed",
            Box::new(|xml: String| {
                let mut out = xml;
                while let (Some(start), Some(end)) =
                    (out.find("<ds:Signature"), out.find("</ds:Signature>"))
                {
                    out.replace_range(start..end + "</ds:Signature>".len(), "");
                }
                out
            }),
        ),
    ];
    for (why, tamper) in cases {
        let (action, fields) = to_the_acs(&fed, &mut browser, "").await?;
        let xml = String::from_utf8(STANDARD.decode(field(&fields, "SAMLResponse"))?)?;
        let page = browser
            .post_form(&action, &resend(&fields, tamper(xml)))
            .await?;
        refused(&page, why);
        assert!(browser.cookie("lumo_session").is_some());
    }
    // Untampered, but provisioning is off and the SP org has no such user.
    let (action, fields) = to_the_acs(&fed, &mut browser, "").await?;
    let page = browser.post_form(&action, &fields).await?;
    assert!(
        page.location
            .as_deref()
            .is_some_and(|l| l.contains("login_error=saml_no_account")),
        "{page:?}"
    );
    // A response without the browser's login cookie.
    let (action, fields) = to_the_acs(&fed, &mut browser, "").await?;
    browser.set_cookie("lumo_saml_sp", "");
    refused(
        &browser.post_form(&action, &fields).await?,
        "no login cookie",
    );
    let users_after = fed
        .app
        .get("/admin/users?limit=100")
        .await?
        .expect(200)
        .body;
    assert_eq!(users_before, users_after, "a refused login created a user");
    // A logout without a (signed) LogoutRequest ends nothing.
    let slo = browser
        .get(&format!("{}/orgs/app/saml/sp/slo", fed.world.node.http))
        .await?;
    assert_eq!(slo.status, 400, "{}", slo.body);
    Ok(())
}
