//! Helpers shared by the admin API family tests (users, groups, roles, permissions, scopes,
//! bad input). Only what the tests need to state their assertions precisely.
#![allow(dead_code)]

pub mod named_suite;

use std::collections::BTreeSet;

use lumo_cluster::clock::Timestamp;
use lumo_tests::{Api, Reply};
use serde_json::{Value, json};

/// The string at `v`, or a panic naming it.
#[track_caller]
pub fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// `data.id` of a reply as a string.
#[track_caller]
pub fn data_id(reply: &Reply) -> String {
    text(&reply.data()["id"])
}

/// Asserts `s` is a canonical hyphenated UUID (8-4-4-4-12 hex).
#[track_caller]
pub fn assert_uuid(s: &str) {
    let parts: Vec<&str> = s.split('-').collect();
    let lens: Vec<usize> = parts.iter().map(|p| p.len()).collect();
    assert_eq!(lens, vec![8, 4, 4, 4, 12], "not a UUID: {s}");
    assert!(
        parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit())),
        "not a UUID: {s}"
    );
}

/// Asserts `v` is an RFC 3339 date-time string and returns it as a timestamp.
#[track_caller]
pub fn assert_time(v: &Value) -> Timestamp {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a date-time string, got {v}"));
    assert!(s.contains('T'), "not an RFC 3339 date-time: {s}");
    Timestamp::parse(s).unwrap_or_else(|| panic!("not an RFC 3339 date-time: {s}"))
}

/// The keys of a JSON object.
#[track_caller]
pub fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("expected an object, got {v}"))
        .keys()
        .cloned()
        .collect()
}

/// A set of string literals.
pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// `field` of every item of the array `list`, as strings (numbers are rendered).
#[track_caller]
pub fn field_of(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .unwrap_or_else(|| panic!("expected an array, got {list}"))
        .iter()
        .map(|item| match &item[field] {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            other => panic!("item field {field} is {other} in {item}"),
        })
        .collect()
}

/// `id` of every item of `list`.
#[track_caller]
pub fn ids(list: &Value) -> Vec<String> {
    field_of(list, "id")
}

/// `slug` of every item of `list`.
#[track_caller]
pub fn slugs(list: &Value) -> Vec<String> {
    field_of(list, "slug")
}

/// The same, as a sorted set.
#[track_caller]
pub fn id_set(list: &Value) -> BTreeSet<String> {
    ids(list).into_iter().collect()
}

#[track_caller]
pub fn slug_set(list: &Value) -> BTreeSet<String> {
    slugs(list).into_iter().collect()
}

/// Asserts a six-field `PaginationMeta` object with these values.
#[track_caller]
pub fn assert_meta(
    meta: &Value,
    total: u64,
    page: u64,
    limit: u64,
    total_pages: u64,
    has_next: bool,
    has_previous: bool,
) {
    assert_eq!(
        keys(meta),
        set(&[
            "total",
            "page",
            "limit",
            "totalPages",
            "hasNextPage",
            "hasPreviousPage"
        ]),
        "pagination fields: {meta}"
    );
    assert_eq!(
        meta,
        &json!({
            "total": total,
            "page": page,
            "limit": limit,
            "totalPages": total_pages,
            "hasNextPage": has_next,
            "hasPreviousPage": has_previous,
        }),
        "pagination values"
    );
}

/// The list envelopes of the admin API.
#[derive(Clone, Copy, Debug)]
pub enum Envelope {
    /// `{data, pagination}`
    Pagination,
    /// `{data, meta, pagination}` with meta == pagination
    Meta,
    /// `{data, meta, pagination, resourceType}` with meta == pagination
    Resource(&'static str),
}

/// Asserts the exact top-level keys of a list body, `meta == pagination` where both exist, the
/// pagination values, and returns the `data` array length.
#[track_caller]
pub fn assert_list(body: &Value, envelope: Envelope, total: u64, page: u64, limit: u64) -> usize {
    let total_pages = total.div_ceil(limit.max(1));
    let has_next = page < total_pages;
    let has_previous = page > 1;
    match envelope {
        Envelope::Pagination => {
            assert_eq!(keys(body), set(&["data", "pagination"]), "envelope: {body}");
        }
        Envelope::Meta => {
            assert_eq!(
                keys(body),
                set(&["data", "meta", "pagination"]),
                "envelope: {body}"
            );
            assert_eq!(
                body["meta"], body["pagination"],
                "meta must equal pagination"
            );
        }
        Envelope::Resource(kind) => {
            assert_eq!(
                keys(body),
                set(&["data", "meta", "pagination", "resourceType"]),
                "envelope: {body}"
            );
            assert_eq!(
                body["meta"], body["pagination"],
                "meta must equal pagination"
            );
            assert_eq!(body["resourceType"], kind, "resourceType");
        }
    }
    assert_meta(
        &body["pagination"],
        total,
        page,
        limit,
        total_pages,
        has_next,
        has_previous,
    );
    let data = body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("data must be an array: {body}"));
    data.len()
}

/// Asserts a `{message}`-only success body.
#[track_caller]
pub fn assert_message_only(reply: &Reply) {
    assert_eq!(keys(&reply.body), set(&["message"]), "body: {}", reply.text);
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message: {}",
        reply.text
    );
}

/// Asserts a `{data, message}` success body.
#[track_caller]
pub fn assert_data_message(reply: &Reply) {
    assert_eq!(
        keys(&reply.body),
        set(&["data", "message"]),
        "body: {}",
        reply.text
    );
    assert!(
        reply.body["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "message: {}",
        reply.text
    );
}

/// Creates a user with `body` (expects 201) and returns `data`.
pub async fn new_user(api: &Api, body: Value) -> anyhow::Result<Value> {
    let reply = api.post("/admin/users", body).await?.expect(201);
    Ok(reply.data().clone())
}

/// Creates a user by email and returns its id.
pub async fn user(api: &Api, email: &str) -> anyhow::Result<String> {
    api.create_user(email).await
}

/// Creates a role (expects 201) and returns `data`.
pub async fn new_role(api: &Api, name: &str, slug: &str) -> anyhow::Result<Value> {
    let reply = api
        .post("/admin/roles", json!({"name": name, "slug": slug}))
        .await?
        .expect(201);
    Ok(reply.data().clone())
}

/// Creates a group (expects 201) and returns `data`.
pub async fn new_group(api: &Api, name: &str, slug: &str) -> anyhow::Result<Value> {
    let reply = api
        .post("/admin/groups", json!({"name": name, "slug": slug}))
        .await?
        .expect(201);
    Ok(reply.data().clone())
}

/// Creates a custom permission (expects 201) and returns `data`.
pub async fn new_permission(api: &Api, name: &str, slug: &str) -> anyhow::Result<Value> {
    let reply = api
        .post("/admin/permissions", json!({"name": name, "slug": slug}))
        .await?
        .expect(201);
    Ok(reply.data().clone())
}

/// `pagination.total` of a list path.
pub async fn total(api: &Api, path: &str) -> anyhow::Result<u64> {
    let reply = api.get(path).await?.expect(200);
    reply.body["pagination"]["total"]
        .as_u64()
        .ok_or_else(|| anyhow::anyhow!("no pagination.total in {}", reply.text))
}

/// Every user id of the org (up to 100).
pub async fn all_user_ids(api: &Api) -> anyhow::Result<BTreeSet<String>> {
    let reply = api.get("/admin/users?limit=100").await?.expect(200);
    Ok(id_set(reply.data()))
}

/// Audit entries with `action` whose target is `target_id`.
pub async fn audit_for(api: &Api, action: &str, target_id: &str) -> anyhow::Result<Vec<Value>> {
    let reply = api
        .get(&format!(
            "/admin/audit-logs?action={action}&targetId={target_id}&limit=100"
        ))
        .await?
        .expect(200);
    Ok(reply.data().as_array().cloned().unwrap_or_default())
}

/// Asserts the `details` of a 422 name exactly `fields`.
#[track_caller]
pub fn assert_fields(reply: &Reply, fields: &[&str]) {
    assert_eq!(
        keys(&reply.body["details"]),
        set(fields),
        "422 details: {}",
        reply.text
    );
    for f in fields {
        assert!(
            reply.body["details"][*f]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "details.{f} must describe the problem: {}",
            reply.text
        );
    }
}
