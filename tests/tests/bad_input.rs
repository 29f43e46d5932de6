//! Negative tests across the users, groups, roles, permissions and scopes families, and the
//! authz family (RBAC and Zanzibar questions at the root and org routes, the Zanzibar schema
//! and tuples): every refused request answers the documented status and error shape, and
//! leaves no trace (the org's users, groups, roles, permissions, scopes, relation schema,
//! tuples, change feed and audit log are exactly as before); and the ABAC routes (attribute and
//! policy administration with the API key, the runtime with a user's bearer token), whose
//! refusals leave the attributes, policies, values and audit log as they were.

mod admin_support;
mod authz_support;

use admin_support::*;
use authz_support::{PASSWORD, user_token};
use lumo_tests::http::raw_request;
use lumo_tests::{ADMIN_KEY, Api, Reply, TEST_CERTIFICATE, TestNode};
use reqwest::Method;
use serde_json::{Value, json};

/// Everything a refused write could have touched.
async fn snapshot(api: &Api) -> anyhow::Result<Value> {
    let mut out = serde_json::Map::new();
    for path in [
        "/admin/users?limit=100",
        "/admin/groups?limit=100",
        "/admin/roles?limit=100",
        "/admin/permissions?limit=100",
        "/admin/scopes?limit=100",
    ] {
        let reply = api.get(path).await?.expect(200);
        out.insert(path.to_string(), reply.body.clone());
    }
    // Details carry the relations (roles, groups, members, permissions).
    let users = api.get("/admin/users?limit=100").await?.expect(200);
    for id in ids(users.data()) {
        let detail = api.get(&format!("/admin/users/{id}")).await?.expect(200);
        out.insert(format!("user {id}"), detail.body.clone());
        let perms = api
            .get(&format!("/admin/users/{id}/permissions"))
            .await?
            .expect(200);
        out.insert(format!("user perms {id}"), perms.body.clone());
        let identities = api
            .get(&format!("/admin/users/{id}/identities"))
            .await?
            .expect(200);
        out.insert(format!("user identities {id}"), identities.body.clone());
    }
    for (kind, path) in [
        ("group", "/admin/groups?limit=100"),
        ("role", "/admin/roles?limit=100"),
    ] {
        let list = api.get(path).await?.expect(200);
        for id in ids(list.data()) {
            let detail = api.get(&format!("/admin/{kind}s/{id}")).await?.expect(200);
            out.insert(format!("{kind} {id}"), detail.body.clone());
        }
    }
    let audit = api.get("/admin/audit-logs?limit=1").await?.expect(200);
    out.insert(
        "audit total".into(),
        audit.body["pagination"]["total"].clone(),
    );
    Ok(Value::Object(out))
}

/// Some data to (not) damage: a user in a group with a role, a custom permission and scope.
struct Fixture {
    node: TestNode,
    api: Api,
    user: String,
}

async fn fixture() -> anyhow::Result<Fixture> {
    let node = TestNode::start().await?;
    let api = node.api();
    let user = new_user(
        &api,
        json!({"email": "victim@example.com", "name": "Victim"}),
    )
    .await?;
    let user = text(&user["id"]);
    new_group(&api, "Team", "team").await?;
    new_role(&api, "Helper", "helper").await?;
    new_permission(&api, "Custom", "custom:perm").await?;
    api.post("/admin/scopes", json!({"name": "custom"}))
        .await?
        .expect(201);
    api.post("/admin/groups/team/members", json!({"userIds": [user]}))
        .await?
        .expect(200);
    api.post(
        &format!("/admin/users/{user}/roles"),
        json!({"roleId": "helper"}),
    )
    .await?
    .expect(200);
    Ok(Fixture { node, api, user })
}

#[tokio::test]
async fn missing_fields_and_wrong_json_types_are_422_naming_each_field() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let u = format!("/admin/users/{user}");
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/users".into(),
            json!({}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": 42}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": ""}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": "not-an-email"}),
            vec!["email"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": "x@example.com", "emailVerified": "yes", "name": 7, "isActive": 1}),
            vec!["emailVerified", "isActive", "name"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": "x@example.com", "password": ["a"]}),
            vec!["password"],
        ),
        (
            Method::POST,
            "/admin/users".into(),
            json!({"email": "x@example.com", "roles": ["helper"]}),
            vec!["roles"],
        ),
        (
            Method::PATCH,
            u.clone(),
            json!({"email": null}),
            vec!["email"],
        ),
        (
            Method::PATCH,
            u.clone(),
            json!({"email": "bad@"}),
            vec!["email"],
        ),
        (
            Method::PUT,
            u.clone(),
            json!({"name": 5, "blocked": "yes"}),
            vec!["blocked", "name"],
        ),
        (
            Method::PATCH,
            u.clone(),
            json!({"groups": ["team"]}),
            vec!["groups"],
        ),
        (
            Method::PUT,
            format!("{u}/password"),
            json!({}),
            vec!["password"],
        ),
        (
            Method::POST,
            format!("{u}/password"),
            json!({"password": null}),
            vec!["password"],
        ),
        (
            Method::POST,
            format!("{u}/roles"),
            json!({}),
            vec!["roleId"],
        ),
        (
            Method::POST,
            format!("{u}/roles"),
            json!({"roleId": true}),
            vec!["roleId"],
        ),
        (
            Method::POST,
            format!("{u}/roles"),
            json!({"roleId": []}),
            vec!["roleId"],
        ),
        (Method::PUT, format!("{u}/roles"), json!({}), vec!["roles"]),
        (
            Method::PUT,
            format!("{u}/roles"),
            json!({"roles": {"slug": 1}}),
            vec!["roles"],
        ),
        (
            Method::POST,
            format!("{u}/groups"),
            json!({"groupId": null}),
            vec!["groupId"],
        ),
        (
            Method::PUT,
            format!("{u}/groups"),
            json!({"groups": [null]}),
            vec!["groups"],
        ),
        (
            Method::POST,
            format!("{u}/permissions"),
            json!({"permissionId": {}}),
            vec!["permissionId"],
        ),
        (
            Method::POST,
            format!("{u}/identities"),
            json!({}),
            vec!["type"],
        ),
        (
            Method::POST,
            format!("{u}/identities"),
            json!({"type": "saml", "idp_id": "one", "name_id": 5}),
            vec!["idp_id", "name_id"],
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            json!({}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            json!({"name": ["x"]}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            json!({"name": "Ok", "slug": "Bad Slug"}),
            vec!["slug"],
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            json!({"name": "Ok", "description": 5}),
            vec!["description"],
        ),
        (
            Method::PATCH,
            "/admin/groups/team".into(),
            json!({"name": null}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/groups/team/members".into(),
            json!({}),
            vec!["userIds"],
        ),
        (
            Method::POST,
            "/admin/groups/team/members".into(),
            json!({"userIds": ["not-a-user"]}),
            vec!["userIds"],
        ),
        (
            Method::POST,
            "/admin/groups/team/roles".into(),
            json!({"roleId": false}),
            vec!["roleId"],
        ),
        (
            Method::PUT,
            "/admin/groups/team/roles".into(),
            json!({}),
            vec!["roles"],
        ),
        (
            Method::POST,
            "/admin/roles".into(),
            json!({"name": null}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/roles".into(),
            json!({"name": "   "}),
            vec!["name"],
        ),
        (
            Method::PUT,
            "/admin/roles/helper".into(),
            json!({"slug": 12}),
            vec!["slug"],
        ),
        (
            Method::POST,
            "/admin/roles/helper/permissions".into(),
            json!({}),
            vec!["permissions"],
        ),
        (
            Method::PUT,
            "/admin/roles/helper/permissions".into(),
            json!({"permissions": true}),
            vec!["permissions"],
        ),
        (
            Method::POST,
            "/admin/roles/helper/users".into(),
            json!({"userId": "nobody"}),
            vec!["userId"],
        ),
        (
            Method::POST,
            "/admin/permissions".into(),
            json!({"slug": "a:b"}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/permissions".into(),
            json!({"name": "X", "slug": "Not Valid"}),
            vec!["slug"],
        ),
        (
            Method::POST,
            "/admin/permissions".into(),
            json!({"name": "X", "resource": 1}),
            vec!["resource"],
        ),
        (
            Method::PATCH,
            "/admin/permissions/custom:perm".into(),
            json!({"description": 3}),
            vec!["description"],
        ),
        (
            Method::POST,
            "/admin/scopes".into(),
            json!({}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/scopes".into(),
            json!({"name": "has space"}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/scopes".into(),
            json!({"name": "ok", "isDefault": "true"}),
            vec!["isDefault"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(
            reply.status, 422,
            "{method} {path} {body}: expected 422, got {} {}",
            reply.status, reply.text
        );
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
        for field in &fields {
            assert!(
                text(&reply.body["message"]).contains(field),
                "{method} {path}: the message names {field}: {}",
                reply.text
            );
        }
    }
    assert_eq!(
        snapshot(&api).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let bodies: [&[u8]; 5] = [
        br#"{"email": "#,
        br#"{"email": "a@example.com",}"#,
        br#"{email: "a@example.com"}"#,
        b"{\"email\": \"a@example.com\"} trailing",
        b"\xff\xfe{}",
    ];
    let paths = [
        (Method::POST, "/admin/users".to_string()),
        (Method::PATCH, format!("/admin/users/{user}")),
        (Method::POST, "/admin/groups".to_string()),
        (Method::PUT, "/admin/roles/helper".to_string()),
        (Method::POST, "/admin/scopes".to_string()),
    ];
    for (method, path) in &paths {
        for body in bodies {
            let reply = api
                .send_raw(
                    method.clone(),
                    path,
                    Some("application/json"),
                    body.to_vec(),
                )
                .await?;
            assert_eq!(
                reply.status,
                400,
                "{method} {path} {:?}: {}",
                String::from_utf8_lossy(body),
                reply.text
            );
            reply.expect_error(400, "invalid_request");
        }
    }
    assert_eq!(snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn json_that_is_not_an_object_is_400_invalid_request() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let bodies = [
        json!([{"email": "a@example.com"}]),
        json!("a@example.com"),
        json!(42),
        json!(true),
        Value::Null,
    ];
    let paths = [
        (Method::POST, "/admin/users".to_string()),
        (Method::PUT, format!("/admin/users/{user}")),
        (Method::POST, format!("/admin/users/{user}/roles")),
        (Method::POST, "/admin/groups/team/members".to_string()),
        (Method::PATCH, "/admin/permissions/custom:perm".to_string()),
    ];
    for (method, path) in &paths {
        for body in &bodies {
            let reply = api.send(method.clone(), path, Some(body.clone())).await?;
            assert_eq!(reply.status, 400, "{method} {path} {body}: {}", reply.text);
            reply.expect_error(400, "invalid_request");
        }
        // No body at all is refused the same way.
        let empty = api
            .send_raw(method.clone(), path, Some("application/json"), Vec::new())
            .await?;
        empty.expect_error(400, "invalid_request");
    }
    api.post_empty("/admin/users")
        .await?
        .expect_error(400, "invalid_request");
    assert_eq!(snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_missing_or_non_json_content_type_is_415() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let body = br#"{"email": "ct@example.com", "name": "Typed"}"#.to_vec();
    let cases: [(Method, String, Option<&str>); 6] = [
        (Method::POST, "/admin/users".into(), None),
        (Method::POST, "/admin/users".into(), Some("text/plain")),
        (
            Method::POST,
            "/admin/users".into(),
            Some("application/x-www-form-urlencoded"),
        ),
        (
            Method::POST,
            "/admin/users".into(),
            Some("multipart/form-data; boundary=x"),
        ),
        (
            Method::PATCH,
            format!("/admin/users/{user}"),
            Some("text/json-ish"),
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            Some("application/xml"),
        ),
    ];
    for (method, path, content_type) in &cases {
        let reply = api
            .send_raw(method.clone(), path, *content_type, body.clone())
            .await?;
        assert_eq!(
            reply.status, 415,
            "{method} {path} {content_type:?}: {}",
            reply.text
        );
        reply.expect_error(415, "unsupported_media_type");
    }
    assert_eq!(snapshot(&api).await?, before);
    // JSON with parameters, in any case, is accepted.
    api.send_raw(
        Method::POST,
        "/admin/users",
        Some("Application/JSON; charset=utf-8"),
        body,
    )
    .await?
    .expect(201);
    api.get("/admin/users/ct@example.com").await?.expect(200);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_body_over_1_mib_is_413_and_a_body_under_it_is_read() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let padded = |email: &str, size: usize| {
        let head = format!(r#"{{"email":"{email}","name":"Big","padding":""#);
        let tail = r#""}"#;
        let pad = "x".repeat(size - head.len() - tail.len());
        format!("{head}{pad}{tail}").into_bytes()
    };
    let big = padded("big@example.com", (1 << 20) + 1);
    assert_eq!(big.len(), (1 << 20) + 1);
    let reply = api
        .send_raw(
            Method::POST,
            "/admin/users",
            Some("application/json"),
            big.clone(),
        )
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    reply.expect_error(413, "payload_too_large");
    let reply = api
        .send_raw(
            Method::PATCH,
            &format!("/admin/users/{user}"),
            Some("application/json"),
            big,
        )
        .await?;
    reply.expect_error(413, "payload_too_large");
    let much_bigger = padded("huge@example.com", 3 << 20);
    api.send_raw(
        Method::POST,
        "/admin/groups",
        Some("application/json"),
        much_bigger,
    )
    .await?
    .expect_error(413, "payload_too_large");
    assert_eq!(snapshot(&api).await?, before);
    api.get("/admin/users/big@example.com")
        .await?
        .expect_error(404, "resource_not_found");

    // Exactly the limit is read normally (unknown fields are ignored).
    let fits = padded("fits@example.com", 1 << 20);
    let created = api
        .send_raw(Method::POST, "/admin/users", Some("application/json"), fits)
        .await?
        .expect(201);
    assert_eq!(created.data()["email"], "fits@example.com");
    assert!(created.data().get("padding").is_none());
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_ids_are_404_in_the_error_shape() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let ghost = "00000000-0000-0000-0000-0000000000ff";
    let cases: Vec<(Method, String, Option<Value>)> = vec![
        (Method::GET, format!("/admin/users/{ghost}"), None),
        (Method::GET, "/admin/users/ghost@example.com".into(), None),
        (
            Method::PUT,
            format!("/admin/users/{ghost}"),
            Some(json!({"name": "x"})),
        ),
        (
            Method::PATCH,
            "/admin/users/ghost@example.com".into(),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/admin/users/{ghost}"), None),
        (Method::POST, format!("/admin/users/{ghost}/block"), None),
        (Method::POST, format!("/admin/users/{ghost}/unblock"), None),
        (
            Method::POST,
            format!("/admin/users/{ghost}/mark-verified"),
            None,
        ),
        (
            Method::PUT,
            format!("/admin/users/{ghost}/password"),
            Some(json!({"password": "long-enough-1"})),
        ),
        (Method::GET, format!("/admin/users/{ghost}/roles"), None),
        (
            Method::POST,
            format!("/admin/users/{ghost}/roles"),
            Some(json!({"roleId": "helper"})),
        ),
        (
            Method::PUT,
            format!("/admin/users/{ghost}/groups"),
            Some(json!({"groups": ["team"]})),
        ),
        (
            Method::GET,
            format!("/admin/users/{ghost}/permissions"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/users/{ghost}/identities"),
            None,
        ),
        (
            Method::GET,
            format!("/admin/users/{ghost}/effective-permissions"),
            None,
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/roles"),
            Some(json!({"roleId": "ghost-role"})),
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/groups"),
            Some(json!({"groupId": ghost})),
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/permissions"),
            Some(json!({"permissionId": 4040})),
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}/roles/ghost-role"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}/groups/ghost-group"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}/permissions/custom:perm"),
            None,
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}/identities/ldap"),
            None,
        ),
        (Method::GET, "/admin/groups/ghost-group".into(), None),
        (
            Method::PUT,
            format!("/admin/groups/{ghost}"),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, "/admin/groups/ghost-group".into(), None),
        (
            Method::GET,
            "/admin/groups/ghost-group/members".into(),
            None,
        ),
        (
            Method::POST,
            "/admin/groups/team/members".into(),
            Some(json!({"userIds": [ghost]})),
        ),
        (
            Method::DELETE,
            format!("/admin/groups/team/members/{ghost}"),
            None,
        ),
        (
            Method::POST,
            "/admin/groups/team/roles".into(),
            Some(json!({"roleId": "ghost-role"})),
        ),
        (Method::GET, "/admin/roles/ghost-role".into(), None),
        (
            Method::PATCH,
            "/admin/roles/ghost-role".into(),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, format!("/admin/roles/{ghost}"), None),
        (
            Method::GET,
            "/admin/roles/ghost-role/permissions".into(),
            None,
        ),
        (
            Method::PUT,
            "/admin/roles/helper/permissions".into(),
            Some(json!({"permissions": ["custom:perm", "ghost:perm"]})),
        ),
        (
            Method::DELETE,
            "/admin/roles/helper/users/ghost@example.com".into(),
            None,
        ),
        (Method::GET, "/admin/permissions/4040".into(), None),
        (
            Method::PATCH,
            "/admin/permissions/ghost:perm".into(),
            Some(json!({"name": "x"})),
        ),
        (Method::DELETE, "/admin/permissions/4040".into(), None),
        (Method::GET, "/admin/permissions/4040/usage".into(), None),
        (Method::DELETE, "/admin/scopes/4040".into(), None),
    ];
    for (method, path, body) in cases {
        let reply = api.send(method.clone(), &path, body).await?;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        let reply = reply.expect_error(404, "resource_not_found");
        assert_eq!(reply.body["error_description"], reply.body["message"]);
    }
    assert_eq!(snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn user_path_ids_that_are_neither_uuid_nor_email_are_400() -> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = fixture().await?;
    let before = snapshot(&api).await?;
    for bad in [
        "12345",
        "not-a-uuid",
        "00000000-0000-0000-0000-00000000000g",
        "victim",
    ] {
        let cases: Vec<(Method, String, Option<Value>)> = vec![
            (Method::GET, format!("/admin/users/{bad}"), None),
            (
                Method::PATCH,
                format!("/admin/users/{bad}"),
                Some(json!({"name": "x"})),
            ),
            (Method::DELETE, format!("/admin/users/{bad}"), None),
            (Method::POST, format!("/admin/users/{bad}/block"), None),
            (
                Method::POST,
                format!("/admin/users/{bad}/password"),
                Some(json!({"password": "long-enough-1"})),
            ),
            (Method::GET, format!("/admin/users/{bad}/roles"), None),
            (
                Method::POST,
                format!("/admin/users/{bad}/groups"),
                Some(json!({"groupId": "team"})),
            ),
            (Method::GET, format!("/admin/users/{bad}/identities"), None),
            (
                Method::GET,
                format!("/admin/users/{bad}/effective-permissions"),
                None,
            ),
            (
                Method::DELETE,
                format!("/admin/groups/team/members/{bad}"),
                None,
            ),
            (
                Method::DELETE,
                format!("/admin/roles/helper/users/{bad}"),
                None,
            ),
        ];
        for (method, path, body) in cases {
            let reply = api.send(method.clone(), &path, body).await?;
            assert_eq!(reply.status, 400, "{method} {path}: {}", reply.text);
            reply.expect_error(400, "invalid_request");
        }
    }
    // An unknown identity type is a validation error: the contract declares 422 for unlink.
    let victim = "/admin/users/victim@example.com/identities/kerberos";
    api.delete(victim)
        .await?
        .expect_error(422, "validation_error");
    assert_eq!(snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

const LIST_PATHS: &[&str] = &[
    "/admin/users",
    "/admin/groups",
    "/admin/roles",
    "/admin/permissions",
    "/admin/scopes",
    "/admin/groups/team/members",
    "/admin/groups/team/roles",
    "/admin/roles/helper/permissions",
    "/admin/roles/helper/users",
    "/admin/users/victim@example.com/roles",
    "/admin/users/victim@example.com/groups",
    "/admin/users/victim@example.com/permissions",
];

#[tokio::test]
async fn bad_page_and_limit_parameters_are_400() -> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = fixture().await?;
    for path in LIST_PATHS {
        for query in [
            "page=0",
            "page=-1",
            "page=abc",
            "page=1.5",
            "page=99999999999999999999",
            "limit=0",
            "limit=abc",
            "limit=-5",
            "limit=99999999999999999999",
        ] {
            let reply = api.get(&format!("{path}?{query}")).await?;
            assert_eq!(reply.status, 400, "GET {path}?{query}: {}", reply.text);
            reply.expect_error(400, "invalid_request");
        }
    }
    for path in [
        "/admin/users",
        "/admin/groups",
        "/admin/roles",
        "/admin/permissions",
    ] {
        let reply = api.get(&format!("{path}?sortDir=sideways")).await?;
        assert_eq!(
            reply.status, 400,
            "GET {path}?sortDir=sideways: {}",
            reply.text
        );
        reply.expect_error(400, "invalid_request");
    }
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn an_unknown_sort_field_or_a_non_boolean_filter_is_400_like_other_bad_query_parameters()
-> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = fixture().await?;
    let mut wrong = Vec::new();
    for query in [
        "/admin/users?sortBy=password",
        "/admin/groups?sortBy=memberCount",
        "/admin/roles?sortBy=nope",
        "/admin/permissions?sortBy=nope",
        "/admin/users?blocked=maybe",
        "/admin/users?emailVerified=yes",
        "/admin/roles?isSystem=sometimes",
        "/admin/scopes?isDefault=perhaps",
    ] {
        let reply = api.get(query).await?;
        // Whatever the code, the error names the parameter.
        assert!(reply.status >= 400, "GET {query}: {}", reply.text);
        let name = query.split(['?', '=']).nth(1).unwrap_or_default();
        assert!(
            reply.text.contains(name),
            "GET {query}: the error names {name}: {}",
            reply.text
        );
        if (reply.status, reply.body["error"].clone()) != (400, json!("invalid_request")) {
            wrong.push(format!(
                "GET {query} -> {} {}",
                reply.status, reply.body["error"]
            ));
        }
    }
    // Like page=0, limit=abc and sortDir=sideways, these are malformed requests: 400.
    assert!(
        wrong.is_empty(),
        "expected 400 invalid_request, got:\n{}",
        wrong.join("\n")
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_limit_above_100_is_capped_at_100() -> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = fixture().await?;
    for path in LIST_PATHS {
        let reply = api.get(&format!("{path}?limit=1000")).await?.expect(200);
        assert_eq!(
            reply.body["pagination"]["limit"], 100,
            "GET {path}?limit=1000: {}",
            reply.text
        );
        assert_eq!(reply.body["pagination"]["page"], 1);
        if reply.body["meta"].get("limit").is_some() {
            assert_eq!(reply.body["meta"]["limit"], 100);
        }
        let total = reply.body["pagination"]["total"]
            .as_u64()
            .unwrap_or(u64::MAX);
        assert_eq!(reply.body["pagination"]["totalPages"], total.div_ceil(100));
        assert_eq!(reply.data().as_array().map(Vec::len), Some(total as usize));
    }
    // 101 users: a limit of 1000 gives exactly 100 of them and a second page.
    for i in 0..100 {
        user(&api, &format!("bulk{i:03}@example.com")).await?;
    }
    let first = api.get("/admin/users?limit=1000").await?.expect(200);
    assert_eq!(assert_list(&first.body, Envelope::Meta, 101, 1, 100), 100);
    let second = api.get("/admin/users?limit=1000&page=2").await?.expect(200);
    assert_eq!(assert_list(&second.body, Envelope::Meta, 101, 2, 100), 1);
    node.stop().await?;
    Ok(())
}

/// A request: method, path, headers, body.
type Attempt<'a> = (Method, String, Vec<(&'a str, String)>, Option<Value>);

#[tokio::test]
async fn a_missing_or_unknown_credential_is_401_and_writes_nothing() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let url = |path: &str| api.url(path);
    let body = json!({"email": "anon@example.com"});
    let attempts: Vec<Attempt> = vec![
        (Method::GET, url("/admin/users"), vec![], None),
        (
            Method::POST,
            url("/admin/users"),
            vec![],
            Some(body.clone()),
        ),
        (
            Method::DELETE,
            url(&format!("/admin/users/{user}")),
            vec![],
            None,
        ),
        (
            Method::POST,
            url("/admin/groups"),
            vec![],
            Some(json!({"name": "Anon"})),
        ),
        (
            Method::GET,
            url("/admin/users"),
            vec![("X-API-Key", "lmk_not_a_real_key_0000000000000000".into())],
            None,
        ),
        (
            Method::POST,
            url("/admin/users"),
            vec![("X-API-Key", "garbage".into())],
            Some(body.clone()),
        ),
        (
            Method::DELETE,
            url("/admin/roles/helper"),
            vec![(
                "Authorization",
                "ApiKey lmk_wrong_wrong_wrong_wrong_wrong_00".into(),
            )],
            None,
        ),
        (
            Method::GET,
            url("/admin/roles"),
            vec![("Authorization", "Bearer not-a-token".into())],
            None,
        ),
        (
            Method::POST,
            url("/admin/scopes"),
            vec![("Authorization", "Basic dXNlcjpwYXNz".into())],
            Some(json!({"name": "anon"})),
        ),
        (
            Method::GET,
            url("/admin/users"),
            vec![("X-API-Key", format!("{ADMIN_KEY}x"))],
            None,
        ),
        (
            Method::POST,
            format!("{}/api/v1/authz/check", api.base),
            vec![],
            Some(json!({"permission": "custom:perm", "subject": {"type": "user", "id": user}})),
        ),
        (
            Method::POST,
            format!("{}/api/v1/authz/zanzibar/check", api.base),
            vec![("X-API-Key", "lmk_not_a_real_key_0000000000000000".into())],
            Some(json!({"object": "document:1", "relation": "viewer", "subject": "user:a"})),
        ),
        (
            Method::GET,
            format!("{}/api/v1/authz/permissions", api.base),
            vec![("Authorization", "Bearer not-a-token".into())],
            None,
        ),
        (
            Method::PUT,
            url("/zanzibar/schema"),
            vec![],
            Some(json!({"schema": SCHEMA})),
        ),
        (
            Method::POST,
            url("/zanzibar/tuples"),
            vec![("X-API-Key", "garbage".into())],
            Some(json!({"writes": ["document:1#viewer@user:a"]})),
        ),
        (Method::GET, url("/zanzibar/tuples"), vec![], None),
    ];
    for (method, url, headers, body) in attempts {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let reply = raw_request(method.clone(), &url, &headers, body).await?;
        assert_eq!(
            reply.status, 401,
            "{method} {url} {headers:?}: {}",
            reply.text
        );
        assert!(
            reply.headers.get("www-authenticate").is_some(),
            "401 carries WWW-Authenticate: {:?}",
            reply.headers
        );
        reply.expect_error(401, "invalid_token");
    }
    assert_eq!(snapshot(&api).await?, before);
    // The same key in the other accepted headers works.
    let ok = raw_request(
        Method::GET,
        &api.url("/admin/users"),
        &[("Authorization", &format!("ApiKey {ADMIN_KEY}"))],
        None,
    )
    .await?
    .expect(200);
    assert_eq!(ok.body["pagination"]["total"], 1);
    raw_request(
        Method::GET,
        &api.url("/admin/users"),
        &[("Authorization", &format!("Bearer {ADMIN_KEY}"))],
        None,
    )
    .await?
    .expect(200);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_read_only_key_cannot_write_and_learns_which_scopes_would_do() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let created = api
        .post(
            "/admin/api-keys",
            json!({"name": "reader", "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201);
    let reader = api.with_key(&text(&created.data()["key"]));
    let before = snapshot(&api).await?;
    // Reads work.
    let users = reader.get("/admin/users").await?.expect(200);
    assert_eq!(users.body["pagination"]["total"], 1);
    reader
        .get("/admin/roles/helper/permissions")
        .await?
        .expect(200);

    let users_scopes = json!(["admin:users", "admin:write", "admin"]);
    let groups_scopes = json!(["admin:groups", "admin:write", "admin"]);
    let roles_scopes = json!(["admin:roles", "admin:write", "admin"]);
    let writes: Vec<(Method, String, Option<Value>, &Value)> = vec![
        (
            Method::POST,
            "/admin/users".into(),
            Some(json!({"email": "ro@example.com"})),
            &users_scopes,
        ),
        (
            Method::PATCH,
            format!("/admin/users/{user}"),
            Some(json!({"name": "Changed"})),
            &users_scopes,
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}"),
            None,
            &users_scopes,
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/block"),
            None,
            &users_scopes,
        ),
        (
            Method::PUT,
            format!("/admin/users/{user}/password"),
            Some(json!({"password": "long-enough-1"})),
            &users_scopes,
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/verify-email"),
            None,
            &users_scopes,
        ),
        (
            Method::PUT,
            format!("/admin/users/{user}/roles"),
            Some(json!({"roles": []})),
            &users_scopes,
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/identities"),
            Some(json!({"type": "saml", "idp_id": 1, "name_id": "x"})),
            &users_scopes,
        ),
        (
            Method::POST,
            "/admin/groups".into(),
            Some(json!({"name": "New"})),
            &groups_scopes,
        ),
        (
            Method::DELETE,
            "/admin/groups/team".into(),
            None,
            &groups_scopes,
        ),
        (
            Method::DELETE,
            format!("/admin/groups/team/members/{user}"),
            None,
            &groups_scopes,
        ),
        (
            Method::POST,
            "/admin/roles".into(),
            Some(json!({"name": "New"})),
            &roles_scopes,
        ),
        (
            Method::PATCH,
            "/admin/roles/helper".into(),
            Some(json!({"name": "x"})),
            &roles_scopes,
        ),
        (
            Method::POST,
            "/admin/roles/helper/permissions".into(),
            Some(json!({"permissions": ["custom:perm"]})),
            &roles_scopes,
        ),
        (
            Method::POST,
            "/admin/permissions".into(),
            Some(json!({"name": "New", "slug": "new:perm"})),
            &roles_scopes,
        ),
        (
            Method::DELETE,
            "/admin/permissions/custom:perm".into(),
            None,
            &roles_scopes,
        ),
        (
            Method::POST,
            "/admin/scopes".into(),
            Some(json!({"name": "new"})),
            &roles_scopes,
        ),
        (
            Method::DELETE,
            "/admin/scopes/7".into(),
            None,
            &roles_scopes,
        ),
    ];
    for (method, path, body, required) in writes {
        let reply = reader.send(method.clone(), &path, body).await?;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
        let reply = reply.expect_error(403, "forbidden");
        assert_eq!(
            reply.body["details"]["required_scopes"], *required,
            "{method} {path}"
        );
        assert_eq!(
            reply.body["details"]["granted_scopes"],
            json!(["admin:read"]),
            "{method} {path}"
        );
    }
    assert_eq!(
        snapshot(&api).await?,
        before,
        "refused writes changed something"
    );

    // A family key writes its own family and nothing else.
    let created = api
        .post(
            "/admin/api-keys",
            json!({"name": "users only", "scopes": ["admin:users"]}),
        )
        .await?
        .expect(201);
    let users_key = api.with_key(&text(&created.data()["key"]));
    users_key
        .patch(&format!("/admin/users/{user}"), json!({"name": "Renamed"}))
        .await?
        .expect(200);
    let refused = users_key
        .get("/admin/groups")
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(
        refused.body["details"]["required_scopes"],
        json!(["admin:groups", "admin:read", "admin:write", "admin"])
    );
    assert_eq!(
        refused.body["details"]["granted_scopes"],
        json!(["admin:users"])
    );
    users_key
        .post("/admin/groups", json!({"name": "Sneaky"}))
        .await?
        .expect_error(403, "forbidden");
    assert_eq!(total(&api, "/admin/groups").await?, 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_key_of_another_org_is_refused_and_sees_nothing() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let other_key = node.create_org("other-org").await?;
    let other = node.api_for("other-org", &other_key);
    let before = snapshot(&api).await?;
    let cross = api.with_key(&other_key);
    cross
        .get("/admin/users")
        .await?
        .expect_error(403, "forbidden");
    cross
        .get(&format!("/admin/users/{user}"))
        .await?
        .expect_error(403, "forbidden");
    cross
        .post("/admin/users", json!({"email": "intruder@example.com"}))
        .await?
        .expect_error(403, "forbidden");
    // And acme's key is refused by the other org.
    other
        .with_key(ADMIN_KEY)
        .get("/admin/users")
        .await?
        .expect_error(403, "forbidden");
    // The other org is separate: no users, its own system roles.
    assert_eq!(total(&other, "/admin/users").await?, 0);
    other
        .get(&format!("/admin/users/{user}"))
        .await?
        .expect_error(404, "resource_not_found");
    other
        .get("/admin/groups/team")
        .await?
        .expect_error(404, "resource_not_found");
    assert_eq!(snapshot(&api).await?, before);
    // An unknown org slug is 404.
    let nowhere = api.with_org("no-such-org");
    nowhere
        .get("/admin/users")
        .await?
        .expect_error(404, "tenant_not_found");
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn unknown_routes_are_404_in_the_error_shape() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    for path in [
        "/admin/nope".to_string(),
        "/admin/users/extra/segments/here/too".to_string(),
        format!("/admin/users/{user}/nope"),
        "/admin/groups/team/members/a/b".to_string(),
        "/nothing".to_string(),
    ] {
        let reply = api.get(&path).await?;
        assert_eq!(reply.status, 404, "GET {path}: {}", reply.text);
        let reply = reply.expect_error(404, "not_found");
        assert_eq!(reply.body["error_description"], reply.body["message"]);
    }
    let root = raw_request(
        Method::GET,
        &format!("{}/no/such/thing", node.http),
        &[],
        None,
    )
    .await?;
    root.expect_error(404, "not_found");
    // POST to an unknown route is 404 too, and creates nothing.
    api.post("/admin/userz", json!({"email": "x@example.com"}))
        .await?
        .expect_error(404, "not_found");
    assert_eq!(total(&api, "/admin/users").await?, 1);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn a_wrong_method_on_a_known_route_is_405_in_the_error_shape() -> anyhow::Result<()> {
    let Fixture { node, api, user } = fixture().await?;
    let before = snapshot(&api).await?;
    let cases: Vec<(Method, String)> = vec![
        (Method::PATCH, "/admin/users".into()),
        (Method::DELETE, "/admin/users".into()),
        (Method::PUT, "/admin/users".into()),
        (Method::POST, format!("/admin/users/{user}")),
        (Method::GET, format!("/admin/users/{user}/block")),
        (Method::DELETE, format!("/admin/users/{user}/password")),
        (Method::DELETE, format!("/admin/users/{user}/roles")),
        (Method::PATCH, "/admin/groups/team/members".into()),
        (Method::PUT, "/admin/scopes/7".into()),
        (Method::GET, "/admin/scopes/7".into()),
        (Method::PUT, "/admin/permissions/custom:perm".into()),
        (Method::DELETE, "/admin/roles".into()),
        (Method::PATCH, "/zanzibar/schema".into()),
        (Method::DELETE, "/zanzibar/schema".into()),
        (Method::PUT, "/zanzibar/tuples".into()),
        (Method::POST, "/zanzibar/changes".into()),
        (Method::GET, "/zanzibar/check".into()),
        (Method::PUT, "/zanzibar/expand".into()),
    ];
    for (method, path) in cases {
        let reply = api.send(method.clone(), &path, None).await?;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
        reply.expect_error(405, "method_not_allowed");
    }
    for (method, path) in [
        (Method::GET, "/api/v1/authz/check"),
        (Method::DELETE, "/api/v1/authz/check-bulk"),
        (Method::POST, "/api/v1/authz/permissions"),
        (Method::GET, "/api/v1/authz/zanzibar/expand"),
    ] {
        let url = format!("{}{path}", api.base);
        let reply = raw_request(method.clone(), &url, &[("X-API-Key", ADMIN_KEY)], None).await?;
        assert_eq!(reply.status, 405, "{method} {path}: {}", reply.text);
        reply.expect_error(405, "method_not_allowed");
    }
    assert_eq!(snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

// --- the authz family ---------------------------------------------------------------------------

/// The relation schema of the authz rows.
const SCHEMA: &str = "definition user {}
definition team {
  relation member: user | team#member
}
definition document {
  relation owner: user
  relation viewer: user | team#member
  permission view = viewer + owner
}";

/// Where an authz route lives: at the root (the org from the credential) or under the org.
#[derive(Clone, Copy, Debug)]
enum At {
    Root,
    Org,
}

/// Every authz route that reads a body.
fn authz_body_routes() -> Vec<(Method, At, &'static str)> {
    let mut routes: Vec<(Method, At, &'static str)> = [
        "/api/v1/authz/check",
        "/api/v1/authz/check-bulk",
        "/api/v1/authz/check-any",
        "/api/v1/authz/check-all",
        "/api/v1/authz/zanzibar/check",
        "/api/v1/authz/zanzibar/expand",
        "/api/v1/authz/zanzibar/list-objects",
        "/api/v1/authz/zanzibar/list-subjects",
    ]
    .into_iter()
    .map(|path| (Method::POST, At::Root, path))
    .collect();
    for path in [
        "/zanzibar/check",
        "/zanzibar/expand",
        "/zanzibar/list-objects",
        "/zanzibar/list-subjects",
        "/zanzibar/tuples",
    ] {
        routes.push((Method::POST, At::Org, path));
    }
    routes.push((Method::PUT, At::Org, "/zanzibar/schema"));
    routes.push((Method::DELETE, At::Org, "/zanzibar/tuples"));
    routes
}

/// Sends raw bytes with a content type to an authz route, with the admin key.
async fn send_authz(
    api: &Api,
    method: Method,
    at: At,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<Reply> {
    let url = match at {
        At::Root => format!("{}{path}", api.base),
        At::Org => api.url(path),
    };
    let mut request = reqwest::Client::new()
        .request(method, url)
        .header("X-API-Key", &api.key)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("Content-Type", ct);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Reply {
        status,
        headers,
        body,
        text,
    })
}

/// Sends a JSON body to an authz route.
async fn send_authz_json(
    api: &Api,
    method: Method,
    at: At,
    path: &str,
    body: &Value,
) -> anyhow::Result<Reply> {
    send_authz(
        api,
        method,
        at,
        path,
        Some("application/json"),
        serde_json::to_vec(body)?,
    )
    .await
}

/// The fixture's data, plus a relation schema and tuples.
async fn authz_fixture() -> anyhow::Result<Fixture> {
    let fixture = fixture().await?;
    let api = &fixture.api;
    api.post(
        "/admin/roles/helper/permissions",
        json!({"permissions": ["custom:perm"]}),
    )
    .await?
    .expect(200);
    api.put("/zanzibar/schema", json!({"schema": SCHEMA}))
        .await?
        .expect(200);
    api.post(
        "/zanzibar/tuples",
        json!({"writes": [
            "team:eng#member@user:alice",
            "document:plan#viewer@team:eng#member",
            format!("document:plan#owner@user:{}", fixture.user),
        ]}),
    )
    .await?
    .expect(200);
    Ok(fixture)
}

/// [`snapshot`] plus the relation schema, tuples and change feed.
async fn authz_snapshot(api: &Api) -> anyhow::Result<Value> {
    let mut out = snapshot(api).await?;
    for path in [
        "/zanzibar/schema",
        "/zanzibar/tuples?limit=100",
        "/zanzibar/changes?limit=1000",
    ] {
        let reply = api.get(path).await?.expect(200);
        if let Some(map) = out.as_object_mut() {
            map.insert(path.to_string(), reply.body.clone());
        }
    }
    Ok(out)
}

#[tokio::test]
async fn authz_bodies_over_1_mib_are_413_and_a_body_at_the_limit_is_read() -> anyhow::Result<()> {
    let Fixture { node, api, user } = authz_fixture().await?;
    let before = authz_snapshot(&api).await?;
    let padded = |head: &str, size: usize| {
        let head = format!(r#"{head}"padding":""#);
        let tail = r#""}"#;
        let pad = "x".repeat(size - head.len() - tail.len());
        format!("{head}{pad}{tail}").into_bytes()
    };
    for (method, at, path) in authz_body_routes() {
        for size in [(1 << 20) + 1, 3 << 20] {
            let reply = send_authz(
                &api,
                method.clone(),
                at,
                path,
                Some("application/json"),
                padded("{", size),
            )
            .await?;
            assert_eq!(
                reply.status, 413,
                "{method} {at:?} {path} {size}: {}",
                reply.text
            );
            reply.expect_error(413, "payload_too_large");
        }
    }
    assert_eq!(authz_snapshot(&api).await?, before);

    // Exactly the limit is read normally (unknown fields are ignored).
    let head =
        format!(r#"{{"permission":"custom:perm","subject":{{"type":"user","id":"{user}"}},"#);
    let checked = send_authz(
        &api,
        Method::POST,
        At::Root,
        "/api/v1/authz/check",
        Some("application/json"),
        padded(&head, 1 << 20),
    )
    .await?
    .expect(200);
    assert_eq!(checked.body["allowed"], true, "{}", checked.text);
    assert!(checked.body.get("padding").is_none());
    let written = send_authz(
        &api,
        Method::POST,
        At::Org,
        "/zanzibar/tuples",
        Some("application/json"),
        padded(r#"{"writes":["document:big#viewer@user:bob"],"#, 1 << 20),
    )
    .await?
    .expect(200);
    assert_eq!(written.body["written"], 1, "{}", written.text);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn authz_bodies_without_a_json_content_type_are_415() -> anyhow::Result<()> {
    let Fixture { node, api, user } = authz_fixture().await?;
    let before = authz_snapshot(&api).await?;
    // A body each route would accept, were it declared JSON.
    let body = json!({
        "permission": "custom:perm",
        "permissions": ["custom:perm"],
        "subject": {"type": "user", "id": user},
        "object": "document:plan",
        "relation": "viewer",
        "type": "document",
        "schema": SCHEMA,
        "writes": ["document:typed#viewer@user:bob"],
        "tuples": ["document:plan#viewer@team:eng#member"],
    });
    let bytes = serde_json::to_vec(&body)?;
    for (method, at, path) in authz_body_routes() {
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            Some("application/xml"),
        ] {
            let reply =
                send_authz(&api, method.clone(), at, path, content_type, bytes.clone()).await?;
            assert_eq!(
                reply.status, 415,
                "{method} {at:?} {path} {content_type:?}: {}",
                reply.text
            );
            reply.expect_error(415, "unsupported_media_type");
        }
    }
    assert_eq!(authz_snapshot(&api).await?, before);
    // JSON with parameters, in any case, is accepted.
    send_authz(
        &api,
        Method::POST,
        At::Org,
        "/zanzibar/tuples",
        Some("Application/JSON; charset=utf-8"),
        serde_json::to_vec(&json!({"writes": ["document:typed#viewer@user:bob"]}))?,
    )
    .await?
    .expect(200);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn authz_malformed_or_non_object_json_is_400_invalid_request() -> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = authz_fixture().await?;
    let before = authz_snapshot(&api).await?;
    let bodies: [&[u8]; 11] = [
        br#"{"permission": "#,
        br#"{"permission": "custom:perm",}"#,
        br#"{permission: "custom:perm"}"#,
        b"{\"object\": \"document:plan\"} trailing",
        b"\xff\xfe{}",
        br#"[{"permission": "custom:perm"}]"#,
        br#""document:plan""#,
        b"42",
        b"true",
        b"null",
        b"",
    ];
    for (method, at, path) in authz_body_routes() {
        for body in bodies {
            let reply = send_authz(
                &api,
                method.clone(),
                at,
                path,
                Some("application/json"),
                body.to_vec(),
            )
            .await?;
            assert_eq!(
                reply.status,
                400,
                "{method} {at:?} {path} {:?}: {}",
                String::from_utf8_lossy(body),
                reply.text
            );
            reply.expect_error(400, "invalid_request");
        }
    }
    assert_eq!(authz_snapshot(&api).await?, before);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn authz_wrong_json_types_get_the_engines_codes() -> anyhow::Result<()> {
    let Fixture { node, api, user } = authz_fixture().await?;
    let before = authz_snapshot(&api).await?;
    let subject = json!({"type": "user", "id": user});
    let mut cases: Vec<(Method, At, &str, Value, u16, &str)> = Vec::new();
    let mut case = |method: Method, at: At, path: &'static str, body: Value, status, code| {
        cases.push((method, at, path, body, status, code));
    };
    let check = "/api/v1/authz/check";
    for (body, code) in [
        (json!({"subject": subject}), "MISSING_PERMISSION"),
        (
            json!({"permission": 7, "subject": subject}),
            "MISSING_PERMISSION",
        ),
        (
            json!({"permission": ["custom:perm"], "subject": subject}),
            "MISSING_PERMISSION",
        ),
        (
            json!({"permission": "", "subject": subject}),
            "MISSING_PERMISSION",
        ),
        (
            json!({"permission": "custom:perm", "subject": "victim"}),
            "INVALID_SUBJECT",
        ),
        (
            json!({"permission": "custom:perm", "subject": ["user", user]}),
            "INVALID_SUBJECT",
        ),
        (
            json!({"permission": "custom:perm", "subject": {"type": "user", "id": 5}}),
            "INVALID_SUBJECT",
        ),
        (
            json!({"permission": "custom:perm", "subject": {"type": "robot", "id": user}}),
            "INVALID_SUBJECT",
        ),
        (
            json!({"permission": "custom:perm", "subject": {"type": "user"}}),
            "MISSING_FIELDS",
        ),
        (
            json!({"permission": "custom:perm", "subject": {"type": "user", "id": " "}}),
            "MISSING_FIELDS",
        ),
        (
            json!({"permission": "custom:perm", "user_id": user}),
            "MISSING_FIELDS",
        ),
    ] {
        case(Method::POST, At::Root, check, body, 400, code);
    }
    for extra in [
        json!({"context": "10.0.0.1"}),
        json!({"context": ["ip"]}),
        json!({"consistency": 5}),
        json!({"consistency": "eventually"}),
        json!({"consistency": {"fully_consistent": "yes"}}),
        json!({"consistency": {"at_least_as_fresh": true}}),
        json!({"at_least_as_fresh": 5}),
    ] {
        let mut body = json!({"permission": "custom:perm", "subject": subject});
        if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            map.extend(more.clone());
        }
        case(Method::POST, At::Root, check, body, 400, "invalid_request");
    }
    case(
        Method::POST,
        At::Root,
        check,
        json!({"permission": "custom:perm", "subject": subject, "at_least_as_fresh": "zed_123"}),
        422,
        "validation_error",
    );
    for path in [
        "/api/v1/authz/check-bulk",
        "/api/v1/authz/check-any",
        "/api/v1/authz/check-all",
    ] {
        for (body, code) in [
            (json!({"subject": subject}), "MISSING_FIELDS"),
            (
                json!({"permissions": null, "subject": subject}),
                "MISSING_FIELDS",
            ),
            (
                json!({"permissions": "custom:perm", "subject": subject}),
                "INVALID_PERMISSIONS",
            ),
            (
                json!({"permissions": {"custom:perm": true}, "subject": subject}),
                "INVALID_PERMISSIONS",
            ),
            (
                json!({"permissions": [1], "subject": subject}),
                "INVALID_PERMISSIONS",
            ),
            (
                json!({"permissions": ["custom:perm", null], "subject": subject}),
                "INVALID_PERMISSIONS",
            ),
            (
                json!({"permissions": [], "subject": subject}),
                "INVALID_PERMISSIONS",
            ),
            (
                json!({"permissions": ["custom:perm"], "subject": 5}),
                "INVALID_SUBJECT",
            ),
        ] {
            case(Method::POST, At::Root, path, body, 400, code);
        }
    }
    let relation_checks = [
        (At::Root, "/api/v1/authz/zanzibar/check"),
        (At::Org, "/zanzibar/check"),
    ];
    for (at, path) in relation_checks {
        for (body, code) in [
            (
                json!({"object": 5, "relation": "view", "subject": "user:alice"}),
                "INVALID_TUPLE",
            ),
            (
                json!({"object": "document:plan", "relation": ["view"], "subject": "user:alice"}),
                "INVALID_TUPLE",
            ),
            (
                json!({"object": "document:plan", "relation": "view", "subject": {"type": "user"}}),
                "INVALID_TUPLE",
            ),
            (
                json!({"object": "document:plan", "relation": "view", "user": false}),
                "INVALID_TUPLE",
            ),
            (
                json!({"object": "document:", "relation": "view", "subject": "user:alice"}),
                "INVALID_TUPLE",
            ),
            (
                json!({"object": "document:plan", "relation": "view", "subject": "alice"}),
                "INVALID_TUPLE",
            ),
            (
                json!({"relation": "view", "subject": "user:alice"}),
                "MISSING_FIELDS",
            ),
            (
                json!({"object": "", "relation": "view", "subject": "user:alice"}),
                "MISSING_FIELDS",
            ),
            (
                json!({"object": "document:plan", "relation": "view"}),
                "MISSING_FIELDS",
            ),
        ] {
            case(Method::POST, at, path, body, 400, code);
        }
        case(
            Method::POST,
            at,
            path,
            json!({"object": "document:plan", "relation": "view", "subject": "user:alice", "consistency": "sometimes"}),
            400,
            "invalid_request",
        );
    }
    for (at, path) in [
        (At::Root, "/api/v1/authz/zanzibar/expand"),
        (At::Org, "/zanzibar/expand"),
    ] {
        case(
            Method::POST,
            at,
            path,
            json!({"object": true, "relation": "view"}),
            400,
            "INVALID_TUPLE",
        );
        case(
            Method::POST,
            at,
            path,
            json!({"object": "document:plan"}),
            400,
            "MISSING_FIELDS",
        );
    }
    for (at, path) in [
        (At::Root, "/api/v1/authz/zanzibar/list-objects"),
        (At::Org, "/zanzibar/list-objects"),
    ] {
        let base = json!({"type": "document", "relation": "view", "subject": "user:alice"});
        case(
            Method::POST,
            at,
            path,
            json!({"type": 1, "relation": "view", "subject": "user:alice"}),
            400,
            "INVALID_TUPLE",
        );
        case(
            Method::POST,
            at,
            path,
            json!({"relation": "view", "subject": "user:alice"}),
            400,
            "MISSING_FIELDS",
        );
        for extra in [
            json!({"limit": "5"}),
            json!({"limit": 0}),
            json!({"limit": 101}),
            json!({"limit": 1.5}),
            json!({"page": 0}),
            json!({"page": -1}),
        ] {
            let mut body = base.clone();
            if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
                map.extend(more.clone());
            }
            case(Method::POST, at, path, body, 400, "invalid_request");
        }
    }
    for (at, path) in [
        (At::Root, "/api/v1/authz/zanzibar/list-subjects"),
        (At::Org, "/zanzibar/list-subjects"),
    ] {
        case(
            Method::POST,
            at,
            path,
            json!({"object": "document:plan", "relation": "view", "subject_type": 3}),
            400,
            "INVALID_TUPLE",
        );
        case(
            Method::POST,
            at,
            path,
            json!({"object": "document:plan", "relation": "view", "page": "2"}),
            400,
            "invalid_request",
        );
    }
    let schema = "/zanzibar/schema";
    for (body, code) in [
        (json!({"schema": 42}), "INVALID_SCHEMA"),
        (json!({"schema": [SCHEMA]}), "INVALID_SCHEMA"),
        (json!({"schema": {"text": SCHEMA}}), "INVALID_SCHEMA"),
        (json!({"schema": null}), "MISSING_FIELDS"),
        (json!({"schema": "  "}), "MISSING_FIELDS"),
        (json!({"text": SCHEMA}), "MISSING_FIELDS"),
        (json!({"schema": "definition user {"}), "INVALID_SCHEMA"),
    ] {
        case(Method::PUT, At::Org, schema, body, 400, code);
    }
    let tuples = "/zanzibar/tuples";
    let ok = "document:plan#viewer@user:zed";
    for (body, code) in [
        (json!({}), "MISSING_FIELDS"),
        (json!({"writes": null}), "MISSING_FIELDS"),
        (json!({"writes": []}), "MISSING_FIELDS"),
        (json!({"writes": ok}), "INVALID_TUPLE"),
        (json!({"writes": [5]}), "INVALID_TUPLE"),
        (json!({"writes": [ok, null]}), "INVALID_TUPLE"),
        (
            json!({"writes": [{"object": "document:plan", "relation": "viewer"}]}),
            "INVALID_TUPLE",
        ),
        (
            json!({"writes": [{"object": "document:plan", "relation": "viewer", "subject": 5}]}),
            "INVALID_TUPLE",
        ),
        (json!({"writes": ["document:plan#viewer"]}), "INVALID_TUPLE"),
        (json!({"deletes": {"tuple": ok}}), "INVALID_TUPLE"),
        (
            json!({"writes": [ok], "preconditions": ok}),
            "INVALID_TUPLE",
        ),
        (
            json!({"writes": [ok], "preconditions": [5]}),
            "INVALID_TUPLE",
        ),
        (
            json!({"writes": [ok], "preconditions": [{"tuple": ok, "operation": "maybe"}]}),
            "INVALID_TUPLE",
        ),
        (json!({"writes": [ok], "deletes": [ok]}), "INVALID_TUPLE"),
    ] {
        case(Method::POST, At::Org, tuples, body, 400, code);
    }
    for (body, code) in [
        (json!({}), "MISSING_FIELDS"),
        (json!({"tuples": []}), "MISSING_FIELDS"),
        (json!({"writes": [ok]}), "MISSING_FIELDS"),
        (json!({"tuples": ok}), "INVALID_TUPLE"),
        (json!({"tuples": [null]}), "INVALID_TUPLE"),
        (json!({"tuples": [true]}), "INVALID_TUPLE"),
        (json!({"tuples": ["not a tuple"]}), "INVALID_TUPLE"),
    ] {
        case(Method::DELETE, At::Org, tuples, body, 400, code);
    }
    for (method, at, path, body, status, code) in cases {
        let reply = send_authz_json(&api, method.clone(), at, path, &body).await?;
        assert_eq!(
            (reply.status, reply.body["error"].clone()),
            (status, json!(code)),
            "{method} {at:?} {path} {body}: {}",
            reply.text
        );
        reply.expect_error(status, code);
    }
    assert_eq!(
        authz_snapshot(&api).await?,
        before,
        "refused requests changed something"
    );
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn authz_unknown_subjects_types_relations_and_tuples() -> anyhow::Result<()> {
    let Fixture { node, api, user: _ } = authz_fixture().await?;
    let before = authz_snapshot(&api).await?;
    let ghost = "00000000-0000-0000-0000-0000000000ff";
    let tuples = "/zanzibar/tuples";
    let mut cases: Vec<(Method, At, String, Value, u16, &str)> = Vec::new();
    for subject in [
        json!({"type": "user", "id": ghost}),
        json!({"type": "user", "id": "ghost@example.com"}),
        json!({"type": "user", "id": "not-a-uuid"}),
        json!({"id": ghost}),
        json!({"type": "agent", "id": "agt_ghost"}),
    ] {
        cases.push((
            Method::POST,
            At::Root,
            "/api/v1/authz/check".to_string(),
            json!({"permission": "custom:perm", "subject": subject}),
            404,
            "SUBJECT_NOT_FOUND",
        ));
        for path in [
            "/api/v1/authz/check-bulk",
            "/api/v1/authz/check-any",
            "/api/v1/authz/check-all",
        ] {
            cases.push((
                Method::POST,
                At::Root,
                path.to_string(),
                json!({"permissions": ["custom:perm"], "subject": subject}),
                404,
                "SUBJECT_NOT_FOUND",
            ));
        }
    }
    for (at, prefix) in [(At::Root, "/api/v1/authz"), (At::Org, "")] {
        for (p, body, code) in [
            (
                "/zanzibar/check",
                json!({"object": "spaceship:1", "relation": "view", "subject": "user:alice"}),
                "UNKNOWN_TYPE",
            ),
            (
                "/zanzibar/check",
                json!({"object": "document:plan", "relation": "edit", "subject": "user:alice"}),
                "UNKNOWN_RELATION",
            ),
            (
                "/zanzibar/expand",
                json!({"object": "spaceship:1", "relation": "view"}),
                "UNKNOWN_TYPE",
            ),
            (
                "/zanzibar/expand",
                json!({"object": "document:plan", "relation": "edit"}),
                "UNKNOWN_RELATION",
            ),
            (
                "/zanzibar/list-objects",
                json!({"type": "spaceship", "relation": "view", "subject": "user:alice"}),
                "UNKNOWN_TYPE",
            ),
            (
                "/zanzibar/list-objects",
                json!({"type": "document", "relation": "edit", "subject": "user:alice"}),
                "UNKNOWN_RELATION",
            ),
            (
                "/zanzibar/list-subjects",
                json!({"object": "spaceship:1", "relation": "view"}),
                "UNKNOWN_TYPE",
            ),
            (
                "/zanzibar/list-subjects",
                json!({"object": "document:plan", "relation": "edit"}),
                "UNKNOWN_RELATION",
            ),
        ] {
            cases.push((Method::POST, at, format!("{prefix}{p}"), body, 400, code));
        }
    }
    for (body, code) in [
        (
            json!({"writes": ["spaceship:1#viewer@user:alice"]}),
            "UNKNOWN_TYPE",
        ),
        (
            json!({"writes": ["document:plan#editor@user:alice"]}),
            "UNKNOWN_RELATION",
        ),
        (
            json!({"writes": ["document:plan#viewer@robot:alice"]}),
            "INVALID_TUPLE",
        ),
        (
            json!({"deletes": ["spaceship:1#viewer@user:alice"]}),
            "UNKNOWN_TYPE",
        ),
    ] {
        cases.push((Method::POST, At::Org, tuples.to_string(), body, 400, code));
    }
    cases.push((
        Method::DELETE,
        At::Org,
        tuples.to_string(),
        json!({"tuples": ["document:plan#editor@user:alice"]}),
        400,
        "UNKNOWN_RELATION",
    ));
    // A precondition on a tuple that does not exist fails, and nothing is written.
    cases.push((
        Method::POST,
        At::Org,
        tuples.to_string(),
        json!({
            "writes": ["document:plan#viewer@user:zed"],
            "preconditions": [{"tuple": "document:ghost#viewer@user:alice", "operation": "must_exist"}],
        }),
        409,
        "PRECONDITION_FAILED",
    ));
    cases.push((
        Method::DELETE,
        At::Org,
        tuples.to_string(),
        json!({
            "tuples": ["document:plan#viewer@team:eng#member"],
            "preconditions": [{"tuple": "team:ghost#member@user:alice"}],
        }),
        409,
        "PRECONDITION_FAILED",
    ));
    for (method, at, path, body, status, code) in cases {
        let reply = send_authz_json(&api, method.clone(), at, &path, &body).await?;
        assert_eq!(
            (reply.status, reply.body["error"].clone()),
            (status, json!(code)),
            "{method} {at:?} {path} {body}: {}",
            reply.text
        );
        reply.expect_error(status, code);
    }
    assert_eq!(authz_snapshot(&api).await?, before);

    // Unknown objects are no error: nothing relates to them.
    let unknown = send_authz_json(
        &api,
        Method::POST,
        At::Root,
        "/api/v1/authz/zanzibar/check",
        &json!({"object": "document:ghost", "relation": "view", "subject": "user:alice"}),
    )
    .await?
    .expect(200);
    assert_eq!(unknown.body["allowed"], false);
    let listed = send_authz_json(
        &api,
        Method::POST,
        At::Org,
        "/zanzibar/list-subjects",
        &json!({"object": "document:ghost", "relation": "view"}),
    )
    .await?
    .expect(200);
    assert_eq!(listed.body["data"], json!([]));
    // Deleting a tuple that does not exist deletes nothing.
    let deleted = api
        .delete_with_body(
            "/zanzibar/tuples",
            json!({"tuples": ["document:ghost#viewer@user:alice"]}),
        )
        .await?
        .expect(200);
    assert_eq!(
        (
            deleted.body["deleted"].clone(),
            deleted.body["written"].clone()
        ),
        (json!(0), json!(0))
    );
    let tuples = api.get("/zanzibar/tuples?limit=100").await?.expect(200);
    assert_eq!(tuples.body, before["/zanzibar/tuples?limit=100"]);
    node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn authz_a_subject_type_that_is_not_a_string_is_invalid_subject() -> anyhow::Result<()> {
    let Fixture { node, api, user } = authz_fixture().await?;
    // `type` may be left out (a user), but a number, a boolean, a list or an object is not a
    // subject type, like "robot" is not.
    let mut wrong = Vec::new();
    for kind in [
        json!(5),
        json!(true),
        json!(["user"]),
        json!({"user": true}),
    ] {
        for (path, body) in [
            (
                "/api/v1/authz/check",
                json!({"permission": "custom:perm", "subject": {"type": kind, "id": user}}),
            ),
            (
                "/api/v1/authz/check-bulk",
                json!({"permissions": ["custom:perm"], "subject": {"type": kind, "id": user}}),
            ),
        ] {
            let reply = send_authz_json(&api, Method::POST, At::Root, path, &body).await?;
            if (reply.status, reply.body["error"].clone()) != (400, json!("INVALID_SUBJECT")) {
                wrong.push(format!("{path} {body} -> {} {}", reply.status, reply.text));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 400 INVALID_SUBJECT, got:\n{}",
        wrong.join("\n")
    );
    node.stop().await?;
    Ok(())
}

// --- ABAC -------------------------------------------------------------------------------------------

/// The fixture's data, ABAC attributes (`level`: user number, `class`: resource string), a policy,
/// and a manager (abac.manage) whose bearer token has abac:read and abac:write and who holds a
/// `level` value; the document `doc-1` holds a `class` value.
struct AbacFixture {
    node: TestNode,
    api: Api,
    manager: Api,
    manager_id: String,
    policy: u64,
    attribute: u64,
}

async fn abac_fixture() -> anyhow::Result<AbacFixture> {
    let Fixture { node, api, user: _ } = fixture().await?;
    let attribute = api
        .post(
            "/abac/attributes",
            json!({"name": "Level", "slug": "level", "attributeType": "user", "dataType": "number"}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    api.post(
        "/abac/attributes",
        json!({"name": "Class", "slug": "class", "attributeType": "resource", "defaultValue": "public"}),
    )
    .await?
    .expect(201);
    let policy = api
        .post(
            "/abac/policies",
            json!({"name": "Seniors read", "slug": "seniors", "resourceType": "document", "action": "read",
                   "priority": 5, "conditions": {"all": [{"attribute": "user.level", "operator": "gte", "value": 3}]}}),
        )
        .await?
        .expect(201)
        .data()["id"]
        .as_u64()
        .unwrap_or_default();
    new_permission(&api, "Manage ABAC", "abac.manage").await?;
    let manager_id = lumo_tests::oauth::create_user(&api, "manager@example.com", PASSWORD).await?;
    api.post(
        &format!("/admin/users/{manager_id}/permissions"),
        json!({"permissions": ["abac.manage"]}),
    )
    .await?
    .expect(200);
    let token = user_token(&api, "manager@example.com", "openid abac:read abac:write").await?;
    let manager = api.with_bearer(&token);
    manager
        .put(
            &format!("/abac/users/{manager_id}/attributes/level"),
            json!({"value": 4}),
        )
        .await?
        .expect(200);
    manager
        .put(
            "/abac/resources/document/doc-1/attributes/class",
            json!({"value": "internal"}),
        )
        .await?
        .expect(200);
    Ok(AbacFixture {
        node,
        api,
        manager,
        manager_id,
        policy,
        attribute,
    })
}

/// [`snapshot`] plus the attributes, policies and the values the runtime shows.
async fn abac_snapshot(f: &AbacFixture) -> anyhow::Result<Value> {
    let mut out = snapshot(&f.api).await?;
    let mut add = |key: String, value: Value| {
        if let Some(map) = out.as_object_mut() {
            map.insert(key, value);
        }
    };
    for path in [
        "/abac/attributes?limit=100",
        "/abac/policies?limit=100",
        "/admin/audit-logs?limit=100",
    ] {
        add(path.into(), f.api.get(path).await?.expect(200).body);
    }
    for path in [
        "/abac/my-attributes",
        "/abac/resources/document/doc-1/attributes",
        "/abac/resources/document/doc-2/attributes",
    ] {
        add(path.into(), f.manager.get(path).await?.expect(200).body);
    }
    Ok(out)
}

/// Who sends an ABAC request: the admin API key or the manager's bearer token.
#[derive(Clone, Copy, Debug)]
enum By {
    Key,
    Bearer,
}

/// Every ABAC route that reads a body, and who may call it.
fn abac_body_routes(f: &AbacFixture) -> Vec<(Method, By, String)> {
    let (a, p) = (f.attribute, f.policy);
    vec![
        (Method::POST, By::Key, "/abac/attributes".into()),
        (Method::PUT, By::Key, format!("/abac/attributes/{a}")),
        (Method::PATCH, By::Key, format!("/abac/attributes/{a}")),
        (Method::POST, By::Key, "/abac/policies".into()),
        (Method::PUT, By::Key, format!("/abac/policies/{p}")),
        (Method::PATCH, By::Key, format!("/abac/policies/{p}")),
        (Method::POST, By::Bearer, "/abac/check".into()),
        (Method::POST, By::Bearer, "/abac/check-bulk".into()),
        (
            Method::PUT,
            By::Bearer,
            "/abac/resources/document/doc-1/attributes/class".into(),
        ),
        (
            Method::PUT,
            By::Bearer,
            format!("/abac/users/{}/attributes/level", f.manager_id),
        ),
    ]
}

/// Sends raw bytes with a content type to an ABAC route.
async fn send_abac(
    f: &AbacFixture,
    method: Method,
    by: By,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> anyhow::Result<Reply> {
    let (name, value) = match by {
        By::Key => ("X-API-Key", f.api.key.clone()),
        By::Bearer => ("Authorization", f.manager.key.clone()),
    };
    let mut request = reqwest::Client::new()
        .request(method, f.api.url(path))
        .header(name, value)
        .body(body);
    if let Some(ct) = content_type {
        request = request.header("Content-Type", ct);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
    Ok(Reply {
        status,
        headers,
        body,
        text,
    })
}

async fn send_abac_json(
    f: &AbacFixture,
    method: Method,
    by: By,
    path: &str,
    body: &Value,
) -> anyhow::Result<Reply> {
    send_abac(
        f,
        method,
        by,
        path,
        Some("application/json"),
        serde_json::to_vec(body)?,
    )
    .await
}

#[tokio::test]
async fn abac_bodies_over_1_mib_are_413_wrong_content_types_415_bad_json_400() -> anyhow::Result<()>
{
    let f = abac_fixture().await?;
    let before = abac_snapshot(&f).await?;
    let padded = |size: usize| {
        let head = r#"{"value":"x","name":"N","padding":""#;
        let tail = r#""}"#;
        let pad = "x".repeat(size - head.len() - tail.len());
        format!("{head}{pad}{tail}").into_bytes()
    };
    // A body each route would accept, were it declared JSON.
    let acceptable = serde_json::to_vec(&json!({
        "name": "Fine", "slug": "fine", "attributeType": "user", "resourceType": "document",
        "action": "read", "checks": [{"resourceType": "document", "action": "read"}], "value": 5,
    }))?;
    let bad_json: [&[u8]; 9] = [
        br#"{"value": "#,
        br#"{"value": 1,}"#,
        br#"{value: 1}"#,
        b"{\"value\": 1} trailing",
        b"\xff\xfe{}",
        br#"[{"value": 1}]"#,
        b"42",
        b"null",
        b"",
    ];
    let mut wrong = Vec::new();
    for (method, by, path) in abac_body_routes(&f) {
        for size in [(1 << 20) + 1, 3 << 20] {
            let reply = send_abac(
                &f,
                method.clone(),
                by,
                &path,
                Some("application/json"),
                padded(size),
            )
            .await?;
            if (reply.status, reply.body["error"].clone()) != (413, json!("payload_too_large")) {
                wrong.push(format!(
                    "{method} {path} {size}B -> {} {}",
                    reply.status, reply.text
                ));
            }
        }
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
            Some("application/xml"),
        ] {
            let reply = send_abac(
                &f,
                method.clone(),
                by,
                &path,
                content_type,
                acceptable.clone(),
            )
            .await?;
            if (reply.status, reply.body["error"].clone()) != (415, json!("unsupported_media_type"))
            {
                wrong.push(format!(
                    "{method} {path} {content_type:?} -> {} {}",
                    reply.status, reply.text
                ));
            }
        }
        for body in bad_json {
            let reply = send_abac(
                &f,
                method.clone(),
                by,
                &path,
                Some("application/json"),
                body.to_vec(),
            )
            .await?;
            if (reply.status, reply.body["error"].clone()) != (400, json!("invalid_request")) {
                wrong.push(format!(
                    "{method} {path} {:?} -> {} {}",
                    String::from_utf8_lossy(body),
                    reply.status,
                    reply.text
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        abac_snapshot(&f).await?,
        before,
        "refused requests changed something"
    );
    // JSON with parameters, in any case, is read.
    send_abac(
        &f,
        Method::POST,
        By::Bearer,
        "/abac/check",
        Some("Application/JSON; charset=utf-8"),
        serde_json::to_vec(&json!({"resourceType": "document", "action": "read"}))?,
    )
    .await?
    .expect(200);
    f.node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn abac_wrong_json_types_in_bodies_and_conditions_write_nothing() -> anyhow::Result<()> {
    let f = abac_fixture().await?;
    let before = abac_snapshot(&f).await?;
    let (a, p) = (f.attribute, f.policy);
    let leaf = |attribute: Value, operator: Value, value: Value| json!({"all": [{"attribute": attribute, "operator": operator, "value": value}]});
    let mut cases: Vec<(Method, By, String, Value, u16, &str)> = Vec::new();
    let attributes = "/abac/attributes".to_string();
    for body in [
        json!({}),
        json!({"attributeType": "user"}),
        json!({"name": 5, "attributeType": "user"}),
        json!({"name": "", "attributeType": "user"}),
        json!({"name": "A", "attributeType": "planet"}),
        json!({"name": "A", "attributeType": ["user"]}),
        json!({"name": "A", "slug": "Not A Slug!", "attributeType": "user"}),
        json!({"name": "A", "slug": 7, "attributeType": "user"}),
        json!({"name": "A", "attributeType": "user", "isRequired": "yes"}),
        json!({"name": "A", "attributeType": "user", "description": ["d"]}),
        json!({"name": "A", "attributeType": "user", "dataType": "color"}),
        json!({"name": "A", "attributeType": "user", "dataType": 5}),
        json!({"name": "A", "attributeType": "user", "dataType": "number", "defaultValue": "x"}),
    ] {
        cases.push((
            Method::POST,
            By::Key,
            attributes.clone(),
            body,
            422,
            "validation_error",
        ));
    }
    cases.push((
        Method::POST,
        By::Key,
        attributes.clone(),
        json!({"name": "Dup", "slug": "level", "attributeType": "user"}),
        409,
        "duplicate_resource",
    ));
    for method in [Method::PUT, Method::PATCH] {
        for body in [
            json!({"name": 5}),
            json!({"isRequired": "no"}),
            json!({"dataType": "color"}),
            json!({"defaultValue": "not a number"}),
            json!({"dataType": "boolean", "defaultValue": 3}),
        ] {
            cases.push((
                method.clone(),
                By::Key,
                format!("/abac/attributes/{a}"),
                body,
                422,
                "validation_error",
            ));
        }
    }
    let policies = "/abac/policies".to_string();
    let base = json!({"name": "P", "slug": "p", "resourceType": "document", "action": "read"});
    let with = |extra: Value| {
        let mut body = base.clone();
        if let (Some(map), Some(more)) = (body.as_object_mut(), extra.as_object()) {
            map.extend(more.clone());
        }
        body
    };
    for body in [
        json!({"name": "P"}),
        json!({"name": "P", "resourceType": 5, "action": "read"}),
        with(json!({"effect": "maybe"})),
        with(json!({"effect": true})),
        with(json!({"priority": "high"})),
        with(json!({"priority": 1.5})),
        with(json!({"priority": 2_000_000})),
        with(json!({"isActive": "yes"})),
        with(json!({"slug": "Bad Slug"})),
        with(json!({"slug": "seniors", "effect": "maybe"})),
    ] {
        cases.push((
            Method::POST,
            By::Key,
            policies.clone(),
            body,
            422,
            "validation_error",
        ));
    }
    cases.push((
        Method::POST,
        By::Key,
        policies.clone(),
        with(json!({"slug": "seniors"})),
        409,
        "duplicate_resource",
    ));
    let bad_conditions = [
        (json!("user.level >= 3"), "INVALID_CONDITIONS"),
        (json!(["user.level"]), "INVALID_CONDITIONS"),
        (json!(5), "INVALID_CONDITIONS"),
        (json!({"all": "everything"}), "INVALID_CONDITIONS"),
        (
            json!({"any": {"attribute": "user.level"}}),
            "INVALID_CONDITIONS",
        ),
        (json!({"all": [5]}), "INVALID_CONDITIONS"),
        (json!({"all": [null]}), "INVALID_CONDITIONS"),
        (
            leaf(json!(5), json!("equals"), json!(1)),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("user.level"), json!(5), json!(1)),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("user.level"), json!("resembles"), json!(1)),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("user.level"), json!("in"), json!("3")),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("user.level"), json!("between"), json!([1])),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(
                json!("environment.ip"),
                json!("ip_in_cidr"),
                json!("10.0.0.0/99"),
            ),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("environment.ip"), json!("ip_in_cidr"), json!([5])),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("planet.level"), json!("equals"), json!(1)),
            "INVALID_CONDITIONS",
        ),
        (
            json!({"all": [{"operator": "equals", "value": 1}]}),
            "INVALID_CONDITIONS",
        ),
        (
            leaf(json!("user.nope"), json!("equals"), json!(1)),
            "UNKNOWN_ATTRIBUTE",
        ),
        (
            leaf(json!("resource.level"), json!("equals"), json!(1)),
            "UNKNOWN_ATTRIBUTE",
        ),
        (
            leaf(json!("user.class"), json!("equals"), json!("x")),
            "UNKNOWN_ATTRIBUTE",
        ),
        (
            leaf(
                json!("user.level"),
                json!("equals"),
                json!({"attribute": "user.nope"}),
            ),
            "UNKNOWN_ATTRIBUTE",
        ),
    ];
    for (conditions, code) in &bad_conditions {
        cases.push((
            Method::POST,
            By::Key,
            policies.clone(),
            with(json!({"conditions": conditions})),
            400,
            code,
        ));
        for method in [Method::PUT, Method::PATCH] {
            cases.push((
                method,
                By::Key,
                format!("/abac/policies/{p}"),
                json!({"name": "Renamed", "conditions": conditions}),
                400,
                code,
            ));
        }
    }
    for method in [Method::PUT, Method::PATCH] {
        for body in [
            json!({"priority": "x"}),
            json!({"effect": 1}),
            json!({"isActive": 0}),
        ] {
            cases.push((
                method.clone(),
                By::Key,
                format!("/abac/policies/{p}"),
                body,
                422,
                "validation_error",
            ));
        }
    }
    // The runtime.
    let check = "/abac/check".to_string();
    for body in [
        json!({}),
        json!({"action": "read"}),
        json!({"resourceType": "document"}),
        json!({"resourceType": 5, "action": "read"}),
        json!({"resourceType": "document", "action": ["read"]}),
        json!({"resourceType": "", "action": "read"}),
    ] {
        cases.push((
            Method::POST,
            By::Bearer,
            check.clone(),
            body,
            400,
            "MISSING_FIELDS",
        ));
    }
    for environment in [json!("10.0.0.1"), json!([1]), json!(5)] {
        cases.push((
            Method::POST,
            By::Bearer,
            check.clone(),
            json!({"resourceType": "document", "action": "read", "environment": environment}),
            400,
            "invalid_request",
        ));
    }
    let bulk = "/abac/check-bulk".to_string();
    let one = json!([{"resourceType": "document", "action": "read"}]);
    cases.push((
        Method::POST,
        By::Bearer,
        bulk.clone(),
        json!({}),
        400,
        "MISSING_FIELDS",
    ));
    for body in [
        json!({"checks": "document"}),
        json!({"checks": {"resourceType": "document"}}),
        json!({"checks": []}),
        json!({"requests": one}),
        json!({"checks": one, "environment": "x"}),
    ] {
        cases.push((
            Method::POST,
            By::Bearer,
            bulk.clone(),
            body,
            400,
            "invalid_request",
        ));
    }
    let user_value = format!("/abac/users/{}/attributes/level", f.manager_id);
    let doc_value = "/abac/resources/document/doc-1/attributes/class".to_string();
    for path in [&user_value, &doc_value] {
        for body in [json!({}), json!({"val": 1}), json!({"values": [1]})] {
            cases.push((
                Method::PUT,
                By::Bearer,
                path.clone(),
                body,
                400,
                "MISSING_FIELDS",
            ));
        }
    }
    for (path, value) in [
        (&user_value, json!("high")),
        (&user_value, json!(null)),
        (&user_value, json!([4])),
        (&user_value, json!({"level": 4})),
        (&user_value, json!(true)),
        (&doc_value, json!(5)),
        (&doc_value, json!(["secret"])),
        (&doc_value, json!(null)),
    ] {
        cases.push((
            Method::PUT,
            By::Bearer,
            path.clone(),
            json!({"value": value}),
            400,
            "INVALID_ATTRIBUTE_VALUE",
        ));
    }
    let mut wrong = Vec::new();
    for (method, by, path, body, status, code) in cases {
        let reply = send_abac_json(&f, method.clone(), by, &path, &body).await?;
        if (reply.status, reply.body["error"].clone()) != (status, json!(code)) {
            wrong.push(format!(
                "{method} {by:?} {path} {body} -> {} {} (expected {status} {code})",
                reply.status, reply.text
            ));
        } else {
            reply.expect_error(status, code);
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        abac_snapshot(&f).await?,
        before,
        "refused requests changed something"
    );
    f.node.stop().await?;
    Ok(())
}

/// A request and the status and error code it must get.
type AbacCase = (Method, By, String, Option<Value>, u16, &'static str);

#[tokio::test]
async fn abac_unknown_ids_and_attribute_slugs() -> anyhow::Result<()> {
    let f = abac_fixture().await?;
    let before = abac_snapshot(&f).await?;
    let ghost = "00000000-0000-0000-0000-0000000000ff";
    let mut cases: Vec<AbacCase> = Vec::new();
    for id in ["999", "0"] {
        for path in [
            format!("/abac/attributes/{id}"),
            format!("/abac/policies/{id}"),
        ] {
            cases.push((
                Method::GET,
                By::Key,
                path.clone(),
                None,
                404,
                "resource_not_found",
            ));
            cases.push((
                Method::DELETE,
                By::Key,
                path.clone(),
                None,
                404,
                "resource_not_found",
            ));
            for method in [Method::PUT, Method::PATCH] {
                cases.push((
                    method,
                    By::Key,
                    path.clone(),
                    Some(json!({"name": "Ghost"})),
                    404,
                    "resource_not_found",
                ));
            }
        }
        cases.push((
            Method::POST,
            By::Key,
            format!("/abac/policies/{id}/toggle"),
            None,
            404,
            "resource_not_found",
        ));
    }
    for id in ["abc", "-1", "1.5"] {
        for path in [
            format!("/abac/attributes/{id}"),
            format!("/abac/policies/{id}"),
        ] {
            cases.push((
                Method::GET,
                By::Key,
                path.clone(),
                None,
                400,
                "invalid_request",
            ));
            cases.push((Method::DELETE, By::Key, path, None, 400, "invalid_request"));
        }
        cases.push((
            Method::POST,
            By::Key,
            format!("/abac/policies/{id}/toggle"),
            None,
            400,
            "invalid_request",
        ));
    }
    for user in [ghost, "not-a-uuid", "ghost@example.com"] {
        cases.push((
            Method::PUT,
            By::Bearer,
            format!("/abac/users/{user}/attributes/level"),
            Some(json!({"value": 4})),
            404,
            "resource_not_found",
        ));
    }
    let user_path = |slug: &str| format!("/abac/users/{}/attributes/{slug}", f.manager_id);
    let doc_path = |slug: &str| format!("/abac/resources/document/doc-1/attributes/{slug}");
    for (path, value) in [
        (user_path("nope"), json!(1)),
        (user_path("class"), json!("secret")),
        (user_path("Level"), json!(1)),
        (user_path("email"), json!("x@example.com")),
        (doc_path("nope"), json!("x")),
        (doc_path("level"), json!(1)),
        (doc_path("type"), json!("x")),
        (doc_path("id"), json!("x")),
    ] {
        cases.push((
            Method::PUT,
            By::Bearer,
            path,
            Some(json!({"value": value})),
            400,
            "UNKNOWN_ATTRIBUTE",
        ));
    }
    let mut wrong = Vec::new();
    for (method, by, path, body, status, code) in cases {
        let reply = match &body {
            Some(body) => send_abac_json(&f, method.clone(), by, &path, body).await?,
            None => send_abac(&f, method.clone(), by, &path, None, Vec::new()).await?,
        };
        if (reply.status, reply.body["error"].clone()) != (status, json!(code)) {
            wrong.push(format!(
                "{method} {by:?} {path} -> {} {} (expected {status} {code})",
                reply.status, reply.text
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected answers:\n{}",
        wrong.join("\n")
    );
    assert_eq!(
        abac_snapshot(&f).await?,
        before,
        "refused requests changed something"
    );
    // An unknown resource is no error: it has its id, type and the defaults.
    let unknown = f
        .manager
        .get("/abac/resources/ghost/nothing/attributes")
        .await?
        .expect(200);
    assert_eq!(
        unknown.body["attributes"],
        json!({"id": "nothing", "type": "ghost", "class": "public"})
    );
    f.node.stop().await?;
    Ok(())
}

/// ABAC updates refuse an empty or null `name` (422 "may not be empty"), as groups, roles and
/// every create do.
#[tokio::test]
async fn abac_updates_refuse_an_empty_name() -> anyhow::Result<()> {
    let f = abac_fixture().await?;
    let before = abac_snapshot(&f).await?;
    let mut wrong = Vec::new();
    for path in [
        format!("/abac/attributes/{}", f.attribute),
        format!("/abac/policies/{}", f.policy),
    ] {
        for method in [Method::PUT, Method::PATCH] {
            for body in [
                json!({"name": ""}),
                json!({"name": "  "}),
                json!({"name": null}),
            ] {
                let reply = send_abac_json(&f, method.clone(), By::Key, &path, &body).await?;
                if (reply.status, reply.body["error"].clone()) != (422, json!("validation_error")) {
                    wrong.push(format!(
                        "{method} {path} {body} -> {} {}",
                        reply.status, reply.text
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "expected 422 validation_error:\n{}",
        wrong.join("\n")
    );
    assert_eq!(abac_snapshot(&f).await?, before);
    f.node.stop().await?;
    Ok(())
}

#[tokio::test]
async fn agent_family_bodies_missing_fields_or_of_wrong_types_are_422_naming_each_field()
-> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let agent = api
        .post(
            "/admin/agents",
            json!({"name": "Checked bot", "capabilities": ["docs.read"]}),
        )
        .await?
        .expect(201)
        .data()
        .clone();
    let id = agent["agentId"].as_str().unwrap_or_default().to_string();
    let identity_path = format!("/admin/agents/{id}/aauth");
    let identity_path = identity_path.as_str();
    let snapshot = |api: Api| async move {
        let agents = api.get("/admin/agents?limit=100").await?.expect(200).body;
        let servers = api.get("/admin/mcp/servers").await?.expect(200).body;
        let resources = api.get("/admin/aauth/resources").await?.expect(200).body;
        let identity = api.get(identity_path).await?.expect(200).body;
        anyhow::Ok(
            json!({"agents": agents, "servers": servers, "resources": resources, "identity": identity}),
        )
    };
    let before = snapshot(api.clone()).await?;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/agents".into(),
            json!({}),
            vec!["name"],
        ),
        (
            Method::POST,
            "/admin/agents".into(),
            json!({"name": "x", "capabilities": "docs.read"}),
            vec!["capabilities"],
        ),
        (
            Method::POST,
            "/admin/agents".into(),
            json!({"name": "x", "capabilities": ["admin"]}),
            vec!["capabilities"],
        ),
        (
            Method::POST,
            "/admin/agents".into(),
            json!({"name": 5, "maxTokensPerDay": "many"}),
            vec!["maxTokensPerDay", "name"],
        ),
        (
            Method::PUT,
            format!("/admin/agents/{id}"),
            json!({"description": "no name"}),
            vec!["name"],
        ),
        (
            Method::PATCH,
            format!("/admin/agents/{id}"),
            json!({"a2aUrl": "ftp://x", "workload": {"issuer": "https://i.test"}}),
            vec!["a2aUrl", "workload"],
        ),
        (
            Method::PUT,
            format!("/admin/agents/{id}/scopes"),
            json!({}),
            vec!["scopes"],
        ),
        (
            Method::POST,
            format!("/admin/agents/{id}/token"),
            json!({"expiresIn": 0}),
            vec!["expiresIn"],
        ),
        (
            Method::POST,
            format!("/admin/agents/{id}/rotate-key"),
            json!({"gracePeriodSeconds": 99_999_999}),
            vec!["gracePeriodSeconds"],
        ),
        (
            Method::POST,
            format!("/admin/agents/{id}/connections"),
            json!({}),
            vec!["access_token", "name", "provider"],
        ),
        (
            Method::POST,
            "/admin/mcp/servers".into(),
            json!({}),
            vec!["name", "resource_uri"],
        ),
        (
            Method::POST,
            "/admin/mcp/servers".into(),
            json!({"name": "m", "resource_uri": "ftp://m.test/x", "transport": "pigeon"}),
            vec!["resource_uri", "transport"],
        ),
        (
            Method::PUT,
            format!("/admin/agents/{id}/aauth"),
            json!({}),
            vec!["jwks"],
        ),
        (
            Method::PUT,
            format!("/admin/agents/{id}/aauth"),
            json!({"jwks": {"keys": [{"kty": "RSA", "n": "x", "e": "AQAB"}]}, "identifier": "ftp://a", "redirect_uris": "x"}),
            vec!["identifier", "jwks", "redirect_uris"],
        ),
        (
            Method::POST,
            "/admin/aauth/resources".into(),
            json!({}),
            vec!["identifier", "jwks", "name"],
        ),
        (
            Method::POST,
            "/admin/aauth/resources".into(),
            json!({"name": "r", "identifier": "https://r.test", "jwks": {"keys": [{"kty": "OKP", "crv": "Ed25519", "x": "short"}]}, "scopes": 5}),
            vec!["jwks", "scopes"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(
            reply.status, 422,
            "{method} {path} {body}: expected 422, got {} {}",
            reply.status, reply.text
        );
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// Webhooks: every refused request (missing or mistyped fields, unknown events, bad URLs,
/// malformed or oversized bodies, wrong content types, unknown ids, a missing, wrong or
/// read-only credential) answers its documented status and changes no webhook.
#[tokio::test]
async fn webhook_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/webhooks",
            json!({"url": "https://hooks.example.com/in", "events": ["user.created"]}),
        )
        .await?
        .expect(201);
    let id = created.data()["id"].as_u64().unwrap_or_default();
    let snapshot = |api: Api| async move {
        let list = api.get("/admin/webhooks?limit=100").await?.expect(200).body;
        let one = api
            .get(&format!("/admin/webhooks/{id}"))
            .await?
            .expect(200)
            .body;
        anyhow::Ok(json!({"list": list, "one": one}))
    };
    let before = snapshot(api.clone()).await?;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/webhooks".into(),
            json!({}),
            vec!["events", "url"],
        ),
        (
            Method::POST,
            "/admin/webhooks".into(),
            json!({"url": 5, "events": "user.created"}),
            vec!["events", "url"],
        ),
        (
            Method::POST,
            "/admin/webhooks".into(),
            json!({"url": "https://h.example.com", "events": ["no.such.event"], "isActive": "yes"}),
            vec!["events", "isActive"],
        ),
        (
            Method::POST,
            "/admin/webhooks".into(),
            json!({"url": "gopher://h.example.com", "events": [], "configuration": []}),
            vec!["configuration", "events", "url"],
        ),
        (
            Method::PUT,
            format!("/admin/webhooks/{id}"),
            json!({"events": ["*"]}),
            vec!["url"],
        ),
        (
            Method::PATCH,
            format!("/admin/webhooks/{id}"),
            json!({"url": "https://user:pw@h.example.com", "type": "sms"}),
            vec!["type", "url"],
        ),
        (
            Method::POST,
            format!("/admin/webhooks/{id}/rotate-secret"),
            json!({"gracePeriodSeconds": 99_999_999}),
            vec!["gracePeriodSeconds"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(reply.status, 422, "{method} {path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    for body in [&b"{\"url\": "[..], b"[1]", b"\"x\""] {
        api.send_raw(
            Method::POST,
            "/admin/webhooks",
            Some("application/json"),
            body.to_vec(),
        )
        .await?
        .expect_error(400, "invalid_request");
    }
    api.send_raw(
        Method::POST,
        "/admin/webhooks",
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await?
    .expect_error(415, "unsupported_media_type");
    let huge = format!(
        r#"{{"url":"https://h.example.com","events":["*"],"pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    api.send_raw(
        Method::POST,
        "/admin/webhooks",
        Some("application/json"),
        huge.into_bytes(),
    )
    .await?
    .expect_error(413, "payload_too_large");
    for (method, path) in [
        (Method::GET, "/admin/webhooks/424242".to_string()),
        (Method::DELETE, "/admin/webhooks/424242".to_string()),
        (Method::POST, "/admin/webhooks/424242/test".to_string()),
        (
            Method::POST,
            "/admin/webhooks/424242/rotate-secret".to_string(),
        ),
        (Method::GET, "/admin/webhooks/424242/deliveries".to_string()),
        (
            Method::GET,
            format!("/admin/webhooks/{id}/deliveries/dlv_77"),
        ),
        (
            Method::POST,
            format!("/admin/webhooks/{id}/deliveries/dlv_77/replay"),
        ),
    ] {
        let reply = api.send(method.clone(), &path, None).await?;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        reply.expect_error(404, "resource_not_found");
    }
    for path in [
        "/admin/webhooks/0",
        "/admin/webhooks/-1",
        "/admin/webhooks/x1",
    ] {
        api.get(path).await?.expect_error(400, "invalid_request");
    }
    // No credential, a wrong one, and one without admin:webhooks write.
    api.with_key("lmk_not_a_real_key_000000000000")
        .post(
            "/admin/webhooks",
            json!({"url": "https://h.example.com", "events": ["*"]}),
        )
        .await?
        .expect(401);
    let reader = read_only(&api, "hooks-reader").await?;
    reader.get("/admin/webhooks").await?.expect(200);
    for (method, path) in [
        (Method::POST, "/admin/webhooks".to_string()),
        (Method::PATCH, format!("/admin/webhooks/{id}")),
        (Method::POST, format!("/admin/webhooks/{id}/rotate-secret")),
        (Method::POST, format!("/admin/webhooks/{id}/test")),
        (Method::POST, format!("/admin/webhooks/{id}/disable")),
        (Method::DELETE, format!("/admin/webhooks/{id}")),
    ] {
        let body = json!({"url": "https://h.example.com", "events": ["*"]});
        let reply = reader.send(method.clone(), &path, Some(body)).await?;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// MFA administration: refused policy updates (wrong types, unknown factors), temporary
/// access codes without a reason or with a lifetime out of range, malformed, oversized and
/// mistyped bodies, unknown users, and a missing or read-only credential answer their status
/// and change neither the policy nor any user's factors. (The self-service side takes user
/// tokens: `mfa_api.rs`.)
#[tokio::test]
async fn mfa_admin_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let user = api.create_user("mfa-bad@example.com").await?;
    let snapshot = |api: Api, user: String| async move {
        let policy = api.get("/admin/policies/mfa").await?.expect(200).body;
        let factors = api
            .get(&format!("/admin/users/{user}/authenticators"))
            .await?
            .expect(200)
            .body;
        anyhow::Ok(json!({"policy": policy, "factors": factors}))
    };
    let before = snapshot(api.clone(), user.clone()).await?;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::PUT,
            "/admin/policies/mfa".into(),
            json!({"requirement": "sometimes", "grace_period_days": "7"}),
            vec!["grace_period_days", "requirement"],
        ),
        (
            Method::PUT,
            "/admin/policies/mfa".into(),
            json!({"allowed_factors": ["totp", "carrier_pigeon"], "email_otp_counts_as_mfa": 1}),
            vec!["allowed_factors", "email_otp_counts_as_mfa"],
        ),
        (
            Method::PUT,
            "/admin/policies/mfa".into(),
            json!({"required_roles": "admin", "required_since": "yesterday"}),
            vec!["required_roles", "required_since"],
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/temporary-access-code"),
            json!({}),
            vec!["reason"],
        ),
        (
            Method::POST,
            format!("/admin/users/{user}/temporary-access-code"),
            json!({"reason": 5, "ttl_minutes": 99_999, "single_use": "yes"}),
            vec!["reason", "single_use", "ttl_minutes"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(reply.status, 422, "{method} {path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    let tap = format!("/admin/users/{user}/temporary-access-code");
    for body in [&b"{\"reason\": "[..], b"[1]"] {
        api.send_raw(Method::POST, &tap, Some("application/json"), body.to_vec())
            .await?
            .expect_error(400, "invalid_request");
    }
    api.send_raw(
        Method::PUT,
        "/admin/policies/mfa",
        Some("text/plain"),
        b"{}".to_vec(),
    )
    .await?
    .expect_error(415, "unsupported_media_type");
    let huge = format!(r#"{{"reason":"{}"}}"#, "x".repeat(1 << 20));
    api.send_raw(
        Method::POST,
        &tap,
        Some("application/json"),
        huge.into_bytes(),
    )
    .await?
    .expect_error(413, "payload_too_large");
    for (method, path) in [
        (
            Method::GET,
            "/admin/users/nobody@example.com/authenticators".to_string(),
        ),
        (
            Method::DELETE,
            format!("/admin/users/{user}/authenticators/mfa_unknown"),
        ),
    ] {
        let reply = api.send(method.clone(), &path, None).await?;
        reply.expect_error(404, "resource_not_found");
    }
    api.post(
        "/admin/users/nobody@example.com/temporary-access-code",
        json!({"reason": "lost phone"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    api.with_key("lmk_not_a_real_key_000000000000")
        .put("/admin/policies/mfa", json!({"requirement": "off"}))
        .await?
        .expect(401);
    let reader = read_only(&api, "mfa-reader").await?;
    reader.get("/admin/policies/mfa").await?.expect(200);
    reader
        .put("/admin/policies/mfa", json!({"requirement": "required"}))
        .await?
        .expect(403);
    reader
        .post(&tap, json!({"reason": "lost phone"}))
        .await?
        .expect(403);
    assert_eq!(
        snapshot(api.clone(), user.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// A client with a new `admin:read` key.
async fn read_only(api: &Api, name: &str) -> anyhow::Result<Api> {
    let key = api
        .post(
            "/admin/api-keys",
            json!({"name": name, "scopes": ["admin:read"]}),
        )
        .await?
        .expect(201)
        .data()["key"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    Ok(api.with_key(&key))
}

/// Social providers: every refused request (missing or mistyped fields, unknown types, a type's
/// missing needs, bad URLs and slugs, unknown roles, a taken slug, malformed or oversized
/// bodies, unknown ids, a missing, wrong or read-only credential) answers its documented status
/// and changes no provider.
#[tokio::test]
async fn social_provider_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/social-providers",
            json!({"provider": "corp", "type": "oidc", "issuer": "https://sso.example.com",
                   "clientId": "c1", "clientSecret": "s1"}),
        )
        .await?
        .expect(201);
    let id = created.data()["id"].as_u64().unwrap_or_default();
    let snapshot = |api: Api| async move {
        let list = api
            .get("/admin/social-providers?limit=100")
            .await?
            .expect(200)
            .body;
        let one = api
            .get(&format!("/admin/social-providers/{id}"))
            .await?
            .expect(200)
            .body;
        anyhow::Ok(json!({"list": list, "one": one}))
    };
    let before = snapshot(api.clone()).await?;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({}),
            vec!["clientId", "provider", "type"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "x", "type": "myspace", "clientId": 7, "enabled": "yes"}),
            vec!["clientId", "enabled", "type"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "google", "clientId": "g"}),
            vec!["clientSecret"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "sso", "type": "oidc", "clientId": "c"}),
            vec!["issuer"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "apple", "clientId": "com.example.web",
                   "clientSecret": "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----",
                   "providerConfig": {"teamId": "T1", "keyId": "K1"}}),
            vec!["clientSecret"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "o2", "type": "oauth2", "clientId": "c", "tokenUrl": "ftp://x"}),
            vec!["authorizationUrl", "tokenUrl", "userInfoUrl"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "Bad Slug!", "type": "oidc", "clientId": "c",
                   "issuer": "https://i.example.com", "claimMapping": [], "requestedScopes": "openid"}),
            vec!["claimMapping", "provider", "requestedScopes"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "sso2", "type": "oidc", "clientId": "c",
                   "issuer": "https://i.example.com", "defaultRoles": ["not-a-uuid"]}),
            vec!["defaultRoles"],
        ),
        (
            Method::POST,
            "/admin/social-providers".into(),
            json!({"provider": "sso3", "type": "oidc", "clientId": "c",
                   "issuer": "https://i.example.com", "defaultRoles": ["7f1e2d3c-0000-4000-8000-000000000000"]}),
            vec!["defaultRoles"],
        ),
        (
            Method::PATCH,
            format!("/admin/social-providers/{id}"),
            json!({"issuer": "https://user:pw@i.example.com", "jitProvisioningEnabled": 1}),
            vec!["issuer", "jitProvisioningEnabled"],
        ),
        (
            Method::PUT,
            format!("/admin/social-providers/{id}"),
            json!({"type": "oidc"}),
            vec!["clientId", "issuer"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(reply.status, 422, "{method} {path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    // The slug is taken (by create and by a rename).
    api.post(
        "/admin/social-providers",
        json!({"provider": "corp", "type": "oidc", "issuer": "https://i.example.com", "clientId": "c"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    for body in [&b"{\"provider\": "[..], b"[1]", b"\"x\""] {
        api.send_raw(
            Method::POST,
            "/admin/social-providers",
            Some("application/json"),
            body.to_vec(),
        )
        .await?
        .expect_error(400, "invalid_request");
    }
    let huge = format!(
        r#"{{"provider":"big","type":"oidc","clientId":"c","pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    api.send_raw(
        Method::POST,
        "/admin/social-providers",
        Some("application/json"),
        huge.into_bytes(),
    )
    .await?
    .expect_error(413, "payload_too_large");
    for (method, path) in [
        (Method::GET, "/admin/social-providers/424242"),
        (Method::GET, "/admin/social-providers/no-such"),
        (Method::DELETE, "/admin/social-providers/424242"),
        (Method::POST, "/admin/social-providers/424242/enable"),
        (Method::POST, "/admin/social-providers/no-such/disable"),
        (Method::PATCH, "/admin/social-providers/no-such"),
    ] {
        let reply = api.send(method.clone(), path, Some(json!({}))).await?;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        reply.expect_error(404, "resource_not_found");
    }
    // PUT by an unknown integer id cannot create (only a slug names a new provider).
    api.put(
        "/admin/social-providers/424242",
        json!({"type": "oidc", "issuer": "https://i.example.com", "clientId": "c"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    // No credential, a wrong one, and one without admin:settings write.
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/social-providers")
        .await?
        .expect(401);
    let reader = read_only(&api, "social-reader").await?;
    reader.get("/admin/social-providers").await?.expect(200);
    for (method, path) in [
        (Method::POST, "/admin/social-providers".to_string()),
        (Method::PATCH, format!("/admin/social-providers/{id}")),
        (Method::PUT, "/admin/social-providers/newone".to_string()),
        (
            Method::POST,
            format!("/admin/social-providers/{id}/disable"),
        ),
        (Method::DELETE, format!("/admin/social-providers/{id}")),
    ] {
        let body = json!({"provider": "p", "type": "oidc", "issuer": "https://i.example.com", "clientId": "c"});
        let reply = reader.send(method.clone(), &path, Some(body)).await?;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// A SCIM request and the error it must answer: status and `scimType`.
type ScimCase = (Method, String, Option<Value>, u16, Option<&'static str>);

/// SCIM: malformed filters, bodies of the wrong shape or type, unknown ids, stale versions,
/// oversized and malformed bodies, and a missing or wrong token each answer their SCIM error
/// (status and `scimType`), and none writes anything.
#[tokio::test]
async fn scim_refusals_answer_their_scim_error_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    api.put(
        "/admin/settings/scim",
        json!({"inbound": {"enabled": true, "bearer_token": "bad-input-scim-token-0123456789"}}),
    )
    .await?
    .expect(200);
    let scim = api.with_bearer("bad-input-scim-token-0123456789");
    let user = scim
        .post("/scim/v2/Users", json!({"userName": "kept@example.com"}))
        .await?;
    assert_eq!(user.status, 201, "{}", user.text);
    let id = user.body["id"].as_str().unwrap_or_default().to_string();
    let snapshot = |scim: Api| async move {
        let users = scim.get("/scim/v2/Users").await?.body;
        let groups = scim.get("/scim/v2/Groups").await?.body;
        anyhow::Ok(json!({"users": users, "groups": groups}))
    };
    let before = snapshot(scim.clone()).await?;
    let patch = |ops: Value| json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": ops});
    let cases: Vec<ScimCase> = vec![
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20eq".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?filter=userName%20zz%20%22x%22".into(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?sortOrder=sideways".into(),
            None,
            400,
            Some("invalidValue"),
        ),
        (
            Method::GET,
            "/scim/v2/Users?count=many".into(),
            None,
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({"userName": 7})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({"userName": "x@example.com", "active": "sometimes"})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({"userName": "x@example.com", "emails": "x@example.com"})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::POST,
            "/scim/v2/Users".into(),
            Some(json!({"userName": "kept@example.com"})),
            409,
            Some("uniqueness"),
        ),
        (
            Method::POST,
            "/scim/v2/Groups".into(),
            Some(json!({"displayName": "G", "members": [{"value": "not-a-user"}]})),
            400,
            Some("invalidValue"),
        ),
        (
            Method::GET,
            "/scim/v2/Users/7f1e2d3c-0000-4000-8000-000000000000".into(),
            None,
            404,
            None,
        ),
        (Method::GET, "/scim/v2/Users/nope".into(), None, 404, None),
        (
            Method::DELETE,
            "/scim/v2/Groups/nope".into(),
            None,
            404,
            None,
        ),
        (
            Method::GET,
            "/scim/v2/NoSuchResource".into(),
            None,
            404,
            None,
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(patch(json!([{"op": "remove"}]))),
            400,
            Some("noTarget"),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(patch(json!([{"op": "jump", "path": "active"}]))),
            400,
            Some("invalidSyntax"),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "meta", "value": {}}]),
            )),
            400,
            Some("mutability"),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(patch(
                json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
            )),
            400,
            Some("invalidPath"),
        ),
        (
            Method::PATCH,
            format!("/scim/v2/Users/{id}"),
            Some(json!({"Operations": "all"})),
            400,
            Some("invalidSyntax"),
        ),
        (
            Method::POST,
            "/scim/v2/Bulk".into(),
            Some(json!({"Operations": []})),
            400,
            Some("invalidSyntax"),
        ),
    ];
    for (method, path, body, status, scim_type) in cases {
        let reply = scim.send(method.clone(), &path, body.clone()).await?;
        assert_eq!(
            reply.status, status,
            "{method} {path} {body:?}: {}",
            reply.text
        );
        assert_eq!(
            reply.body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
            "{method} {path}"
        );
        assert_eq!(reply.body["status"], status.to_string(), "{method} {path}");
        assert_eq!(
            reply.body["scimType"].as_str(),
            scim_type,
            "{method} {path}: {}",
            reply.text
        );
    }
    // A stale version.
    let stale = scim
        .send_with(
            Method::PUT,
            &format!("/scim/v2/Users/{id}"),
            Some(json!({"userName": "kept@example.com"})),
            &[("If-Match", "W/\"1\"")],
        )
        .await?;
    assert_eq!(stale.status, 412, "{}", stale.text);
    // Malformed and oversized bodies.
    for body in [&b"{\"userName\": "[..], b"[1]"] {
        let reply = scim
            .send_raw(
                Method::POST,
                "/scim/v2/Users",
                Some("application/scim+json"),
                body.to_vec(),
            )
            .await?;
        assert_eq!(reply.status, 400, "{}", reply.text);
        assert_eq!(reply.body["scimType"], "invalidSyntax");
    }
    let huge = format!(
        r#"{{"userName":"big@example.com","nickName":"{}"}}"#,
        "x".repeat(2 << 20)
    );
    let reply = scim
        .send_raw(
            Method::POST,
            "/scim/v2/Users",
            Some("application/scim+json"),
            huge.into_bytes(),
        )
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    // No token, a wrong one, and the org's admin key.
    let raw = raw_request(Method::GET, &scim.url("/scim/v2/Users"), &[], None).await?;
    assert_eq!(raw.status, 401);
    assert_eq!(
        raw.body["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:Error"
    );
    api.with_bearer("wrong-token-0123456789")
        .get("/scim/v2/Users")
        .await?
        .expect(401);
    api.get("/scim/v2/Users").await?.expect(403);
    assert_eq!(
        snapshot(scim.clone()).await?,
        before,
        "refused requests changed something"
    );
    node.stop().await?;
    Ok(())
}

/// `~/admin/saml/apps`: missing and malformed fields, metadata that is not SP metadata or
/// carries a DTD, a taken entity id, unknown ids, and credentials that may not write; nothing
/// changes.
#[tokio::test]
async fn saml_app_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/saml/apps",
            json!({"name": "Payroll", "entityId": "https://sp.example.com/sp",
                   "acsUrls": ["https://sp.example.com/acs"]}),
        )
        .await?
        .expect(201);
    let id = created.data()["id"].as_u64().unwrap_or_default();
    let snapshot = |api: Api| async move {
        let list = api
            .get("/admin/saml/apps?limit=100")
            .await?
            .expect(200)
            .body;
        let one = api
            .get(&format!("/admin/saml/apps/{id}"))
            .await?
            .expect(200)
            .body;
        anyhow::Ok(json!({"list": list, "one": one}))
    };
    let before = snapshot(api.clone()).await?;
    let dtd = r#"<?xml version="1.0"?><!DOCTYPE md [<!ENTITY x SYSTEM "file:///etc/passwd">]><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="&x;"/>"#;
    let no_sp = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://x.test"/>"#;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({}),
            vec!["acsUrls", "entityId", "name"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": 5, "entityId": ["x"], "acsUrls": "https://a.test/acs", "signResponse": "yes"}),
            vec!["acsUrls", "entityId", "name", "signResponse"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "entityId": "https://n.test", "acsUrls": ["javascript:alert(1)"],
                   "sloUrl": "not a url", "nameIdFormat": "x509"}),
            vec!["acsUrls", "nameIdFormat", "sloUrl"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "entityId": "https://n.test", "acsUrls": ["https://n.test/acs"],
                   "spCertificate": "not a certificate", "attributeMapping": {"mail": "password"}}),
            vec!["attributeMapping", "spCertificate"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "entityId": "https://n.test", "acsUrls": ["https://n.test/acs"],
                   "signResponse": false, "signAssertion": false}),
            vec!["signResponse"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "entityId": "https://n.test", "acsUrls": ["https://n.test/acs"],
                   "wantAuthnRequestsSigned": true}),
            vec!["spCertificate"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "metadataXml": dtd}),
            vec!["metadataXml"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "metadataXml": no_sp}),
            vec!["metadataXml"],
        ),
        (
            Method::POST,
            "/admin/saml/apps".into(),
            json!({"name": "N", "metadataXml": "<not-closed"}),
            vec!["metadataXml"],
        ),
        (
            Method::PATCH,
            format!("/admin/saml/apps/{id}"),
            json!({"acsUrls": [], "enabled": 1}),
            vec!["acsUrls", "enabled"],
        ),
        (
            Method::PUT,
            format!("/admin/saml/apps/{id}"),
            json!({"attributeMapping": ["email"]}),
            vec!["attributeMapping"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(reply.status, 422, "{method} {path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    // The entity id is taken.
    api.post(
        "/admin/saml/apps",
        json!({"name": "Again", "entityId": "https://sp.example.com/sp",
               "acsUrls": ["https://sp.example.com/acs2"]}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    api.send_raw(
        Method::POST,
        "/admin/saml/apps",
        Some("application/json"),
        br#"{"name": "#.to_vec(),
    )
    .await?
    .expect_error(400, "invalid_request");
    let huge = format!(
        r#"{{"name":"big","entityId":"https://b.test","acsUrls":["https://b.test/a"],"pad":"{}"}}"#,
        "x".repeat(1 << 20)
    );
    api.send_raw(
        Method::POST,
        "/admin/saml/apps",
        Some("application/json"),
        huge.into_bytes(),
    )
    .await?
    .expect_error(413, "payload_too_large");
    for (method, path) in [
        (Method::GET, "/admin/saml/apps/424242"),
        (Method::GET, "/admin/saml/apps/no-such"),
        (Method::DELETE, "/admin/saml/apps/424242"),
        (Method::PATCH, "/admin/saml/apps/424242"),
    ] {
        let reply = api.send(method.clone(), path, Some(json!({}))).await?;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        reply.expect_error(404, "resource_not_found");
    }
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/saml/apps")
        .await?
        .expect(401);
    let reader = read_only(&api, "saml-reader").await?;
    reader.get("/admin/saml/apps").await?.expect(200);
    for (method, path) in [
        (Method::POST, "/admin/saml/apps".to_string()),
        (Method::PATCH, format!("/admin/saml/apps/{id}")),
        (Method::DELETE, format!("/admin/saml/apps/{id}")),
    ] {
        let body =
            json!({"name": "p", "entityId": "https://p.test", "acsUrls": ["https://p.test/a"]});
        let reply = reader.send(method.clone(), &path, Some(body)).await?;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// `~/admin/saml/idps`: missing and malformed fields, metadata that is not IdP metadata or
/// carries a DTD, a taken entity id, unknown ids, credentials that may not write; nothing
/// changes.
#[tokio::test]
async fn saml_idp_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let created = api
        .post(
            "/admin/saml/idps",
            json!({"name": "ADFS", "entityId": "https://adfs.example.com/idp",
                   "ssoUrl": "https://adfs.example.com/sso", "certificate": TEST_CERTIFICATE}),
        )
        .await?
        .expect(201);
    let id = created.data()["id"].as_u64().unwrap_or_default();
    let snapshot = |api: Api| async move {
        let list = api
            .get("/admin/saml/idps?limit=100")
            .await?
            .expect(200)
            .body;
        let one = api
            .get(&format!("/admin/saml/idps/{id}"))
            .await?
            .expect(200)
            .body;
        anyhow::Ok(json!({"list": list, "one": one}))
    };
    let before = snapshot(api.clone()).await?;
    let sp_only = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://x.test"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://x.test/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#;
    let cases: Vec<(Method, String, Value, Vec<&str>)> = vec![
        (
            Method::POST,
            "/admin/saml/idps".into(),
            json!({}),
            vec!["certificate", "entityId", "name", "ssoUrl"],
        ),
        (
            Method::POST,
            "/admin/saml/idps".into(),
            json!({"name": "N", "entityId": "https://n.test", "ssoUrl": "ftp://n.test/sso",
                   "certificate": "not a certificate", "trustEmail": "yes"}),
            vec!["certificate", "ssoUrl", "trustEmail"],
        ),
        (
            Method::POST,
            "/admin/saml/idps".into(),
            json!({"name": "N", "entityId": "https://n.test", "ssoUrl": "https://n.test/sso",
                   "certificate": TEST_CERTIFICATE, "attributeMapping": {"password": "pw"}}),
            vec!["attributeMapping"],
        ),
        (
            Method::POST,
            "/admin/saml/idps".into(),
            json!({"name": "N", "metadataXml": "<!DOCTYPE x [<!ENTITY a SYSTEM \"file:///etc/passwd\">]><x/>"}),
            vec!["metadataXml"],
        ),
        (
            Method::POST,
            "/admin/saml/idps".into(),
            json!({"name": "N", "metadataXml": sp_only}),
            vec!["metadataXml"],
        ),
        (
            Method::PATCH,
            format!("/admin/saml/idps/{id}"),
            json!({"enabled": 1, "ssoUrl": "not a url"}),
            vec!["enabled", "ssoUrl"],
        ),
    ];
    for (method, path, body, fields) in cases {
        let reply = api.send(method.clone(), &path, Some(body.clone())).await?;
        assert_eq!(reply.status, 422, "{method} {path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    api.post(
        "/admin/saml/idps",
        json!({"name": "Again", "entityId": "https://adfs.example.com/idp",
               "ssoUrl": "https://adfs.example.com/sso2", "certificate": TEST_CERTIFICATE}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    for (method, path) in [
        (Method::GET, "/admin/saml/idps/424242"),
        (Method::GET, "/admin/saml/idps/nope"),
        (Method::DELETE, "/admin/saml/idps/424242"),
        (Method::PATCH, "/admin/saml/idps/424242"),
    ] {
        let reply = api.send(method.clone(), path, Some(json!({}))).await?;
        assert_eq!(reply.status, 404, "{method} {path}: {}", reply.text);
        reply.expect_error(404, "resource_not_found");
    }
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/saml/idps")
        .await?
        .expect(401);
    let reader = read_only(&api, "saml-idp-reader").await?;
    reader.get("/admin/saml/idps").await?.expect(200);
    for (method, path) in [
        (Method::POST, "/admin/saml/idps".to_string()),
        (Method::PATCH, format!("/admin/saml/idps/{id}")),
        (Method::DELETE, format!("/admin/saml/idps/{id}")),
    ] {
        let reply = reader
            .send(method.clone(), &path, Some(json!({"name": "p"})))
            .await?;
        assert_eq!(reply.status, 403, "{method} {path}: {}", reply.text);
    }
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// Outbound SCIM settings and the sync extension: a switched-on client without a URL or the
/// credential its `auth_type` needs, URLs the node may not call, wrong types, oversized bodies,
/// a sync with nothing switched on, and a missing, wrong or read-only credential each answer
/// their status, and none changes the settings or queues anything.
#[tokio::test]
async fn scim_outbound_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let snapshot = |api: Api| async move {
        let scim = api.get("/admin/settings/scim").await?.expect(200).body;
        let hooks = api.get("/admin/webhooks?limit=100").await?.expect(200).body;
        anyhow::Ok(json!({"scim": scim, "hooks": hooks}))
    };
    let before = snapshot(api.clone()).await?;
    let url = "https://scim.example.com/scim/v2";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (
            json!({"outbound": {"enabled": true}}),
            vec!["outbound.endpoint_url"],
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": "ftp://scim.example.com/v2",
                   "bearer_token": "t"}}),
            vec!["outbound.endpoint_url"],
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": url}}),
            vec!["outbound.bearer_token"],
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": url, "auth_type": "basic",
                   "basic_password": "pw"}}),
            vec!["outbound.basic_username"],
        ),
        (
            json!({"outbound": {"enabled": true, "endpoint_url": url, "auth_type": "oauth2",
                   "oauth2_client_id": "c", "oauth2_token_url": "https://scim.example.com/token"}}),
            vec!["outbound.oauth2_client_secret"],
        ),
        (
            json!({"outbound": {"enabled": "yes", "push_user_creates": 1,
                   "auth_type": "kerberos", "attribute_mapping": ["userName"]}}),
            vec![
                "outbound.enabled",
                "outbound.push_user_creates",
                "outbound.auth_type",
                "outbound.attribute_mapping",
            ],
        ),
    ];
    for (body, fields) in cases {
        let reply = api.put("/admin/settings/scim", body.clone()).await?;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    let huge = "x".repeat(1_100_000);
    let reply = api
        .put(
            "/admin/settings/scim",
            json!({"outbound": {"endpoint_url": huge}}),
        )
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    api.post_empty("/admin/settings/scim/sync")
        .await?
        .expect_error(409, "duplicate_resource");
    api.with_key("lmk_not_a_real_key_000000000000")
        .post_empty("/admin/settings/scim/sync")
        .await?
        .expect(401);
    let reader = read_only(&api, "scim-outbound-reader").await?;
    reader.get("/admin/settings/scim").await?.expect(200);
    reader
        .post_empty("/admin/settings/scim/sync")
        .await?
        .expect(403);
    let reply = reader
        .put(
            "/admin/settings/scim",
            json!({"outbound": {"enabled": true, "endpoint_url": url, "bearer_token": "t"}}),
        )
        .await?;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// Email templates and email settings: unknown types, missing or mistyped fields, unknown
/// variables, broken syntax, oversized bodies, settings that could not send, a provider not
/// built, a missing, wrong or read-only credential: each answers its status and writes nothing.
#[tokio::test]
async fn email_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let snapshot = |api: Api| async move {
        let templates = api.get("/admin/email-templates").await?.expect(200).body;
        let email = api.get("/admin/settings/email").await?.expect(200).body;
        let hooks = api.get("/admin/webhooks?limit=100").await?.expect(200).body;
        anyhow::Ok(json!({"templates": templates, "email": email, "hooks": hooks}))
    };
    let before = snapshot(api.clone()).await?;
    let path = "/admin/email-templates/verification";
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({}), vec!["subject", "body_html"]),
        (
            json!({"subject": 1, "body_html": ["x"]}),
            vec!["subject", "body_html"],
        ),
        (
            json!({"subject": "Hi {{ secret }}", "body_html": "<p>x</p>"}),
            vec!["subject"],
        ),
        (
            json!({"subject": "Hi", "body_html": "{{ user_name"}),
            vec!["body_html"],
        ),
        (
            json!({"subject": "Hi", "body_html": "<p>x</p>", "is_active": "yes"}),
            vec!["is_active"],
        ),
        (
            json!({"subject": "Hi", "body_html": "{% for x in user_name %}{% endif %}"}),
            vec!["body_html"],
        ),
    ];
    for (body, fields) in cases {
        let reply = api.put(path, body.clone()).await?;
        assert_eq!(reply.status, 422, "{body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    let huge = "x".repeat(1_100_000);
    let reply = api
        .put(path, json!({"subject": "Hi", "body_html": huge}))
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    let reply = api
        .put(
            path,
            json!({"subject": "Hi", "body_html": "y".repeat(200_000)}),
        )
        .await?;
    assert_eq!(reply.status, 422, "{}", reply.text);
    for unknown in [
        "/admin/email-templates/newsletter",
        "/admin/email-templates/newsletter/variables",
    ] {
        api.get(unknown)
            .await?
            .expect_error(404, "resource_not_found");
    }
    api.post("/admin/email-templates/newsletter/preview", json!({}))
        .await?
        .expect_error(404, "resource_not_found");
    api.post(
        "/admin/email-templates/verification/preview",
        json!({"variables": {"password": "x"}}),
    )
    .await?
    .expect_error(422, "validation_error");
    api.delete(path)
        .await?
        .expect_error(404, "resource_not_found");
    for (body, status) in [
        (json!({"enabled": true, "provider": "smtp"}), 422),
        (
            json!({"enabled": true, "provider": "smtp", "smtp_host": "h.test"}),
            422,
        ),
        (json!({"smtp_port": 70000}), 422),
        (json!({"from_email": "not-an-address"}), 422),
        (json!({"smtp_secure": "yes"}), 422),
        (
            json!({"enabled": true, "provider": "ses", "from_email": "a@b.test"}),
            501,
        ),
    ] {
        let reply = api.put("/admin/settings/email", body.clone()).await?;
        assert_eq!(reply.status, status, "{body}: {}", reply.text);
    }
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/email-templates")
        .await?
        .expect(401);
    let reader = read_only(&api, "email-reader").await?;
    reader.get("/admin/email-templates").await?.expect(200);
    let reply = reader
        .put(path, json!({"subject": "Hi", "body_html": "<p>x</p>"}))
        .await?;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(
        snapshot(api.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}

/// B2B organizations: missing or mistyped fields, bad slugs and addresses, taken slugs, unknown
/// ids, roles of another organization, members added twice, oversized bodies, a missing, wrong
/// or read-only credential: each answers its status and writes nothing.
#[tokio::test]
async fn organization_refusals_answer_their_status_and_write_nothing() -> anyhow::Result<()> {
    let node = TestNode::start().await?;
    let api = node.api();
    let org = api
        .post(
            "/admin/organizations",
            json!({"name": "Acme Customer", "slug": "customer"}),
        )
        .await?
        .expect(201);
    let id = org.data()["id"].as_str().unwrap_or_default().to_string();
    let other = api
        .post(
            "/admin/organizations",
            json!({"name": "Other", "slug": "other"}),
        )
        .await?
        .expect(201);
    let other_id = other.data()["id"].as_str().unwrap_or_default().to_string();
    let user = api.create_user("member@acme.test").await?;
    api.post(
        &format!("/admin/organizations/{id}/members"),
        json!({"userId": user}),
    )
    .await?
    .expect(201);
    let custom = api
        .post(
            &format!("/admin/organizations/{other_id}/roles"),
            json!({"name": "Elsewhere", "slug": "elsewhere"}),
        )
        .await?
        .expect(201);
    let elsewhere = custom.data()["id"].as_u64().unwrap_or_default();
    let snapshot = |api: Api, id: String, other: String| async move {
        let mut out = serde_json::Map::new();
        for path in [
            "/admin/organizations".to_string(),
            format!("/admin/organizations/{id}/members"),
            format!("/admin/organizations/{id}/roles"),
            format!("/admin/organizations/{id}/invitations"),
            format!("/admin/organizations/{other}/roles"),
        ] {
            out.insert(path.clone(), api.get(&path).await?.expect(200).body);
        }
        anyhow::Ok(Value::Object(out))
    };
    let before = snapshot(api.clone(), id.clone(), other_id.clone()).await?;
    let base = format!("/admin/organizations/{id}");
    let cases: Vec<(String, Value, Vec<&str>)> = vec![
        (
            "/admin/organizations".into(),
            json!({}),
            vec!["name", "slug"],
        ),
        (
            "/admin/organizations".into(),
            json!({"name": 5, "slug": "Bad Slug!", "metadata": [1], "logoUrl": "ftp://x", "isActive": "yes"}),
            vec!["name", "slug", "metadata", "logoUrl", "isActive"],
        ),
        (
            format!("{base}/roles"),
            json!({"slug": "x"}),
            vec!["name", "slug"],
        ),
        (format!("{base}/members"), json!({}), vec!["userId"]),
        (
            format!("{base}/members"),
            json!({"userId": "not-a-user-key"}),
            vec!["userId"],
        ),
        (
            format!("{base}/invitations"),
            json!({"email": "nope"}),
            vec!["email"],
        ),
        (
            format!("{base}/invitations"),
            json!({"email": "a@b.test", "role": true}),
            vec!["role"],
        ),
        (
            format!("{base}/invitations"),
            json!({"email": "a@b.test", "role": elsewhere}),
            vec!["role"],
        ),
    ];
    for (path, body, fields) in cases {
        let reply = api.post(&path, body.clone()).await?;
        assert_eq!(reply.status, 422, "{path} {body}: {}", reply.text);
        let reply = reply.expect_error(422, "validation_error");
        assert_fields(&reply, &fields);
    }
    api.post(
        "/admin/organizations",
        json!({"name": "Dup", "slug": "customer"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    api.patch(&base, json!({"slug": "other"}))
        .await?
        .expect_error(409, "duplicate_resource");
    api.post(&format!("{base}/members"), json!({"userId": user}))
        .await?
        .expect_error(409, "duplicate_resource");
    api.post(
        &format!("{base}/roles"),
        json!({"name": "M", "slug": "member"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    api.post(
        &format!("{base}/invitations"),
        json!({"email": "member@acme.test"}),
    )
    .await?
    .expect_error(409, "duplicate_resource");
    api.patch(&format!("{base}/members/{user}"), json!({"status": "gone"}))
        .await?
        .expect_error(422, "validation_error");
    for path in [
        "/admin/organizations/org_unknown".to_string(),
        "/admin/organizations/unknown-slug".to_string(),
        format!("{base}/members/01234567-89ab-cdef-0123-456789abcdef"),
        format!("{base}/roles/99999"),
        format!("{base}/invitations/99999"),
    ] {
        let reply = api.delete(&path).await?;
        assert_eq!(reply.status, 404, "{path}: {}", reply.text);
    }
    api.post(
        &format!("{base}/members"),
        json!({"userId": "01234567-89ab-cdef-0123-456789abcdef"}),
    )
    .await?
    .expect_error(404, "resource_not_found");
    let huge = "x".repeat(1_100_000);
    let reply = api
        .post(
            "/admin/organizations",
            json!({"name": huge, "slug": "huge"}),
        )
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/organizations")
        .await?
        .expect(401);
    // Sandbox spawns: wrong types and ranges refused before anything is made.
    for body in [
        json!({"ttl_hours": "soon"}),
        json!({"ttl_hours": -1}),
        json!({"ttl_hours": 100_000}),
        json!({"name": ""}),
        json!({"name": ["a"]}),
    ] {
        api.post("/admin/sandbox/spawn", body.clone())
            .await?
            .expect_error(422, "validation_error");
    }
    api.post("/admin/sandbox/not-a-sandbox/destroy", json!({}))
        .await?
        .expect_error(404, "resource_not_found");
    let reply = api
        .post("/admin/sandbox/spawn", json!({"name": huge}))
        .await?;
    assert_eq!(reply.status, 413, "{}", reply.text);
    api.with_key("lmk_not_a_real_key_000000000000")
        .get("/admin/sandbox")
        .await?
        .expect(401);
    assert_eq!(
        api.get("/admin/sandbox").await?.expect(200).body["pagination"]["total"],
        0,
        "a refused spawn left a sandbox"
    );
    let reader = read_only(&api, "organizations-reader").await?;
    reader.get("/admin/organizations").await?.expect(200);
    let reply = reader
        .post(
            "/admin/organizations",
            json!({"name": "R", "slug": "reader-made"}),
        )
        .await?;
    assert_eq!(reply.status, 403, "{}", reply.text);
    assert_eq!(
        snapshot(api.clone(), id.clone(), other_id.clone()).await?,
        before,
        "refused writes changed something"
    );
    node.stop().await?;
    Ok(())
}
