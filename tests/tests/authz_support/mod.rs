//! Shared set-up of the authorization tests: an org with permissions, roles, a group and users
//! holding them in every way RBAC knows, and user tokens.
#![allow(dead_code)]

use lumo_tests::http::Api;
use lumo_tests::oauth::{
    AuthRequest, Browser, Oauth, create_client, create_user, exchange, sign_in,
};
use serde_json::json;

pub const PASSWORD: &str = "correct horse battery staple";

/// Ids of the users [`seed`] creates.
pub struct Seeded {
    /// Role `editor` (document.edit, document.view).
    pub alice: String,
    /// Member of group `finance`, whose role `accountant` holds billing.read.
    pub bob: String,
    /// Holds reports.export directly.
    pub carol: String,
    /// Holds nothing.
    pub dave: String,
}

/// Permissions, roles, a group and four users.
pub async fn seed(api: &Api) -> anyhow::Result<Seeded> {
    for (name, slug) in [
        ("Edit documents", "document.edit"),
        ("View documents", "document.view"),
        ("Read billing", "billing.read"),
        ("Export reports", "reports.export"),
        ("Check for others", "authz.check"),
    ] {
        api.post(
            "/admin/permissions",
            json!({"name": name, "slug": slug, "description": format!("{name}.")}),
        )
        .await?
        .expect(201);
    }
    api.post("/admin/roles", json!({"name": "Editor", "slug": "editor"}))
        .await?
        .expect(201);
    api.post(
        "/admin/roles",
        json!({"name": "Accountant", "slug": "accountant"}),
    )
    .await?
    .expect(201);
    api.post(
        "/admin/roles/editor/permissions",
        json!({"permissions": ["document.edit", "document.view"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/roles/accountant/permissions",
        json!({"permissions": ["billing.read"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/groups",
        json!({"name": "Finance", "slug": "finance"}),
    )
    .await?
    .expect(201);
    api.post(
        "/admin/groups/finance/roles",
        json!({"roles": ["accountant"]}),
    )
    .await?
    .expect(200);
    let alice = create_user(api, "alice@example.com", PASSWORD).await?;
    let bob = create_user(api, "bob@example.com", PASSWORD).await?;
    let carol = create_user(api, "carol@example.com", PASSWORD).await?;
    let dave = create_user(api, "dave@example.com", PASSWORD).await?;
    api.post(
        &format!("/admin/users/{alice}/roles"),
        json!({"roles": ["editor"]}),
    )
    .await?
    .expect(200);
    api.post("/admin/groups/finance/members", json!({"userIds": [bob]}))
        .await?
        .expect(200);
    api.post(
        &format!("/admin/users/{carol}/permissions"),
        json!({"permissions": ["reports.export"]}),
    )
    .await?
    .expect(200);
    Ok(Seeded {
        alice,
        bob,
        carol,
        dave,
    })
}

/// An access token of `email` (signed in through the hosted login) carrying `scope`.
pub async fn user_token(api: &Api, email: &str, scope: &str) -> anyhow::Result<String> {
    let oauth = Oauth::for_org(&api.base, &api.org);
    let client = create_client(
        api,
        json!({"allowedScopes": ["openid", "profile", "authz:read", "authz:check", "abac:read", "abac:write"]}),
    )
    .await?;
    let request = AuthRequest::new(&client, scope);
    let mut browser = Browser::new();
    let redirect = sign_in(&mut browser, &oauth, &request, email, PASSWORD).await?;
    let reply = exchange(&oauth, &client, &request, &redirect).await?;
    anyhow::ensure!(reply.status == 200, "token: {}", reply.text);
    Ok(reply.body["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}
