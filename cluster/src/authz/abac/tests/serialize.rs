//! Conditions serialize back to the stored JSON shape.

use serde_json::json;

use super::super::{Effect, Policy};
use super::parse;

#[test]
fn round_trips_with_canonical_names() {
    let stored = json!({
        "all": [
            {"attribute": "subject.id", "operator": "eq", "value": {"attribute": "resource.ownerId"}},
            {"attribute": "env.ip", "operator": "ip_in_cidr", "value": ["10.0.0.0/8"]},
            {"any": [{"attribute": "user.roles", "operator": "contains", "value": "admin"}]}
        ],
        "none": [{"attribute": "user.blocked", "operator": "exists", "value": null}],
        "any": []
    });
    let canonical = json!({
        "all": [
            {"attribute": "user.id", "operator": "equals", "value": {"attribute": "resource.ownerId"}},
            {"attribute": "environment.ip", "operator": "ip_in_cidr", "value": ["10.0.0.0/8"]},
            {"any": [{"attribute": "user.roles", "operator": "contains", "value": "admin"}]}
        ],
        "none": [{"attribute": "user.blocked", "operator": "exists"}]
    });
    let conditions = parse(stored);
    assert_eq!(conditions.to_json(), canonical);
    assert_eq!(serde_json::to_value(&conditions).unwrap(), canonical);
    assert_eq!(parse(canonical), conditions);
}

#[test]
fn every_alias_serializes_canonically() {
    for (alias, canonical) in [
        ("ne", "not_equals"),
        ("neq", "not_equals"),
        ("gt", "greater_than"),
        ("gte", "greater_than_or_equal"),
        ("lt", "less_than"),
        ("lte", "less_than_or_equal"),
    ] {
        let conditions =
            parse(json!({"all": [{"attribute": "user.id", "operator": alias, "value": 1}]}));
        assert_eq!(conditions.to_json()["all"][0]["operator"], canonical);
    }
    for operator in super::super::Operator::all() {
        assert_eq!(
            super::super::Operator::parse(operator.as_str()),
            Some(*operator)
        );
    }
}

#[test]
fn empty_conditions_serialize_to_empty_object() {
    assert_eq!(parse(json!({"all": []})).to_json(), json!({}));
}

#[test]
fn policy_serializes() {
    let policy = Policy {
        id: 3,
        name: "owners".to_owned(),
        resource_type: "*".to_owned(),
        action: "read".to_owned(),
        effect: Effect::Deny,
        priority: 2,
        conditions: parse(
            json!({"all": [{"attribute": "action", "operator": "equals", "value": "read"}]}),
        ),
        active: true,
    };
    assert_eq!(
        serde_json::to_value(&policy).unwrap(),
        json!({
            "id": 3, "name": "owners", "resourceType": "*", "action": "read", "effect": "deny",
            "priority": 2, "active": true,
            "conditions": {"all": [{"attribute": "action", "operator": "equals", "value": "read"}]}
        })
    );
    let effect: Effect = serde_json::from_value(json!("allow")).unwrap();
    assert_eq!(effect, Effect::Allow);
}
