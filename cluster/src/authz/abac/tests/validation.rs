//! Every validation error, with the JSON path it reports.

use serde_json::{Value, json};

use super::super::{MAX_DEPTH, MAX_LEAVES, Scope};
use super::{AbacError, parse, parse_err};

fn leaf(attribute: &str, operator: &str, value: Value) -> Value {
    json!({"all": [{"attribute": attribute, "operator": operator, "value": value}]})
}

fn invalid_type(path: &str, expected: &'static str) -> AbacError {
    AbacError::InvalidType {
        path: path.to_owned(),
        expected,
    }
}

#[test]
fn conditions_must_be_an_object() {
    assert_eq!(
        parse_err(json!([])),
        invalid_type("conditions", "an object")
    );
    assert_eq!(
        parse_err(json!("all")),
        invalid_type("conditions", "an object")
    );
    assert_eq!(
        parse_err(Value::Null),
        invalid_type("conditions", "an object")
    );
}

#[test]
fn group_lists_must_be_arrays() {
    assert_eq!(
        parse_err(json!({"all": {}})),
        invalid_type("conditions.all", "an array")
    );
    assert_eq!(
        parse_err(json!({"none": "x"})),
        invalid_type("conditions.none", "an array")
    );
}

#[test]
fn unknown_fields_are_rejected() {
    let err = parse_err(json!({"alll": []}));
    assert_eq!(
        err,
        AbacError::UnknownField {
            path: "conditions.alll".to_owned()
        }
    );
    let err =
        parse_err(json!({"all": [{"attribute": "user.id", "operator": "exists", "extra": 1}]}));
    assert_eq!(err.path(), "conditions.all[0].extra");
    // An item without `attribute` is a group, so leaf fields are unknown there.
    let err = parse_err(json!({"any": [{"operator": "equals", "value": 1}]}));
    assert_eq!(
        err,
        AbacError::UnknownField {
            path: "conditions.any[0].operator".to_owned()
        }
    );
    let err = parse_err(leaf(
        "user.id",
        "equals",
        json!({"attribute": "resource.ownerId", "x": 1}),
    ));
    assert_eq!(err.path(), "conditions.all[0].value.x");
}

#[test]
fn items_must_be_objects() {
    let err = parse_err(json!({"all": [{}, {}, 3]}));
    assert_eq!(
        err,
        invalid_type("conditions.all[2]", "an object (condition or group)")
    );
}

#[test]
fn attribute_and_operator_must_be_strings() {
    let err = parse_err(json!({"all": [{"attribute": 5, "operator": "exists"}]}));
    assert_eq!(err, invalid_type("conditions.all[0].attribute", "a string"));
    let err = parse_err(json!({"all": [{"attribute": "user.id", "operator": ["eq"]}]}));
    assert_eq!(err, invalid_type("conditions.all[0].operator", "a string"));
    let err = parse_err(json!({"all": [{"attribute": "user.id"}]}));
    assert_eq!(
        err,
        AbacError::MissingField {
            path: "conditions.all[0].operator".to_owned()
        }
    );
}

#[test]
fn unknown_operator() {
    let err = parse_err(leaf("user.id", "matches_any_of", json!(1)));
    assert_eq!(
        err,
        AbacError::UnknownOperator {
            path: "conditions.all[0].operator".to_owned(),
            operator: "matches_any_of".to_owned(),
        }
    );
    assert!(matches!(
        parse_err(leaf("user.id", "EQUALS", json!(1))),
        AbacError::UnknownOperator { .. }
    ));
}

#[test]
fn invalid_attribute_references() {
    for bad in [
        "foo.bar",
        "user",
        "user.",
        "user..id",
        "Action",
        "resource_type",
        "",
    ] {
        let err = parse_err(leaf(bad, "equals", json!(1)));
        assert_eq!(
            err,
            AbacError::InvalidAttribute {
                path: "conditions.all[0].attribute".to_owned(),
                attribute: bad.to_owned(),
            },
            "{bad}"
        );
    }
    let err = parse_err(leaf(
        "user.id",
        "equals",
        json!({"attribute": "session.id"}),
    ));
    assert_eq!(err.path(), "conditions.all[0].value.attribute");
}

#[test]
fn unknown_attribute_slugs() {
    let err = parse_err(leaf("user.salary", "gt", json!(1)));
    assert_eq!(
        err,
        AbacError::UnknownAttribute {
            path: "conditions.all[0].attribute".to_owned(),
            scope: Scope::User,
            slug: "salary".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        "conditions.all[0].attribute: unknown user attribute `salary`"
    );
    let err = parse_err(json!({"all": [{}, {"any": [
        {"attribute": "user.id", "operator": "equals", "value": {"attribute": "resource.creator"}}
    ]}]}));
    assert_eq!(
        err,
        AbacError::UnknownAttribute {
            path: "conditions.all[1].any[0].value.attribute".to_owned(),
            scope: Scope::Resource,
            slug: "creator".to_owned(),
        }
    );
    // Nested keys check only the first segment; environment is free-form.
    parse(leaf("user.address.city", "equals", json!("Berlin")));
    parse(leaf("environment.anything.goes", "exists", Value::Null));
    parse(leaf("subject.isSuperAdmin", "equals", json!(true)));
    parse(leaf("resource.type", "equals", json!("doc")));
}

#[test]
fn value_presence() {
    let err = parse_err(json!({"all": [{"attribute": "user.id", "operator": "equals"}]}));
    assert_eq!(
        err,
        AbacError::MissingField {
            path: "conditions.all[0].value".to_owned()
        }
    );
    let err = parse_err(leaf("user.id", "equals", Value::Null));
    assert_eq!(err.path(), "conditions.all[0].value");
    let err = parse_err(leaf("user.id", "exists", json!(true)));
    assert!(
        matches!(err, AbacError::InvalidValue { ref path, .. } if path == "conditions.all[0].value")
    );
    let err = parse_err(leaf(
        "user.id",
        "not_exists",
        json!({"attribute": "user.email"}),
    ));
    assert_eq!(err.path(), "conditions.all[0].value");
}

#[test]
fn list_operators_need_arrays() {
    assert_eq!(
        parse_err(leaf("user.id", "in", json!("a"))),
        invalid_type("conditions.all[0].value", "an array")
    );
    assert_eq!(
        parse_err(leaf("user.id", "not_in", json!(1))),
        invalid_type("conditions.all[0].value", "an array")
    );
}

#[test]
fn string_operators_need_strings() {
    assert_eq!(
        parse_err(leaf("user.email", "starts_with", json!(1))),
        invalid_type("conditions.all[0].value", "a string")
    );
    assert_eq!(
        parse_err(leaf("user.email", "ends_with", json!(["a"]))),
        invalid_type("conditions.all[0].value", "a string")
    );
}

#[test]
fn ordering_operators_need_orderable_values() {
    assert_eq!(
        parse_err(leaf("user.id", "gt", json!(true))),
        invalid_type("conditions.all[0].value", "a number or a string")
    );
    for bad in [
        "abc",
        "5",
        "24:00",
        "2024-13-01T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2024-01-01",
    ] {
        let err = parse_err(leaf("user.id", "lte", json!(bad)));
        assert!(
            matches!(err, AbacError::InvalidValue { .. }),
            "{bad}: {err}"
        );
    }
    parse(leaf("user.id", "gt", json!("2024-02-29T23:59:60.5-05:30")));
    parse(leaf("user.id", "lt", json!("23:59:59")));
}

#[test]
fn between_needs_two_matching_bounds() {
    let path = "conditions.all[0].value";
    assert_eq!(
        parse_err(leaf("user.id", "between", json!(1))),
        invalid_type(path, "an array")
    );
    for bad in [
        json!([1]),
        json!([1, 2, 3]),
        json!([1, "09:00"]),
        json!([5, 1]),
        json!(["09:00", "2024-01-01T00:00:00Z"]),
    ] {
        let err = parse_err(leaf("user.id", "between", bad.clone()));
        assert!(
            matches!(err, AbacError::InvalidValue { ref path, .. } if path == "conditions.all[0].value"),
            "{bad}"
        );
    }
    assert_eq!(
        parse_err(leaf("user.id", "between", json!([1, null]))),
        invalid_type("conditions.all[0].value[1]", "a number or a string")
    );
    parse(leaf("user.id", "between", json!(["22:00", "06:00"])));
}

#[test]
fn ip_in_cidr_needs_valid_cidrs() {
    let err = parse_err(leaf(
        "env.ip",
        "ip_in_cidr",
        json!(["10.0.0.0/8", "10.0.0.0/33"]),
    ));
    assert_eq!(
        err,
        AbacError::InvalidCidr {
            path: "conditions.all[0].value[1]".to_owned(),
            cidr: "10.0.0.0/33".to_owned(),
        }
    );
    let err = parse_err(leaf("env.ip", "ip_in_cidr", json!("not-an-ip/8")));
    assert_eq!(err.path(), "conditions.all[0].value");
    assert!(matches!(
        parse_err(leaf("env.ip", "ip_in_cidr", json!([]))),
        AbacError::InvalidValue { .. }
    ));
    assert_eq!(
        parse_err(leaf("env.ip", "ip_in_cidr", json!(8))),
        invalid_type(
            "conditions.all[0].value",
            "a CIDR string or an array of CIDR strings"
        )
    );
    assert_eq!(
        parse_err(leaf("env.ip", "ip_in_cidr", json!(["10.0.0.0/8", 1]))),
        invalid_type("conditions.all[0].value[1]", "a CIDR string")
    );
}

fn nested(levels: usize) -> Value {
    let mut json = json!({"all": [{"attribute": "user.id", "operator": "exists"}]});
    for _ in 1..levels {
        json = json!({"all": [json]});
    }
    json
}

#[test]
fn nesting_depth_is_limited() {
    parse(nested(MAX_DEPTH));
    let err = parse_err(nested(MAX_DEPTH + 1));
    let expected_path = format!("conditions{}", ".all[0]".repeat(MAX_DEPTH));
    assert_eq!(
        err,
        AbacError::TooDeep {
            path: expected_path,
            max: MAX_DEPTH
        }
    );
}

#[test]
fn leaf_count_is_limited() {
    let item = json!({"attribute": "user.id", "operator": "exists"});
    parse(json!({"all": vec![item.clone(); MAX_LEAVES]}));
    let err = parse_err(json!({"all": vec![item; MAX_LEAVES + 1]}));
    assert_eq!(
        err,
        AbacError::TooManyLeaves {
            path: "conditions.all[100]".to_owned(),
            max: MAX_LEAVES
        }
    );
}

#[test]
fn error_messages_name_the_path() {
    let err =
        parse_err(json!({"all": [{}, {}, {"attribute": "user.id", "operator": "in", "value": 3}]}));
    assert_eq!(
        err.to_string(),
        "conditions.all[2].value: expected an array"
    );
}
