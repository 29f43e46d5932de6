//! Every operator: true, false, missing attribute, runtime type mismatch.

use serde_json::json;

use super::{check, check_no_value};

#[test]
fn equals() {
    assert!(check("user.department", "equals", json!("eng")));
    assert!(check("user.department", "eq", json!("eng")));
    assert!(!check("user.department", "equals", json!("ops")));
    assert!(!check("user.manager", "equals", json!("bob")));
    assert!(!check("user.clearance", "equals", json!("3")));
    assert!(check("user.clearance", "equals", json!(3.0)));
    assert!(check("user.roles", "equals", json!(["admin", "dev"])));
    assert!(!check("user.department", "equals", json!("ENG")));
}

#[test]
fn not_equals() {
    assert!(check("user.department", "not_equals", json!("ops")));
    assert!(check("user.department", "ne", json!("ops")));
    assert!(check("user.department", "neq", json!("ops")));
    assert!(!check("user.department", "not_equals", json!("eng")));
    assert!(!check("user.manager", "not_equals", json!("bob")));
    assert!(!check("user.nickname", "not_equals", json!("bob")));
    assert!(!check("user.clearance", "not_equals", json!("3")));
}

#[test]
fn in_list() {
    assert!(check("user.department", "in", json!(["eng", "ops"])));
    assert!(!check("user.department", "in", json!(["hr"])));
    assert!(!check("user.manager", "in", json!(["bob"])));
    assert!(check("user.roles", "in", json!(["dev", "qa"])));
    assert!(!check("user.roles", "in", json!(["qa"])));
    assert!(check("user.clearance", "in", json!([1.0, 3.0])));
    assert!(!check(
        "user.department",
        "in",
        json!({"attribute": "resource.owner"})
    ));
    assert!(check(
        "user.department",
        "in",
        json!({"attribute": "resource.allowedDepartments"})
    ));
}

#[test]
fn not_in_list() {
    assert!(check("user.department", "not_in", json!(["hr"])));
    assert!(!check("user.department", "not_in", json!(["eng"])));
    assert!(!check("user.manager", "not_in", json!(["bob"])));
    assert!(check("user.roles", "not_in", json!(["qa"])));
    assert!(!check("user.roles", "not_in", json!(["admin"])));
    assert!(!check(
        "user.department",
        "not_in",
        json!({"attribute": "resource.owner"})
    ));
}

#[test]
fn contains() {
    assert!(check("user.email", "contains", json!("@example")));
    assert!(!check("user.email", "contains", json!("zzz")));
    assert!(check("user.roles", "contains", json!("admin")));
    assert!(!check("user.roles", "contains", json!("root")));
    assert!(!check("user.manager", "contains", json!("a")));
    assert!(!check("user.clearance", "contains", json!("3")));
    assert!(!check("user.email", "contains", json!(3)));
}

#[test]
fn not_contains() {
    assert!(check("user.email", "not_contains", json!("zzz")));
    assert!(!check("user.email", "not_contains", json!("@example")));
    assert!(check("user.roles", "not_contains", json!("root")));
    assert!(!check("user.roles", "not_contains", json!("admin")));
    assert!(!check("user.manager", "not_contains", json!("a")));
    assert!(!check("user.clearance", "not_contains", json!("3")));
}

#[test]
fn starts_with() {
    assert!(check("user.email", "starts_with", json!("alice@")));
    assert!(!check("user.email", "starts_with", json!("bob@")));
    assert!(!check("user.manager", "starts_with", json!("a")));
    assert!(!check("user.clearance", "starts_with", json!("3")));
}

#[test]
fn ends_with() {
    assert!(check("user.email", "ends_with", json!("@example.com")));
    assert!(!check("user.email", "ends_with", json!("@evil.com")));
    assert!(!check("user.manager", "ends_with", json!("a")));
    assert!(!check("user.roles", "ends_with", json!("dev")));
}

#[test]
fn greater_than() {
    assert!(check("user.clearance", "greater_than", json!(2)));
    assert!(check("user.clearance", "gt", json!(2.5)));
    assert!(!check("user.clearance", "gt", json!(3)));
    assert!(check("user.score", "gt", json!(2)));
    assert!(!check("user.manager", "gt", json!(1)));
    assert!(!check("user.department", "gt", json!(1)));
    assert!(!check("user.clearance", "gt", json!("09:00")));
}

#[test]
fn greater_than_or_equal() {
    assert!(check("user.clearance", "greater_than_or_equal", json!(3)));
    assert!(check("user.clearance", "gte", json!(2)));
    assert!(!check("user.clearance", "gte", json!(4)));
    assert!(!check("user.manager", "gte", json!(1)));
    assert!(!check("user.roles", "gte", json!(1)));
}

#[test]
fn less_than() {
    assert!(check("user.clearance", "less_than", json!(4)));
    assert!(check("user.clearance", "lt", json!(3.5)));
    assert!(!check("user.clearance", "lt", json!(3)));
    assert!(!check("user.manager", "lt", json!(1)));
    assert!(!check("user.isAdmin", "lt", json!(1)));
}

#[test]
fn less_than_or_equal() {
    assert!(check("user.clearance", "less_than_or_equal", json!(3)));
    assert!(check("user.clearance", "lte", json!(3.0)));
    assert!(!check("user.clearance", "lte", json!(2)));
    assert!(!check("user.manager", "lte", json!(1)));
    assert!(!check("user.department", "lte", json!(1)));
}

#[test]
fn ordering_of_timestamps_and_times() {
    // 12:00+02:00 is the same instant as 10:00Z.
    assert!(check(
        "environment.time",
        "gte",
        json!({"attribute": "resource.createdAt"})
    ));
    assert!(!check(
        "environment.time",
        "gt",
        json!({"attribute": "resource.createdAt"})
    ));
    assert!(check(
        "environment.time",
        "gt",
        json!("2024-05-01T09:59:59.999Z")
    ));
    assert!(check(
        "environment.time",
        "lt",
        json!("2024-05-01T10:00:00.000000001Z")
    ));
    assert!(check("environment.hour", "gt", json!("09:00")));
    assert!(check("environment.hour", "lt", json!("09:30:01")));
    assert!(!check("environment.hour", "lt", json!("09:00")));
    // Shapes differ: time of day vs. timestamp vs. number.
    assert!(!check(
        "environment.hour",
        "gt",
        json!("2024-01-01T00:00:00Z")
    ));
    assert!(!check("environment.time", "gt", json!(0)));
    assert!(!check("user.email", "lt", json!("23:59")));
}

#[test]
fn between() {
    assert!(check("user.clearance", "between", json!([1, 5])));
    assert!(check("user.clearance", "between", json!([3, 3])));
    assert!(!check("user.clearance", "between", json!([4, 5])));
    assert!(!check("user.manager", "between", json!([1, 5])));
    assert!(!check("user.department", "between", json!([1, 5])));
    assert!(check(
        "environment.hour",
        "between",
        json!(["09:00", "17:00"])
    ));
    assert!(!check(
        "environment.hour",
        "between",
        json!(["10:00", "17:00"])
    ));
    assert!(check(
        "environment.time",
        "between",
        json!(["2024-05-01T00:00:00Z", "2024-05-01T10:00:00Z"])
    ));
    assert!(!check(
        "environment.hour",
        "between",
        json!(["2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z"])
    ));
}

#[test]
fn between_times_wraps_midnight() {
    assert!(check(
        "environment.late",
        "between",
        json!(["22:00", "06:00"])
    ));
    assert!(!check(
        "environment.hour",
        "between",
        json!(["22:00", "06:00"])
    ));
}

#[test]
fn exists() {
    assert!(check_no_value("user.department", "exists"));
    assert!(!check_no_value("user.manager", "exists"));
    assert!(!check_no_value("user.nickname", "exists"));
    assert!(check_no_value("action", "exists"));
}

#[test]
fn not_exists() {
    assert!(check_no_value("user.manager", "not_exists"));
    assert!(check_no_value("user.nickname", "not_exists"));
    assert!(!check_no_value("user.department", "not_exists"));
}

#[test]
fn ip_in_cidr() {
    assert!(check("environment.ip", "ip_in_cidr", json!("10.0.0.0/8")));
    assert!(!check(
        "environment.ip",
        "ip_in_cidr",
        json!("192.168.0.0/16")
    ));
    assert!(check(
        "environment.ip",
        "ip_in_cidr",
        json!(["192.168.0.0/16", "10.1.2.0/24"])
    ));
    assert!(check("environment.ip", "ip_in_cidr", json!("10.1.2.3")));
    assert!(check(
        "environment.ipv6",
        "ip_in_cidr",
        json!("2001:db8::/32")
    ));
    assert!(!check(
        "environment.ipv6",
        "ip_in_cidr",
        json!("2001:db9::/32")
    ));
    assert!(!check(
        "environment.ipv6",
        "ip_in_cidr",
        json!("10.0.0.0/8")
    ));
    assert!(check(
        "environment.mapped",
        "ip_in_cidr",
        json!("10.0.0.0/8")
    ));
    assert!(check(
        "environment.ip",
        "ip_in_cidr",
        json!({"attribute": "resource.allowedIps"})
    ));
    assert!(!check(
        "environment.missing",
        "ip_in_cidr",
        json!("10.0.0.0/8")
    ));
    assert!(!check("user.department", "ip_in_cidr", json!("10.0.0.0/8")));
    assert!(!check("user.clearance", "ip_in_cidr", json!("0.0.0.0/0")));
    assert!(!check(
        "environment.ip",
        "ip_in_cidr",
        json!({"attribute": "user.department"})
    ));
}
