//! B2B organizations against a real node: CRUD with PUT and PATCH, the three system roles and
//! custom ones, members (add, change role and status, remove, an active owner kept),
//! invitations emailed to a local SMTP sink whose links the hosted page accepts (a newcomer
//! gets an account, an existing user a membership), resend ending the old link, revoke, and
//! the refusals; user deletion removes memberships.

use lumo_chaos::smtp_sink::SmtpSink;
use lumo_tests::TestNode;
use lumo_tests::email::send_through_sink;
use lumo_tests::oauth::{Browser, Oauth, signed_in, submit_page_form};
use lumo_tests::wait::mail_to;
use serde_json::{Value, json};

fn ids(list: &Value, field: &str) -> Vec<String> {
    list["data"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|v| {
                    v[field]
                        .as_str()
                        .map_or_else(|| v[field].to_string(), str::to_string)
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn organizations_roles_and_members_through_the_admin_api() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/organizations",
            json!({"name": "Initech", "slug": "initech", "displayName": "Initech Inc.",
                "description": "TPS reports", "metadata": {"plan": "gold"}}),
        )
        .await?
        .expect(201);
    let org = created.data().clone();
    let id = org["id"].as_str().unwrap_or_default().to_string();
    assert!(id.starts_with("org_"), "{org}");
    assert_eq!(org["slug"], "initech");
    assert_eq!(org["memberCount"], 0);
    assert_eq!(org["isActive"], true);
    assert_eq!(org["metadata"]["plan"], "gold");
    api.post(
        "/admin/organizations",
        json!({"name": "Other", "slug": "initech"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    // By id or by slug.
    api.get("/admin/organizations/initech").await?.expect(200);
    let by_id = api
        .get(&format!("/admin/organizations/{id}"))
        .await?
        .expect(200);
    assert_eq!(by_id.data()["name"], "Initech");
    let patched = api
        .patch(
            &format!("/admin/organizations/{id}"),
            json!({"description": null, "isActive": false}),
        )
        .await?
        .expect(200);
    assert_eq!(patched.data()["description"], Value::Null);
    assert_eq!(patched.data()["isActive"], false);
    assert_eq!(patched.data()["name"], "Initech");
    let put = api
        .put(
            "/admin/organizations/initech",
            json!({"name": "Initech Corp", "slug": "initech-corp", "isActive": true}),
        )
        .await?
        .expect(200);
    assert_eq!(put.data()["slug"], "initech-corp");
    assert_eq!(put.data()["id"], json!(id));
    api.get("/admin/organizations/initech")
        .await?
        .expect_error(404, "resource_not_found");
    let list = api
        .get("/admin/organizations?search=initech")
        .await?
        .expect(200);
    assert_eq!(list.body["resourceType"], "organization");
    assert_eq!(ids(&list.body, "id"), vec![id.clone()]);

    // System roles, and a custom one.
    let roles = api
        .get(&format!("/admin/organizations/{id}/roles"))
        .await?
        .expect(200);
    assert_eq!(ids(&roles.body, "slug"), ["owner", "admin", "member"]);
    let member_role = roles.body["data"][2].clone();
    assert_eq!(member_role["isDefault"], true);
    assert_eq!(roles.body["data"][0]["isOwner"], true);
    let billing = api
        .post(
            &format!("/admin/organizations/{id}/roles"),
            json!({"name": "Billing", "slug": "billing", "description": "Pays"}),
        )
        .await?
        .expect(201);
    let billing_id = billing.data()["id"].as_u64().unwrap_or_default();
    api.post(
        &format!("/admin/organizations/{id}/roles"),
        json!({"name": "B", "slug": "billing"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    let renamed = api
        .patch(
            &format!("/admin/organizations/{id}/roles/{billing_id}"),
            json!({"name": "Billing admins"}),
        )
        .await?
        .expect(200);
    assert_eq!(renamed.data()["name"], "Billing admins");
    let owner_id = roles.body["data"][0]["id"].as_u64().unwrap_or_default();
    api.delete(&format!("/admin/organizations/{id}/roles/{owner_id}"))
        .await?
        .expect_error(422, "validation_error");

    // Members.
    let alice = api.create_user("alice@initech.test").await?;
    let bob = api.create_user("bob@initech.test").await?;
    let added = api
        .post(
            &format!("/admin/organizations/{id}/members"),
            json!({"userId": alice, "role": "owner"}),
        )
        .await?
        .expect(201);
    assert_eq!(added.data()["user"]["email"], "alice@initech.test");
    assert_eq!(added.data()["role"]["slug"], "owner");
    assert_eq!(added.data()["status"], "active");
    let bob_member = api
        .post(
            &format!("/admin/organizations/{id}/members"),
            json!({"userId": "bob@initech.test"}),
        )
        .await?
        .expect(201);
    assert_eq!(
        bob_member.data()["role"]["slug"],
        "member",
        "the default role"
    );
    api.post(
        &format!("/admin/organizations/{id}/members"),
        json!({"userId": bob}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    let changed = api
        .put(
            &format!("/admin/organizations/{id}/members/{bob}"),
            json!({"role": billing_id, "status": "suspended"}),
        )
        .await?
        .expect(200);
    assert_eq!(changed.data()["role"]["slug"], "billing");
    assert_eq!(changed.data()["status"], "suspended");
    api.delete(&format!("/admin/organizations/{id}/roles/{billing_id}"))
        .await?
        .expect_error(422, "validation_error");
    // The last active owner stays.
    api.patch(
        &format!("/admin/organizations/{id}/members/{alice}"),
        json!({"status": "suspended"}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.delete(&format!("/admin/organizations/{id}/members/{alice}"))
        .await?
        .expect_error(422, "validation_error");
    let members = api
        .get(&format!("/admin/organizations/{id}/members"))
        .await?
        .expect(200);
    assert_eq!(members.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        api.get(&format!("/admin/organizations/{id}"))
            .await?
            .expect(200)
            .data()["memberCount"],
        2
    );
    // Roles of another organization are refused.
    let other = api
        .post(
            "/admin/organizations",
            json!({"name": "Globo", "slug": "globo"}),
        )
        .await?
        .expect(201);
    let other_id = other.data()["id"].as_str().unwrap_or_default().to_string();
    api.post(
        &format!("/admin/organizations/{other_id}/members"),
        json!({"userId": bob, "role": billing_id}),
    )
    .await?
    .expect_error(422, "validation_error");

    // Deleting a user removes the membership; deleting the organization removes the rest.
    api.delete(&format!("/admin/users/{bob}"))
        .await?
        .expect(200);
    let members = api
        .get(&format!("/admin/organizations/{id}/members"))
        .await?
        .expect(200);
    assert_eq!(members.body["data"].as_array().map(Vec::len), Some(1));
    api.delete(&format!("/admin/organizations/{id}"))
        .await?
        .expect(200);
    api.get(&format!("/admin/organizations/{id}/members"))
        .await?
        .expect_error(404, "resource_not_found");
    let audit = api
        .get("/admin/audit-logs?action=organization.member.added")
        .await?
        .expect(200);
    assert_eq!(
        audit.body["data"].as_array().map(Vec::len),
        Some(2),
        "{}",
        audit.text
    );
    Ok(())
}

#[tokio::test]
async fn invitations_are_emailed_and_accepted_through_the_hosted_page() -> anyhow::Result<()> {
    let sink = SmtpSink::start().await?;
    let node = TestNode::start().await?;
    let api = node.api();
    send_through_sink(&api, sink.port, json!({})).await?;
    let org = api
        .post(
            "/admin/organizations",
            json!({"name": "Hooli", "slug": "hooli"}),
        )
        .await?
        .expect(201);
    let id = org.data()["id"].as_str().unwrap_or_default().to_string();

    // A newcomer: the page creates the account and the membership.
    let invited = api
        .post(
            &format!("/admin/organizations/{id}/invitations"),
            json!({"email": "Gavin@Hooli.test", "role": "admin"}),
        )
        .await?
        .expect(201);
    let invitation = invited.data().clone();
    assert_eq!(invitation["email"], "gavin@hooli.test");
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["role"]["slug"], "admin");
    api.post(
        &format!("/admin/organizations/{id}/invitations"),
        json!({"email": "gavin@hooli.test"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    let first = mail_to(&sink, "gavin@hooli.test", 0).await?;
    assert!(
        first.header("Subject").is_some_and(|s| s.contains("Hooli")),
        "{}",
        first.data
    );
    // Resending ends the first link.
    let inv_id = invitation["id"].as_u64().unwrap_or_default();
    api.post_empty(&format!(
        "/admin/organizations/{id}/invitations/{inv_id}/resend"
    ))
    .await?
    .expect(200);
    let second = mail_to(&sink, "gavin@hooli.test", 1).await?;
    let old_link = first.link("/oauth/invitation?token=").unwrap_or_default();
    let link = second
        .link("/oauth/invitation?token=")
        .ok_or_else(|| anyhow::anyhow!("no link in {}", second.text()))?;
    let stale = Browser::new().get(&old_link).await?;
    assert_eq!(stale.status, 400, "{}", stale.body);
    let weak = submit_page_form(
        &node.http,
        &link,
        &[
            ("name", "Gavin"),
            ("password", "x"),
            ("password_confirm", "x"),
        ],
    )
    .await?;
    assert_eq!(weak.status, 422, "{}", weak.body);
    let done = submit_page_form(
        &node.http,
        &link,
        &[
            ("name", "Gavin Belson"),
            ("password", "Hooli-pass-123"),
            ("password_confirm", "Hooli-pass-123"),
        ],
    )
    .await?;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("You joined Hooli"), "{}", done.body);
    let reused = Browser::new().get(&link).await?;
    assert_eq!(reused.status, 400);
    assert!(reused.body.contains("already accepted"), "{}", reused.body);
    signed_in(
        &Oauth::new(&node.http),
        "gavin@hooli.test",
        "Hooli-pass-123",
    )
    .await?;
    let members = api
        .get(&format!("/admin/organizations/{id}/members"))
        .await?
        .expect(200);
    assert_eq!(members.body["data"][0]["user"]["email"], "gavin@hooli.test");
    assert_eq!(members.body["data"][0]["role"]["slug"], "admin");
    let user = api.get("/admin/users/gavin@hooli.test").await?.expect(200);
    assert_eq!(user.data()["emailVerified"], true);
    assert_eq!(user.data()["name"], "Gavin Belson");

    // An existing user: accepting adds the membership only.
    api.create_user("richard@piedpiper.test").await?;
    let invited = api
        .post(
            &format!("/admin/organizations/{id}/invitations"),
            json!({"email": "richard@piedpiper.test"}),
        )
        .await?
        .expect(201);
    let mail = mail_to(&sink, "richard@piedpiper.test", 0).await?;
    let link = mail.link("/oauth/invitation?token=").unwrap_or_default();
    let done = submit_page_form(&node.http, &link, &[]).await?;
    assert_eq!(done.status, 200, "{}", done.body);
    let list = api
        .get(&format!("/admin/organizations/{id}/invitations"))
        .await?
        .expect(200);
    let statuses: Vec<&str> = list.body["data"]
        .as_array()
        .map(|a| a.iter().filter_map(|i| i["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(statuses, ["accepted", "accepted"]);
    let richard = invited.data()["id"].as_u64().unwrap_or_default();
    api.delete(&format!("/admin/organizations/{id}/invitations/{richard}"))
        .await?
        .expect_error(422, "validation_error");

    // Revoked invitations stop working; bad addresses and unknown ids are refused.
    let invited = api
        .post(
            &format!("/admin/organizations/{id}/invitations"),
            json!({"email": "erlich@aviato.test"}),
        )
        .await?
        .expect(201);
    let mail = mail_to(&sink, "erlich@aviato.test", 0).await?;
    let erlich = invited.data()["id"].as_u64().unwrap_or_default();
    api.delete(&format!("/admin/organizations/{id}/invitations/{erlich}"))
        .await?
        .expect(200);
    let revoked = Browser::new()
        .get(&mail.link("/oauth/invitation?token=").unwrap_or_default())
        .await?;
    assert_eq!(revoked.status, 400);
    assert!(revoked.body.contains("revoked"), "{}", revoked.body);
    api.post(
        &format!("/admin/organizations/{id}/invitations"),
        json!({"email": "not-an-address"}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.post(
        &format!("/admin/organizations/{id}/invitations"),
        json!({"email": "x@y.test", "role": "ceo"}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.post_empty(&format!("/admin/organizations/{id}/invitations/999/resend"))
        .await?
        .expect_error(404, "resource_not_found");
    api.post(
        "/admin/organizations/org_nope/invitations",
        json!({"email": "x@y.test"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    Ok(())
}
