//! Black-box tests of `~/admin/groups`: CRUD, PUT/PATCH, slugs, members and roles
//! sub-resources, counts, and cleanup of relations on delete.
//!
//! What groups share with roles (create, get, slug conflicts, PUT/PATCH, delete) runs from
//! `admin_support/named_suite.rs`; this file keeps what is particular to groups.

mod admin_support;

use admin_support::named_suite::{self, NamedKind};
use admin_support::*;
use lumo_tests::TestNode;
use serde_json::json;

const GROUP_DETAIL_FIELDS: &[&str] = &[
    "id",
    "name",
    "slug",
    "description",
    "isSystem",
    "memberCount",
    "roleCount",
    "createdAt",
    "roles",
    "members",
    "updatedAt",
];

const GROUPS: NamedKind = NamedKind {
    path: "/admin/groups",
    noun: "Group",
    detail_fields: GROUP_DETAIL_FIELDS,
    counts: &["memberCount", "roleCount"],
    lists: &["roles", "members"],
    system_count: 0,
};

#[tokio::test]
async fn create_group_returns_201_with_the_group_model() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::create_returns_201_with_the_model(&node.api(), &GROUPS).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn get_group_by_id_and_by_slug_return_the_same_group() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::get_by_id_and_by_slug_return_the_same(&node.api(), &GROUPS).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_groups_has_data_meta_pagination_sorted_by_name_with_search() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    for (name, slug) in [
        ("Charlie", "c"),
        ("alpha", "a"),
        ("Bravo", "b"),
        ("Delta", "d"),
    ] {
        new_group(&api, name, slug).await?;
    }
    let list = api.get("/admin/groups").await?.expect(200);
    assert_eq!(assert_list(&list.body, Envelope::Meta, 4, 1, 25), 4);
    assert_eq!(
        field_of(list.data(), "name"),
        vec!["alpha", "Bravo", "Charlie", "Delta"],
        "sorted by name, case-insensitively"
    );
    let item = &list.data()[0];
    assert!(
        item.get("roles").is_none() && item.get("members").is_none(),
        "{item}"
    );
    for field in [
        "id",
        "name",
        "slug",
        "description",
        "isSystem",
        "memberCount",
        "roleCount",
        "createdAt",
    ] {
        assert!(item.get(field).is_some(), "list item lacks {field}");
    }

    let page = api.get("/admin/groups?limit=3&page=2").await?.expect(200);
    assert_eq!(assert_list(&page.body, Envelope::Meta, 4, 2, 3), 1);
    assert_eq!(slugs(page.data()), vec!["d"]);
    let desc = api
        .get("/admin/groups?sortBy=slug&sortDir=desc")
        .await?
        .expect(200);
    assert_eq!(slugs(desc.data()), vec!["d", "c", "b", "a"]);
    let searched = api.get("/admin/groups?search=ALP").await?.expect(200);
    assert_eq!(assert_list(&searched.body, Envelope::Meta, 1, 1, 25), 1);
    assert_eq!(slugs(searched.data()), vec!["a"]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_duplicate_group_slug_is_409_on_create_and_on_update() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::a_duplicate_slug_is_409_on_create_and_on_update(&node.api(), &GROUPS).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn put_and_patch_change_only_what_is_sent() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    named_suite::put_and_patch_change_only_what_is_sent(&node.api(), &GROUPS).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn members_can_be_added_listed_and_removed_with_exact_envelopes() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let group = new_group(&api, "Crew", "crew").await?;
    let gid = text(&group["id"]);
    let u1 = new_user(&api, json!({"email": "m1@example.com", "name": "One"})).await?;
    let u2 = user(&api, "m2@example.com").await?;
    let u3 = user(&api, "m3@example.com").await?;
    let u4 = user(&api, "m4@example.com").await?;
    let u1_id = text(&u1["id"]);
    let members = format!("/admin/groups/{gid}/members");

    let added = api
        .post(&members, json!({"userIds": [u1_id, u2]}))
        .await?
        .expect(200);
    assert_data_message(&added);
    assert_eq!(added.body["message"], "Members added");
    assert_eq!(added.data()["memberCount"], 2);
    assert_eq!(
        id_set(&added.data()["members"]),
        [u1_id.clone(), u2.clone()].into_iter().collect()
    );
    // The other spellings of the body: users, userId (an email works as a user reference).
    api.post(&members, json!({"users": [u3]}))
        .await?
        .expect(200);
    let last = api
        .post(&members, json!({"userId": "m4@example.com"}))
        .await?
        .expect(200);
    assert_eq!(last.data()["memberCount"], 4);
    // Adding an existing member again is idempotent.
    let again = api
        .post(&members, json!({"userIds": [u2]}))
        .await?
        .expect(200);
    assert_eq!(again.data()["memberCount"], 4);

    let listed = api.get(&members).await?.expect(200);
    assert_eq!(
        assert_list(&listed.body, Envelope::Resource("users"), 4, 1, 25),
        4
    );
    assert_eq!(
        id_set(listed.data()),
        [u1_id.clone(), u2.clone(), u3.clone(), u4.clone()]
            .into_iter()
            .collect()
    );
    let one = listed
        .data()
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["id"] == json!(u1_id))
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        one,
        json!({"id": u1_id, "email": "m1@example.com", "name": "One", "username": null})
    );
    let paged = api
        .get(&format!("{members}?limit=3&page=2"))
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&paged.body, Envelope::Resource("users"), 4, 2, 3),
        1
    );

    let removed = api.delete(&format!("{members}/{u1_id}")).await?.expect(200);
    assert_message_only(&removed);
    assert_eq!(removed.body["message"], "Member removed");
    api.delete(&format!("{members}/{u1_id}"))
        .await?
        .expect_error(404, "resource_not_found");
    let detail = api.get("/admin/groups/crew").await?.expect(200);
    assert_eq!(detail.data()["memberCount"], 3);
    assert!(!id_set(&detail.data()["members"]).contains(&u1_id));
    let user_groups = api
        .get(&format!("/admin/users/{u1_id}/groups"))
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&user_groups.body, Envelope::Pagination, 0, 1, 25),
        0
    );

    // One unknown user among known ones: 404 and nobody is added.
    api.post(
        &members,
        json!({"userIds": [u1_id, "00000000-0000-0000-0000-000000000009"]}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    assert_eq!(
        api.get("/admin/groups/crew").await?.expect(200).data()["memberCount"],
        3
    );
    api.get("/admin/groups/ghost/members")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn group_roles_can_be_added_listed_replaced_and_removed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    new_group(&api, "Ops", "ops").await?;
    let r1 = new_role(&api, "Deployer", "deployer").await?;
    let r2 = new_role(&api, "Pager", "pager").await?;
    let r3 = new_role(&api, "Observer", "observer").await?;
    let roles = "/admin/groups/ops/roles";

    let added = api
        .post(roles, json!({"roleId": text(&r1["id"])}))
        .await?
        .expect(200);
    assert_message_only(&added);
    assert_eq!(added.body["message"], "Role added to group");
    api.post(roles, json!({"roleId": "pager"}))
        .await?
        .expect(200);
    let listed = api.get(roles).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 2, 1, 25), 2);
    assert_eq!(slug_set(listed.data()), set(&["deployer", "pager"]));
    for item in listed.data().as_array().into_iter().flatten() {
        assert_eq!(keys(item), set(&["id", "name", "slug", "description"]));
    }
    assert_eq!(
        api.get("/admin/groups/ops").await?.expect(200).data()["roleCount"],
        2
    );

    // Replace: exactly the roles named, mixing id and slug.
    let replaced = api
        .put(roles, json!({"roles": [text(&r3["id"]), "pager"]}))
        .await?
        .expect(200);
    assert_data_message(&replaced);
    assert_eq!(replaced.body["message"], "Group roles updated");
    assert_eq!(replaced.data()["slug"], "ops");
    assert_eq!(replaced.data()["roleCount"], 2);
    assert_eq!(
        slug_set(&replaced.data()["roles"]),
        set(&["observer", "pager"])
    );
    let listed = api.get(roles).await?.expect(200);
    assert_eq!(
        id_set(listed.data()),
        [text(&r2["id"]), text(&r3["id"])].into_iter().collect()
    );

    let removed = api.delete(&format!("{roles}/pager")).await?.expect(200);
    assert_message_only(&removed);
    assert_eq!(removed.body["message"], "Role removed from group");
    api.delete(&format!("{roles}/pager"))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        slugs(api.get(roles).await?.expect(200).data()),
        vec!["observer"]
    );

    // A replace naming an unknown role changes nothing.
    api.put(roles, json!({"roles": ["deployer", "ghost-role"]}))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(
        slugs(api.get(roles).await?.expect(200).data()),
        vec!["observer"]
    );
    // An empty replace clears.
    let cleared = api.put(roles, json!({"roles": []})).await?.expect(200);
    assert_eq!(cleared.data()["roleCount"], 0);
    assert_eq!(cleared.data()["roles"], json!([]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn member_and_role_counts_show_in_lists_and_details() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    new_group(&api, "Big", "big").await?;
    new_group(&api, "Small", "small").await?;
    new_role(&api, "R1", "r1").await?;
    new_role(&api, "R2", "r2").await?;
    let mut users = Vec::new();
    for i in 0..3 {
        users.push(user(&api, &format!("count{i}@example.com")).await?);
    }
    api.post("/admin/groups/big/members", json!({"userIds": users}))
        .await?
        .expect(200);
    api.post(
        "/admin/groups/small/members",
        json!({"userIds": [users[0]]}),
    )
    .await?
    .expect(200);
    api.put("/admin/groups/big/roles", json!({"roles": ["r1", "r2"]}))
        .await?
        .expect(200);

    let list = api.get("/admin/groups").await?.expect(200);
    let by_slug = |slug: &str| {
        list.data()
            .as_array()
            .into_iter()
            .flatten()
            .find(|g| g["slug"] == slug)
            .cloned()
            .unwrap_or_default()
    };
    assert_eq!(
        (
            by_slug("big")["memberCount"].clone(),
            by_slug("big")["roleCount"].clone()
        ),
        (json!(3), json!(2))
    );
    assert_eq!(
        (
            by_slug("small")["memberCount"].clone(),
            by_slug("small")["roleCount"].clone()
        ),
        (json!(1), json!(0))
    );
    let big = api.get("/admin/groups/big").await?.expect(200);
    assert_eq!(big.data()["memberCount"], 3);
    assert_eq!(big.data()["members"].as_array().map(Vec::len), Some(3));
    assert_eq!(big.data()["roleCount"], 2);
    assert_eq!(slug_set(&big.data()["roles"]), set(&["r1", "r2"]));
    // A user's groups reflect memberships.
    let u0 = api
        .get(&format!("/admin/users/{}", users[0]))
        .await?
        .expect(200);
    assert_eq!(slug_set(&u0.data()["groups"]), set(&["big", "small"]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_group_removes_its_memberships_and_role_grants() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let group = new_group(&api, "Temp", "temp").await?;
    let keep = new_group(&api, "Keep", "keep").await?;
    new_role(&api, "Granted", "granted").await?;
    new_permission(&api, "Via group", "temp:perm").await?;
    api.post(
        "/admin/roles/granted/permissions",
        json!({"permissions": ["temp:perm"]}),
    )
    .await?
    .expect(200);
    let id = user(&api, "member@example.com").await?;
    api.post("/admin/groups/temp/members", json!({"userIds": [id]}))
        .await?
        .expect(200);
    api.post("/admin/groups/keep/members", json!({"userIds": [id]}))
        .await?
        .expect(200);
    api.post("/admin/groups/temp/roles", json!({"roleId": "granted"}))
        .await?
        .expect(200);
    let effective = format!("/admin/users/{id}/effective-permissions");
    assert_eq!(
        api.get(&effective).await?.expect(200).data()["permissions"],
        json!(["temp:perm"])
    );

    named_suite::delete_and_assert_gone(&api, &GROUPS, &text(&group["id"]), "temp").await?;

    let user_groups = api
        .get(&format!("/admin/users/{id}/groups"))
        .await?
        .expect(200);
    assert_eq!(
        assert_list(&user_groups.body, Envelope::Pagination, 1, 1, 25),
        1
    );
    assert_eq!(ids(user_groups.data()), vec![text(&keep["id"])]);
    let detail = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(slugs(&detail.data()["groups"]), vec!["keep"]);
    assert_eq!(
        api.get(&effective).await?.expect(200).data()["permissions"],
        json!([])
    );
    let filtered = api.get("/admin/users?group=keep").await?.expect(200);
    assert_eq!(ids(filtered.data()), vec![id.clone()]);
    // The role itself remains.
    assert_eq!(
        api.get("/admin/roles/granted").await?.expect(200).data()["slug"],
        "granted"
    );
    assert_eq!(total(&api, "/admin/groups").await?, 1);

    // A new group reusing the slug starts empty.
    named_suite::assert_reborn_empty(&api, &GROUPS, "Temp again", "temp").await?;
    node.stop().await?;
    Ok(())
}
