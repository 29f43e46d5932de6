//! Black-box tests of the `~/admin/users` family: CRUD, lists, block/verify/password actions,
//! roles, groups, direct permissions, identity links, effective permissions and `isAdmin`.

mod admin_support;

use std::collections::BTreeSet;
use std::time::Duration;

use admin_support::*;
use lumo_tests::TestNode;
use serde_json::{Value, json};

/// Every field of the `User` model's detail view.
const DETAIL_FIELDS: &[&str] = &[
    "id",
    "email",
    "username",
    "name",
    "givenName",
    "familyName",
    "picture",
    "emailVerified",
    "phoneNumber",
    "phoneNumberVerified",
    "isActive",
    "blocked",
    "mfaEnabled",
    "isAdmin",
    "createdAt",
    "lastLoginAt",
    "loginCount",
    "roles",
    "groups",
    "locale",
    "zoneinfo",
    "updatedAt",
    "blockedAt",
    "isJitProvisioned",
    "jitProvisionedBy",
    "socialProvider",
];

#[tokio::test]
async fn create_user_without_password_returns_201_and_the_full_user_model() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let reply = api
        .post(
            "/admin/users",
            json!({
                "email": "Alice.Smith@Example.com",
                "name": "Alice Smith",
                "givenName": "Alice",
                "familyName": "Smith",
                "emailVerified": true,
            }),
        )
        .await?
        .expect(201);
    assert_data_message(&reply);
    assert_eq!(reply.body["message"], "User created");
    let user = reply.data();
    assert_eq!(keys(user), set(DETAIL_FIELDS), "user fields: {user}");
    assert_uuid(&text(&user["id"]));
    assert_eq!(
        user["email"], "alice.smith@example.com",
        "emails are stored lowercased"
    );
    assert_eq!(user["name"], "Alice Smith");
    assert_eq!(user["givenName"], "Alice");
    assert_eq!(user["familyName"], "Smith");
    assert_eq!(user["username"], Value::Null);
    assert_eq!(user["picture"], Value::Null);
    assert_eq!(user["phoneNumber"], Value::Null);
    assert_eq!(user["emailVerified"], true);
    assert_eq!(user["phoneNumberVerified"], false);
    assert_eq!(user["isActive"], true);
    assert_eq!(user["blocked"], false);
    assert_eq!(user["blockedAt"], Value::Null);
    assert_eq!(user["mfaEnabled"], false);
    assert_eq!(user["isAdmin"], false);
    assert_eq!(user["loginCount"], 0);
    assert_eq!(user["lastLoginAt"], Value::Null);
    assert_eq!(user["roles"], json!([]));
    assert_eq!(user["groups"], json!([]));
    assert_eq!(user["isJitProvisioned"], false);
    let created = assert_time(&user["createdAt"]);
    let updated = assert_time(&user["updatedAt"]);
    assert!(updated >= created);

    // The stored user is what the create answered, and it has no password (no auth source).
    let id = text(&user["id"]);
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(keys(&fetched.body), set(&["data"]));
    assert_eq!(fetched.data(), user);
    let identities = api
        .get(&format!("/admin/users/{id}/identities"))
        .await?
        .expect(200);
    assert_eq!(
        identities.body,
        json!({"data": {"auth_source": null, "ldap_only": false, "bindings": []}})
    );
    // One audit record of the creation, by the admin API key.
    let audit = audit_for(&api, "user.created", &id).await?;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0]["targetType"], "user");
    assert_eq!(audit[0]["actorType"], "api_key");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_user_with_an_acceptable_password_makes_a_local_account() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let user = new_user(
        &api,
        json!({"email": "pw@example.com", "password": "correct-horse-battery"}),
    )
    .await?;
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());
    let id = text(&user["id"]);
    let identities = api
        .get(&format!("/admin/users/{id}/identities"))
        .await?
        .expect(200);
    assert_eq!(identities.data()["auth_source"], "local");
    assert_eq!(identities.data()["bindings"], json!([]));
    let audit = audit_for(&api, "user.created", &id).await?;
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0]["newValue"]["hasPassword"], true);
    assert!(
        !audit[0].to_string().contains("correct-horse-battery"),
        "plaintext in audit"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_user_with_a_password_shorter_than_the_policy_is_refused_and_not_stored()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let before = total(&api, "/admin/users").await?;
    let reply = api
        .post(
            "/admin/users",
            json!({"email": "short@example.com", "password": "abc1234"}),
        )
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&reply, &["password"]);
    assert!(
        text(&reply.body["details"]["password"]).contains("at least 8"),
        "{}",
        reply.text
    );
    assert_eq!(total(&api, "/admin/users").await?, before);
    api.get("/admin/users/short@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    // Exactly the minimum length is accepted.
    new_user(
        &api,
        json!({"email": "short@example.com", "password": "abcd1234"}),
    )
    .await?;
    assert_eq!(total(&api, "/admin/users").await?, before + 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_or_patch_with_an_empty_or_blank_password_is_refused() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let existing = user(&api, "has-no-pw@example.com").await?;
    // An explicitly sent password that is empty or blank is shorter than the 8-character
    // policy (and PUT /password already refuses it); it must not silently yield, or keep, a
    // password-less account.
    let mut wrong = Vec::new();
    for (i, password) in ["", "        ", "\t\t\t\t\t\t\t\t"].into_iter().enumerate() {
        let email = format!("empty-pw{i}@example.com");
        let reply = api
            .post(
                "/admin/users",
                json!({"email": email, "password": password}),
            )
            .await?;
        if reply.status != 422 || reply.body["details"].get("password").is_none() {
            let auth = api.get(&format!("/admin/users/{email}/identities")).await?;
            wrong.push(format!(
                "POST /admin/users password={password:?} -> {} (auth_source {})",
                reply.status, auth.body["data"]["auth_source"]
            ));
        }
        let reply = api
            .patch(
                &format!("/admin/users/{existing}"),
                json!({"password": password}),
            )
            .await?;
        if reply.status != 422 || reply.body["details"].get("password").is_none() {
            wrong.push(format!(
                "PATCH /admin/users/{{id}} password={password:?} -> {}",
                reply.status
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 422 with details.password, got:\n{}",
        wrong.join("\n")
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn create_user_with_an_existing_email_in_any_case_is_409_and_changes_nothing()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let first = new_user(&api, json!({"email": "dup@example.com", "name": "First"})).await?;
    let reply = api
        .post(
            "/admin/users",
            json!({"email": "DUP@Example.COM", "name": "Second"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(reply.body["details"], json!({"field": "email"}));
    assert_eq!(total(&api, "/admin/users").await?, 1);
    let still = api.get("/admin/users/dup@example.com").await?.expect(200);
    assert_eq!(still.data()["id"], first["id"]);
    assert_eq!(still.data()["name"], "First");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn get_user_by_uuid_and_by_email_return_the_same_user() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = new_user(&api, json!({"email": "bob@example.com", "name": "Bob"})).await?;
    let id = text(&created["id"]);
    let by_id = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    let by_email = api.get("/admin/users/bob@example.com").await?.expect(200);
    let by_upper_email = api.get("/admin/users/BOB@EXAMPLE.COM").await?.expect(200);
    let by_encoded_email = api.get("/admin/users/bob%40example.com").await?.expect(200);
    assert_eq!(by_encoded_email.body, by_email.body);
    assert_eq!(by_id.data()["id"], json!(id));
    assert_eq!(by_id.data()["email"], "bob@example.com");
    assert_eq!(by_id.body, by_email.body);
    assert_eq!(by_id.body, by_upper_email.body);
    // Unknown ones of both kinds are 404 in the error shape.
    let missing = api
        .get("/admin/users/00000000-0000-0000-0000-000000000001")
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(missing.body["error_description"], missing.body["message"]);
    api.get("/admin/users/nobody@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_users_paginates_with_identical_meta_and_pagination() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let mut created = BTreeSet::new();
    for i in 0..7 {
        created.insert(user(&api, &format!("page{i}@example.com")).await?);
    }
    // Defaults: page 1, limit 25.
    let all = api.get("/admin/users").await?.expect(200);
    assert_eq!(assert_list(&all.body, Envelope::Meta, 7, 1, 25), 7);
    assert_eq!(id_set(all.data()), created);
    // List items are the summary view: no roles/groups/detail fields.
    let item = &all.data()[0];
    assert!(
        item.get("roles").is_none() && item.get("blockedAt").is_none(),
        "{item}"
    );
    for field in [
        "id",
        "email",
        "emailVerified",
        "isActive",
        "blocked",
        "mfaEnabled",
        "isAdmin",
        "createdAt",
        "loginCount",
    ] {
        assert!(item.get(field).is_some(), "list item lacks {field}: {item}");
    }

    let mut seen = BTreeSet::new();
    let p1 = api.get("/admin/users?limit=3").await?.expect(200);
    assert_eq!(assert_list(&p1.body, Envelope::Meta, 7, 1, 3), 3);
    let p2 = api.get("/admin/users?limit=3&page=2").await?.expect(200);
    assert_eq!(assert_list(&p2.body, Envelope::Meta, 7, 2, 3), 3);
    let p3 = api.get("/admin/users?limit=3&page=3").await?.expect(200);
    assert_eq!(assert_list(&p3.body, Envelope::Meta, 7, 3, 3), 1);
    for page in [&p1, &p2, &p3] {
        for id in ids(page.data()) {
            assert!(seen.insert(id), "a user appears on two pages");
        }
    }
    assert_eq!(seen, created, "pages together list every user once");
    // Past the end: empty data, still correct meta.
    let p4 = api.get("/admin/users?limit=3&page=4").await?.expect(200);
    assert_eq!(assert_list(&p4.body, Envelope::Meta, 7, 4, 3), 0);
    // per_page is an alias of limit.
    let alias = api.get("/admin/users?per_page=2").await?.expect(200);
    assert_eq!(assert_list(&alias.body, Envelope::Meta, 7, 1, 2), 2);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_users_search_matches_email_name_and_username() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let zelda = new_user(
        &api,
        json!({"email": "z1@example.com", "name": "Zelda Hyrule"}),
    )
    .await?;
    let link = new_user(
        &api,
        json!({"email": "link@hyrule.org", "username": "hero"}),
    )
    .await?;
    let other = new_user(
        &api,
        json!({"email": "ganon@evil.net", "familyName": "Dorf"}),
    )
    .await?;

    let by_name = api.get("/admin/users?search=zelda").await?.expect(200);
    assert_eq!(assert_list(&by_name.body, Envelope::Meta, 1, 1, 25), 1);
    assert_eq!(by_name.data()[0]["id"], zelda["id"]);

    let by_domain = api.get("/admin/users?search=HYRULE").await?.expect(200);
    assert_eq!(assert_list(&by_domain.body, Envelope::Meta, 2, 1, 25), 2);
    assert_eq!(
        id_set(by_domain.data()),
        [text(&zelda["id"]), text(&link["id"])]
            .into_iter()
            .collect()
    );

    let by_username = api.get("/admin/users?search=hero").await?.expect(200);
    assert_eq!(ids(by_username.data()), vec![text(&link["id"])]);
    let by_family = api.get("/admin/users?q=dorf").await?.expect(200);
    assert_eq!(ids(by_family.data()), vec![text(&other["id"])]);

    let none = api
        .get("/admin/users?search=nobody-matches")
        .await?
        .expect(200);
    assert_eq!(assert_list(&none.body, Envelope::Meta, 0, 1, 25), 0);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_users_sorts_by_sort_by_and_sort_dir() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    // Created in this order, with distinct emails and names in another order.
    let specs = [
        ("c@example.com", "Bravo"),
        ("a@example.com", "Charlie"),
        ("b@example.com", "Alpha"),
    ];
    let mut created = Vec::new();
    for (email, name) in specs {
        created.push(text(
            &new_user(&api, json!({"email": email, "name": name})).await?["id"],
        ));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let emails = |v: &Value| field_of(v, "email");
    let names = |v: &Value| field_of(v, "name");

    let asc = api
        .get("/admin/users?sortBy=email&sortDir=asc")
        .await?
        .expect(200);
    assert_eq!(
        emails(asc.data()),
        vec!["a@example.com", "b@example.com", "c@example.com"]
    );
    let desc = api
        .get("/admin/users?sortBy=email&sortDir=desc")
        .await?
        .expect(200);
    assert_eq!(
        emails(desc.data()),
        vec!["c@example.com", "b@example.com", "a@example.com"]
    );
    let by_name = api
        .get("/admin/users?sortBy=name&sortDir=ASC")
        .await?
        .expect(200);
    assert_eq!(names(by_name.data()), vec!["Alpha", "Bravo", "Charlie"]);

    // Default: newest first; sortDir=asc: oldest first.
    let newest = api.get("/admin/users").await?.expect(200);
    let mut expected: Vec<String> = created.iter().rev().cloned().collect();
    assert_eq!(ids(newest.data()), expected);
    let oldest = api
        .get("/admin/users?sortBy=createdAt&sortDir=asc")
        .await?
        .expect(200);
    expected.reverse();
    assert_eq!(ids(oldest.data()), expected);
    // The same order when a search forces the filtered path.
    let searched = api
        .get("/admin/users?search=example.com&sortBy=createdAt&sortDir=asc")
        .await?
        .expect(200);
    assert_eq!(ids(searched.data()), expected);
    // Sorting and paging combine: second page of 2 by email ascending.
    let paged = api
        .get("/admin/users?sortBy=email&sortDir=asc&limit=2&page=2")
        .await?
        .expect(200);
    assert_eq!(assert_list(&paged.body, Envelope::Meta, 3, 2, 2), 1);
    assert_eq!(emails(paged.data()), vec!["c@example.com"]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_users_filters_by_blocked_role_group_and_email_verified() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let a = new_user(
        &api,
        json!({"email": "fa@example.com", "emailVerified": true}),
    )
    .await?;
    let b = new_user(&api, json!({"email": "fb@example.com"})).await?;
    let c = new_user(&api, json!({"email": "fc@example.com"})).await?;
    let (a, b, c) = (text(&a["id"]), text(&b["id"]), text(&c["id"]));
    let ids_of = |list: &[&String]| list.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();

    api.post_empty(&format!("/admin/users/{b}/block"))
        .await?
        .expect(200);
    let role = new_role(&api, "Auditors", "auditors").await?;
    let group = new_group(&api, "Finance", "finance").await?;
    api.post(
        &format!("/admin/users/{a}/roles"),
        json!({"roleId": "auditors"}),
    )
    .await?
    .expect(200);
    api.post(
        &format!("/admin/users/{c}/roles"),
        json!({"roleId": text(&role["id"])}),
    )
    .await?
    .expect(200);
    api.post(
        &format!("/admin/users/{b}/groups"),
        json!({"groupId": "finance"}),
    )
    .await?
    .expect(200);

    let blocked = api.get("/admin/users?blocked=true").await?.expect(200);
    assert_eq!(assert_list(&blocked.body, Envelope::Meta, 1, 1, 25), 1);
    assert_eq!(id_set(blocked.data()), ids_of(&[&b]));
    assert_eq!(blocked.data()[0]["blocked"], true);
    let unblocked = api.get("/admin/users?blocked=false").await?.expect(200);
    assert_eq!(id_set(unblocked.data()), ids_of(&[&a, &c]));

    let verified = api
        .get("/admin/users?emailVerified=true")
        .await?
        .expect(200);
    assert_eq!(id_set(verified.data()), ids_of(&[&a]));
    let unverified = api
        .get("/admin/users?emailVerified=false")
        .await?
        .expect(200);
    assert_eq!(id_set(unverified.data()), ids_of(&[&b, &c]));

    let by_role_slug = api.get("/admin/users?role=auditors").await?.expect(200);
    assert_eq!(assert_list(&by_role_slug.body, Envelope::Meta, 2, 1, 25), 2);
    assert_eq!(id_set(by_role_slug.data()), ids_of(&[&a, &c]));
    let by_role_id = api
        .get(&format!("/admin/users?role={}", text(&role["id"])))
        .await?
        .expect(200);
    assert_eq!(id_set(by_role_id.data()), ids_of(&[&a, &c]));

    let by_group = api.get("/admin/users?group=finance").await?.expect(200);
    assert_eq!(id_set(by_group.data()), ids_of(&[&b]));
    let by_group_id = api
        .get(&format!("/admin/users?group={}", text(&group["id"])))
        .await?
        .expect(200);
    assert_eq!(id_set(by_group_id.data()), ids_of(&[&b]));

    // Filters combine with AND.
    let combined = api
        .get("/admin/users?role=auditors&emailVerified=false")
        .await?
        .expect(200);
    assert_eq!(id_set(combined.data()), ids_of(&[&c]));
    let nothing = api
        .get("/admin/users?group=finance&blocked=false")
        .await?
        .expect(200);
    assert_eq!(assert_list(&nothing.body, Envelope::Meta, 0, 1, 25), 0);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn put_and_patch_change_only_the_fields_sent_and_null_clears() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = new_user(
        &api,
        json!({
            "email": "partial@example.com",
            "name": "Pat Partial",
            "givenName": "Pat",
            "familyName": "Partial",
            "phoneNumber": "+15551234567",
            "locale": "en-US",
            "zoneinfo": "Europe/Paris",
            "username": "pat",
            "emailVerified": true,
        }),
    )
    .await?;
    let id = text(&created["id"]);
    let path = format!("/admin/users/{id}");

    let patched = api
        .patch(&path, json!({"name": "Patricia"}))
        .await?
        .expect(200);
    assert_data_message(&patched);
    assert_eq!(patched.body["message"], "User updated");
    let mut expected = created.clone();
    expected["name"] = json!("Patricia");
    expected["updatedAt"] = patched.data()["updatedAt"].clone();
    assert_eq!(patched.data(), &expected, "only name changed");
    assert!(assert_time(&patched.data()["updatedAt"]) >= assert_time(&created["updatedAt"]));

    let put = api
        .put(&path, json!({"givenName": "Patty", "locale": "fr-FR"}))
        .await?
        .expect(200);
    expected["givenName"] = json!("Patty");
    expected["locale"] = json!("fr-FR");
    expected["updatedAt"] = put.data()["updatedAt"].clone();
    assert_eq!(put.data(), &expected, "PUT is partial too");

    let cleared = api
        .patch(
            &path,
            json!({"phoneNumber": null, "zoneinfo": null, "username": null}),
        )
        .await?
        .expect(200);
    expected["phoneNumber"] = Value::Null;
    expected["zoneinfo"] = Value::Null;
    expected["username"] = Value::Null;
    expected["updatedAt"] = cleared.data()["updatedAt"].clone();
    assert_eq!(cleared.data(), &expected, "null clears nullable fields");

    // Flags are set only when sent.
    let flags = api
        .patch(&path, json!({"isActive": false}))
        .await?
        .expect(200);
    assert_eq!(flags.data()["isActive"], false);
    assert_eq!(flags.data()["emailVerified"], true);
    assert_eq!(flags.data()["blocked"], false);

    // What a later GET sees is what the last update answered.
    let fetched = api.get(&path).await?.expect(200);
    assert_eq!(fetched.data(), flags.data());
    // The cleared username is free again for another user.
    new_user(
        &api,
        json!({"email": "other@example.com", "username": "pat"}),
    )
    .await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn changing_email_moves_the_lookup_and_resets_verification() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = new_user(
        &api,
        json!({"email": "old@example.com", "emailVerified": true}),
    )
    .await?;
    let id = text(&created["id"]);
    let changed = api
        .patch(
            "/admin/users/old@example.com",
            json!({"email": "New@Example.com"}),
        )
        .await?
        .expect(200);
    assert_eq!(changed.data()["id"], json!(id));
    assert_eq!(changed.data()["email"], "new@example.com");
    assert_eq!(
        changed.data()["emailVerified"],
        false,
        "a new address is unverified"
    );
    api.get("/admin/users/old@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    let by_new = api.get("/admin/users/new@example.com").await?.expect(200);
    assert_eq!(by_new.data()["id"], json!(id));
    // The old address is free again.
    new_user(&api, json!({"email": "old@example.com"})).await?;
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn changing_email_to_one_another_user_has_is_409_and_changes_neither() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let a = new_user(&api, json!({"email": "ua@example.com", "name": "A"})).await?;
    let b = new_user(&api, json!({"email": "ub@example.com", "name": "B"})).await?;
    let a_id = text(&a["id"]);
    let reply = api
        .put(
            &format!("/admin/users/{a_id}"),
            json!({"email": "UB@example.com", "name": "renamed"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(reply.body["details"], json!({"field": "email"}));
    let a_after = api.get(&format!("/admin/users/{a_id}")).await?.expect(200);
    assert_eq!(
        a_after.data(),
        &a,
        "the refused update changed nothing, not even name"
    );
    let b_after = api.get("/admin/users/ub@example.com").await?.expect(200);
    assert_eq!(b_after.data(), &b);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn block_sets_blocked_at_and_unblock_clears_it() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "blocky@example.com").await?;
    let blocked = api
        .post_empty(&format!("/admin/users/{id}/block"))
        .await?
        .expect(200);
    assert_data_message(&blocked);
    assert_eq!(blocked.body["message"], "User blocked");
    assert_eq!(blocked.data()["blocked"], true);
    let at = assert_time(&blocked.data()["blockedAt"]);
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["blocked"], true);
    assert_eq!(fetched.data()["blockedAt"], blocked.data()["blockedAt"]);

    // Blocking again keeps the first blockedAt.
    let again = api
        .post_empty(&format!("/admin/users/{id}/block"))
        .await?
        .expect(200);
    assert_eq!(assert_time(&again.data()["blockedAt"]), at);

    let unblocked = api
        .post_empty(&format!("/admin/users/{id}/unblock"))
        .await?
        .expect(200);
    assert_eq!(unblocked.body["message"], "User unblocked");
    assert_eq!(unblocked.data()["blocked"], false);
    assert_eq!(unblocked.data()["blockedAt"], Value::Null);
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["blocked"], false);
    assert_eq!(fetched.data()["blockedAt"], Value::Null);

    assert_eq!(audit_for(&api, "user.blocked", &id).await?.len(), 2);
    assert_eq!(audit_for(&api, "user.unblocked", &id).await?.len(), 1);
    // Unknown users are 404.
    api.post_empty("/admin/users/ghost@example.com/block")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn mark_verified_sets_email_verified() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "verify-me@example.com").await?;
    let before = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(before.data()["emailVerified"], false);
    let reply = api
        .post_empty(&format!("/admin/users/{id}/mark-verified"))
        .await?
        .expect(200);
    assert_data_message(&reply);
    assert_eq!(reply.data()["emailVerified"], true);
    assert_eq!(reply.data()["id"], json!(id));
    let after = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(after.data()["emailVerified"], true);
    assert_eq!(audit_for(&api, "user.email_verified", &id).await?.len(), 1);
    let filtered = api
        .get("/admin/users?emailVerified=true")
        .await?
        .expect(200);
    assert_eq!(ids(filtered.data()), vec![id]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn verify_email_and_password_reset_answer_a_message_and_are_audited() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "mail@example.com").await?;

    let verify = api
        .post_empty(&format!("/admin/users/{id}/verify-email"))
        .await?
        .expect(200);
    assert_message_only(&verify);
    let entries = audit_for(&api, "user.verification_email.requested", &id).await?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["targetType"], "user");
    assert_eq!(entries[0]["targetId"], json!(id));
    assert_eq!(entries[0]["action"], "user.verification_email.requested");

    let reset = api
        .post_empty("/admin/users/MAIL@example.com/password-reset")
        .await?
        .expect(200);
    assert_message_only(&reset);
    let entries = audit_for(&api, "user.password_reset.requested", &id).await?;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["targetId"], json!(id));

    // The requests do not change the user.
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["emailVerified"], false);

    // Unknown users: 404 and no audit record.
    api.post_empty("/admin/users/00000000-0000-0000-0000-00000000abcd/verify-email")
        .await?
        .expect_error(404, "resource_not_found");
    api.post_empty("/admin/users/nobody@example.com/password-reset")
        .await?
        .expect_error(404, "resource_not_found");
    let all_requests = api
        .get("/admin/audit-logs?action=user.password_reset.requested")
        .await?
        .expect(200);
    assert_eq!(all_requests.body["pagination"]["total"], 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn password_can_be_set_with_put_and_post_and_short_ones_are_refused() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "setpw@example.com").await?;
    let path = format!("/admin/users/{id}/password");
    let identities = format!("/admin/users/{id}/identities");
    assert_eq!(
        api.get(&identities).await?.expect(200).data()["auth_source"],
        Value::Null
    );

    let put = api
        .put(&path, json!({"password": "first-long-password"}))
        .await?
        .expect(200);
    assert_message_only(&put);
    assert_eq!(put.body["message"], "Password updated");
    assert_eq!(
        api.get(&identities).await?.expect(200).data()["auth_source"],
        "local"
    );
    let post = api
        .post(&path, json!({"password": "second-long-password"}))
        .await?
        .expect(200);
    assert_message_only(&post);
    assert_eq!(
        audit_for(&api, "user.password.changed", &id).await?.len(),
        2
    );

    let short = api
        .post(&path, json!({"password": "tiny"}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&short, &["password"]);
    let missing = api
        .put(&path, json!({}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&missing, &["password"]);
    let wrong_type = api
        .put(&path, json!({"password": 12345678}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&wrong_type, &["password"]);
    // Refused attempts left no record.
    assert_eq!(
        audit_for(&api, "user.password.changed", &id).await?.len(),
        2
    );
    api.put(
        "/admin/users/nobody@example.com/password",
        json!({"password": "long-enough-pw"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn mfa_reset_is_gone_with_410_for_existing_users_and_404_for_unknown() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "mfa@example.com").await?;
    let reply = api
        .post_empty(&format!("/admin/users/{id}/mfa/reset"))
        .await?
        .expect_error(410, "gone");
    assert_eq!(reply.body["error_description"], reply.body["message"]);
    api.post_empty("/admin/users/00000000-0000-0000-0000-000000000042/mfa/reset")
        .await?
        .expect_error(404, "resource_not_found");
    // The user is untouched.
    let fetched = api.get(&format!("/admin/users/{id}")).await?.expect(200);
    assert_eq!(fetched.data()["mfaEnabled"], false);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_roles_can_be_added_listed_replaced_and_removed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "roles@example.com").await?;
    let r1 = new_role(&api, "Editors", "editors").await?;
    let r2 = new_role(&api, "Writers", "writers").await?;
    let r3 = new_role(&api, "Readers", "readers").await?;
    let path = format!("/admin/users/{id}/roles");

    // Add by id, then by slug.
    let added = api
        .post(&path, json!({"roleId": text(&r1["id"])}))
        .await?
        .expect(200);
    assert_data_message(&added);
    assert_eq!(added.body["message"], "Role assigned");
    assert_eq!(added.data()["id"], json!(id));
    assert_eq!(
        added.data()["roles"],
        json!([{"id": r1["id"], "name": "Editors", "slug": "editors"}])
    );
    let added = api
        .post(&path, json!({"roleId": "writers"}))
        .await?
        .expect(200);
    assert_eq!(
        slug_set(&added.data()["roles"]),
        set(&["editors", "writers"])
    );
    // Adding again is idempotent.
    let again = api
        .post(&path, json!({"roleId": "writers"}))
        .await?
        .expect(200);
    assert_eq!(again.data()["roles"].as_array().map(Vec::len), Some(2));

    let listed = api.get(&path).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 2, 1, 25), 2);
    assert_eq!(slug_set(listed.data()), set(&["editors", "writers"]));
    for item in listed.data().as_array().into_iter().flatten() {
        assert_eq!(
            keys(item),
            set(&["id", "name", "slug", "description"]),
            "{item}"
        );
    }

    // Replace with one role given by slug.
    let replaced = api
        .put(&path, json!({"roles": ["readers"]}))
        .await?
        .expect(200);
    assert_data_message(&replaced);
    assert_eq!(
        replaced.data()["roles"],
        json!([{"id": r3["id"], "name": "Readers", "slug": "readers"}])
    );
    let listed = api.get(&path).await?.expect(200);
    assert_eq!(ids(listed.data()), vec![text(&r3["id"])]);
    let role_users = api
        .get(&format!("/admin/roles/{}/users", text(&r2["id"])))
        .await?
        .expect(200);
    assert_eq!(
        role_users.body["pagination"]["total"], 0,
        "replace removed the old role"
    );

    // Remove.
    let removed = api
        .delete(&format!("{path}/{}", text(&r3["id"])))
        .await?
        .expect(200);
    assert_data_message(&removed);
    assert_eq!(removed.data()["roles"], json!([]));
    api.delete(&format!("{path}/readers"))
        .await?
        .expect_error(404, "resource_not_found");

    // An unknown role in an add changes nothing.
    api.post(&path, json!({"roleId": "no-such-role"}))
        .await?
        .expect_error(404, "resource_not_found");
    api.put(&path, json!({"roles": ["editors", "no-such-role"]}))
        .await?
        .expect_error(404, "resource_not_found");
    let listed = api.get(&path).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 0, 1, 25), 0);

    // Replace with an empty list clears.
    api.post(&path, json!({"roleId": "editors"}))
        .await?
        .expect(200);
    let cleared = api.put(&path, json!({"roles": []})).await?.expect(200);
    assert_eq!(cleared.data()["roles"], json!([]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_groups_can_be_added_listed_replaced_and_removed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "groups@example.com").await?;
    let g1 = new_group(&api, "Sales", "sales").await?;
    let g2 = new_group(&api, "Support", "support").await?;
    let g3 = new_group(&api, "Ops", "ops").await?;
    let path = format!("/admin/users/{id}/groups");

    let added = api
        .post(&path, json!({"groupId": text(&g1["id"])}))
        .await?
        .expect(200);
    assert_data_message(&added);
    assert_eq!(added.body["message"], "User added to group");
    assert_eq!(
        added.data()["groups"],
        json!([{"id": g1["id"], "name": "Sales", "slug": "sales"}])
    );
    api.post(&path, json!({"groupId": "support"}))
        .await?
        .expect(200);
    let listed = api.get(&path).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 2, 1, 25), 2);
    assert_eq!(slug_set(listed.data()), set(&["sales", "support"]));
    for item in listed.data().as_array().into_iter().flatten() {
        assert_eq!(keys(item), set(&["id", "name", "slug", "description"]));
    }
    let sales = api.get("/admin/groups/sales").await?.expect(200);
    assert_eq!(sales.data()["memberCount"], 1);

    let replaced = api
        .put(&path, json!({"groups": [text(&g3["id"]), "support"]}))
        .await?
        .expect(200);
    assert_eq!(
        slug_set(&replaced.data()["groups"]),
        set(&["ops", "support"])
    );
    let sales = api.get("/admin/groups/sales").await?.expect(200);
    assert_eq!(
        sales.data()["memberCount"],
        0,
        "replace removed the membership"
    );

    let removed = api.delete(&format!("{path}/support")).await?.expect(200);
    assert_data_message(&removed);
    assert_eq!(removed.body["message"], "User removed from group");
    assert_eq!(
        removed.data()["groups"],
        json!([{"id": g3["id"], "name": "Ops", "slug": "ops"}])
    );
    api.delete(&format!("{path}/{}", text(&g2["id"])))
        .await?
        .expect_error(404, "resource_not_found");
    api.post(&path, json!({"groupId": "nope"}))
        .await?
        .expect_error(404, "resource_not_found");
    let listed = api.get(&path).await?.expect(200);
    assert_eq!(ids(listed.data()), vec![text(&g3["id"])]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn direct_permissions_can_be_added_listed_and_removed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "perm@example.com").await?;
    let custom = new_permission(&api, "Approve invoices", "invoices:approve").await?;
    let path = format!("/admin/users/{id}/permissions");

    let added = api
        .post(&path, json!({"permissionId": custom["id"]}))
        .await?
        .expect(200);
    assert_message_only(&added);
    assert_eq!(added.body["message"], "Permission assigned");
    // A system permission by slug.
    api.post(&path, json!({"permissionId": "users:read"}))
        .await?
        .expect(200);

    let listed = api.get(&path).await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Pagination, 2, 1, 25), 2);
    assert_eq!(
        slug_set(listed.data()),
        set(&["invoices:approve", "users:read"])
    );
    for item in listed.data().as_array().into_iter().flatten() {
        assert_eq!(keys(item), set(&["id", "name", "slug", "description"]));
        assert!(item["id"].is_u64(), "permission ids are integers: {item}");
    }
    let effective = api
        .get(&format!("/admin/users/{id}/effective-permissions"))
        .await?
        .expect(200);
    assert_eq!(
        effective.data()["permissions"],
        json!(["invoices:approve", "users:read"])
    );

    let removed = api
        .delete(&format!("{path}/invoices:approve"))
        .await?
        .expect(200);
    assert_message_only(&removed);
    assert_eq!(removed.body["message"], "Permission removed");
    let listed = api.get(&path).await?.expect(200);
    assert_eq!(slugs(listed.data()), vec!["users:read"]);
    api.delete(&format!("{path}/{}", custom["id"]))
        .await?
        .expect_error(404, "resource_not_found");
    api.post(&path, json!({"permissionId": 9999}))
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(total(&api, &path).await?, 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn identities_can_be_listed_linked_and_unlinked() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "saml-user@example.com").await?;
    let path = format!("/admin/users/{id}/identities");

    let initial = api.get(&path).await?.expect(200);
    assert_eq!(
        initial.body,
        json!({"data": {"auth_source": null, "ldap_only": false, "bindings": []}})
    );

    let linked = api
        .post(
            &path,
            json!({"type": "saml", "idp_id": 7, "name_id": "alice@idp.example"}),
        )
        .await?
        .expect(201);
    assert_data_message(&linked);
    assert_eq!(linked.body["message"], "Identity linked");
    assert_eq!(linked.data()["auth_source"], "saml");
    let bindings = linked.data()["bindings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(bindings.len(), 1, "{}", linked.text);
    assert_eq!(bindings[0]["type"], "saml");
    assert_eq!(bindings[0]["idp_id"], 7);
    assert_eq!(bindings[0]["name_id"], "alice@idp.example");
    assert_eq!(bindings[0]["legacy"], false);
    assert_eq!(api.get(&path).await?.expect(200).data(), linked.data());
    assert_eq!(
        audit_for(&api, "identity.link.created", &id).await?.len(),
        1
    );

    // A user can't have SAML and LDAP at once.
    api.post(
        &path,
        json!({"type": "ldap", "ldap_config_id": 1, "dn": "cn=alice,dc=example"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");

    let unlinked = api.delete(&format!("{path}/saml")).await?.expect(200);
    assert_data_message(&unlinked);
    assert_eq!(
        unlinked.data(),
        &json!({"auth_source": null, "ldap_only": false, "bindings": []})
    );
    api.delete(&format!("{path}/saml"))
        .await?
        .expect_error(404, "resource_not_found");

    // LDAP now links, with ldap_only reflected.
    let ldap = api
        .post(
            &path,
            json!({"type": "ldap", "ldap_config_id": 3, "dn": "cn=alice,dc=example", "ldap_only": true}),
        )
        .await?
        .expect(201);
    assert_eq!(ldap.data()["auth_source"], "ldap");
    assert_eq!(ldap.data()["ldap_only"], true);
    assert_eq!(ldap.data()["bindings"][0]["dn"], "cn=alice,dc=example");
    assert_eq!(ldap.data()["bindings"][0]["ldap_config_id"], 3);

    // Bad link bodies are 422 naming the fields.
    let missing = api
        .post(&path, json!({"type": "saml"}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&missing, &["idp_id", "name_id"]);
    let bad_type = api
        .post(&path, json!({"type": "kerberos"}))
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&bad_type, &["type"]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn linking_a_saml_name_id_another_user_holds_is_409() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let a = user(&api, "holder@example.com").await?;
    let b = user(&api, "taker@example.com").await?;
    let body = json!({"type": "saml", "idp_id": 1, "name_id": "shared-name-id"});
    api.post(&format!("/admin/users/{a}/identities"), body.clone())
        .await?
        .expect(201);

    let refused = api
        .post(&format!("/admin/users/{b}/identities"), body.clone())
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "name_id"}));
    let b_identities = api
        .get(&format!("/admin/users/{b}/identities"))
        .await?
        .expect(200);
    assert_eq!(
        b_identities.data()["bindings"],
        json!([]),
        "nothing half-linked"
    );
    assert_eq!(b_identities.data()["auth_source"], Value::Null);

    // Re-linking the holder itself is fine; the same name_id at another IdP is not a clash.
    api.post(&format!("/admin/users/{a}/identities"), body.clone())
        .await?
        .expect(201);
    api.post(
        &format!("/admin/users/{b}/identities"),
        json!({"type": "saml", "idp_id": 2, "name_id": "shared-name-id"}),
    )
    .await?
    .expect(201);

    // Once the holder is deleted, the binding is free.
    let c = user(&api, "third@example.com").await?;
    api.delete(&format!("/admin/users/{a}")).await?.expect(200);
    api.post(&format!("/admin/users/{c}/identities"), body)
        .await?
        .expect(201);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn effective_permissions_combine_direct_role_and_group_role_permissions() -> anyhow::Result<()>
{
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "effective@example.com").await?;
    let other = user(&api, "bystander@example.com").await?;
    new_permission(&api, "Direct", "reports:direct").await?;
    new_permission(&api, "Via role", "reports:role").await?;
    new_permission(&api, "Via group", "reports:group").await?;
    new_permission(&api, "Unrelated", "reports:none").await?;
    new_role(&api, "Role A", "role-a").await?;
    new_role(&api, "Role B", "role-b").await?;
    new_group(&api, "Group G", "group-g").await?;
    api.post(
        "/admin/roles/role-a/permissions",
        json!({"permissions": ["reports:role"]}),
    )
    .await?
    .expect(200);
    api.post(
        "/admin/roles/role-b/permissions",
        json!({"permissions": ["reports:group", "reports:role"]}),
    )
    .await?
    .expect(200);
    api.post("/admin/groups/group-g/roles", json!({"roleId": "role-b"}))
        .await?
        .expect(200);

    let path = format!("/admin/users/{id}/effective-permissions");
    let empty = api.get(&path).await?.expect(200);
    assert_eq!(empty.body, json!({"data": {"permissions": [], "count": 0}}));

    api.post(
        &format!("/admin/users/{id}/permissions"),
        json!({"permissionId": "reports:direct"}),
    )
    .await?
    .expect(200);
    api.post(
        &format!("/admin/users/{id}/roles"),
        json!({"roleId": "role-a"}),
    )
    .await?
    .expect(200);
    api.post("/admin/groups/group-g/members", json!({"userIds": [id]}))
        .await?
        .expect(200);

    let all = api.get(&path).await?.expect(200);
    assert_eq!(
        all.body,
        json!({"data": {"permissions": ["reports:direct", "reports:group", "reports:role"], "count": 3}})
    );
    // By email too.
    let by_email = api
        .get("/admin/users/effective@example.com/effective-permissions")
        .await?
        .expect(200);
    assert_eq!(by_email.body, all.body);
    // The bystander has none.
    let none = api
        .get(&format!("/admin/users/{other}/effective-permissions"))
        .await?
        .expect(200);
    assert_eq!(none.data()["count"], 0);

    // Leaving the group drops only what came through it.
    api.delete(&format!("/admin/groups/group-g/members/{id}"))
        .await?
        .expect(200);
    let after = api.get(&path).await?.expect(200);
    assert_eq!(
        after.body,
        json!({"data": {"permissions": ["reports:direct", "reports:role"], "count": 2}})
    );
    api.get("/admin/users/ghost@example.com/effective-permissions")
        .await?
        .expect_error(404, "resource_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn is_admin_follows_the_admin_role_held_directly_or_through_a_group() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let direct = user(&api, "direct-admin@example.com").await?;
    let via_group = user(&api, "group-admin@example.com").await?;
    let viewer = user(&api, "viewer@example.com").await?;

    let made = api
        .post(
            &format!("/admin/users/{direct}/roles"),
            json!({"roleId": "admin"}),
        )
        .await?
        .expect(200);
    assert_eq!(made.data()["isAdmin"], true);
    api.post(
        &format!("/admin/users/{viewer}/roles"),
        json!({"roleId": "viewer"}),
    )
    .await?
    .expect(200);
    new_group(&api, "Admins", "admins").await?;
    api.post("/admin/groups/admins/roles", json!({"roleId": "admin"}))
        .await?
        .expect(200);
    api.post(
        "/admin/groups/admins/members",
        json!({"userIds": [via_group]}),
    )
    .await?
    .expect(200);

    let is_admin = |reply: &lumo_tests::Reply| reply.data()["isAdmin"].clone();
    assert_eq!(
        is_admin(
            &api.get(&format!("/admin/users/{direct}"))
                .await?
                .expect(200)
        ),
        true
    );
    let grouped = api
        .get(&format!("/admin/users/{via_group}"))
        .await?
        .expect(200);
    assert_eq!(is_admin(&grouped), true);
    assert_eq!(
        grouped.data()["roles"],
        json!([]),
        "no direct role, admin through the group"
    );
    assert_eq!(
        is_admin(
            &api.get(&format!("/admin/users/{viewer}"))
                .await?
                .expect(200)
        ),
        false
    );

    // The list view computes it the same way.
    let list = api.get("/admin/users?limit=100").await?.expect(200);
    for item in list.data().as_array().into_iter().flatten() {
        let id = text(&item["id"]);
        let expected = id == direct || id == via_group;
        assert_eq!(
            item["isAdmin"], expected,
            "list isAdmin of {}",
            item["email"]
        );
    }

    // Losing the role (or the group) loses the flag.
    api.delete(&format!("/admin/groups/admins/members/{via_group}"))
        .await?
        .expect(200);
    assert_eq!(
        is_admin(
            &api.get(&format!("/admin/users/{via_group}"))
                .await?
                .expect(200)
        ),
        false
    );
    let removed = api
        .delete(&format!("/admin/users/{direct}/roles/admin"))
        .await?
        .expect(200);
    assert_eq!(removed.data()["isAdmin"], false);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn deleting_a_user_removes_it_and_its_relations_and_frees_the_email() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "leaving@example.com").await?;
    let stays = user(&api, "stays@example.com").await?;
    new_group(&api, "Team", "team").await?;
    new_role(&api, "Member", "member").await?;
    api.post(
        "/admin/groups/team/members",
        json!({"userIds": [id, stays]}),
    )
    .await?
    .expect(200);
    api.post(
        &format!("/admin/users/{id}/roles"),
        json!({"roleId": "member"}),
    )
    .await?
    .expect(200);
    assert_eq!(total(&api, "/admin/users").await?, 2);

    let deleted = api.delete(&format!("/admin/users/{id}")).await?.expect(200);
    assert_message_only(&deleted);
    assert_eq!(deleted.body["message"], "User deleted");
    api.get(&format!("/admin/users/{id}"))
        .await?
        .expect_error(404, "resource_not_found");
    api.get("/admin/users/leaving@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    api.delete(&format!("/admin/users/{id}"))
        .await?
        .expect_error(404, "resource_not_found");
    api.get(&format!("/admin/users/{id}/roles"))
        .await?
        .expect_error(404, "resource_not_found");

    let list = api.get("/admin/users").await?.expect(200);
    assert_eq!(assert_list(&list.body, Envelope::Meta, 1, 1, 25), 1);
    assert_eq!(ids(list.data()), vec![stays.clone()]);
    let team = api.get("/admin/groups/team").await?.expect(200);
    assert_eq!(team.data()["memberCount"], 1);
    assert_eq!(ids(&team.data()["members"]), vec![stays]);
    let member = api.get("/admin/roles/member").await?.expect(200);
    assert_eq!(member.data()["userCount"], 0);
    assert_eq!(audit_for(&api, "user.deleted", &id).await?.len(), 1);

    // The email can be used again, by a new user with a new id.
    let again = user(&api, "leaving@example.com").await?;
    assert_ne!(again, id);
    let fresh = api.get(&format!("/admin/users/{again}")).await?.expect(200);
    assert_eq!(fresh.data()["roles"], json!([]));
    assert_eq!(fresh.data()["groups"], json!([]));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn passwords_are_taken_verbatim_not_trimmed() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "spaces@example.com").await?;
    let path = format!("/admin/users/{id}/password");
    // Eight characters, two of them spaces: meets the 8-character policy as typed.
    api.put(&path, json!({"password": " abcdef "}))
        .await?
        .expect(200);
    // The same through POST, with a tab inside and a trailing space.
    api.post(&path, json!({"password": "abc\tdef "}))
        .await?
        .expect(200);
    assert_eq!(
        audit_for(&api, "user.password.changed", &id).await?.len(),
        2
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn usernames_are_unique_case_insensitively_on_create_and_update() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let first = new_user(&api, json!({"email": "u1@example.com", "username": "Neo"})).await?;
    let second = new_user(
        &api,
        json!({"email": "u2@example.com", "username": "trinity"}),
    )
    .await?;
    let refused = api
        .post(
            "/admin/users",
            json!({"email": "u3@example.com", "username": "neo"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "username"}));
    api.get("/admin/users/u3@example.com")
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(total(&api, "/admin/users").await?, 2);

    let second_id = text(&second["id"]);
    let refused = api
        .patch(
            &format!("/admin/users/{second_id}"),
            json!({"username": "NEO", "name": "T"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "username"}));
    assert_eq!(
        api.get(&format!("/admin/users/{second_id}"))
            .await?
            .expect(200)
            .data(),
        &second
    );

    // Changing the case of one's own username is not a clash.
    let recased = api
        .patch(
            &format!("/admin/users/{}", text(&first["id"])),
            json!({"username": "NEO"}),
        )
        .await?
        .expect(200);
    assert_eq!(recased.data()["username"], "NEO");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn patch_can_block_set_a_password_and_refuses_a_short_one_without_side_effects()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "patchy@example.com").await?;
    let path = format!("/admin/users/{id}");
    let blocked = api
        .patch(&path, json!({"blocked": true}))
        .await?
        .expect(200);
    assert_eq!(blocked.data()["blocked"], true);
    assert_time(&blocked.data()["blockedAt"]);
    let unblocked = api.put(&path, json!({"blocked": false})).await?.expect(200);
    assert_eq!(unblocked.data()["blocked"], false);
    assert_eq!(unblocked.data()["blockedAt"], Value::Null);

    let before = api.get(&path).await?.expect(200).data().clone();
    let refused = api
        .patch(
            &path,
            json!({"password": "short", "name": "Should not stick"}),
        )
        .await?
        .expect_error(422, "validation_error");
    assert_fields(&refused, &["password"]);
    assert_eq!(api.get(&path).await?.expect(200).data(), &before);
    let identities = format!("{path}/identities");
    assert_eq!(
        api.get(&identities).await?.expect(200).data()["auth_source"],
        Value::Null
    );

    let set = api
        .patch(&path, json!({"password": "a-long-enough-one"}))
        .await?
        .expect(200);
    assert_eq!(set.data()["name"], Value::Null);
    assert_eq!(
        api.get(&identities).await?.expect(200).data()["auth_source"],
        "local"
    );
    let updates = audit_for(&api, "user.updated", &id).await?;
    assert!(
        updates
            .iter()
            .any(|e| e["changes"]["password"] == "changed"),
        "the password change is audited without the secret: {updates:?}"
    );
    assert!(!serde_json::to_string(&updates)?.contains("a-long-enough-one"));
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn list_users_filters_by_is_active() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let active = user(&api, "active@example.com").await?;
    let inactive = new_user(
        &api,
        json!({"email": "inactive@example.com", "isActive": false}),
    )
    .await?;
    assert_eq!(inactive["isActive"], false);
    let listed = api.get("/admin/users?isActive=false").await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Meta, 1, 1, 25), 1);
    assert_eq!(ids(listed.data()), vec![text(&inactive["id"])]);
    let listed = api.get("/admin/users?isActive=true").await?.expect(200);
    assert_eq!(ids(listed.data()), vec![active]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn password_reset_of_a_blocked_user_is_refused_and_not_audited() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let id = user(&api, "blocked-reset@example.com").await?;
    api.post_empty(&format!("/admin/users/{id}/block"))
        .await?
        .expect(200);
    api.post_empty(&format!("/admin/users/{id}/password-reset"))
        .await?
        .expect_error(409, "duplicate_resource");
    assert!(
        audit_for(&api, "user.password_reset.requested", &id)
            .await?
            .is_empty()
    );
    api.post_empty(&format!("/admin/users/{id}/unblock"))
        .await?
        .expect(200);
    api.post_empty(&format!("/admin/users/{id}/password-reset"))
        .await?
        .expect(200);
    assert_eq!(
        audit_for(&api, "user.password_reset.requested", &id)
            .await?
            .len(),
        1
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn relinking_frees_the_previous_identity_and_ldap_dns_clash_case_insensitively()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let a = user(&api, "relink-a@example.com").await?;
    let b = user(&api, "relink-b@example.com").await?;
    let c = user(&api, "relink-c@example.com").await?;
    let link = |user: &str| format!("/admin/users/{user}/identities");
    api.post(
        &link(&a),
        json!({"type": "saml", "idp_id": 1, "name_id": "n1"}),
    )
    .await?
    .expect(201);
    let moved = api
        .post(
            &link(&a),
            json!({"type": "saml", "idp_id": 1, "name_id": "n2"}),
        )
        .await?
        .expect(201);
    assert_eq!(moved.data()["bindings"].as_array().map(Vec::len), Some(1));
    assert_eq!(moved.data()["bindings"][0]["name_id"], "n2");
    // n1 is free, n2 is not.
    api.post(
        &link(&b),
        json!({"type": "saml", "idp_id": 1, "name_id": "n1"}),
    )
    .await?
    .expect(201);
    api.post(
        &link(&c),
        json!({"type": "saml", "idp_id": 1, "name_id": "n2"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");

    let d = user(&api, "relink-d@example.com").await?;
    let e = user(&api, "relink-e@example.com").await?;
    api.post(
        &link(&d),
        json!({"type": "ldap", "ldap_config_id": 5, "dn": "CN=Dora,DC=Example"}),
    )
    .await?
    .expect(201);
    let refused = api
        .post(
            &link(&e),
            json!({"type": "ldap", "ldap_config_id": 5, "dn": "cn=dora,dc=example"}),
        )
        .await?
        .expect_error(409, "duplicate_resource");
    assert_eq!(refused.body["details"], json!({"field": "name_id"}));
    assert_eq!(
        api.get(&link(&e)).await?.expect(200).data()["bindings"],
        json!([])
    );
    // Another directory may hold the same DN.
    api.post(
        &link(&e),
        json!({"type": "ldap", "ldap_config_id": 6, "dn": "cn=dora,dc=example"}),
    )
    .await?
    .expect(201);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn concurrent_creates_of_one_email_make_exactly_one_user() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let mut tasks = Vec::new();
    for i in 0..10 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.post(
                "/admin/users",
                json!({"email": "race@example.com", "name": format!("n{i}")}),
            )
            .await
            .map(|r| r.status)
        }));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await??);
    }
    statuses.sort_unstable();
    let mut expected = vec![409u16; 9];
    expected.insert(0, 201);
    assert_eq!(statuses, expected);
    assert_eq!(total(&api, "/admin/users").await?, 1);

    // Distinct emails created concurrently all land, and the list total agrees with the list.
    let mut tasks = Vec::new();
    for i in 0..12 {
        let api = api.clone();
        tasks.push(tokio::spawn(async move {
            api.create_user(&format!("par{i}@example.com")).await
        }));
    }
    let mut created = BTreeSet::new();
    for task in tasks {
        created.insert(task.await??);
    }
    assert_eq!(created.len(), 12);
    let listed = api.get("/admin/users?limit=100").await?.expect(200);
    assert_eq!(assert_list(&listed.body, Envelope::Meta, 13, 1, 100), 13);
    let searched = api
        .get("/admin/users?search=par&limit=100")
        .await?
        .expect(200);
    assert_eq!(id_set(searched.data()), created);
    node.stop().await?;
    Ok(())
}
