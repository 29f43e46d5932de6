//! Unit tests for the ABAC module.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod decide;
mod groups;
mod internals;
mod operators;
mod references;
mod serialize;
mod validation;

use serde_json::{Value, json};

use super::{AbacContext, AbacError, AttributeCatalog, Conditions, parse_conditions};

/// Catalog with the built-ins plus the custom slugs used by the fixtures.
fn catalog() -> AttributeCatalog {
    AttributeCatalog::new(
        [
            "department",
            "clearance",
            "score",
            "nickname",
            "address",
            "manager",
        ],
        [
            "ownerId",
            "owner",
            "classification",
            "tags",
            "size",
            "createdAt",
            "allowedDepartments",
            "allowedIps",
            "archived",
        ],
    )
}

fn parse(json: Value) -> Conditions {
    parse_conditions(&json, &catalog()).unwrap()
}

fn parse_err(json: Value) -> AbacError {
    parse_conditions(&json, &catalog()).unwrap_err()
}

fn object(value: Value) -> serde_json::Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

/// The request every evaluation test runs against.
fn ctx() -> AbacContext {
    AbacContext {
        user: object(json!({
            "id": 42,
            "email": "alice@example.com",
            "department": "eng",
            "roles": ["admin", "dev"],
            "clearance": 3,
            "score": 2.5,
            "isAdmin": true,
            "nickname": null,
            "address": {"city": "Berlin"}
        })),
        resource: object(json!({
            "id": 7,
            "ownerId": 42,
            "owner": "alice",
            "classification": "secret",
            "tags": ["public", "beta"],
            "size": 100,
            "createdAt": "2024-05-01T10:00:00Z",
            "allowedDepartments": ["eng", "ops"],
            "allowedIps": ["10.0.0.0/8"]
        })),
        environment: object(json!({
            "ip": "10.1.2.3",
            "ipv6": "2001:db8::1",
            "mapped": "::ffff:10.1.2.3",
            "pep": {"ip": "192.168.1.10"},
            "flat.key": "x",
            "time": "2024-05-01T12:00:00+02:00",
            "hour": "09:30",
            "late": "23:15"
        })),
        action: "read".to_owned(),
        resource_type: "document".to_owned(),
    }
}

/// Evaluates a single leaf with a value against [`ctx`].
fn check(attribute: &str, operator: &str, value: Value) -> bool {
    parse(json!({"all": [{"attribute": attribute, "operator": operator, "value": value}]}))
        .matches(&ctx())
}

/// Evaluates a single leaf without a value against [`ctx`].
fn check_no_value(attribute: &str, operator: &str) -> bool {
    parse(json!({"all": [{"attribute": attribute, "operator": operator}]})).matches(&ctx())
}
