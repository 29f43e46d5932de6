//! Black-box tests of `~/admin/roles`: CRUD, PUT/PATCH, slugs, permissions and users
//! sub-resources, counts, cleanup on delete, and protection of the system role `admin`.
//!
//! What roles share with groups (create, get, slug conflicts, PUT/PATCH, delete) runs from
//! `admin_support/named_suite.rs`; this file keeps what is particular to roles.

mod admin_support;

use admin_support::named_suite::{self, NamedKind};
use admin_support::*;
use lumo_tests::TestNode;
use serde_json::{Value, json};

const ROLE_DETAIL_FIELDS: &[&str] = &[
    "id",
    "name",
    "slug",
    "description",
    "isSystem",
    "userCount",
    "createdAt",
    "permissions",
    "updatedAt",
];

/// Every org starts with the system roles `admin` and `viewer`.
const ROLES: NamedKind = NamedKind {
    path: "/admin/roles",
    noun: "Role",
    detail_fields: ROLE_DETAIL_FIELDS,
    counts: &["userCount"],
    lists: &["permissions"],
    system_count: 2,
};

/// The 14 system permissions every org starts with.
const SYSTEM_PERMISSIONS: &[&str] = &[
    "users:read",
    "users:write",
    "users:delete",
    "groups:read",
    "groups:write",
    "roles:read",
    "roles:write",
    "permissions:read",
    "permissions:write",
    "audit:read",
    "settings:read",
    "settings:write",
    "clients:read",
    "clients:write",
];

#[tokio::test]
async fn create_role_returns_201_with_the_role_model() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::create_returns_201_with_the_model(&node.api(), &ROLES).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_roles_includes_the_system_roles_in_the_resource_envelope() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    new_role(&api, "Billing", "billing").await?;
    let list = api.get("/admin/roles").await?.expect(200);
    assert_eq!(
        assert_list(&list.body, Envelope::Resource("roles"), 3, 1, 25),
        3
    );
    // Sorted by name: Administrator, Billing, Viewer.
    assert_eq!(slugs(list.data()), vec!["admin", "billing", "viewer"]);
    let system: Vec<Value> = list.data().as_array().cloned().unwrap_or_default();
    assert_eq!(system[0]["isSystem"], true);
    assert_eq!(system[0]["name"], "Administrator");
    assert_eq!(system[1]["isSystem"], false);
    assert_eq!(system[2]["isSystem"], true);
    assert!(
        system[0].get("permissions").is_none(),
        "list items are summaries"
    );

    let only_system = api.get("/admin/roles?isSystem=true").await?.expect(200);
    assert_eq!(
        assert_list(&only_system.body, Envelope::Resource("roles"), 2, 1, 25),
        2
    );
    assert_eq!(slug_set(only_system.data()), set(&["admin", "viewer"]));
    let custom = api.get("/admin/roles?isSystem=false").await?.expect(200);
    assert_eq!(slugs(custom.data()), vec!["billing"]);
    let searched = api.get("/admin/roles?search=view").await?.expect(200);
    assert_eq!(slugs(searched.data()), vec!["viewer"]);

    // The admin role holds every system permission; viewer only the read ones.
    let admin = api.get("/admin/roles/admin").await?.expect(200);
    assert_eq!(
        slug_set(&admin.data()["permissions"]),
        set(SYSTEM_PERMISSIONS)
    );
    let viewer = api.get("/admin/roles/viewer").await?.expect(200);
    let reads: Vec<&str> = SYSTEM_PERMISSIONS
        .iter()
        .copied()
        .filter(|s| s.ends_with(":read"))
        .collect();
    assert_eq!(slug_set(&viewer.data()["permissions"]), set(&reads));
    for p in viewer.data()["permissions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert_eq!(
            keys(p),
            set(&["id", "name", "slug", "resource", "action"]),
            "{p}"
        );
        assert!(p["id"].is_u64());
    }
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn get_role_by_id_and_by_slug_return_the_same_role() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::get_by_id_and_by_slug_return_the_same(&node.api(), &ROLES).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_duplicate_role_slug_is_409_on_create_and_on_update() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    named_suite::a_duplicate_slug_is_409_on_create_and_on_update(&api, &ROLES).await?;
    // The system slugs are taken too.
    api.post("/admin/roles", json!({"name": "My admin", "slug": "admin"}))
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(total(&api, "/admin/roles").await?, 4);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn put_and_patch_change_only_what_is_sent() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::put_and_patch_change_only_what_is_sent(&node.api(), &ROLES).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn role_permissions_can_be_added_listed_replaced_and_removed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    new_role(&api, "Editor", "editor").await?;
    let p1 = new_permission(&api, "Edit posts", "posts:edit").await?;
    let p2 = new_permission(&api, "Publish posts", "posts:publish").await?;
    let p3 = new_permission(&api, "Delete posts", "posts:delete").await?;
    let path = "/admin/roles/editor/permissions";

    let added = api
        .post(path, json!({"permissions": ["posts:edit", p2["id"]]}))
        .await?
        .expect(200);
    assert_message_only(&added);
    assert_eq!(added.body["message"], "Permissions added to role");
    let listed = api.get(path).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 2, 1, 25), 2);
    assert_eq!(
        slug_set(listed.data()),
        set(&["posts:edit", "posts:publish"])
    );
    for item in listed.data().as_array().into_iter().flatten() {
        assert_eq!(keys(item), set(&["id", "name", "slug", "description"]));
        assert!(item["id"].is_u64(), "{item}");
    }
    // The single-id spelling also works.
    api.post(path, json!({"permissionId": "users:read"}))
        .await?
        .expect(200);
    assert_eq!(total(&api, path).await?, 3);

    let replaced = api
        .put(path, json!({"permissions": [p3["id"]]}))
        .await?
        .expect(200);
    assert_data_message(&replaced);
    assert_eq!(replaced.body["message"], "Role permissions updated");
    assert_eq!(replaced.data()["slug"], "editor");
    assert_eq!(
        replaced.data()["permissions"],
        json!([{"id": p3["id"], "name": "Delete posts", "slug": "posts:delete", "resource": null, "action": null}])
    );
    assert_eq!(
        slugs(api.get(path).await?.expect(200).data()),
        vec!["posts:delete"]
    );
    let usage = api
        .get(&format!("/admin/permissions/{}/usage", p1["id"]))
        .await?
        .expect(200);
    assert_eq!(usage.data()["roleCount"], 0, "replace dropped posts:edit");

    let removed = api
        .delete(&format!("{path}/posts:delete"))
        .await?
        .expect(200);
    assert_message_only(&removed);
    assert_eq!(removed.body["message"], "Permission removed from role");
    api.delete(&format!("{path}/posts:delete"))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        api.get("/admin/roles/editor").await?.expect(200).data()["permissions"],
        json!([])
    );

    // One unknown permission: nothing is added.
    api.post(path, json!({"permissions": ["posts:edit", "no:such"]}))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(total(&api, path).await?, 0);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn role_users_can_be_added_listed_and_removed_and_counted() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let role = new_role(&api, "Tester", "tester").await?;
    let u1 = new_user(&api, json!({"email": "t1@example.com", "name": "Tess"})).await?;
    let u1_id = text(&u1["id"]);
    let u2 = user(&api, "t2@example.com").await?;
    let path = format!("/admin/roles/{}/users", text(&role["id"]));

    let added = api.post(&path, json!({"userId": u1_id})).await?.expect(200);
    assert_message_only(&added);
    assert_eq!(added.body["message"], "User assigned to role");
    api.post(&path, json!({"userId": "t2@example.com"}))
        .await?
        .expect(200);

    let listed = api.get(&path).await?.expect(200);
    assert_eq!(
        assert_list(&listed.body, Envelope::Resource("users"), 2, 1, 25),
        2
    );
    assert_eq!(
        id_set(listed.data()),
        [u1_id.clone(), u2.clone()].into_iter().collect()
    );
    let tess = listed
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["id"] == json!(u1_id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        tess,
        json!({"id": u1_id, "email": "t1@example.com", "name": "Tess", "username": null})
    );
    let detail = api.get("/admin/roles/tester").await?.expect(200);
    assert_eq!(detail.data()["userCount"], 2);
    let in_list = api.get("/admin/roles?search=tester").await?.expect(200);
    assert_eq!(in_list.data()[0]["userCount"], 2);
    // The user sees the role.
    let u2_roles = api
        .get(&format!("/admin/users/{u2}/roles"))
        .await?
        .expect(200);
    assert_eq!(slugs(u2_roles.data()), vec!["tester"]);

    let removed = api.delete(&format!("{path}/{u2}")).await?.expect(200);
    assert_message_only(&removed);
    assert_eq!(removed.body["message"], "User removed from role");
    api.delete(&format!("{path}/{u2}"))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        api.get("/admin/roles/tester").await?.expect(200).data()["userCount"],
        1
    );
    api.post(&path, json!({"userId": "ghost@example.com"}))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        api.get("/admin/roles/tester").await?.expect(200).data()["userCount"],
        1
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_role_removes_it_from_users_groups_and_permission_usage() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let role = new_role(&api, "Doomed", "doomed").await?;
    new_role(&api, "Kept", "kept").await?;
    new_group(&api, "Holders", "holders").await?;
    let perm = new_permission(&api, "Doomed perm", "doomed:perm").await?;
    api.post(
        "/admin/roles/doomed/permissions",
        json!({"permissions": ["doomed:perm"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/roles/kept/permissions",
        json!({"permissions": ["doomed:perm"]}),
    )
    .await?
    .expect(200);
    api.post("/admin/groups/holders/roles", json!({"roleId": "doomed"}))
        .await?
        .expect(200);
    let id = user(&api, "holder@example.com").await?;
    api.put(
        &format!("/admin/users/{id}/roles"),
        json!({"roles": ["doomed", "kept"]}),
    )
    .await?
    .expect(200);

    named_suite::delete_and_assert_gone(&api, &ROLES, &text(&role["id"]), "doomed").await?;

    let user_roles = api
        .get(&format!("/admin/users/{id}/roles"))
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&user_roles.body, Envelope::Pagination, 1, 1, 25),
        1
    );
    assert_eq!(slugs(user_roles.data()), vec!["kept"]);
    let detail = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(slugs(&detail.data()["roles"]), vec!["kept"]);
    let group = api.get("/admin/groups/holders").await?.expect(200);
    assert_eq!(group.data()["roleCount"], 0);
    assert_eq!(group.data()["roles"], json!([]));
    let usage = api
        .get(&format!("/admin/permissions/{}/usage", perm["id"]))
        .await?
        .expect(200);
    assert_eq!(usage.data()["roleCount"], 1);
    assert_eq!(slugs(&usage.data()["roles"]), vec!["kept"]);
    // A new role with the same slug does not inherit anything.
    named_suite::assert_reborn_empty(&api, &ROLES, "Doomed again", "doomed").await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn the_system_admin_role_cannot_be_deleted_renamed_or_have_its_permissions_changed()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let before = api
        .get("/admin/roles/admin")
        .await?
        .expect(200)
        .data()
        .clone();
    assert_eq!(before["isSystem"], true);
    let admin_id = text(&before["id"]);
    new_permission(&api, "Extra", "extra:thing").await?;

    let refusals = [
        api.delete("/admin/roles/admin").await?,
        api.delete(&format!("/admin/roles/{admin_id}")).await?,
        api.patch("/admin/roles/admin", json!({"name": "Root"}))
            .await?,
        api.put("/admin/roles/admin", json!({"slug": "root"}))
            .await?,
        api.patch("/admin/roles/admin", json!({"description": null}))
            .await?,
        api.post(
            "/admin/roles/admin/permissions",
            json!({"permissions": ["extra:thing"]}),
        )
        .await?,
        api.put("/admin/roles/admin/permissions", json!({"permissions": []}))
            .await?,
        api.delete("/admin/roles/admin/permissions/users:read")
            .await?,
        api.put(
            "/admin/roles/viewer/permissions",
            json!({"permissions": ["users:write"]}),
        )
        .await?,
    ];
    for reply in refusals {
        let reply = reply.expect_error(403, "system_resource");
        assert!(
            reply.body.get("details").is_none() || reply.body["details"].is_null(),
            "{}",
            reply.text
        );
    }
    let after = api.get("/admin/roles/admin").await?.expect(200);
    assert_eq!(after.data(), &before, "the admin role is unchanged");
    assert_eq!(
        slug_set(&after.data()["permissions"]),
        set(SYSTEM_PERMISSIONS)
    );
    let viewer = api
        .get("/admin/roles/viewer/permissions")
        .await?
        .expect(200);
    assert!(!slug_set(viewer.data()).contains("users:write"));
    // Assigning the system role to users is allowed.
    let id = user(&api, "root@example.com").await?;
    api.post("/admin/roles/admin/users", json!({"userId": id}))
        .await?
        .expect(200);
    assert_eq!(
        api.get("/admin/roles/admin").await?.expect(200).data()["userCount"],
        1
    );
    node.stop().await?;
    Ok(())
}
