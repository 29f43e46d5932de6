//! Black-box tests of `~/admin/permissions` and `~/admin/scopes`.

mod admin_support;

use admin_support::*;
use lumo_tests::TestNode;
use serde_json::{Value, json};

const PERMISSION_FIELDS: &[&str] = &[
    "id",
    "name",
    "slug",
    "description",
    "resource",
    "action",
    "isSystem",
    "isCustom",
    "createdAt",
    "roleCount",
];

const SYSTEM_SCOPES: &[&str] = &[
    "openid",
    "profile",
    "email",
    "phone",
    "address",
    "offline_access",
];

#[tokio::test]
async fn list_permissions_starts_with_the_14_system_permissions() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let list = api.get("/admin/permissions?limit=100").await?.expect(200);
    assert_eq!(
        assert_list(&list.body, Envelope::Resource("permissions"), 14, 1, 100),
        14
    );
    for p in list.data().as_array().into_iter().flatten() {
        assert_eq!(keys(p), set(PERMISSION_FIELDS), "{p}");
        assert!(p["id"].is_u64(), "integer id: {p}");
        assert_eq!(p["isSystem"], true);
        assert_eq!(p["isCustom"], false);
        let slug = text(&p["slug"]);
        let (resource, action) = slug.split_once(':').unwrap_or_default();
        assert_eq!(p["resource"], resource);
        assert_eq!(p["action"], action);
        assert_time(&p["createdAt"]);
    }
    let users_read = list
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["slug"] == "users:read")
        .cloned()
        .unwrap_or_default();
    // Held by both system roles.
    assert_eq!(users_read["roleCount"], 2);
    let users_write = api.get("/admin/permissions/users:write").await?.expect(200);
    assert_eq!(users_write.data()["roleCount"], 1);

    let by_resource = api
        .get("/admin/permissions?resource=users")
        .await?
        .expect(200);
    assert_eq!(
        assert_list(
            &by_resource.body,
            Envelope::Resource("permissions"),
            3,
            1,
            25
        ),
        3
    );
    assert_eq!(
        slug_set(by_resource.data()),
        set(&["users:read", "users:write", "users:delete"])
    );
    let paged = api
        .get("/admin/permissions?limit=5&page=3")
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&paged.body, Envelope::Resource("permissions"), 14, 3, 5),
        4
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_permission_returns_201_with_an_integer_id() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let reply = api
        .post(
            "/admin/permissions",
            json!({
                "name": "Approve invoices",
                "slug": "invoices:approve",
                "description": "Sign off on invoices",
                "resource": "invoices",
                "action": "approve",
            }),
        )
        .await?
        .expect(201);
    assert_data_message(&reply);
    assert_eq!(reply.body["message"], "Permission created");
    let p = reply.data();
    assert_eq!(keys(p), set(PERMISSION_FIELDS));
    assert_eq!(p["id"], 15, "ids continue after the 14 system permissions");
    assert_eq!(p["name"], "Approve invoices");
    assert_eq!(p["slug"], "invoices:approve");
    assert_eq!(p["description"], "Sign off on invoices");
    assert_eq!(p["resource"], "invoices");
    assert_eq!(p["action"], "approve");
    assert_eq!(p["isSystem"], false);
    assert_eq!(p["isCustom"], true);
    assert_eq!(p["roleCount"], 0);
    assert_time(&p["createdAt"]);

    // Slug derived from resource and action, or from the name.
    let derived = api
        .post(
            "/admin/permissions",
            json!({"name": "Refund", "resource": "Payments", "action": "Refund All"}),
        )
        .await?
        .expect(201);
    assert_eq!(derived.data()["slug"], "payments:refund-all");
    assert_eq!(derived.data()["id"], 16);
    let from_name = api
        .post("/admin/permissions", json!({"name": "Export Data"}))
        .await?
        .expect(201);
    assert_eq!(from_name.data()["slug"], "export-data");
    assert_eq!(from_name.data()["resource"], Value::Null);
    assert_eq!(total(&api, "/admin/permissions").await?, 17);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn get_permission_by_id_and_by_slug() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = new_permission(&api, "Read reports", "reports:read").await?;
    let by_id = api
        .get(&format!("/admin/permissions/{}", created["id"]))
        .await?
        .expect(200);
    let by_slug = api
        .get("/admin/permissions/reports:read")
        .await?
        .expect(200);
    assert_eq!(keys(&by_id.body), set(&["data"]));
    assert_eq!(by_id.body, by_slug.body);
    assert_eq!(by_id.data(), &created);
    let system = api.get("/admin/permissions/1").await?.expect(200);
    assert_eq!(system.data()["slug"], "users:read");
    api.get("/admin/permissions/999")
        .await?
        .expect_error(404, "resource_not_found");
    api.get("/admin/permissions/no:such")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_duplicate_permission_slug_is_409_and_nothing_is_created() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    new_permission(&api, "Thing", "things:do").await?;
    let refused = api
        .post(
            "/admin/permissions",
            json!({"name": "Other thing", "slug": "things:do"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "slug"}));
    api.post(
        "/admin/permissions",
        json!({"name": "Mine", "slug": "users:read"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    assert_eq!(total(&api, "/admin/permissions").await?, 15);
    assert_eq!(
        api.get("/admin/permissions/things:do")
            .await?
            .expect(200)
            .data()["name"],
        "Thing"
    );
    // The refused creates did not use up ids.
    let next = new_permission(&api, "Next", "things:next").await?;
    assert_eq!(next["id"], 16);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn patch_permission_changes_only_what_is_sent_and_never_the_slug() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/permissions",
            json!({"name": "Ship", "slug": "orders:ship", "description": "Ship orders", "resource": "orders", "action": "ship"}),
        )
        .await?
        .expect(201)
        .data()
        .clone();
    let path = format!("/admin/permissions/{}", created["id"]);
    let patched = api
        .patch(&path, json!({"description": "Ship paid orders"}))
        .await?
        .expect(200);
    assert_data_message(&patched);
    assert_eq!(patched.body["message"], "Permission updated");
    let mut expected = created.clone();
    expected["description"] = json!("Ship paid orders");
    assert_eq!(patched.data(), &expected);

    let cleared = api
        .patch(
            "/admin/permissions/orders:ship",
            json!({"resource": null, "name": "Shipping"}),
        )
        .await?
        .expect(200);
    expected["resource"] = Value::Null;
    expected["name"] = json!("Shipping");
    assert_eq!(cleared.data(), &expected);

    let refused = api
        .patch(&path, json!({"slug": "orders:send"}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&refused, &["slug"]);
    assert_eq!(api.get(&path).await?.expect(200).data(), &expected);
    api.get("/admin/permissions/orders:send")
        .await?
        .expect_error(404, "resource_not_found");
    api.patch("/admin/permissions/404", json!({"name": "x"}))
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn permission_usage_lists_the_roles_holding_it() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let p = new_permission(&api, "Audit export", "audit:export").await?;
    let r1 = new_role(&api, "Auditor", "auditor").await?;
    let r2 = new_role(&api, "Compliance", "compliance").await?;
    new_role(&api, "Unrelated", "unrelated").await?;
    let usage_path = format!("/admin/permissions/{}/usage", p["id"]);
    let empty = api.get(&usage_path).await?.expect(200);
    assert_eq!(empty.body, json!({"data": {"roles": [], "roleCount": 0}}));

    api.post(
        "/admin/roles/auditor/permissions",
        json!({"permissions": ["audit:export"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/roles/compliance/permissions",
        json!({"permissionId": p["id"]}),
    )
    .await?
    .expect(200);
    let usage = api
        .get("/admin/permissions/audit:export/usage")
        .await?
        .expect(200);
    assert_eq!(keys(&usage.body), set(&["data"]));
    assert_eq!(usage.data()["roleCount"], 2);
    let mut roles: Vec<Value> = usage.data()["roles"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    roles.sort_by_key(|r| r["slug"].as_str().unwrap_or_default().to_string());
    assert_eq!(
        roles,
        vec![
            json!({"id": r1["id"], "name": "Auditor", "slug": "auditor"}),
            json!({"id": r2["id"], "name": "Compliance", "slug": "compliance"}),
        ]
    );
    assert_eq!(
        api.get(&format!("/admin/permissions/{}", p["id"]))
            .await?
            .expect(200)
            .data()["roleCount"],
        2
    );
    api.get("/admin/permissions/9999/usage")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_permission_removes_it_from_roles_and_users() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let p = new_permission(&api, "Temporary", "temp:perm").await?;
    new_role(&api, "Holder", "holder").await?;
    api.post(
        "/admin/roles/holder/permissions",
        json!({"permissions": ["temp:perm", "users:read"]}),
    )
    .await?
    .expect(200);
    let id = user(&api, "direct@example.com").await?;
    api.post(
        &format!("/admin/users/{id}/permissions"),
        json!({"permissionId": "temp:perm"}),
    )
    .await?
    .expect(200);

    let deleted = api
        .delete(&format!("/admin/permissions/{}", p["id"]))
        .await?
        .expect(200);
    assert_message_only(&deleted);
    assert_eq!(deleted.body["message"], "Permission deleted");
    api.get("/admin/permissions/temp:perm")
        .await?
        .expect_error(404, "resource_not_found");
    api.delete("/admin/permissions/temp:perm")
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(total(&api, "/admin/permissions").await?, 14);

    let role_perms = api
        .get("/admin/roles/holder/permissions")
        .await?
        .expect(200);
    assert_eq!(slugs(role_perms.data()), vec!["users:read"]);
    let user_perms = api
        .get(&format!("/admin/users/{id}/permissions"))
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&user_perms.body, Envelope::Pagination, 0, 1, 25),
        0
    );
    let effective = api
        .get(&format!("/admin/users/{id}/effective-permissions"))
        .await?
        .expect(200);
    assert_eq!(effective.data()["permissions"], json!([]));
    // Re-creating the slug yields a fresh permission with no holders.
    let again = new_permission(&api, "Temporary", "temp:perm").await?;
    assert_ne!(again["id"], p["id"]);
    assert_eq!(again["roleCount"], 0);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn system_permissions_cannot_be_changed_or_deleted() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let before = api
        .get("/admin/permissions/users:read")
        .await?
        .expect(200)
        .data()
        .clone();
    api.patch(
        "/admin/permissions/users:read",
        json!({"description": "mine now"}),
    )
    .await?
    .expect_error(403, "system_resource");
    api.patch("/admin/permissions/1", json!({"name": "Renamed"}))
        .await?
        .expect_error(403, "system_resource");
    api.delete("/admin/permissions/users:read")
        .await?
        .expect_error(403, "system_resource");
    api.delete("/admin/permissions/14")
        .await?
        .expect_error(403, "system_resource");
    assert_eq!(
        api.get("/admin/permissions/users:read")
            .await?
            .expect(200)
            .data(),
        &before
    );
    assert_eq!(total(&api, "/admin/permissions").await?, 14);
    // Still granted by the system roles.
    let admin = api
        .get("/admin/roles/admin/permissions?limit=100")
        .await?
        .expect(200);
    assert!(slug_set(admin.data()).contains("users:read"));
    assert!(slug_set(admin.data()).contains("clients:write"));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn scopes_list_has_the_system_scopes_and_a_total_only_meta() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let list = api.get("/admin/scopes").await?.expect(200);
    assert_eq!(keys(&list.body), set(&["data", "meta", "pagination"]));
    assert_eq!(list.body["meta"], json!({"total": 6}));
    assert_meta(&list.body["pagination"], 6, 1, 25, 1, false, false);
    let names: Vec<String> = field_of(list.data(), "name");
    assert_eq!(
        names,
        SYSTEM_SCOPES
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
    );
    for s in list.data().as_array().into_iter().flatten() {
        assert_eq!(
            keys(s),
            set(&[
                "id",
                "name",
                "description",
                "isDefault",
                "isSystem",
                "createdAt"
            ])
        );
        assert!(s["id"].is_u64());
        assert_eq!(s["isSystem"], true);
    }
    let defaults = api.get("/admin/scopes?isDefault=true").await?.expect(200);
    assert_eq!(
        field_of(defaults.data(), "name"),
        vec!["openid", "profile", "email"]
    );
    assert_eq!(defaults.body["meta"], json!({"total": 3}));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_scope_is_201_and_a_duplicate_name_is_409() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/scopes",
            json!({"name": "invoices:read", "description": "Read invoices"}),
        )
        .await?
        .expect(201);
    assert_data_message(&created);
    assert_eq!(created.body["message"], "Scope created");
    let scope = created.data();
    assert_eq!(scope["id"], 7);
    assert_eq!(scope["name"], "invoices:read");
    assert_eq!(scope["description"], "Read invoices");
    assert_eq!(scope["isDefault"], false);
    assert_eq!(scope["isSystem"], false);
    assert_time(&scope["createdAt"]);
    let list = api.get("/admin/scopes").await?.expect(200);
    assert_eq!(list.body["meta"], json!({"total": 7}));
    assert!(field_of(list.data(), "name").contains(&"invoices:read".to_string()));

    let dup = api
        .post("/admin/scopes", json!({"name": "invoices:read"}))
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(dup.body["details"], json!({"field": "name"}));
    api.post("/admin/scopes", json!({"name": "openid"}))
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(
        api.get("/admin/scopes").await?.expect(200).body["meta"],
        json!({"total": 7})
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn custom_scopes_can_be_deleted_and_system_scopes_cannot() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let scope = api
        .post("/admin/scopes", json!({"name": "temp"}))
        .await?
        .expect(201);
    let id = scope.data()["id"].clone();
    let deleted = api
        .delete(&format!("/admin/scopes/{id}"))
        .await?
        .expect(200);
    assert_message_only(&deleted);
    assert_eq!(deleted.body["message"], "Scope deleted");
    api.delete(&format!("/admin/scopes/{id}"))
        .await?
        .expect_error(404, "resource_not_found");
    let list = api.get("/admin/scopes").await?.expect(200);
    assert_eq!(list.body["meta"], json!({"total": 6}));
    assert!(!field_of(list.data(), "name").contains(&"temp".to_string()));
    // The name is free again.
    api.post("/admin/scopes", json!({"name": "temp"}))
        .await?
        .expect(201);

    // openid is scope 1.
    api.delete("/admin/scopes/1")
        .await?
        .expect_error(403, "system_resource");
    api.delete("/admin/scopes/6")
        .await?
        .expect_error(403, "system_resource");
    let list = api.get("/admin/scopes").await?.expect(200);
    assert_eq!(list.body["meta"], json!({"total": 7}));
    assert_eq!(field_of(list.data(), "name")[0], "openid");
    // Scope ids are integers.
    api.delete("/admin/scopes/openid")
        .await?
        .expect_error(400, "invalid_request");
    api.delete("/admin/scopes/424242")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}
