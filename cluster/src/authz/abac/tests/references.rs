//! Attribute resolution and attribute-to-attribute comparisons.

use serde_json::json;

use super::{check, check_no_value, ctx, parse};

#[test]
fn compares_to_another_attribute() {
    assert!(check(
        "user.id",
        "equals",
        json!({"attribute": "resource.ownerId"})
    ));
    assert!(!check(
        "user.email",
        "equals",
        json!({"attribute": "resource.owner"})
    ));
    assert!(check(
        "user.email",
        "starts_with",
        json!({"attribute": "resource.owner"})
    ));
    assert!(check(
        "user.department",
        "in",
        json!({"attribute": "resource.allowedDepartments"})
    ));
}

#[test]
fn missing_reference_is_false_even_for_negations() {
    assert!(!check(
        "user.id",
        "equals",
        json!({"attribute": "resource.archived"})
    ));
    assert!(!check(
        "user.id",
        "not_equals",
        json!({"attribute": "resource.archived"})
    ));
    assert!(!check(
        "user.id",
        "not_in",
        json!({"attribute": "resource.archived"})
    ));
    assert!(!check(
        "user.id",
        "not_equals",
        json!({"attribute": "user.nickname"})
    ));
}

#[test]
fn prefix_aliases() {
    assert!(check("subject.department", "equals", json!("eng")));
    assert!(check("env.ip", "equals", json!("10.1.2.3")));
    assert!(check(
        "environment.ip",
        "equals",
        json!({"attribute": "env.ip"})
    ));
}

#[test]
fn nested_and_flat_dotted_keys() {
    assert!(check("environment.pep.ip", "equals", json!("192.168.1.10")));
    assert!(check("environment.flat.key", "equals", json!("x")));
    assert!(check("user.address.city", "equals", json!("Berlin")));
    assert!(!check("user.address.zip", "equals", json!("10115")));
    assert!(!check_no_value("user.email.domain", "exists"));
}

#[test]
fn bare_action_and_resource_type() {
    assert!(check("action", "equals", json!("read")));
    assert!(!check("action", "equals", json!("write")));
    assert!(check("resourceType", "in", json!(["document", "folder"])));
}

#[test]
fn resource_type_falls_back_to_context() {
    assert!(check("resource.type", "equals", json!("document")));
    let mut request = ctx();
    request
        .resource
        .insert("type".to_owned(), json!("spreadsheet"));
    let conditions = parse(json!({"all": [
        {"attribute": "resource.type", "operator": "equals", "value": "spreadsheet"}
    ]}));
    assert!(conditions.matches(&request));
}

#[test]
fn empty_context_never_panics() {
    let conditions = parse(json!({"any": [
        {"attribute": "user.id", "operator": "gt", "value": 1},
        {"attribute": "environment.ip", "operator": "ip_in_cidr", "value": "::/0"},
        {"attribute": "resource.tags", "operator": "not_contains", "value": "x"}
    ]}));
    assert!(!conditions.matches(&super::AbacContext::default()));
}
